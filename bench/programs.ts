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
 * The measurement is bench/program-timing.ts's (per round of each program's main loop; pksim at S = 12, --quick
 * 6, or more until the S - 1 rounds retire 20 million guest instructions, --quick 2 million; native and QEMU at
 * 100 S); `pksim bench` runs a shortened form of it as the emulator-speed section.
 */
import { timePrograms, type ProgramRow } from './program-timing.js';

const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const only = process.argv.find((a) => a.startsWith('--only='))?.slice(7);
const SCALE = quick ? 6 : 12;
const NATIVE_SCALE = SCALE * 100;
const REPS = quick ? 2 : 3;

const MIN_INSTRUCTIONS = quick ? 2e6 : 2e7;
const t = timePrograms({ scale: SCALE, nativeScale: NATIVE_SCALE, nativeFactor: 100, minInstructions: MIN_INSTRUCTIONS, reps: REPS, ...(only !== undefined ? { only: [only] } : {}), onRow: (row: ProgramRow) => process.stderr.write(`${row.program}: ${row.mips.toFixed(2)} MIPS\n`) });
const { rows, native: nativeOk, qemu } = t;
const f = (x: number | undefined, d = 2): string => (x === undefined ? '-' : x.toFixed(d));
console.log(`\n## pksim program benchmark (per round of each program's main loop; pksim scale ${SCALE} or more (at least ${MIN_INSTRUCTIONS} instructions timed), native/QEMU 100x that, best of ${REPS}; node ${process.version})\n`);
console.log(`native: ${nativeOk ? 'yes' : 'no (not x86-64 Linux)'}; qemu-x86_64: ${qemu ?? 'not installed'}\n`);
console.log('| program | instructions/round | cycles/round | pksim ms/round | MIPS | native ms/round | x native | qemu ms/round | x qemu |');
console.log('|---|---:|---:|---:|---:|---:|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.program} | ${r.instructions} | ${Math.round(r.cycles)} | ${f(r.seconds * 1e3, 2)} | ${f(r.mips)} | ${f(r.nativeSeconds === undefined ? undefined : r.nativeSeconds * 1e3, 4)} | ${f(r.slowdownVsNative, 0)} | ${f(r.qemuSeconds === undefined ? undefined : r.qemuSeconds * 1e3, 4)} | ${f(r.slowdownVsQemu, 1)} |`);
console.log(`| **geometric mean** | | | | **${f(t.geomeanMips)}** | | ${f(t.geomeanSlowdownVsNative, 0)} | | ${f(t.geomeanSlowdownVsQemu, 1)} |`);
if (json) console.log(JSON.stringify({ meta: { scale: SCALE, reps: REPS, node: process.version, qemu, native: nativeOk }, rows, geomeanMips: t.geomeanMips, geomeanSlowdownVsNative: t.geomeanSlowdownVsNative, geomeanSlowdownVsQemu: t.geomeanSlowdownVsQemu }, null, 2));
