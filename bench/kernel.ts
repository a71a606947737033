/**
 * Kernel-model benchmarks (host throughput, with the simulated cycles beside them) for each protection policy:
 * - protected PTE writes (set_pte through the policy's writer on a table that exists),
 * - map + unmap of 512 pages (one page table's worth),
 * - fork of a 1 GiB process (262144 pages; --quick: 64 MiB).
 *
 *   npm run bench:kernel            # writes bench/kernel-results.json and prints a Markdown table
 *   npm run bench:kernel -- --quick
 *   npm run bench:kernel -- --policy=pks   # one policy
 *
 * Each policy runs in its own process, so the JIT's view of one policy's writer does not slow another's.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { Machine } from '../src/index.js';
import { Kernel } from '../src/pgtable/kernel.js';
import { POLICIES, type ProtectionPolicy } from '../src/pgtable/policies.js';
import { set_pte } from '../src/pgtable/set-pte.js';

const quick = process.argv.includes('--quick');
const MIN_MS = quick ? 150 : 800;
const CPUS = 4;
const FORK_PAGES = quick ? 16384 : 262144;
const SWEEP = quick ? [1, 4, 16] : [1, 2, 4, 8, 16, 32, 64];

function boot(policy: ProtectionPolicy, memory = 2 ** 32, cpus = CPUS): { m: Machine; k: Kernel } {
  const m = new Machine({ cpus, memory });
  return { m, k: Kernel.boot(m, { protection: policy, directMap: '2M' }) };
}

/** Best-of-3 rate of body(n) (n grown until a run takes MIN_MS / 4). */
function rate(body: (n: number) => void): number {
  let n = 64;
  for (;;) {
    const t0 = performance.now();
    body(n);
    if (performance.now() - t0 >= MIN_MS / 4) break;
    n *= 4;
  }
  let best = 0;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    body(n);
    best = Math.max(best, n / ((performance.now() - t0) / 1000));
  }
  return best;
}

// Garbage collections seen during the timed PTE writes: the protected write path should cause none.
let gcCount = 0;
new PerformanceObserver((list) => {
  gcCount += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });

const sysCycles = (m: Machine) => m.cpus.reduce((a, c) => a + c.stats.cycles, 0);

interface Row {
  policy: ProtectionPolicy;
  pteWritesPerSec: number;
  cyclesPerWrite: number;
  systemCyclesPerWrite: number;
  cyclesPerWriteInHold: number;
  gcPer10MWrites: number;
  /** Simulated cost of one PTE write by CPU count (every CPU runs the address space). */
  sweep: { cpus: number; cyclesPerWrite: number; systemCyclesPerWrite: number }[];
  mapUnmap512PerSec: number;
  cyclesPerMapUnmap512: number;
  forkMs: number;
  forkCycles: number;
  forkPages: number;
}

const only = process.argv.find((a) => a.startsWith('--policy='))?.slice('--policy='.length);
if (only !== undefined && !POLICIES.includes(only as ProtectionPolicy)) throw new RangeError(`--policy must be one of ${POLICIES.join(', ')}; got ${only}`);
const child = process.argv.includes('--child');
const rows: Row[] = [];
if (only === undefined) {
  for (const policy of POLICIES) {
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), `--policy=${policy}`, '--child', ...(quick ? ['--quick'] : [])], { encoding: 'utf8', maxBuffer: 1 << 24 });
    rows.push(JSON.parse(out) as Row);
  }
}
for (const policy of POLICIES.filter((p) => p === only)) {
  // 1. Protected PTE writes.
  const { m, k } = boot(policy);
  const cpu = m.cpus[0];
  const mm = k.createAddressSpace();
  for (const c of m.cpus) mm.switchTo(c);
  mm.map(0x400000n, 1, { write: true });
  const ptep = Number(mm.pageTables()[3]) + 8 * 1; // an unused slot of the PT page
  const w = k.writer;
  let v = 0;
  let written = 0;
  for (let i = 0; i < 200000; i++) set_pte(w, cpu, ptep, (v++ & 1) * 0x1000, 0); // warm up, then let boot's garbage go
  await new Promise((r) => setTimeout(r, 50));
  const gc0 = gcCount;
  const pteWritesPerSec = rate((n) => {
    for (let i = 0; i < n; i++) set_pte(w, cpu, ptep, (v++ & 1) * 0x1000, 0);
    written += n;
  });
  await new Promise((r) => setTimeout(r, 20)); // let the observer report
  const gcPer10MWrites = ((gcCount - gc0) / written) * 1e7;
  const c0 = cpu.cycles;
  const s0 = sysCycles(m);
  for (let i = 0; i < 1000; i++) set_pte(w, cpu, ptep, (i & 1) * 0x1000, 0);
  const cyclesPerWrite = (cpu.cycles - c0) / 1000;
  const systemCyclesPerWrite = (sysCycles(m) - s0) / 1000;
  // The same writes inside one page-table-lock hold of 512 writes (only pks-lock differs).
  const c2 = cpu.cycles;
  w.begin(cpu);
  for (let i = 0; i < 512; i++) set_pte(w, cpu, ptep, (i & 1) * 0x1000, 0);
  w.end(cpu);
  const cyclesPerWriteInHold = (cpu.cycles - c2) / 512;
  set_pte(w, cpu, ptep, 0, 0);

  // 1b. The same write's simulated cost as the machine grows (paging-ro's flushes interrupt every CPU).
  const sweep: Row['sweep'] = [];
  for (const n of SWEEP) {
    const b = boot(policy, 2 ** 30, n);
    const sm = b.k.createAddressSpace();
    for (const c of b.m.cpus) sm.switchTo(c);
    sm.map(0x400000n, 1, { write: true });
    const sp = Number(sm.pageTables()[3]) + 8;
    const sc = b.m.cpus[0];
    set_pte(b.k.writer, sc, sp, 0x1000, 0); // first write: any split happens here
    const a0 = sc.cycles;
    const y0 = sysCycles(b.m);
    for (let i = 0; i < 64; i++) set_pte(b.k.writer, sc, sp, (i & 1) * 0x1000, 0);
    sweep.push({ cpus: n, cyclesPerWrite: (sc.cycles - a0) / 64, systemCyclesPerWrite: (sysCycles(b.m) - y0) / 64 });
  }

  // 2. map + unmap of 512 pages.
  const base = 0x40000000n;
  const mapUnmap512PerSec = rate((n) => {
    for (let i = 0; i < n; i++) {
      mm.map(base, 512, { write: true });
      mm.unmap(base, 512);
    }
  });
  const c1 = cpu.cycles;
  mm.map(base, 512, { write: true });
  mm.unmap(base, 512);
  const cyclesPerMapUnmap512 = cpu.cycles - c1;
  mm.destroy();

  // 3. fork of a large process.
  const big = boot(policy, 2 ** 33);
  const p = big.k.createAddressSpace();
  p.switchTo(big.m.cpus[0]);
  p.map(0x10000000n, FORK_PAGES, { write: true });
  const fc0 = big.m.cpus[0].cycles;
  const t0 = performance.now();
  const child = p.fork();
  const forkMs = performance.now() - t0;
  const forkCycles = big.m.cpus[0].cycles - fc0;
  child.destroy();
  p.destroy();

  rows.push({ policy, pteWritesPerSec, cyclesPerWrite, systemCyclesPerWrite, cyclesPerWriteInHold, gcPer10MWrites, sweep, mapUnmap512PerSec, cyclesPerMapUnmap512, forkMs, forkCycles, forkPages: FORK_PAGES });
}

if (child) {
  process.stdout.write(JSON.stringify(rows[0]));
  process.exit(0);
}
const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(1));
console.log(`\nKernel model, ${CPUS} CPUs, sapphire-rapids profile, 2 MiB direct map${quick ? ' (quick)' : ''}\n`);
console.log('| policy | PTE writes/s (host) | GCs per 10 M writes | cycles/write | system cycles/write | cycles/write in a 512-write lock hold | map+unmap 512/s (host) | cycles per map+unmap 512 | fork ' + `${(FORK_PAGES * 4) / 1024} MiB` + ' (host ms) | fork cycles |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(`| ${r.policy} | ${fmt(r.pteWritesPerSec)} | ${r.gcPer10MWrites.toFixed(1)} | ${r.cyclesPerWrite.toFixed(0)} | ${r.systemCyclesPerWrite.toFixed(0)} | ${r.cyclesPerWriteInHold.toFixed(1)} | ${fmt(r.mapUnmap512PerSec)} | ${fmt(r.cyclesPerMapUnmap512)} | ${r.forkMs.toFixed(0)} | ${fmt(r.forkCycles)} |`);
}
console.log(`\nSimulated cycles of one PTE write (writing CPU / all CPUs together) by CPU count, every CPU running the address space\n`);
console.log(`| policy | ${rows[0].sweep.map((x) => `${x.cpus} CPUs`).join(' | ')} |`);
console.log(`|---|${rows[0].sweep.map(() => '---').join('|')}|`);
for (const r of rows) console.log(`| ${r.policy} | ${r.sweep.map((x) => `${x.cyclesPerWrite.toFixed(0)} / ${x.systemCyclesPerWrite.toFixed(0)}`).join(' | ')} |`);
writeFileSync(new URL('./kernel-results.json', import.meta.url), JSON.stringify({ meta: { cpus: CPUS, quick, node: process.version }, rows }, null, 2) + '\n');
