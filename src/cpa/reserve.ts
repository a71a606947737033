/**
 * The reserve of page-table pages for the direct map (RFC v2, "PKS write protected page tables"): made early at
 * boot, protected like every page table (keyed, or read-only in the direct map) while the direct map is built,
 * so that splitting the direct map later never needs to change the protection of a new table (which would itself
 * need a split: the recursion the reserve exists to break). Sized to map the whole direct map with 4 KiB pages:
 * one PMD page per GiB and one PTE page per 2 MiB, ((size >> 30) + (size >> 21)) pages.
 *
 * Host memory: the reserve is a few physical ranges plus a stack of pages given back, never a per-page list.
 */

import type { Cpu } from '../cpu/cpu.js';
import { NO_PAGE, type TableSource } from './types.js';

/** The RFC v2 sizing for `size` bytes of installed memory: PMD pages (1 per GiB) + PTE pages (1 per 2 MiB). */
export function rfcReservePages(size: number): number {
  return Math.floor(size / 2 ** 30) + Math.floor(size / 2 ** 21);
}

export interface PhysRange {
  /** First byte (4 KiB aligned). */
  start: number;
  /** One past the last byte (4 KiB aligned). */
  end: number;
}

export class TableReserve implements TableSource {
  /** The physical ranges the reserve holds (sorted, as made at boot). */
  readonly ranges: readonly PhysRange[];
  /** Pages held in all, free or handed out. */
  readonly totalPages: number;
  private range = 0;
  private next: number;
  private readonly returned: number[] = [];
  private readonly returnedSet = new Set<number>();
  private inUse = 0;
  private used = 0;

  constructor(ranges: PhysRange[]) {
    for (const r of ranges) {
      if (!Number.isInteger(r.start) || !Number.isInteger(r.end) || r.start % 4096 !== 0 || r.end % 4096 !== 0 || r.end < r.start) {
        throw new RangeError(`reserve range [${String(r.start)}, ${String(r.end)}) must be 4 KiB aligned with end >= start`);
      }
    }
    this.ranges = Object.freeze(ranges.map((r) => Object.freeze({ ...r })));
    this.totalPages = ranges.reduce((s, r) => s + (r.end - r.start) / 4096, 0);
    this.next = ranges.length > 0 ? ranges[0].start : 0;
  }

  /** A page of the reserve (LIFO over pages given back, then the untouched ranges in address order), or -1. */
  alloc(_cpu?: Cpu): number {
    let pa = this.returned.pop();
    if (pa !== undefined) this.returnedSet.delete(pa);
    else {
      while (this.range < this.ranges.length && this.next >= this.ranges[this.range].end) {
        this.range++;
        if (this.range < this.ranges.length) this.next = this.ranges[this.range].start;
      }
      if (this.range >= this.ranges.length) return NO_PAGE;
      pa = this.next;
      this.next += 4096;
    }
    this.inUse++;
    this.used++;
    return pa;
  }

  /** Give a page back to the reserve. */
  free(_cpu: Cpu | undefined, pa: number): void {
    if (!this.contains(pa) || pa % 4096 !== 0) throw new RangeError(`0x${Number(pa).toString(16)} is not a page of the direct-map table reserve`);
    if (this.returnedSet.has(pa) || !this.handedOut(pa)) throw new RangeError(`free of reserve page 0x${pa.toString(16)}: it is not in use (double free?)`);
    this.inUse--;
    this.returned.push(pa);
    this.returnedSet.add(pa);
  }

  /** Was pa handed out by the bump pointer (it lies below it)? */
  private handedOut(pa: number): boolean {
    for (let i = 0; i < this.ranges.length; i++) {
      const r = this.ranges[i];
      if (pa >= r.start && pa < r.end) return i < this.range || (i === this.range && pa < this.next);
    }
    return false;
  }

  /** Does pa lie in the reserve? */
  contains(pa: number): boolean {
    for (const r of this.ranges) if (pa >= r.start && pa < r.end) return true;
    return false;
  }

  /** Pages handed out and not given back. */
  get pagesInUse(): number {
    return this.inUse;
  }
  /** Pages still free. */
  get pagesFree(): number {
    return this.totalPages - this.inUse;
  }
  /** Pages handed out since boot (the boot tables included). */
  get pagesTaken(): number {
    return this.used;
  }
}
