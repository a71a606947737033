/**
 * The interfaces between the direct map / change_page_attr (src/cpa, src/pgtable/buddy.ts, boot.ts) and the
 * kernel model built on them (policies, page cache, address spaces). See /work/coord/KERNEL-INTERFACES.md.
 *
 * Physical addresses are numbers (below 2^52, exact); linear addresses of the direct map are bigints at the API
 * edge and 32-bit halves on the hot path.
 */

import type { Cpu } from '../cpu/cpu.js';

/** __PAGE_OFFSET_BASE_L4: where the direct map of all physical memory starts (4-level paging, no KASLR). */
export const PAGE_OFFSET = 0xffff888000000000n;
/** High half of PAGE_OFFSET; its low half is 0, so the va of pa is (PAGE_OFFSET_HI + pa / 2^32) : (pa mod 2^32). */
export const PAGE_OFFSET_HI = 0xffff8880;
/** The direct map region spans 64 TiB (2^46 bytes) in Linux's 4-level layout. */
export const DIRECT_MAP_MAX = 2 ** 46;

/** The model's -ENOMEM, as Linux's set_memory_* return it. */
export const ENOMEM = -12;
/** A physical-page allocation that failed (buddy, TableSource): no page. */
export const NO_PAGE = -1;

export const PAGE_4K = 4096;
export const PAGE_2M = 2 ** 21;
export const PAGE_1G = 2 ** 30;
export type PageBytes = 4096 | 2097152 | 1073741824;

/** Page size of the direct map chosen at boot (1G only when the CPU has gbpages). */
export type DirectMapSize = '1G' | '2M' | '4K';
/** How the direct map's own page tables (and the reserve) are protected: not at all, keyed with the page-table
 * key (PKS), or read-only (R/W = 0) in the direct map. */
export type TableProtection = 'none' | 'pkey' | 'readonly';

/**
 * How every paging-entry write of the kernel model is made. The protection policy (K2) provides it; the default
 * (`plainWriter`, src/cpa/writer.ts) is a plain supervisor store through the direct map made by the CPU
 * (`cpu.store`). cpa writes each direct-map table entry through it, between begin/end (the cpa_lock / pgd_lock
 * hold), so under a protecting policy the direct map's own tables are written the protected way.
 * A write the CPU refuses throws the typed fault (an oops: the model never continues past it silently).
 */
export interface EntryWriter {
  /** A lock hold starts on `cpu` (pks-lock opens its write window here). */
  begin(cpu: Cpu): void;
  /** Write the 8-byte entry at physical address `pa` (8-aligned) = hi:lo, through the direct map. */
  write(cpu: Cpu, pa: number, lo: number, hi: number): void;
  /** The lock hold ends. */
  end(cpu: Cpu): void;
}

/** Where page-table pages come from: cpa takes split tables from here (the reserve when tables are protected).
 * `alloc` returns the physical address of a page (not necessarily zeroed: the caller fills all 512 entries) or
 * NO_PAGE (-1) when none is left. */
export interface TableSource {
  alloc(cpu: Cpu): number;
  free(cpu: Cpu, pa: number): void;
}

/** Which entry of the direct map maps a physical address now (`DirectMap.lookup`). */
export interface DirectMapLookup {
  /** Level of the leaf entry: 3 = PDPTE (1 GiB page), 2 = PDE (2 MiB), 1 = PTE (4 KiB). */
  level: 1 | 2 | 3;
  /** Physical address of that entry (8 bytes). */
  entryPa: number;
  /** Physical address of the table page holding it. */
  tablePa: number;
  pageSize: PageBytes;
  /** The entry's value as halves. */
  lo: number;
  hi: number;
  /** Decoded: present, writable, no-execute, global, protection key. */
  present: boolean;
  write: boolean;
  nx: boolean;
  global: boolean;
  pkey: number;
}

/** Options of the set_memory_* calls. */
export interface SetMemoryOptions {
  /** Flush the TLBs of every CPU for the range (flush_tlb_kernel_range) after the change. Default true; false
   * batches: the caller then calls flush_tlb_kernel_range itself (until it does, other CPUs may hold stale
   * translations, as on hardware). A split still flushes every CPU at once: that flush is the SDM's rule on a
   * page-size change, not part of the range flush. */
  flush?: boolean;
}

/** Counters of the direct map and cpa (all deterministic). */
export interface CpaStats {
  /** Large pages split, by the size that was split: '1G' = a 1 GiB page into 512 2 MiB pages, '2M' = a 2 MiB
   * page into 512 4 KiB pages. Linux never merges them back: these stay shattered. */
  splits: { '1G': number; '2M': number };
  /** Present leaf entries of the direct map by page size (Linux's direct_pages_count[level]). */
  directPages: { '1G': number; '2M': number; '4K': number };
  /** Kernel-range flushes by kind: per-page INVLPG (<= the ceiling) or full (global) flush. */
  flushes: { single: number; full: number };
  /** IPIs sent for kernel-range flushes (one per target CPU). */
  ipis: number;
  /** INVLPGs executed for kernel-range flushes, on every CPU. */
  invlpg: number;
  /** Entries cpa changed (after splits). */
  entriesChanged: number;
  /** set_memory_* calls that returned -ENOMEM. */
  enomem: number;
  /** Pages held by the reserve for direct-map splits at the end of boot (the protected pool less the tables boot
   * wrote from it), and their bytes: the memory the reserve holds. */
  reservePages: number;
  reserveBytes: number;
  /** Reserve tables handed out for splits. */
  reserveUsed: number;
}

/** Options of `bootKernel`. */
export interface BootOptions {
  /** Page size of the direct map. Default '1G' when the CPU has gbpages, else '2M'. */
  directMap?: DirectMapSize;
  /** Protection of the direct map's own tables and the reserve. Default 'none'. */
  protect?: TableProtection;
  /** The page-table protection key (1..15). Default 1. */
  ptKey?: number;
  /** NUMA nodes (memory split evenly; CPUs split evenly). Default 1. */
  nodes?: number;
  /** Tables set aside for splitting the direct map. Default: the RFC v2 sizing ((size >> 30) + (size >> 21))
   * pages when protect != 'none', else 0. */
  reserve?: number;
  /** Kernel text pages (mapped read-only, executable, global at 0xffffffff81000000). Default 512 (2 MiB). */
  textPages?: number;
}

/** The physical page allocator (src/pgtable/buddy.ts: `BuddyAllocator`, or `NodeAllocator` over NUMA nodes). */
export interface PageAllocator {
  /** A block of 2^order pages (order 0..10): its physical address, or NO_PAGE (-1) when out of memory.
   * `node` prefers that NUMA node, falling back to the others. */
  alloc(order: number, node?: number): number;
  /** Give back a block taken with `alloc` (same order). A double free or a bad address throws RangeError. */
  free(pa: number, order: number): void;
  /** split_page: an allocated block of 2^order pages becomes 2^order order-0 pages, each freed on its own. */
  splitAllocated(pa: number, order: number): void;
  /** Free blocks of exactly this order. */
  freeCount(order: number): number;
  /** Free 4 KiB pages in all. */
  readonly freePages: number;
  /** 4 KiB pages managed in all. */
  readonly totalPages: number;
}

/** The direct map and change_page_attr (src/cpa/direct-map.ts: `DirectMap`). Every call takes the CPU that
 * makes it; addresses are direct-map virtual addresses (PAGE_OFFSET + pa); numpages are 4 KiB pages. Each
 * returns 0 or ENOMEM (-12), as Linux does. */
export interface DirectMapApi {
  set_memory_ro(cpu: Cpu, addr: bigint | number, numpages: number, opts?: SetMemoryOptions): number;
  set_memory_rw(cpu: Cpu, addr: bigint | number, numpages: number, opts?: SetMemoryOptions): number;
  set_memory_nx(cpu: Cpu, addr: bigint | number, numpages: number, opts?: SetMemoryOptions): number;
  set_memory_x(cpu: Cpu, addr: bigint | number, numpages: number, opts?: SetMemoryOptions): number;
  set_memory_np(cpu: Cpu, addr: bigint | number, numpages: number, opts?: SetMemoryOptions): number;
  set_memory_p(cpu: Cpu, addr: bigint | number, numpages: number, opts?: SetMemoryOptions): number;
  set_memory_4k(cpu: Cpu, addr: bigint | number, numpages: number, opts?: SetMemoryOptions): number;
  set_memory_pks(cpu: Cpu, addr: bigint | number, numpages: number, key: number, opts?: SetMemoryOptions): number;
  /** flush_tlb_kernel_range on every online CPU (IPIs to the others, local flush overlapping). */
  flush_tlb_kernel_range(cpu: Cpu, start: bigint | number, end: bigint | number): void;
  setWriter(w: EntryWriter): void;
  setTableSource(s: TableSource): void;
  /** Every page-table page mapping the direct map (its PUD pages, PMD and PTE pages), in a stable order. The
   * PGD (shared with the rest of the kernel half) is not among them. */
  tables(): number[];
  /** Which entry maps physical address `pa` now; null when pa is outside installed memory. */
  lookup(pa: number): DirectMapLookup | null;
  readonly stats: CpaStats;
}
