/** `k.stats()`: the kernel model's counters in one plain object (every figure deterministic). */

import type { CpaStats } from '../cpa/types.js';
import type { Kernel } from './kernel.js';
import type { TlbStats } from './tlb.js';

export interface KernelStats {
  policy: string;
  /** WRMSRs to IA32_PKRS the kernel made, and those its per-CPU cache saved. */
  wrmsr: number;
  wrmsrSkipped: number;
  /** IPIs sent (all CPUs, kernel-range and user flushes). */
  ipis: number;
  /** Flushes that interrupted other CPUs: user (flush_tlb_mm_range) plus kernel range flushes. */
  shootdowns: number;
  /** INVLPGs executed (all CPUs). */
  invlpg: number;
  /** Full TLB flushes: user PCID flushes plus kernel (global) flushes. */
  fullFlushes: number;
  /** CR3 writes (all CPUs). */
  cr3Writes: number;
  /** Large pages of the direct map split, by the size split. */
  splits: CpaStats['splits'];
  /** Direct-map leaf entries by page size. */
  directMap: CpaStats['directPages'];
  /** Group cache: refills (order-9 blocks), fallbacks to one page, pages free on its list and their bytes,
   * page-table pages in use. */
  cacheRefills: number;
  cacheFallbacks: number;
  cachePages: number;
  cacheBytes: number;
  tablePages: number;
  /** Page-table pages of address spaces freed (emptied by unmap, or at exit), each after its TLB flush. */
  tablesFreed: number;
  /** Data pages zeroed on map (clear_page through the direct map: plain stores, no write window). */
  pagesZeroed: number;
  /** Tables reserved for the direct map's splits, and their bytes. */
  reservePages: number;
  reserveBytes: number;
  /** Entry writes made by the policy's writer, and write windows opened. */
  entryWrites: number;
  windows: number;
  /** Faults the kernel took from its own or stray writes; soft-mode reports. */
  oopses: number;
  softReports: number;
  /** Data pages mapped (shared pages once). */
  dataPages: number;
  /** Free pages in the buddy allocator. */
  freePages: number;
  /** Cycles on each CPU's clock. */
  cycles: number[];
  tlb: TlbStats;
  cpa: CpaStats;
}

export function kernelStats(k: Kernel): KernelStats {
  const cpus = k.machine.cpus;
  let ipis = 0;
  let invlpg = 0;
  let cr3 = 0;
  for (const c of cpus) {
    ipis += c.stats.ipisSent;
    invlpg += c.stats.invlpg;
    cr3 += c.stats.cr3Writes;
  }
  const cpa = k.dm.stats;
  const t = k.tlb.stats;
  const p = k.pks.stats;
  return {
    policy: k.policy,
    wrmsr: p.wrmsr,
    wrmsrSkipped: p.wrmsrSkipped,
    ipis,
    shootdowns: t.shootdowns + (cpus.length > 1 ? cpa.flushes.single + cpa.flushes.full : 0),
    invlpg,
    fullFlushes: t.fullFlushes + cpa.flushes.full,
    cr3Writes: cr3,
    splits: { ...cpa.splits },
    directMap: { ...cpa.directPages },
    cacheRefills: k.cache.stats.refills,
    cacheFallbacks: k.cache.stats.fallbacks,
    cachePages: k.cache.freePages,
    cacheBytes: k.cache.bytesHeld,
    tablePages: k.cache.pagesInUse,
    tablesFreed: k.tablesFreed,
    pagesZeroed: k.pagesZeroed,
    reservePages: cpa.reservePages,
    reserveBytes: cpa.reserveBytes,
    entryWrites: k.writer.stats.entryWrites,
    windows: k.writer.stats.windows,
    oopses: k.oopses.length,
    softReports: k.softReports.length,
    dataPages: k.dataPages,
    freePages: k.buddy.freePages,
    cycles: cpus.map((c) => c.stats.cycles),
    tlb: { ...t },
    cpa: { ...cpa, splits: { ...cpa.splits }, directPages: { ...cpa.directPages }, flushes: { ...cpa.flushes } },
  };
}
