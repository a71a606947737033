/**
 * The buddy allocator of physical pages (mm/page_alloc.c): blocks of 2^order 4 KiB pages, order 0..MAX_ORDER
 * (10, 4 MiB), each aligned to its size. Allocation takes the most recently freed block of the smallest order
 * that fits and splits it down, returning the upper halves to the free lists (Linux's expand()); freeing merges
 * a block with its buddy (pfn ^ 2^order) while the buddy is free and of the same order (__free_one_page).
 *
 * Like struct page this is host-side metadata, nothing lives in emulated memory. Host memory stays bounded by
 * use, not by installed memory: the part of the range never touched is a watermark handing out MAX_ORDER blocks
 * in address order, so a 1 TiB machine costs nothing until its memory is allocated. Free lists hold blocks, not
 * pages.
 *
 * Out of memory is NO_PAGE (-1), never a throw; API misuse (a bad order, freeing what is not allocated, a double
 * free) throws RangeError naming the value.
 */

import { ENOMEM, NO_PAGE, type PageAllocator } from '../cpa/types.js';

export const MAX_ORDER = 10;
const PAGE_SHIFT = 12;
const PAGE = 4096;

/** One free list: LIFO order with O(1) membership and removal (a set, plus a stack with lazy deletion). */
class FreeList {
  private readonly members = new Set<number>();
  private stack: number[] = [];

  get size(): number {
    return this.members.size;
  }
  has(pfn: number): boolean {
    return this.members.has(pfn);
  }
  push(pfn: number): void {
    this.members.add(pfn);
    this.stack.push(pfn);
  }
  remove(pfn: number): void {
    this.members.delete(pfn);
    if (this.stack.length > 2 * this.members.size + 64) this.stack = this.stack.filter((p) => this.members.has(p));
  }
  /** The most recently freed block, removed; NO_PAGE when empty. */
  pop(): number {
    while (this.stack.length > 0) {
      const p = this.stack.pop()!;
      if (this.members.delete(p)) {
        // A stale copy of p deeper in the stack is skipped later: membership decides.
        return p;
      }
    }
    return NO_PAGE;
  }
  /** Blocks in no particular order (tests, dumps). */
  blocks(): number[] {
    return [...this.members];
  }
}

function checkOrder(order: number): void {
  if (!Number.isInteger(order) || order < 0 || order > MAX_ORDER) throw new RangeError(`order must be an integer 0..${MAX_ORDER}, got ${String(order)}`);
}

export class BuddyAllocator implements PageAllocator {
  /** First and last+1 page frame numbers managed. */
  readonly startPfn: number;
  readonly endPfn: number;
  private readonly lists: FreeList[] = [];
  /** Never-touched MAX_ORDER blocks [lazyPfn, lazyEndPfn), handed out from the bottom. */
  private lazyPfn: number;
  private readonly lazyEndPfn: number;
  /** Allocated blocks: first pfn -> order (for double-free and wrong-order detection). */
  private readonly allocated = new Map<number, number>();
  private free_ = 0;

  /** Manage physical memory [start, end) (4 KiB aligned numbers). */
  constructor(start: number, end: number) {
    if (!Number.isInteger(start) || start < 0 || start % PAGE !== 0) throw new RangeError(`start must be a 4 KiB aligned address, got ${String(start)}`);
    if (!Number.isInteger(end) || end % PAGE !== 0 || end < start) throw new RangeError(`end must be a 4 KiB aligned address >= start, got ${String(end)}`);
    for (let o = 0; o <= MAX_ORDER; o++) this.lists.push(new FreeList());
    this.startPfn = start / PAGE;
    this.endPfn = end / PAGE;
    const big = 1 << MAX_ORDER;
    let lazyStart = Math.ceil(this.startPfn / big) * big;
    let lazyEnd = Math.floor(this.endPfn / big) * big;
    if (lazyEnd < lazyStart) lazyStart = lazyEnd = this.endPfn;
    this.lazyPfn = lazyStart;
    this.lazyEndPfn = lazyEnd;
    this.free_ = lazyEnd - lazyStart;
    // The unaligned edges become the largest aligned blocks that fit (as memblock_free_all does).
    this.addRange(this.startPfn, Math.min(lazyStart, this.endPfn));
    this.addRange(Math.max(lazyEnd, this.startPfn), this.endPfn);
  }

  private addRange(from: number, to: number): void {
    let p = from;
    while (p < to) {
      let o = MAX_ORDER;
      while (o > 0 && (p % (1 << o) !== 0 || p + (1 << o) > to)) o--;
      this.lists[o].push(p);
      this.free_ += 1 << o;
      p += 1 << o;
    }
  }

  get freePages(): number {
    return this.free_;
  }
  get totalPages(): number {
    return this.endPfn - this.startPfn;
  }
  /** Does this allocator manage physical address pa? */
  owns(pa: number): boolean {
    const pfn = Math.floor(pa / PAGE);
    return pfn >= this.startPfn && pfn < this.endPfn;
  }

  freeCount(order: number): number {
    checkOrder(order);
    const n = this.lists[order].size;
    return order === MAX_ORDER ? n + (this.lazyEndPfn - this.lazyPfn) / (1 << MAX_ORDER) : n;
  }

  /** __rmqueue_smallest + expand: a block of 2^order pages, or NO_PAGE. */
  alloc(order: number): number {
    checkOrder(order);
    let pfn = NO_PAGE;
    let cur = order;
    for (; cur <= MAX_ORDER; cur++) {
      pfn = this.lists[cur].pop();
      if (pfn !== NO_PAGE) break;
    }
    if (pfn === NO_PAGE) {
      if (this.lazyPfn >= this.lazyEndPfn) return NO_PAGE;
      pfn = this.lazyPfn;
      this.lazyPfn += 1 << MAX_ORDER;
      cur = MAX_ORDER;
    }
    // expand(): keep the lower half, give the upper halves back, largest first.
    while (cur > order) {
      cur--;
      this.lists[cur].push(pfn + (1 << cur));
    }
    this.free_ -= 1 << order;
    this.allocated.set(pfn, order);
    return pfn * PAGE;
  }

  /** __free_one_page: give a block back, merging with free buddies. */
  free(pa: number, order: number): void {
    checkOrder(order);
    if (!Number.isInteger(pa) || pa % PAGE !== 0) throw new RangeError(`pa must be a 4 KiB aligned address, got ${String(pa)}`);
    let pfn = pa / PAGE;
    const had = this.allocated.get(pfn);
    if (had === undefined) throw new RangeError(`free of 0x${pa.toString(16)} (order ${order}): not an allocated block (double free?)`);
    if (had !== order) throw new RangeError(`free of 0x${pa.toString(16)} with order ${order}, but it was allocated with order ${had}`);
    this.allocated.delete(pfn);
    this.free_ += 1 << order;
    let o = order;
    while (o < MAX_ORDER) {
      const buddy = pfn ^ (1 << o);
      if (!this.lists[o].has(buddy)) break;
      this.lists[o].remove(buddy);
      pfn = Math.min(pfn, buddy);
      o++;
    }
    this.lists[o].push(pfn);
  }

  /**
   * split_page: an allocated block of 2^order pages becomes 2^order allocated order-0 pages, each freed on its
   * own (the page cache takes 2 MiB blocks and returns single pages).
   */
  splitAllocated(pa: number, order: number): void {
    checkOrder(order);
    const pfn = pa / PAGE;
    if (this.allocated.get(pfn) !== order) throw new RangeError(`split of 0x${pa.toString(16)} (order ${order}): not an allocated block of that order`);
    for (let i = 0; i < 1 << order; i++) this.allocated.set(pfn + i, 0);
  }

  /** The order of the allocated block starting at pa, or -1. */
  allocatedOrder(pa: number): number {
    return this.allocated.get(pa / PAGE) ?? -1;
  }

  /** Free blocks of an order, as physical addresses (sorted; tests and dumps). */
  freeBlocks(order: number): number[] {
    checkOrder(order);
    const out = this.lists[order].blocks().map((p) => p * PAGE);
    if (order === MAX_ORDER) for (let p = this.lazyPfn; p < this.lazyEndPfn; p += 1 << MAX_ORDER) out.push(p * PAGE);
    return out.sort((a, b) => a - b);
  }

  /** Allocated blocks (first pfn -> order) held now. */
  get allocatedBlocks(): number {
    return this.allocated.size;
  }
}

/** Page frame number of a physical address. */
export function pfnOf(pa: number): number {
  return Math.floor(pa / 2 ** PAGE_SHIFT);
}

/**
 * Per-NUMA-node allocators (one BuddyAllocator per node, as Linux keeps a zone per node): an allocation tries
 * the preferred node, then the others in node order (the zonelist fallback).
 */
export class NodeAllocator implements PageAllocator {
  readonly nodes: readonly BuddyAllocator[];

  constructor(nodes: BuddyAllocator[]) {
    if (nodes.length === 0) throw new RangeError('NodeAllocator needs at least one node');
    this.nodes = Object.freeze(nodes.slice());
  }

  alloc(order: number, node = 0): number {
    const n = this.nodes.length;
    if (!Number.isInteger(node) || node < 0 || node >= n) throw new RangeError(`node must be an integer 0..${n - 1}, got ${String(node)}`);
    for (let i = 0; i < n; i++) {
      const pa = this.nodes[(node + i) % n].alloc(order);
      if (pa !== NO_PAGE) return pa;
    }
    return NO_PAGE;
  }

  /** The node owning physical address pa, or -1. */
  nodeOf(pa: number): number {
    for (let i = 0; i < this.nodes.length; i++) if (this.nodes[i].owns(pa)) return i;
    return -1;
  }

  free(pa: number, order: number): void {
    const i = this.nodeOf(pa);
    if (i < 0) throw new RangeError(`free of 0x${Number(pa).toString(16)}: not in any node's memory`);
    this.nodes[i].free(pa, order);
  }

  splitAllocated(pa: number, order: number): void {
    const i = this.nodeOf(pa);
    if (i < 0) throw new RangeError(`split of 0x${Number(pa).toString(16)}: not in any node's memory`);
    this.nodes[i].splitAllocated(pa, order);
  }

  freeCount(order: number): number {
    let s = 0;
    for (const b of this.nodes) s += b.freeCount(order);
    return s;
  }
  get freePages(): number {
    let s = 0;
    for (const b of this.nodes) s += b.freePages;
    return s;
  }
  get totalPages(): number {
    let s = 0;
    for (const b of this.nodes) s += b.totalPages;
    return s;
  }
}

/** What `allocPages` returns: the block, or the kernel's error value. */
export type AllocResult = { ok: true; pa: number; order: number } | { ok: false; errno: typeof ENOMEM; order: number };

/**
 * alloc_pages at the API edge: a typed result instead of -1 (`{ ok: false, errno: ENOMEM }` when no block of that
 * order is free on any node). The allocator stays consistent either way.
 */
export function allocPages(a: PageAllocator, order: number, node?: number): AllocResult {
  const pa = a.alloc(order, node);
  return pa === NO_PAGE ? { ok: false, errno: ENOMEM, order } : { ok: true, pa, order };
}
