/**
 * Host timing of the program corpus (test/programs): pksim's interpreter through runElf, native execution of the
 * same ELFs (x86-64 Linux only) and qemu-x86_64 (when `command -v qemu-x86_64` finds it), side by side in one
 * run. Shared by bench/programs.ts (`npm run bench:programs`) and the report's emulator-speed section.
 *
 * Each program takes a scale argument (its main loop's rounds). To leave out fixed costs (process start, the
 * machine's set-up, the output), every figure is per round: the difference between a run at scale S and one at
 * scale 1, divided by S - 1. With `minInstructions`, S grows per program until the S - 1 rounds retire at least
 * that many guest instructions: a program whose round is short is otherwise timed over a few milliseconds, where
 * timer noise, a garbage collection or V8 still compiling the hot code weigh as much as the work. The runs are
 * preceded by warm-up runs (at S too), so V8 has compiled the hot code before timing starts: the figures are
 * steady-state throughput. Native and QEMU, being much faster, run at a larger scale (a multiple of pksim's), so
 * their process start-up is small beside the work. MIPS = guest instructions per round / pksim seconds per
 * round; the ratios compare seconds per round. Host timings: they vary from run to run and machine to machine.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runElf } from '../src/loader/index.js';

export interface ProgramTimingOptions {
  /** pksim's scale (rounds; the least, with minInstructions); native and QEMU run at nativeScale. */
  scale: number;
  nativeScale: number;
  /** Raise each program's scale until its extra rounds retire at least this many guest instructions (default 0). */
  minInstructions?: number;
  /** Native and QEMU at this multiple of each program's scale (replaces nativeScale). */
  nativeFactor?: number;
  /** Best of this many runs. */
  reps: number;
  /** Only these programs (names without -O2/-O0). */
  only?: string[];
  /** Optimization levels to run (default O2 and O0). */
  opts?: string[];
  /** Directory of the corpus (default test/programs under the working directory). */
  dir?: string;
  /** Measure native / QEMU (default true). */
  hosts?: boolean;
  onRow?: (row: ProgramRow) => void;
}

export interface ProgramRow {
  program: string;
  /** The scale pksim was timed at (scale - 1 rounds beyond the scale-1 run). */
  scale: number;
  instructions: number;
  cycles: number;
  seconds: number;
  mips: number;
  nativeSeconds?: number;
  qemuSeconds?: number;
  slowdownVsNative?: number;
  slowdownVsQemu?: number;
}

export interface ProgramTiming {
  rows: ProgramRow[];
  /** Native runs made (x86-64 Linux). */
  native: boolean;
  /** Path of qemu-x86_64, or null when it is not installed. */
  qemu: string | null;
  geomeanMips: number;
  geomeanSlowdownVsNative?: number;
  geomeanSlowdownVsQemu?: number;
}

export const corpusDir = (): string => join(process.cwd(), 'test', 'programs');

export function findQemu(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v qemu-x86_64'], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() !== '' ? r.stdout.trim() : null;
}

export const geomean = (xs: number[]): number => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);

export function timePrograms(o: ProgramTimingOptions): ProgramTiming {
  const dir = o.dir ?? corpusDir();
  if (!existsSync(join(dir, 'expected.json'))) throw new Error(`the program corpus is not at ${dir} (run from the repository root)`);
  // `sys` exercises the syscall surface and has no scalable loop: it is a test, not a workload.
  const names = Object.keys(JSON.parse(readFileSync(join(dir, 'expected.json'), 'utf8')) as object)
    .filter((n) => n !== 'sys' && (o.only === undefined || o.only.includes(n)))
    .sort();
  const hosts = o.hosts ?? true;
  const native = hosts && process.platform === 'linux' && process.arch === 'x64';
  const qemu = hosts ? findQemu() : null;
  const best = (f: () => number): number => {
    let b = Infinity;
    for (let i = 0; i < o.reps; i++) b = Math.min(b, f());
    return b;
  };
  const timeProcess = (cmd: string, args: string[]): number =>
    best(() => {
      const t0 = performance.now();
      const r = spawnSync(cmd, args, { stdio: 'ignore' });
      if (r.error) throw r.error;
      return (performance.now() - t0) / 1000;
    });
  const rows: ProgramRow[] = [];
  for (const name of names) {
    for (const opt of o.opts ?? ['O2', 'O0']) {
      const file = join(dir, 'bin', `${name}-${opt}.elf`);
      const bytes = new Uint8Array(readFileSync(file));
      // warm-up (JIT), and the instructions of a round
      let i2 = 0;
      for (let w = 0; w < 3; w++) i2 = runElf(bytes, { argv: [name, '2'] }).instructions;
      const perRound = i2 - runElf(bytes, { argv: [name, '1'] }).instructions;
      if (perRound <= 0) throw new Error(`${name}-${opt}: the scale argument does not change the work`);
      const scale = Math.max(o.scale, 1 + Math.ceil((o.minInstructions ?? 0) / perRound));
      if (scale > 2) runElf(bytes, { argv: [name, String(scale)] }); // warm at the timed scale: its hot code compiled
      const nativeScale = o.nativeFactor === undefined ? o.nativeScale : scale * o.nativeFactor;
      const sim = (scale: number) => {
        let instructions = 0;
        let cycles = 0;
        const t = best(() => {
          const t0 = performance.now();
          const r = runElf(bytes, { argv: [name, String(scale)] });
          const dt = (performance.now() - t0) / 1000;
          if (r.reason !== 'exit') throw new Error(`${name}-${opt}: ${r.reason}`);
          instructions = r.instructions;
          cycles = r.cycles;
          return dt;
        });
        return { t, instructions, cycles };
      };
      const one = sim(1);
      const many = sim(scale);
      const rounds = scale - 1;
      if (many.instructions <= one.instructions) throw new Error(`${name}-${opt}: the scale argument does not change the work`);
      // (if timing noise leaves no difference, fall back to the whole run's average)
      const seconds = many.t > one.t * 1.05 ? (many.t - one.t) / rounds : many.t / scale;
      const instructions = Math.round((many.instructions - one.instructions) / rounds);
      const row: ProgramRow = { program: `${name}-${opt}`, scale, instructions, cycles: (many.cycles - one.cycles) / rounds, seconds, mips: instructions / seconds / 1e6 };
      const hostPerRound = (cmd: string, pre: string[]) => Math.max(1e-12, (timeProcess(cmd, [...pre, String(nativeScale)]) - timeProcess(cmd, [...pre, '1'])) / (nativeScale - 1));
      if (native) {
        row.nativeSeconds = hostPerRound(file, []);
        row.slowdownVsNative = seconds / row.nativeSeconds;
      }
      if (qemu !== null) {
        row.qemuSeconds = hostPerRound(qemu, [file]);
        row.slowdownVsQemu = seconds / row.qemuSeconds;
      }
      rows.push(row);
      o.onRow?.(row);
    }
  }
  return {
    rows,
    native,
    qemu,
    geomeanMips: geomean(rows.map((r) => r.mips)),
    ...(native ? { geomeanSlowdownVsNative: geomean(rows.map((r) => r.slowdownVsNative!)) } : {}),
    ...(qemu !== null ? { geomeanSlowdownVsQemu: geomean(rows.map((r) => r.slowdownVsQemu!)) } : {}),
  };
}
