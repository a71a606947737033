/**
 * Allocation check of the shootdown path (host garbage collections, not simulated cycles): page-table writes and
 * user TLB flushes that interrupt every other CPU should allocate nothing, so a long run should see no GC.
 *   - `pte`: N set_pte writes under `paging-ro` (each: set_memory_rw, store, set_memory_ro, every CPA with its
 *     flush_tlb_kernel_range IPIs to the other CPUs) or another policy;
 *   - `mprotect`: N flush_tlb_mm_range of one page of an address space loaded on every CPU (IPIs to all others).
 * GCs are counted with a perf_hooks PerformanceObserver on 'gc' entries, after a warm-up.
 *
 *   npx esbuild bench/ipi-alloc.ts --bundle --platform=node --format=esm --outfile=bench/out/ipi-alloc.mjs \
 *     && node bench/out/ipi-alloc.mjs [--writes=1000000] [--cpus=8] [--policy=paging-ro]
 */
import { parseArgs } from 'node:util';
import { PerformanceObserver } from 'node:perf_hooks';
import { Machine } from '../src/cpu/machine.js';
import { Kernel } from '../src/pgtable/kernel.js';
import { POLICIES, type ProtectionPolicy } from '../src/pgtable/policies.js';
import { set_pte } from '../src/pgtable/set-pte.js';

const { values } = parseArgs({ options: { writes: { type: 'string', default: '1000000' }, cpus: { type: 'string', default: '8' }, policy: { type: 'string', default: 'paging-ro' } } });
const N = Number(values.writes);
const CPUS = Number(values.cpus);
const policy = values.policy as ProtectionPolicy;
if (!Number.isInteger(N) || N < 1) throw new RangeError(`--writes must be a positive integer, got ${values.writes}`);
if (!POLICIES.includes(policy)) throw new RangeError(`--policy must be one of ${POLICIES.join(', ')}; got ${values.policy}`);

let gcs = 0;
new PerformanceObserver((list) => {
  gcs += list.getEntries().length;
}).observe({ entryTypes: ['gc'] });
const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));

const m = new Machine({ cpus: CPUS, memory: 2 ** 31 });
const k = Kernel.boot(m, { protection: policy, directMap: '2M', zeroPages: false });
const mm = k.createAddressSpace();
for (const c of m.cpus) mm.switchTo(c);
mm.map(0x400000n, 1, { write: true });
const cpu = m.cpus[0];
const ptep = Number(mm.pageTables()[3]) + 8; // an unused slot of the PT page
const w = k.writer;

async function measure(name: string, body: (n: number) => void): Promise<void> {
  body(Math.min(N, 100000)); // warm up (JIT, first splits)
  await settle();
  const g0 = gcs;
  const ipi0 = k.stats().ipis;
  const t0 = performance.now();
  body(N);
  const ms = performance.now() - t0;
  await settle();
  const g = gcs - g0;
  const ipis = k.stats().ipis - ipi0;
  console.log(`| ${name} | ${policy} | ${CPUS} | ${N} | ${ipis} | ${g} | ${((g / N) * 1e7).toFixed(1)} | ${((N / ms) * 1000).toFixed(0)} |`);
}

console.log('| operation | policy | CPUs | operations | IPIs sent | GCs | GCs per 10 M operations | operations/s (host) |');
console.log('|---|---|---|---|---|---|---|---|');
let v = 0;
await measure('set_pte', (n) => {
  for (let i = 0; i < n; i++) set_pte(w, cpu, ptep, (v++ & 1) * 0x1000, 0);
});
set_pte(w, cpu, ptep, 0, 0);
await measure('mprotect 1 page (flush_tlb_mm_range)', (n) => {
  for (let i = 0; i < n; i++) k.tlb.flush_tlb_mm_range(cpu, mm, 0x400000, 0, 1);
});
