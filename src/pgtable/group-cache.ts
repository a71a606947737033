/**
 * The grouped page cache of the PKS page-table RFC (`get_grouped_page` / `free_grouped_page` on a list_lru):
 * page-table pages are taken from 2 MiB blocks whose protection (the page-table key, or read-only in the
 * direct map) was applied to the whole block at once, so the direct map shatters less and one kernel TLB
 * flush covers 512 pages.
 *
 * - one list per NUMA node (list_lru); a CPU takes from its own node's list.
 * - get: the most recently freed page first (LIFO, cache-hot); when empty, refill: one order-9 block from the
 *   buddy allocator, the pre-add callback on the whole block (one kernel range flush), keep the other 511;
 *   when no block is free, fall back to one order-0 page protected on its own.
 * - free: the page goes back on the list, still protected.
 * - shrink (the list_lru shrinker): give free pages back to the buddy allocator after resetting their
 *   protection (key 0 / read-write), with one flush per batch.
 * - `grouped: false`: no list; each page is protected when allocated and reset when freed (to compare).
 *
 * Physical pages are host-side metadata here, like Linux's struct page: nothing of the list lives in emulated
 * memory.
 */

import type { Cpu } from '../cpu/cpu.js';

/** The part of the buddy allocator the cache uses (PageAllocator of src/cpa/types.ts fits). */
export interface PageSource {
  /** A block of 2^order pages, preferring NUMA node `node`; -1 when none. */
  alloc(order: number, node?: number): number;
  free(pa: number, order: number): void;
  /** split_page: an allocated block becomes 2^order order-0 allocations (freed one by one). */
  splitAllocated(pa: number, order: number): void;
}

/** NUMA placement: the list_lru keeps one list per node; a CPU takes from its node's list first. */
export interface NumaPlacement {
  nodes: number;
  nodeOfCpu(cpuIndex: number): number;
  nodeOfPage(pa: number): number;
}

const ONE_NODE: NumaPlacement = { nodes: 1, nodeOfCpu: () => 0, nodeOfPage: () => 0 };

/** Protection hooks, run by the CPU making the call; each does its own kernel TLB flush. */
export interface GroupProtection {
  /** Protect `pages` pages at `pa` (set_memory_pks with the page-table key, or set_memory_ro); false when
   * it could not (-ENOMEM: no table left to split the direct map). */
  protect(cpu: Cpu, pa: number, pages: number): boolean;
  /** Undo it before the pages go back to the buddy allocator (key 0, or set_memory_rw). */
  unprotect(cpu: Cpu, pa: number, pages: number): void;
}

export interface GroupCacheStats {
  /** Order-9 blocks taken to refill the list. */
  refills: number;
  /** Refills that found no order-9 block and took a single page. */
  fallbacks: number;
  /** Pages handed out / taken back. */
  gets: number;
  frees: number;
  /** Pages the shrinker gave back to the buddy allocator. */
  shrunk: number;
  /** get_grouped_page calls that found no memory at all (-ENOMEM). */
  failures: number;
}

export const GROUP_ORDER = 9;
const GROUP_PAGES = 1 << GROUP_ORDER;

export class GroupCache {
  /** Free pages per NUMA node, most recently freed last (stacks). */
  private readonly lists: number[][];
  /** Every page currently handed out by the cache (for the checker and the conservation tests). */
  private readonly out = new Set<number>();
  readonly stats: GroupCacheStats = { refills: 0, fallbacks: 0, gets: 0, frees: 0, shrunk: 0, failures: 0 };

  constructor(
    private readonly source: PageSource,
    private readonly protection: GroupProtection | null,
    readonly grouped = true,
    private readonly numa: NumaPlacement = ONE_NODE,
  ) {
    this.lists = Array.from({ length: numa.nodes }, () => []);
  }

  /** get_grouped_page: a protected page, or -1 (-ENOMEM). */
  get_grouped_page(cpu: Cpu): number {
    let pa: number;
    const node = this.numa.nodeOfCpu(cpu.index);
    const list = this.lists[node];
    if (list.length > 0) {
      pa = list.pop() as number;
    } else {
      pa = this.refill(cpu, node);
      if (pa < 0) {
        this.stats.failures++;
        return -1;
      }
    }
    this.out.add(pa);
    this.stats.gets++;
    return pa;
  }

  /** free_grouped_page: back on the list (still protected); ungrouped, straight back to the buddy allocator. */
  free_grouped_page(cpu: Cpu, pa: number): void {
    if (!this.out.delete(pa)) throw new RangeError(`free_grouped_page: page 0x${pa.toString(16)} was not handed out by the cache (double free?)`);
    this.stats.frees++;
    if (!this.grouped) {
      this.protection?.unprotect(cpu, pa, 1);
      this.source.free(pa, 0);
      return;
    }
    this.lists[this.numa.nodeOfPage(pa)].push(pa);
  }

  /**
   * The shrinker: give up to `max` free pages (default all) back to the buddy allocator, oldest first, after
   * resetting their protection with one flush per contiguous run. Returns the number freed.
   */
  shrink(cpu: Cpu, max = Infinity): number {
    const taken: number[] = [];
    for (const list of this.lists) {
      const k = Math.min(max - taken.length, list.length);
      if (k > 0) for (const p of list.splice(0, k)) taken.push(p);
    }
    const n = taken.length;
    if (n <= 0) return 0;
    taken.sort((a, b) => a - b);
    let runStart = 0;
    for (let i = 1; i <= taken.length; i++) {
      if (i === taken.length || taken[i] !== taken[i - 1] + 4096) {
        this.protection?.unprotect(cpu, taken[runStart], i - runStart);
        runStart = i;
      }
    }
    for (const pa of taken) this.source.free(pa, 0);
    this.stats.shrunk += n;
    return n;
  }

  /** Free pages held on the list. */
  get freePages(): number {
    let n = 0;
    for (const l of this.lists) n += l.length;
    return n;
  }
  /** Pages handed out and not yet freed. */
  get pagesInUse(): number {
    return this.out.size;
  }
  /** Pages the cache holds (on the list) in bytes. */
  get bytesHeld(): number {
    return this.freePages * 4096;
  }
  /** Is `pa` (page-aligned) a page handed out by the cache now? */
  isHandedOut(pa: number): boolean {
    return this.out.has(pa);
  }
  /** Every page handed out (page-table pages in use). */
  inUse(): IterableIterator<number> {
    return this.out.values();
  }
  /** Every free page on the lists (node 0 first). */
  freeList(): number[] {
    return this.lists.flat();
  }

  private refill(cpu: Cpu, node: number): number {
    if (this.grouped) {
      const block = this.source.alloc(GROUP_ORDER, node);
      if (block >= 0) {
        if (this.protection !== null && !this.protection.protect(cpu, block, GROUP_PAGES)) {
          this.source.free(block, GROUP_ORDER);
          return -1;
        }
        this.stats.refills++;
        this.source.splitAllocated(block, GROUP_ORDER);
        // Keep pages 1..511, lowest on top so they are handed out in address order.
        const list = this.lists[this.numa.nodeOfPage(block)];
        for (let i = GROUP_PAGES - 1; i >= 1; i--) list.push(block + i * 4096);
        return block;
      }
    }
    const pa = this.source.alloc(0, node);
    if (pa < 0) return -1;
    if (this.protection !== null && !this.protection.protect(cpu, pa, 1)) {
      this.source.free(pa, 0);
      return -1;
    }
    if (this.grouped) this.stats.fallbacks++;
    return pa;
  }
}
