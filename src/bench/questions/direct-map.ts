/**
 * Questions 4 and 5: what the protection does to the direct map, and what the grouped page cache costs.
 *
 * A seeded churn of processes allocates and frees page-table pages until N have been handed out: each step
 * either starts a process and maps a few pages at random 2 MiB-aligned places of a random 1 GiB region (new
 * PTE, PMD and PUD pages, and data pages from the same allocator, which scatter ungrouped tables), or ends a
 * random live process (its tables freed). At the end: the direct map's leaf entries by size and the splits
 * (question 4), and the cache's refills, kernel range shootdowns per 10 000 allocations and pages held, with
 * the split reserve per GiB installed (question 5); with the grouped cache and without it.
 */
import type { AddressSpace } from '../../pgtable/mm.js';
import { Rng } from '../rng.js';
import { boot, measure, POLICIES, r2, type ProtectionPolicy } from '../setup.js';
import { defineQuestion, type BenchOptions, type BenchRow } from '../types.js';

export interface ChurnCell {
  policy: ProtectionPolicy;
  groupedCache: boolean;
  allocations: number;
}

const CPUS = 4;
const MEMORY = 2 ** 33; // 8 GiB installed

/** Run the churn; returns the kernel's stats after it and the counter deltas over it. */
export function churn(cell: ChurnCell, opts: BenchOptions): { stats: ReturnType<ReturnType<typeof boot>['k']['stats']>; delta: ReturnType<typeof measure>; gets: number; memory: number; kernelFlushes: number } {
  const rig = boot(opts, CPUS, cell.policy, { directMap: '1G', groupedCache: cell.groupedCache }, MEMORY);
  const { k, cpu } = rig;
  const rng = new Rng(opts.seed ?? 1);
  const live: AddressSpace[] = [];
  const gets0 = k.cache.stats.gets;
  const flush0 = k.dm.stats.flushes.single + k.dm.stats.flushes.full;
  // up to about half the allocations live at once (some 12 tables a process), so the cache must refill
  const maxLive = Math.max(16, Math.floor(cell.allocations / 24));
  const delta = measure(rig, () => {
    while (k.cache.stats.gets - gets0 < cell.allocations) {
      if (live.length >= maxLive || (live.length > 0 && rng.next() < 0.3)) {
        live.splice(rng.int(live.length), 1)[0].destroy({ cpu });
        continue;
      }
      const mm = k.createAddressSpace();
      mm.switchTo(cpu);
      const maps = 1 + rng.int(8);
      for (let i = 0; i < maps; i++) {
        // a random 2 MiB slot of one of 64 GiB-sized regions of the user half
        const va = BigInt(1 + rng.int(64)) * 2n ** 30n + BigInt(rng.int(512)) * 2n ** 21n;
        if (mm.translate(va) === null) mm.map(va, 1 + rng.int(4), { write: true, user: true }, { cpu });
      }
      live.push(mm);
    }
  });
  return { stats: k.stats(), delta, gets: k.cache.stats.gets - gets0, memory: MEMORY, kernelFlushes: k.dm.stats.flushes.single + k.dm.stats.flushes.full - flush0 };
}

const cellsOf = (opts: BenchOptions): ChurnCell[] => {
  const sizes = opts.quick ? [1000] : [1000, 10000];
  const out: ChurnCell[] = [];
  for (const allocations of sizes) for (const policy of POLICIES) for (const groupedCache of [true, false]) out.push({ policy, groupedCache, allocations });
  return out;
};

export const directMap = defineQuestion<ChurnCell>({
  id: 'direct-map',
  title: 'The direct map after N page-table allocations: entries by page size and splits, grouped cache or not',
  method:
    'A seeded churn of processes on a 4-CPU machine with 8 GiB and a 1 GiB-page direct map: start a process and map a few pages at random 2 MiB slots of random 1 GiB regions, or end one, until N page-table pages have been handed out. Counts are the direct map\'s leaf entries and the large pages split (never merged back, as in Linux).',
  cells: cellsOf,
  runCell(cell, opts): BenchRow[] {
    const { stats, gets } = churn(cell, opts);
    return [
      {
        policy: cell.policy,
        groupedCache: cell.groupedCache,
        allocations: gets,
        entries1G: stats.directMap['1G'],
        entries2M: stats.directMap['2M'],
        entries4K: stats.directMap['4K'],
        splits1G: stats.splits['1G'],
        splits2M: stats.splits['2M'],
      },
    ];
  },
});

export const cache = defineQuestion<ChurnCell>({
  id: 'cache',
  title: 'The grouped page cache: refills, kernel shootdowns per 10 000 page-table allocations, memory held',
  method:
    'The churn of the direct-map question (same seed, same machine). Refills are order-9 blocks taken by the cache, fallbacks single pages taken when no block was free; kernel flushes are flush_tlb_kernel_range calls (set_memory_* on table pages; under paging-ro also the two around every entry write), shootdowns every flush that interrupted other CPUs (kernel and user); pages held are free pages left on the cache\'s lists; the reserve is the tables set aside at boot for direct-map splits (RFC v2).',
  cells: cellsOf,
  runCell(cell, opts): BenchRow[] {
    const { stats, delta, gets, kernelFlushes } = churn(cell, opts);
    const per10k = (x: number) => r2((x * 10000) / gets);
    const gib = MEMORY / 2 ** 30;
    return [
      {
        policy: cell.policy,
        groupedCache: cell.groupedCache,
        allocations: gets,
        refills: delta.cacheRefills,
        fallbacks: stats.cacheFallbacks,
        kernelFlushesPer10k: per10k(kernelFlushes),
        shootdownsPer10k: per10k(delta.shootdowns),
        ipisPer10k: per10k(delta.ipis),
        cyclesPerAllocation: r2(delta.cycles / gets),
        pagesHeld: stats.cachePages,
        tablePages: stats.tablePages,
        reservePages: stats.reservePages,
        reserveKiBPerGiB: r2(stats.reserveBytes / 1024 / gib),
      },
    ];
  },
});
