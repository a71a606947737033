/**
 * The decoded-instruction cache, keyed by physical address: one array of records per 4 KiB code frame,
 * shared by every CPU of a machine (decoding depends only on the bytes in 64-bit mode). A frame is marked as
 * code in PhysicalMemory; the first write to it (guest store, DMA-like `m.load`, a test's memory.write)
 * drops the frame's records before the bytes change, so self-modifying and freshly loaded code runs as
 * written. `gen` counts drops: the run loop compares it to notice a drop of the page it is executing.
 * Instructions that cross a page boundary are never cached. Bounded: past `maxPages` the cache starts over.
 */

import type { PhysicalMemory } from '../mmu/physical-memory.js';
import type { Insn } from './decode/insn.js';

export class ICache {
  private readonly pages = new Map<number, (Insn | undefined)[]>();
  /** Incremented whenever a page's records are dropped. */
  gen = 0;
  /** Pages dropped because their frame was written (self-modifying or reloaded code). */
  invalidations = 0;
  readonly maxPages: number;

  constructor(private readonly mem: PhysicalMemory, maxPages = 8192) {
    this.maxPages = maxPages;
    mem.onCodeWrite = (frameNo) => this.drop(frameNo);
  }

  /** The records of a frame (created empty and the frame marked as code). */
  page(frameNo: number): (Insn | undefined)[] {
    let p = this.pages.get(frameNo);
    if (p === undefined) {
      if (this.pages.size >= this.maxPages) this.clear();
      p = new Array<Insn | undefined>(4096);
      this.pages.set(frameNo, p);
      this.mem.markCode(frameNo);
    }
    return p;
  }

  drop(frameNo: number): void {
    if (this.pages.delete(frameNo)) {
      this.gen++;
      this.invalidations++;
    }
  }

  clear(): void {
    // Frames stay marked in memory; their next write just finds no page here.
    this.pages.clear();
    this.gen++;
  }

  get size(): number {
    return this.pages.size;
  }
}

const CACHES = new WeakMap<PhysicalMemory, ICache>();

/** The cache of a physical memory (one per machine). */
export function icacheOf(mem: PhysicalMemory): ICache {
  let c = CACHES.get(mem);
  if (c === undefined) {
    c = new ICache(mem);
    CACHES.set(mem, c);
  }
  return c;
}
