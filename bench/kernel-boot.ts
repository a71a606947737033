/**
 * Boot benchmark of the kernel model (host time, not simulated cycles): how long bootKernel takes and how much
 * host memory it costs for
 *   - 64 GiB with a 4 KiB direct map (16 M PTEs in 32 K PTE pages, every one written),
 *   - 1 TiB with 1 GiB pages (a handful of tables),
 * each without and with protected tables (the RFC v2 reserve), plus one set_memory_ro that splits 1G -> 2M -> 4K
 * on the 1 TiB machine (simulated cycles of the calling CPU, IPIs).
 *
 *   npx esbuild bench/kernel-boot.ts --bundle --platform=node --format=esm --outfile=bench/out/kernel-boot.mjs \
 *     && node --expose-gc bench/out/kernel-boot.mjs [--quick] [--json]
 * A full run also writes bench/out/kernel-boot-results.json.
 */
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { Machine } from '../src/cpu/machine.js';
import { directMapVa } from '../src/cpa/writer.js';
import type { BootOptions } from '../src/cpa/types.js';
import { bootKernel } from '../src/pgtable/boot.js';

const quick = process.argv.includes('--quick');
const json = process.argv.includes('--json');
const GiB = 2 ** 30;
const gc = (globalThis as { gc?: () => void }).gc;

interface Row {
  case: string;
  memoryGiB: number;
  directMap: string;
  protect: string;
  bootMs: number;
  tables: number;
  framesAllocated: number;
  hostMiB: number;
  reservePages: number;
  reserveMiB: number;
}

function bootCase(name: string, memory: number, bo: BootOptions, runs: number): Row {
  let best = Infinity;
  let row: Row | null = null;
  for (let r = 0; r < runs; r++) {
    gc?.();
    const m = new Machine({ cpus: 4, memory });
    const t0 = performance.now();
    const k = bootKernel(m, bo);
    const dt = performance.now() - t0;
    if (dt < best) best = dt;
    row = {
      case: name,
      memoryGiB: memory / GiB,
      directMap: k.options.directMap,
      protect: k.options.protect,
      bootMs: 0,
      tables: k.bootTables.length,
      framesAllocated: m.memory.stats.framesAllocated,
      hostMiB: m.memory.hostBytes / 2 ** 20,
      reservePages: k.directMap.stats.reservePages,
      reserveMiB: k.directMap.stats.reserveBytes / 2 ** 20,
    };
  }
  row!.bootMs = Math.round(best * 10) / 10;
  return row!;
}

const runs = quick ? 1 : 3;
const rows: Row[] = [
  bootCase('64 GiB, 4 KiB direct map', 64 * GiB, { directMap: '4K' }, runs),
  bootCase('64 GiB, 4 KiB direct map, pkey tables', 64 * GiB, { directMap: '4K', protect: 'pkey' }, runs),
  bootCase('1 TiB, 1 GiB direct map', 1024 * GiB, { directMap: '1G' }, runs),
  bootCase('1 TiB, 1 GiB direct map, pkey tables', 1024 * GiB, { directMap: '1G', protect: 'pkey' }, runs),
];

// One split chain on the 1 TiB machine: simulated cost of set_memory_ro on one 4 KiB page of a 1 GiB page.
const m = new Machine({ cpus: 4, memory: 1024 * GiB });
const k = bootKernel(m, { directMap: '1G', protect: 'pkey' });
const c0 = m.cpus[0].cycles;
const s0 = m.cpus.reduce((s, c) => s + c.cycles, 0);
const t0 = performance.now();
k.directMap.set_memory_ro(m.cpus[0], directMapVa(512 * GiB + 4096), 1);
const split = {
  hostMs: Math.round((performance.now() - t0) * 100) / 100,
  initiatorCycles: m.cpus[0].cycles - c0,
  systemCycles: m.cpus.reduce((s, c) => s + c.cycles, 0) - s0,
  ...k.directMap.stats,
};

// set_memory_ro + set_memory_rw of one 4 KiB page (what a paging-ro table write costs in cpa), 4 CPUs, 4 KiB map.
const m2 = new Machine({ cpus: 4, memory: 4 * GiB });
const k2 = bootKernel(m2, { directMap: '4K' });
const cpu = m2.cpus[0];
const pairs = quick ? 20000 : 100000;
const cyc0 = cpu.cycles;
const sys0 = m2.cpus.reduce((s, c) => s + c.cycles, 0);
const t1 = performance.now();
for (let i = 0; i < pairs; i++) {
  const pa = 2 * GiB + (i % 512) * 4096;
  k2.directMap.set_memory_ro(cpu, pa, 1);
  k2.directMap.set_memory_rw(cpu, pa, 1);
}
const dt1 = performance.now() - t1;
const roRw = {
  pairsPerSec: Math.round(pairs / (dt1 / 1000)),
  initiatorCyclesPerPair: Math.round((cpu.cycles - cyc0) / pairs),
  systemCyclesPerPair: Math.round((m2.cpus.reduce((s, c) => s + c.cycles, 0) - sys0) / pairs),
};

const out = { meta: { node: process.version, quick }, boot: rows, split, roRw };
// Beside the bundle (bench/out/, not committed), as bench/core.ts does.
if (!quick) writeFileSync(new URL('./kernel-boot-results.json', import.meta.url), JSON.stringify(out, null, 2) + '\n');
if (json) {
  console.log(JSON.stringify(out, null, 2));
} else {
  console.log('| case | boot (host ms) | tables written | frames allocated | host MiB | reserve pages | reserve MiB |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.case} | ${r.bootMs} | ${r.tables} | ${r.framesAllocated} | ${r.hostMiB.toFixed(1)} | ${r.reservePages} | ${r.reserveMiB.toFixed(1)} |`);
  console.log(`\nset_memory_ro of one page in a 1 GiB page (1 TiB, pkey tables): ${split.hostMs} host ms, ${split.initiatorCycles} cycles on the caller (${split.systemCycles} on all CPUs), splits ${JSON.stringify(split.splits)}, IPIs ${split.ipis}, flushes ${JSON.stringify(split.flushes)}`);
  console.log(`set_memory_ro + set_memory_rw of one 4 KiB page (4 CPUs): ${roRw.pairsPerSec} pairs/s host, ${roRw.initiatorCyclesPerPair} cycles on the caller, ${roRw.systemCyclesPerPair} on all CPUs, per pair`);
}
