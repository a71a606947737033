/**
 * Core micro-benchmarks (host throughput, not simulated cycles): a TLB-hit 8-byte read, a 4-level walk on
 * a TLB miss, a PKRS write; and how host memory and time grow with installed memory and CPU count.
 *
 *   npm run bench            # full run, writes bench/core-results.json and prints a Markdown table
 *   npm run bench -- --quick # shorter timings
 */
import { writeFileSync } from 'node:fs';
import { performance, PerformanceObserver } from 'node:perf_hooks';
import { ACC_READ, enterLongMode, Machine, MSR, PageTableBuilder, type Cpu } from '../src/index.js';

const quick = process.argv.includes('--quick');
const MIN_MS = quick ? 200 : 1000;

// Garbage collections seen while the timed runs execute: the hot paths should cause none.
let gcCount = 0;
new PerformanceObserver((list) => {
  gcCount += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });
const settle = () => new Promise<void>((r) => setTimeout(r, 20));

/**
 * Run `body(n)` with growing n until it takes MIN_MS; return operations per second of the best of 3 runs,
 * and the garbage collections per 10 M operations over those 3 runs.
 */
async function rate(body: (n: number) => void): Promise<{ perSec: number; gcPer10M: number }> {
  let n = 1000;
  for (;;) {
    const t0 = performance.now();
    body(n);
    const dt = performance.now() - t0;
    if (dt >= MIN_MS / 4) break;
    n *= 4;
  }
  await settle();
  const gc0 = gcCount;
  let best = 0;
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    body(n);
    const dt = performance.now() - t0;
    best = Math.max(best, n / (dt / 1000));
  }
  await settle();
  return { perSec: best, gcPer10M: ((gcCount - gc0) / (3 * n)) * 1e7 };
}

function kernelMachine(opts: ConstructorParameters<typeof Machine>[0] = {}): { m: Machine; cpu: Cpu; b: PageTableBuilder } {
  const m = new Machine({ memory: 2 ** 32, ...opts });
  const cpu = m.cpus[0];
  const b = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x800000 });
  enterLongMode(cpu, { cr3: b.root, cr4: (1n << 24n) | (1n << 7n) });
  return { m, cpu, b };
}

const rows: { name: string; value: number; unit: string; gcPer10M: number; note: string }[] = [];
const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : x.toFixed(1));

// 1. TLB-hit 8-byte read, hot path (halves, no allocation) and API edge (bigint).
{
  const { cpu, b } = kernelMachine();
  b.map(0xffff888000000000n, 0n, 4096, { write: true });
  const lo = 0x00000000, hi = 0xffff8880 | 0; // halves as int32, as the interpreter keeps them
  cpu.load(lo, hi, 8, ACC_READ);
  const r = await rate((n) => {
    let acc = 0;
    for (let i = 0; i < n; i++) acc ^= cpu.load(lo + ((i & 0x1ff) << 3), hi, 8, ACC_READ);
    if (acc === 0x12345678) console.log('');
  });
  rows.push({ name: 'TLB-hit 8-byte read (cpu.load, hot path)', value: r.perSec, unit: 'reads/s', gcPer10M: r.gcPer10M, note: 'aim >= 30 M/s' });
  const rApi = await rate((n) => {
    for (let i = 0; i < n; i++) cpu.read(0xffff888000000008n, 8);
  });
  rows.push({ name: 'TLB-hit 8-byte read (cpu.read, bigint API)', value: rApi.perSec, unit: 'reads/s', gcPer10M: rApi.gcPer10M, note: 'API edge' });
}

// 2. 4-level walk on every access: TLBs and paging-structure caches disabled, so every translation walks
//    PML4E -> PDPTE -> PDE -> PTE (A bits already set, so no A/D write).
{
  const off = [0, 1] as const;
  const { cpu, b } = kernelMachine({
    profileOverrides: { tlb: { l1d4k: off, l1d2m: off, l1d1g: off, l1i4k: off, l1i2m: off, l1i1g: off, stlb: off, stlb1g: off, pscPml5: off, pscPml4: off, pscPdpt: off, pscPd: off } },
  });
  for (let i = 0; i < 512; i++) b.map(0xffff888000000000n + BigInt(i) * 4096n, BigInt(i) * 4096n, 4096, { write: true });
  const hi = 0xffff8880 | 0;
  for (let i = 0; i < 512; i++) cpu.mmu.translate(i << 12, hi, ACC_READ);
  const refs0 = cpu.stats.walkRefs, walks0 = cpu.stats.walks;
  const r = await rate((n) => {
    for (let i = 0; i < n; i++) cpu.mmu.translate((i & 511) << 12, hi, ACC_READ);
  });
  const refsPerWalk = (cpu.stats.walkRefs - refs0) / (cpu.stats.walks - walks0);
  rows.push({ name: 'full 4-level walk (TLB and PSC disabled)', value: r.perSec, unit: 'walks/s', gcPer10M: r.gcPer10M, note: `aim >= 3 M/s; ${refsPerWalk} refs/walk` });
}

// 2b. TLB misses with the default geometry: 64 Ki distinct pages cycled (beyond the STLB), PSC hits.
{
  const { cpu, b } = kernelMachine();
  const pages = 65536;
  for (let i = 0; i < pages; i++) b.map(0xffffc90000000000n + BigInt(i) * 4096n, 0x10000000n + BigInt(i) * 4096n, 4096, { write: true });
  const hi = 0xffffc900 | 0;
  for (let i = 0; i < pages; i++) cpu.mmu.translate(i << 12, hi, ACC_READ);
  const w0 = cpu.stats.walks, t0 = cpu.stats.translations, p0 = cpu.stats.pscHits;
  const r = await rate((n) => {
    for (let i = 0; i < n; i++) cpu.mmu.translate(((i * 7919) & (pages - 1)) << 12, hi, ACC_READ);
  });
  const missRate = (cpu.stats.walks - w0) / (cpu.stats.translations - t0);
  const pscRate = (cpu.stats.pscHits - p0) / (cpu.stats.walks - w0);
  rows.push({ name: 'translation, 64 Ki pages cycled (default TLBs)', value: r.perSec, unit: 'translations/s', gcPer10M: r.gcPer10M, note: `${(missRate * 100).toFixed(0)}% walk; ${(pscRate * 100).toFixed(0)}% of walks start from a PSC` });
}

// 3. PKRS writes.
{
  const { cpu } = kernelMachine();
  const r = await rate((n) => {
    for (let i = 0; i < n; i++) cpu.writePkrs(i & 0xc);
  });
  rows.push({ name: 'PKRS write (cpu.writePkrs, hot path)', value: r.perSec, unit: 'writes/s', gcPer10M: r.gcPer10M, note: 'no TLB flush' });
  const rApi = await rate((n) => {
    for (let i = 0; i < n; i++) cpu.wrmsr(MSR.IA32_PKRS, 8n);
  });
  rows.push({ name: 'PKRS write (cpu.wrmsr, bigint API)', value: rApi.perSec, unit: 'writes/s', gcPer10M: rApi.gcPer10M, note: 'with reserved-bit checks' });
}

// 4. Growth with installed memory and CPU count.
// Host memory is reported as what the library holds (frames, TLB arrays): exact and repeatable, unlike
// heap deltas taken around a garbage collector.
const growth: { what: string; size: string; constructMs: number; hostMiB: number; note: string }[] = [];
// (the first pass warms up the JIT; its numbers are dropped)
for (const pass of [0, 1]) for (const gib of [1, 16, 64, 256, 1024]) {
  const t0 = performance.now();
  const m = new Machine({ memory: gib * 2 ** 30 });
  const ms = performance.now() - t0;
  // touch one 8-byte word in each of 4096 frames spread over all of memory
  const stride = Math.floor((gib * 2 ** 30) / 4096 / 4096) * 4096;
  const t1 = performance.now();
  for (let i = 0; i < 4096; i++) m.memory.wr32(i * stride, i);
  const touchMs = performance.now() - t1;
  const hostMiB = (m.memory.hostBytes + m.cpus[0].mmu.hostBytes) / 2 ** 20;
  if (pass === 1) growth.push({ what: 'memory', size: `${gib} GiB`, constructMs: ms, hostMiB, note: `${m.memory.stats.framesAllocated} frames spread over it, written in ${touchMs.toFixed(1)} ms` });
}
for (const n of [1, 4, 16, 64, 256]) {
  const t0 = performance.now();
  const m = new Machine({ cpus: n });
  const ms = performance.now() - t0;
  const hostMiB = m.cpus.reduce((a, c) => a + c.mmu.hostBytes, 0) / 2 ** 20;
  growth.push({ what: 'cpus', size: `${n}`, constructMs: ms, hostMiB, note: 'TLBs and paging-structure caches, no memory touched' });
}

const out = {
  meta: { node: process.version, quick, date: new Date().toISOString().slice(0, 10) },
  throughput: rows,
  growth,
};
if (!quick) writeFileSync(new URL('./core-results.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
console.log(`| benchmark | host throughput | GCs per 10 M ops | note |\n|---|---|---|---|`);
for (const r of rows) console.log(`| ${r.name} | ${fmt(r.value)} ${r.unit} | ${r.gcPer10M.toFixed(1)} | ${r.note} |`);
console.log(`\n| grows with | size | construct (ms) | host memory held (MiB) | note |\n|---|---|---|---|---|`);
for (const g of growth) console.log(`| ${g.what} | ${g.size} | ${g.constructMs.toFixed(2)} | ${g.hostMiB.toFixed(2)} | ${g.note} |`);
