/**
 * The decoded-instruction cache, keyed by physical address: one CodePage per 4 KiB code frame (the records by
 * byte offset, and the basic blocks that start at each offset, see jit/block.ts), shared by every CPU of a
 * machine (decoding depends only on the bytes in 64-bit mode). A frame is marked as code in PhysicalMemory;
 * the first write to it (guest store, DMA-like `m.load`, a test's memory.write) drops the frame's records and
 * blocks before the bytes change, so self-modifying and freshly loaded code runs as written. `gen` counts
 * drops: the run loop and running blocks compare it to notice a drop of the page they are executing.
 * Instructions that cross a page boundary are never cached. Bounded: past `maxPages` the cache starts over.
 */

import type { PhysicalMemory } from '../mmu/physical-memory.js';
import type { Insn } from './decode/insn.js';
import type { Block } from './jit/block.js';

/** The cached contents of one code frame. */
export class CodePage {
  /** Decoded records by byte offset. */
  readonly insns: (Insn | undefined)[] = new Array<Insn | undefined>(4096);
  /** Basic blocks by start offset (created when execution first enters there with blocks enabled). */
  blocks: (Block | undefined)[] | null = null;
  constructor(readonly frameNo: number) {}
}

export class ICache {
  private readonly pages = new Map<number, CodePage>();
  /** Incremented whenever a page's records are dropped. */
  gen = 0;
  /** Pages dropped because their frame was written (self-modifying or reloaded code). */
  invalidations = 0;
  readonly maxPages: number;
  /**
   * Run hot basic blocks as generated JavaScript functions (jit/compile.ts): the same records, handlers,
   * cycles and statistics as one dispatch per instruction, without the per-instruction loop. Default true;
   * set false to compare, or where generated code is not allowed (a Content Security Policy without
   * 'unsafe-eval': the first failed compilation turns it off by itself).
   */
  compileBlocks = true;
  /** Basic blocks compiled so far (statistics). */
  blocksCompiled = 0;

  constructor(private readonly mem: PhysicalMemory, maxPages = 8192) {
    this.maxPages = maxPages;
    mem.onCodeWrite = (frameNo) => this.drop(frameNo);
  }

  /** The cached page of a frame (created empty and the frame marked as code). */
  page(frameNo: number): CodePage {
    let p = this.pages.get(frameNo);
    if (p === undefined) {
      if (this.pages.size >= this.maxPages) this.clear();
      p = new CodePage(frameNo);
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
