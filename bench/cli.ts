/**
 * `pksim bench`: runs the benchmark questions (src/bench) over worker threads and writes bench/REPORT.md, SVG
 * charts beside it and bench/results.json; `--json` prints the results to stdout instead.
 *
 *   pksim bench [--quick] [--cpus 1,8,64] [--profile NAME] [--set pkrsWrite=60] [--json] [--out DIR]
 *               [--question ID]... [--threads N] [--seed N]
 *
 * `npm run bench` runs it through the `pksim` command (src/cli.ts, bundled by esbuild). Progress goes to stderr,
 * only on a terminal.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bench, PROFILES, resolveProfile, type BenchOptions, type QuestionResult } from '../src/index.js';
import { loadRenderer } from './charts.js';
import { runTasks, type Task } from './pool.js';
import { chartsOf, renderReport, type Results } from './report.js';
import { emulatorSpeed, EMULATOR_SPEED_ID } from './emulator-speed.js';

const USAGE = `usage: pksim bench [options]
  --quick            fewer samples and CPU counts (under a minute)
  --cpus LIST        CPU counts, e.g. 1,8,64 (1..256; default 1,2,4,...,256, quick 1,8,64,256)
  --profile NAME     cost profile (${Object.keys(PROFILES).join(', ')}); default sapphire-rapids
  --set NAME=VALUE   override a profile figure (repeatable): pkrsWrite=60, ipi.send=500, movCr3.flush=200
  --question ID      run only this question (repeatable): ${[...bench.ids, EMULATOR_SPEED_ID].join(', ')}
                     (${EMULATOR_SPEED_ID}: host timings, in a full run or when asked; --quick leaves it out)
  --json             print the results as JSON to stdout (files only with --out)
  --out DIR          where REPORT.md, results.json and the charts go (default: bench)
  --threads N        worker threads (default: one per core; 1 runs in this thread)
  --seed N           seed of the workloads' random choices (default 1)
  --help`;

export interface BenchIo {
  stdout?: NodeJS.WritableStream & { isTTY?: boolean };
  stderr?: NodeJS.WritableStream & { isTTY?: boolean };
  /** The script workers start (default: the module running this code; it serves as its own worker). */
  workerScript?: URL;
}

/** Run `pksim bench` with these arguments (argv after 'bench'); resolves to the exit code. */
export async function runBench(argv: string[], io: BenchIo = {}): Promise<number> {
  const stdout = io.stdout ?? process.stdout;
  const stderr = io.stderr ?? process.stderr;
  let args;
  try {
    args = parseArgs({
      args: argv,
      options: {
        quick: { type: 'boolean', default: false },
        cpus: { type: 'string' },
        profile: { type: 'string', default: 'sapphire-rapids' },
        set: { type: 'string', multiple: true, default: [] },
        question: { type: 'string', multiple: true, default: [] },
        json: { type: 'boolean', default: false },
        out: { type: 'string' },
        threads: { type: 'string' },
        seed: { type: 'string', default: '1' },
        help: { type: 'boolean', default: false },
      },
      allowPositionals: false,
    }).values;
  } catch (e) {
    stderr.write(`pksim bench: ${(e as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.help) {
    stdout.write(USAGE + '\n');
    return 0;
  }
  let opts: BenchOptions;
  let threads: number;
  let ids: string[];
  try {
    const cpus = args.cpus === undefined ? undefined : args.cpus.split(',').map((s) => Number(s.trim()));
    const seed = Number(args.seed);
    opts = { profile: args.profile, quick: args.quick, seed, ...(cpus ? { cpus } : {}) };
    const overrides = bench.parseOverrides(args.set);
    if (overrides) opts.profileOverrides = overrides;
    resolveProfile(opts.profile, opts.profileOverrides); // fail early on a bad profile or override
    threads = args.threads === undefined ? availableParallelism() : Number(args.threads);
    if (!Number.isInteger(threads) || threads < 1) throw new RangeError(`--threads must be a positive integer, got ${args.threads}`);
    // emulator-speed (question 7) times the host: it runs when asked, or in a full (not --quick) run.
    ids = args.question.length ? args.question : args.quick ? [...bench.ids] : [...bench.ids, EMULATOR_SPEED_ID];
    for (const id of ids) if (!bench.questions[id] && id !== EMULATOR_SPEED_ID) throw new RangeError(`--question: unknown question '${id}'; known: ${[...bench.ids, EMULATOR_SPEED_ID].join(', ')}`);
    for (const id of ids) if (id !== EMULATOR_SPEED_ID) bench.questions[id].cells(opts); // validates the options
  } catch (e) {
    stderr.write(`pksim bench: ${(e as Error).message}\n`);
    return 2;
  }
  const libIds = ids.filter((id) => id !== EMULATOR_SPEED_ID);
  const tasks: Task[] = libIds.flatMap((question) => bench.questions[question].cells(opts).map((cell) => ({ question, cell })));
  const bar = await progressBar(stderr, tasks.length);
  let rowsByTask;
  try {
    rowsByTask = await runTasks(tasks, opts, threads, io.workerScript ?? new URL(import.meta.url), () => bar.tick());
  } catch (e) {
    bar.stop();
    stderr.write(`pksim bench: ${(e as Error).message}\n`);
    return 1;
  }
  bar.stop();
  const questions: Record<string, QuestionResult> = {};
  for (const id of libIds) questions[id] = { title: bench.questions[id].title, rows: [] };
  tasks.forEach((t, i) => questions[t.question].rows.push(...rowsByTask[i]));
  for (const id of libIds) questions[id].rows = bench.questions[id].finish(questions[id].rows);
  if (ids.includes(EMULATOR_SPEED_ID)) {
    // Host timings, after the pool has finished (nothing else running in this process).
    const tty = stderr.isTTY === true;
    if (tty) stderr.write('pksim bench: timing the emulator (emulator-speed)...\n');
    try {
      questions[EMULATOR_SPEED_ID] = emulatorSpeed({ quick: args.quick, ...(tty ? { onProgress: (w: string) => stderr.write(`  ${w}\n`) } : {}) });
    } catch (e) {
      stderr.write(`pksim bench: ${EMULATOR_SPEED_ID}: ${(e as Error).message}\n`);
      return 1;
    }
  }
  // Report order: the order asked for (default: the library's questions, then emulator-speed).
  const ordered: Record<string, QuestionResult> = {};
  for (const id of ids) ordered[id] = questions[id];

  const render = args.json && args.out === undefined ? null : await loadRenderer();
  const results: Results = {
    meta: {
      profile: resolveProfile(opts.profile).name,
      cpus: bench.cpuCounts(opts),
      version: packageVersion(),
      node: process.version,
      quick: args.quick,
      seed: opts.seed ?? 1,
      overrides: args.set,
      command: ['pksim', 'bench', ...argv].join(' '),
      charts: render ? await chartVersions() : null,
    },
    questions: ordered,
  };
  if (args.json) stdout.write(JSON.stringify(results, null, 2) + '\n');
  if (!args.json || args.out !== undefined) {
    const dir = resolve(args.out ?? 'bench');
    mkdirSync(dir, { recursive: true });
    const drawn = new Set<string>();
    if (render) {
      for (const c of chartsOf(results)) {
        writeFileSync(join(dir, c.file), await render(c.spec));
        drawn.add(c.file);
      }
    }
    writeFileSync(join(dir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
    writeFileSync(join(dir, 'REPORT.md'), renderReport(results, drawn));
    if (!args.json) stdout.write(`wrote ${join(dir, 'REPORT.md')}, results.json${drawn.size ? ` and ${drawn.size} charts` : ' (no charts: vega / vega-lite not installed)'}\n`);
  }
  return 0;
}

/** A cli-progress bar on a terminal (when the library is installed); nothing otherwise. */
async function progressBar(stream: NodeJS.WritableStream & { isTTY?: boolean }, total: number): Promise<{ tick(): void; stop(): void }> {
  const none = { tick() {}, stop() {} };
  if (!stream.isTTY || total === 0) return none;
  try {
    const { default: cliProgress } = await import('cli-progress');
    const b = new cliProgress.SingleBar({ stream, format: 'pksim bench [{bar}] {value}/{total} cells | {eta_formatted} left', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic);
    b.start(total, 0);
    return { tick: () => b.increment(), stop: () => b.stop() };
  } catch {
    return none;
  }
}

async function chartVersions(): Promise<string | null> {
  try {
    const vega = await import('vega');
    const vl = await import('vega-lite');
    return `vega ${vega.version}, vega-lite ${vl.version}`;
  } catch {
    return null;
  }
}

/** pksim's version, from the nearest package.json named pksim above this module. */
function packageVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    try {
      const p = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (p.name === 'pksim' && p.version) return p.version;
    } catch {
      // not here: go up
    }
    dir = dirname(dir);
  }
  return 'unknown';
}
