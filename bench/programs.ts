/**
 * Program benchmark: the test-program corpus (test/programs, gcc -O2 and -O0 static freestanding executables)
 * run through runElf, with host MIPS per program (guest instructions retired per host second, every access
 * translated and checked, every cycle counted) and the geometric mean; beside it, in the same run, native
 * execution and qemu-x86_64 (user-mode QEMU, when `command -v qemu-x86_64` finds it) of the same binaries with
 * the same arguments, as time ratios. Not part of `npm test`.
 *
 *   npm run bench:programs                # scale 8, -O2 and -O0, best of 3
 *   npm run bench:programs -- --quick     # scale 2, best of 1
 *   npm run bench:programs -- --json      # also print the rows as JSON
 *   npm run bench:programs -- --only=crc  # one program
 *
 * Each program takes a scale argument (its main loop's rounds). To leave out fixed costs (process start, the
 * machine's set-up, the output), every figure is per round: the difference between a run at scale S and one at
 * scale 1, divided by S - 1. pksim runs at S = 12 (--quick: 6); native and QEMU, being much faster, at a larger
 * S (x100 of pksim's), so their process start-up is small beside the work. MIPS = guest instructions per round
 * / pksim seconds per round; the ratios compare seconds per round.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { runElf } from '../src/loader/index.js';

const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const SCALE = quick ? 6 : 12;
const NATIVE_SCALE = SCALE * 100;
const REPS = quick ? 2 : 3;
const DIR = join(process.cwd(), 'test', 'programs');
if (!existsSync(join(DIR, 'expected.json'))) throw new Error('run from the repository root (test/programs not found)');
// `sys` exercises the syscall surface and has no scalable loop: it is a test, not a workload.
const names = Object.keys(JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as object).filter((n) => n !== 'sys').sort();

const nativeOk = process.platform === 'linux' && process.arch === 'x64';
const qemu = (() => {
  const r = spawnSync('sh', ['-c', 'command -v qemu-x86_64'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
})();

function best(f: () => number): number {
  let b = Infinity;
  for (let i = 0; i < REPS; i++) b = Math.min(b, f());
  return b;
}
function timeProcess(cmd: string, args: string[]): number {
  return best(() => {
    const t0 = performance.now();
    const r = spawnSync(cmd, args, { stdio: 'ignore' });
    if (r.error) throw r.error;
    return (performance.now() - t0) / 1000;
  });
}

interface Row {
  program: string;
  instructions: number;
  cycles: number;
  seconds: number;
  mips: number;
  nativeSeconds?: number;
  qemuSeconds?: number;
  slowdownVsNative?: number;
  slowdownVsQemu?: number;
}

const rows: Row[] = [];
for (const name of names.filter((n) => only === undefined || n === only)) {
  for (const opt of ['O2', 'O0']) {
    const file = join(DIR, 'bin', `${name}-${opt}.elf`);
    const bytes = new Uint8Array(readFileSync(file));
    for (let w = 0; w < 3; w++) runElf(bytes, { argv: [name, '2'] }); // warm-up (JIT)
    const sim = (scale: number) => {
      let instructions = 0;
      let cycles = 0;
      const t = best(() => {
        const t0 = performance.now();
        const r = runElf(bytes, { argv: [name, String(scale)] });
        const dt = (performance.now() - t0) / 1000;
        if (r.reason !== 'exit') throw new Error(`${name}-${opt}: ${r.reason} ${JSON.stringify(r.exception ?? {}, (_, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))}`);
        instructions = r.instructions;
        cycles = r.cycles;
        return dt;
      });
      return { t, instructions, cycles };
    };
    const one = sim(1);
    const many = sim(SCALE);
    const rounds = SCALE - 1;
    // (if timing noise leaves no difference, fall back to the whole run's average)
    if (many.instructions <= one.instructions) throw new Error(`${name}-${opt}: the scale argument does not change the work`);
    const seconds = many.t > one.t * 1.05 ? (many.t - one.t) / rounds : many.t / SCALE;
    const instructions = Math.round((many.instructions - one.instructions) / rounds);
    const row: Row = { program: `${name}-${opt}`, instructions, cycles: (many.cycles - one.cycles) / rounds, seconds, mips: instructions / seconds / 1e6 };
    const perRound = (cmd: string, pre: string[]) => Math.max(1e-12, (timeProcess(cmd, [...pre, String(NATIVE_SCALE)]) - timeProcess(cmd, [...pre, '1'])) / (NATIVE_SCALE - 1));
    if (nativeOk) {
      row.nativeSeconds = perRound(file, []);
      row.slowdownVsNative = seconds / row.nativeSeconds;
    }
    if (qemu !== null) {
      row.qemuSeconds = perRound(qemu, [file]);
      row.slowdownVsQemu = seconds / row.qemuSeconds;
    }
    rows.push(row);
    process.stderr.write(`${row.program}: ${row.mips.toFixed(2)} MIPS\n`);
  }
}

const geo = (xs: number[]): number => Math.exp(xs.reduce((a, x) => a + Math.log(x), 0) / xs.length);
const f = (x: number | undefined, d = 2): string => (x === undefined ? '-' : x.toFixed(d));
console.log(`\n## pksim program benchmark (per round of each program's main loop; pksim scale ${SCALE}, native/QEMU scale ${NATIVE_SCALE}, best of ${REPS}; node ${process.version})\n`);
console.log(`native: ${nativeOk ? 'yes' : 'no (not x86-64 Linux)'}; qemu-x86_64: ${qemu ?? 'not installed'}\n`);
console.log('| program | instructions/round | cycles/round | pksim ms/round | MIPS | native ms/round | x native | qemu ms/round | x qemu |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.program} | ${r.instructions} | ${Math.round(r.cycles)} | ${f(r.seconds * 1e3, 2)} | ${f(r.mips)} | ${f(r.nativeSeconds === undefined ? undefined : r.nativeSeconds * 1e3, 4)} | ${f(r.slowdownVsNative, 0)} | ${f(r.qemuSeconds === undefined ? undefined : r.qemuSeconds * 1e3, 4)} | ${f(r.slowdownVsQemu, 1)} |`);
const gm = geo(rows.map((r) => r.mips));
const gn = nativeOk ? geo(rows.map((r) => r.slowdownVsNative!)) : undefined;
const gq = qemu !== null ? geo(rows.map((r) => r.slowdownVsQemu!)) : undefined;
console.log(`| **geometric mean** | | | | **${f(gm)}** | | ${f(gn, 0)} | | ${f(gq, 1)} |`);
if (json) console.log(JSON.stringify({ meta: { scale: SCALE, reps: REPS, node: process.version, qemu, native: nativeOk }, rows, geomeanMips: gm, geomeanSlowdownVsNative: gn, geomeanSlowdownVsQemu: gq }, null, 2));
