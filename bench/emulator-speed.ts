/**
 * Question 7, the emulator's own speed (CLI only: host timings, NOT deterministic; they vary between runs and
 * machines, so no test checks them beyond the shape). Measured in one run, side by side:
 * - the interpreter's host MIPS on the program corpus (bench/program-timing.ts, shortened), against native
 *   execution of the same ELFs (x86-64 Linux) and qemu-x86_64 (Debian's qemu-user) when installed;
 * - page walks per second (TLBs and paging-structure caches off: every translation walks 4 levels, as in
 *   bench/core.ts);
 * - protected page-table writes per second (set_pte through each policy's writer, as in bench/kernel.ts).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ACC_READ, enterLongMode, Machine, PageTableBuilder, type BenchRow, type QuestionResult } from '../src/index.js';
import { Kernel } from '../src/pgtable/kernel.js';
import { POLICIES } from '../src/pgtable/policies.js';
import { set_pte } from '../src/pgtable/set-pte.js';
import { corpusDir, findQemu, timePrograms } from './program-timing.js';

export const EMULATOR_SPEED_ID = 'emulator-speed';
export const EMULATOR_SPEED_TITLE = "The emulator's own speed (host-dependent)";
export const EMULATOR_SPEED_METHOD =
  'Host timings, measured in this run after the deterministic questions (no worker threads running): each program of the test corpus (gcc -O2 and -O0 static ELFs) run through runElf, per round of its main loop (the difference of a run at scale S and one at scale 1, S at least 6 and large enough that the S - 1 rounds retire 10 million guest instructions (quick: 2 million), after warm-up runs at S: steady-state throughput, V8 having compiled the hot code), as guest instructions per host second (MIPS), beside the same ELF run natively and under qemu-x86_64 (time ratios, per round, at 20x the scale); full 4-level page walks per second (TLBs and paging-structure caches disabled); set_pte through each protection policy\'s writer per second (4 CPUs, the process on all). Best of 3 runs for the programs and 2 for the rest (quick: 1).';

export interface SpeedOptions {
  quick?: boolean;
  /** Smallest sizes (smoke tests): one program, O2 only, milliseconds of timing. */
  tiny?: boolean;
  onProgress?: (what: string) => void;
}

/** Best-of-`reps` rate of body(n), n grown until a run takes minMs / 4. */
function rate(body: (n: number) => void, minMs: number, reps: number): number {
  let n = 64;
  for (;;) {
    const t0 = performance.now();
    body(n);
    if (performance.now() - t0 >= minMs / 4 || n >= 1 << 26) break;
    n *= 4;
  }
  let best = 0;
  for (let r = 0; r < reps; r++) {
    const t0 = performance.now();
    body(n);
    best = Math.max(best, n / Math.max(1e-9, (performance.now() - t0) / 1000));
  }
  return best;
}

const r3 = (x: number | undefined): number | null => (x === undefined ? null : Math.round(x * 1000) / 1000);

export function emulatorSpeed(opts: SpeedOptions = {}): QuestionResult {
  const tiny = opts.tiny ?? false;
  const quick = opts.quick ?? false;
  const reps = tiny || quick ? 1 : 2;
  const minMs = tiny ? 8 : quick ? 100 : 300;
  const rows: BenchRow[] = [];
  const qemu = findQemu();
  const nativeOk = process.platform === 'linux' && process.arch === 'x64';
  rows.push({ kind: 'host', name: 'native', available: nativeOk, note: nativeOk ? `${process.platform}-${process.arch}` : `not x86-64 Linux (${process.platform}-${process.arch})` });
  rows.push({ kind: 'host', name: 'qemu-x86_64', available: qemu !== null, note: qemu ?? 'not installed (command -v qemu-x86_64 found nothing)' });

  // 1. The program corpus.
  if (existsSync(join(corpusDir(), 'expected.json'))) {
    const scale = tiny ? 2 : quick ? 4 : 6;
    // every timed run at least MIN_INSTRUCTIONS beyond the scale-1 run (the scale grows for a short round)
    const minInstructions = tiny ? 0 : quick ? 2e6 : 1e7;
    const t = timePrograms({ scale, nativeScale: scale * 100, ...(tiny ? {} : { nativeFactor: 20 }), minInstructions, reps: tiny || quick ? 1 : 3, ...(tiny ? { only: ['crc'], opts: ['O2'] } : {}), onRow: (r) => opts.onProgress?.(`${r.program}: ${r.mips.toFixed(2)} MIPS`) });
    for (const r of t.rows)
      rows.push({ kind: 'program', name: r.program, instructions: r.instructions, rounds: r.scale - 1, mips: r3(r.mips), msPerRound: r3(r.seconds * 1e3), nativeMsPerRound: r3(r.nativeSeconds === undefined ? undefined : r.nativeSeconds * 1e3), qemuMsPerRound: r3(r.qemuSeconds === undefined ? undefined : r.qemuSeconds * 1e3), slowdownVsNative: r3(r.slowdownVsNative), slowdownVsQemu: r3(r.slowdownVsQemu) });
    rows.push({ kind: 'program', name: 'geometric mean', instructions: null, rounds: null, mips: r3(t.geomeanMips), msPerRound: null, nativeMsPerRound: null, qemuMsPerRound: null, slowdownVsNative: r3(t.geomeanSlowdownVsNative), slowdownVsQemu: r3(t.geomeanSlowdownVsQemu) });
  } else rows.push({ kind: 'host', name: 'program corpus', available: false, note: `not found at ${corpusDir()} (run from the repository root)` });

  // 2. Page walks per second: every translation walks PML4E -> PDPTE -> PDE -> PTE (A bits set: no A/D write).
  {
    const off = [0, 1] as const;
    const m = new Machine({
      memory: 2 ** 32,
      profileOverrides: { tlb: { l1d4k: off, l1d2m: off, l1d1g: off, l1i4k: off, l1i2m: off, l1i1g: off, stlb: off, stlb1g: off, pscPml5: off, pscPml4: off, pscPdpt: off, pscPd: off } },
    });
    const cpu = m.cpus[0];
    const b = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x800000 });
    enterLongMode(cpu, { cr3: b.root, cr4: (1n << 24n) | (1n << 7n) });
    for (let i = 0; i < 512; i++) b.map(0xffff888000000000n + BigInt(i) * 4096n, BigInt(i) * 4096n, 4096, { write: true });
    const hi = 0xffff8880 | 0;
    for (let i = 0; i < 512; i++) cpu.mmu.translate(i << 12, hi, ACC_READ);
    const w0 = cpu.stats.walks;
    const t0 = cpu.stats.translations;
    const perSec = rate((n) => {
      for (let i = 0; i < n; i++) cpu.mmu.translate((i & 511) << 12, hi, ACC_READ);
    }, minMs, reps);
    const walkShare = (cpu.stats.walks - w0) / (cpu.stats.translations - t0);
    rows.push({ kind: 'walks', name: 'full 4-level walk (TLBs and PSCs off)', perSecond: Math.round(perSec), unit: 'walks/s', note: `${Math.round(walkShare * 100)}% of translations walked` });
    opts.onProgress?.('walks');
  }

  // 3. Protected page-table writes per second, by policy (set_pte through the writer; cycles per write beside).
  for (const policy of POLICIES) {
    const m = new Machine({ cpus: 4, memory: 2 ** 32 });
    const k = Kernel.boot(m, { protection: policy, directMap: '2M' });
    const cpu = m.cpus[0];
    const mm = k.createAddressSpace();
    for (const c of m.cpus) mm.switchTo(c);
    mm.map(0x400000n, 1, { write: true });
    const tables = mm.pageTables();
    const ptep = Number(tables[tables.length - 1]) + 8;
    let v = 0;
    const warm = tiny ? 200 : 20000;
    for (let i = 0; i < warm; i++) set_pte(k.writer, cpu, ptep, (v++ & 1) * 0x1000, 0);
    const c0 = cpu.stats.cycles;
    let written = 0;
    const perSec = rate((n) => {
      for (let i = 0; i < n; i++) set_pte(k.writer, cpu, ptep, (v++ & 1) * 0x1000, 0);
      written += n;
    }, minMs, reps);
    rows.push({ kind: 'pt-ops', name: `set_pte (${policy})`, perSecond: Math.round(perSec), unit: 'writes/s', note: `${Math.round((cpu.stats.cycles - c0) / written)} emulated cycles per write` });
    opts.onProgress?.(`set_pte ${policy}`);
  }
  return { title: EMULATOR_SPEED_TITLE, rows };
}
