/**
 * Sparse physical memory. 4 KiB frames are allocated on the first write that touches them; untouched memory
 * reads as zero. Installed size may be up to 2^maxPhysAddr bytes, so a 1 TiB machine costs host memory only
 * for what the guest touches.
 *
 * Physical addresses above installed memory (but below 2^maxPhysAddr) behave like unbacked bus space: reads
 * return all-ones and writes are dropped; both are counted in `stats`. Addresses that are negative, not
 * integers, or at/above 2^maxPhysAddr are API misuse and throw a RangeError.
 *
 * Two interfaces:
 * - the API edge (`read64(pa: bigint)`, `write64`, ...), BigInt in and out;
 * - the hot path used by the MMU and the interpreter (`readFrame`/`writeFrame` by frame number, `rd32(pa)`,
 *   `wr32`, `wr64`, ...), plain numbers (physical addresses are below 2^52, so a number holds them exactly), allocation-free.
 */

import { hex, intIn, options, show, uint } from '../util/validate.js';

export const PAGE_SHIFT = 12;
export const PAGE_SIZE = 4096;
const FRAME_CACHE = 64;

export interface PhysicalMemoryOptions {
  /** Installed memory in bytes (a multiple of 4096, at most 2^maxPhysAddr). */
  size: number | bigint;
  /** MAXPHYADDR, 36..52. Default 46. */
  maxPhysAddr?: number;
}

export interface PhysicalMemoryStats {
  /** Frames allocated so far (4 KiB each). */
  framesAllocated: number;
  /** Reads that hit addresses above installed memory (answered with all-ones). */
  unbackedReads: number;
  /** Writes to addresses above installed memory (dropped). */
  unbackedWrites: number;
}

/** Convert a bigint or number physical address to a number, validating it against the address width. */
function toNum(pa: bigint | number, limit: number, what: string): number {
  if (typeof pa === 'bigint') {
    if (pa < 0n || pa >= BigInt(limit)) throw new RangeError(`${what} ${show(pa)} is outside the physical address space [0, 2^${Math.log2(limit)})`);
    return Number(pa);
  }
  if (typeof pa !== 'number') throw new TypeError(`${what} must be a bigint or an integer number, got ${show(pa)}`);
  if (!Number.isInteger(pa) || pa < 0 || pa >= limit) throw new RangeError(`${what} ${show(pa)} is outside the physical address space [0, 2^${Math.log2(limit)})`);
  return pa;
}

export class PhysicalMemory {
  /** Installed bytes. */
  readonly size: number;
  readonly maxPhysAddr: number;
  /** 2^maxPhysAddr. */
  readonly limit: number;
  readonly stats: PhysicalMemoryStats = { framesAllocated: 0, unbackedReads: 0, unbackedWrites: 0 };

  private readonly frames = new Map<number, DataView>();
  // Direct-mapped frame caches for the hot path (64 entries, by the low bits of the frame number), so that
  // a walk touching four table pages and a data page finds each frame without a Map lookup. The read cache
  // may hold the shared zero frame (an untouched frame); the write cache only ever holds real frames.
  private readonly readNo = new Float64Array(FRAME_CACHE).fill(-1);
  private readonly readView: (DataView | null)[] = new Array<DataView | null>(FRAME_CACHE).fill(null);
  private readonly writeNo = new Float64Array(FRAME_CACHE).fill(-1);
  private readonly writeView: (DataView | null)[] = new Array<DataView | null>(FRAME_CACHE).fill(null);
  /** The view every unallocated frame below the installed size reads through (all zeros; never written). */
  static readonly ZERO = new DataView(new ArrayBuffer(PAGE_SIZE));
  /** Frames the interpreter decoded code from (its icache): the next write to one calls `onCodeWrite` first. */
  private readonly codeFrames = new Set<number>();
  /** Called with the frame number before the first write to a frame marked by `markCode` (self-modifying code). */
  onCodeWrite: ((frameNo: number) => void) | null = null;
  private readonly markListeners: ((frameNo: number) => void)[] = [];
  private readonly allocListeners: ((frameNo: number) => void)[] = [];

  constructor(opts: PhysicalMemoryOptions) {
    options(opts, 'PhysicalMemory options', ['size', 'maxPhysAddr'], true);
    const maxPhysAddr = opts.maxPhysAddr === undefined ? 46 : intIn(opts.maxPhysAddr, 'maxPhysAddr', 36, 52);
    this.maxPhysAddr = maxPhysAddr;
    this.limit = 2 ** maxPhysAddr;
    if (typeof opts.size !== 'bigint' && typeof opts.size !== 'number') throw new TypeError(`memory size must be a bigint or a number, got ${show(opts.size)}`);
    const size = typeof opts.size === 'bigint' ? Number(opts.size) : opts.size;
    if (!Number.isInteger(size) || size <= 0 || size % PAGE_SIZE !== 0 || size > this.limit) {
      throw new RangeError(`memory size must be a positive multiple of 4096 up to 2^${maxPhysAddr}, got ${show(opts.size)}`);
    }
    this.size = size;
  }

  // ---- hot path (numbers) ------------------------------------------------------------------------------

  /**
   * Hot path: the 4 KiB frame `frameNo` for reading: its DataView, a shared all-zero view when untouched,
   * or null above installed memory (the caller then reads all-ones and counts `unbackedReads`).
   * The view returned must not be written.
   */
  readFrame(frameNo: number): DataView | null {
    const i = frameNo & (FRAME_CACHE - 1);
    if (this.readNo[i] === frameNo) return this.readView[i];
    return this.lookupForRead(frameNo);
  }

  /** Hot path: the frame for writing, allocated on first use; null above installed memory. */
  writeFrame(frameNo: number): DataView | null {
    const i = frameNo & (FRAME_CACHE - 1);
    if (this.writeNo[i] === frameNo) return this.writeView[i];
    return this.lookupForWrite(frameNo);
  }

  private lookupForRead(frameNo: number): DataView | null {
    let f: DataView | null | undefined = this.frames.get(frameNo);
    if (f === undefined) {
      if (frameNo * PAGE_SIZE >= this.size) return null;
      f = PhysicalMemory.ZERO;
    }
    const i = frameNo & (FRAME_CACHE - 1);
    this.readNo[i] = frameNo;
    this.readView[i] = f;
    return f;
  }

  /** Mark a frame as holding decoded code: its next write goes through `onCodeWrite` (not the write cache). */
  markCode(frameNo: number): void {
    this.codeFrames.add(frameNo);
    const i = frameNo & (FRAME_CACHE - 1);
    if (this.writeNo[i] === frameNo) this.writeNo[i] = -1;
    for (const l of this.markListeners) l(frameNo);
  }

  /**
   * Call `listener` whenever a frame is marked as code (an MMU forgets the frames its write memo holds, so that
   * the frame's next write comes through `writeFrame`).
   */
  onMarkCode(listener: (frameNo: number) => void): void {
    this.markListeners.push(listener);
  }

  /**
   * Call `listener` whenever a frame is allocated (its first write): until then it reads through the shared zero
   * view, which an MMU's read memo may hold for it.
   */
  onAllocate(listener: (frameNo: number) => void): void {
    this.allocListeners.push(listener);
  }

  /**
   * The frame's view when it is allocated and not marked as code (a write to it may go straight to the view),
   * else null: without side effects (no allocation, no code drop; `writeFrame` does those).
   */
  writableFrame(frameNo: number): DataView | null {
    if (this.codeFrames.has(frameNo)) return null;
    return this.frames.get(frameNo) ?? null;
  }

  private lookupForWrite(frameNo: number): DataView | null {
    if (this.codeFrames.size !== 0 && this.codeFrames.delete(frameNo) && this.onCodeWrite !== null) this.onCodeWrite(frameNo);
    let f = this.frames.get(frameNo);
    const i = frameNo & (FRAME_CACHE - 1);
    if (f === undefined) {
      if (frameNo * PAGE_SIZE >= this.size) return null;
      f = new DataView(new ArrayBuffer(PAGE_SIZE));
      this.frames.set(frameNo, f);
      this.stats.framesAllocated++;
      if (this.readNo[i] === frameNo) this.readView[i] = f; // it was the zero frame
      for (const l of this.allocListeners) l(frameNo);
    }
    this.writeNo[i] = frameNo;
    this.writeView[i] = f;
    return f;
  }

  /** Read 1 byte at pa (number, already validated < limit). */
  rd8(pa: number): number {
    const f = this.readFrame(Math.floor(pa / PAGE_SIZE));
    if (f === null) {
      this.stats.unbackedReads++;
      return 0xff;
    }
    return f.getUint8(pa % PAGE_SIZE);
  }

  rd16(pa: number): number {
    const off = pa % PAGE_SIZE;
    if (off > PAGE_SIZE - 2) return this.rd8(pa) | (this.rd8(pa + 1) << 8);
    const f = this.readFrame((pa - off) / PAGE_SIZE);
    if (f === null) {
      this.stats.unbackedReads++;
      return 0xffff;
    }
    return f.getUint16(off, true);
  }

  /** Read 4 bytes (unsigned). */
  rd32(pa: number): number {
    const off = pa % PAGE_SIZE;
    if (off > PAGE_SIZE - 4) return (this.rd16(pa) | (this.rd16(pa + 2) << 16)) >>> 0;
    const f = this.readFrame((pa - off) / PAGE_SIZE);
    if (f === null) {
      this.stats.unbackedReads++;
      return 0xffffffff;
    }
    return f.getUint32(off, true);
  }

  wr8(pa: number, v: number): void {
    const f = this.writeFrame(Math.floor(pa / PAGE_SIZE));
    if (f === null) {
      this.stats.unbackedWrites++;
      return;
    }
    f.setUint8(pa % PAGE_SIZE, v);
  }

  wr16(pa: number, v: number): void {
    const off = pa % PAGE_SIZE;
    if (off > PAGE_SIZE - 2) {
      this.wr8(pa, v & 0xff);
      this.wr8(pa + 1, (v >>> 8) & 0xff);
      return;
    }
    const f = this.writeFrame((pa - off) / PAGE_SIZE);
    if (f === null) {
      this.stats.unbackedWrites++;
      return;
    }
    f.setUint16(off, v, true);
  }

  wr32(pa: number, v: number): void {
    const off = pa % PAGE_SIZE;
    if (off > PAGE_SIZE - 4) {
      this.wr16(pa, v & 0xffff);
      this.wr16(pa + 2, (v >>> 16) & 0xffff);
      return;
    }
    const f = this.writeFrame((pa - off) / PAGE_SIZE);
    if (f === null) {
      this.stats.unbackedWrites++;
      return;
    }
    f.setUint32(off, v >>> 0, true);
  }

  wr64(pa: number, lo: number, hi: number): void {
    this.wr32(pa, lo);
    this.wr32(pa + 4, hi);
  }

  /** Does pa lie in installed memory? */
  isBacked(pa: number): boolean {
    return pa < this.size;
  }

  // ---- API edge (bigint) ---------------------------------------------------------------------------------

  private check(pa: bigint | number, size: number): number {
    const n = toNum(pa, this.limit, 'physical address');
    if (n + size > this.limit) throw new RangeError(`access of ${size} bytes at physical address ${hex(n)} crosses 2^${this.maxPhysAddr}`);
    return n;
  }

  read8(pa: bigint | number): number {
    return this.rd8(this.check(pa, 1));
  }
  read16(pa: bigint | number): number {
    return this.rd16(this.check(pa, 2));
  }
  read32(pa: bigint | number): number {
    return this.rd32(this.check(pa, 4));
  }
  read64(pa: bigint | number): bigint {
    const n = this.check(pa, 8);
    return (BigInt(this.rd32(n + 4)) << 32n) | BigInt(this.rd32(n));
  }

  // Values must fit the access: -2^(N-1) .. 2^N - 1, negative ones taken as two's complement; anything
  // else is a RangeError (never truncated).
  write8(pa: bigint | number, v: number | bigint): void {
    const n = this.check(pa, 1);
    this.wr8(n, Number(uint(v, 'write8 value', 8)));
  }
  write16(pa: bigint | number, v: number | bigint): void {
    const n = this.check(pa, 2);
    this.wr16(n, Number(uint(v, 'write16 value', 16)));
  }
  write32(pa: bigint | number, v: number | bigint): void {
    const n = this.check(pa, 4);
    this.wr32(n, Number(uint(v, 'write32 value', 32)));
  }
  write64(pa: bigint | number, v: bigint | number): void {
    const n = this.check(pa, 8);
    const u = uint(v, 'write64 value', 64);
    this.wr64(n, Number(u & 0xffffffffn), Number(u >> 32n));
  }

  /** Read `length` bytes starting at pa. */
  readBytes(pa: bigint | number, length: number): Uint8Array {
    intIn(length, 'readBytes length', 0, 2 ** 30);
    const n = this.check(pa, length);
    const out = new Uint8Array(length);
    let i = 0;
    while (i < length) {
      const a = n + i;
      const off = a % PAGE_SIZE;
      const chunk = Math.min(PAGE_SIZE - off, length - i);
      const f = this.readFrame((a - off) / PAGE_SIZE);
      if (f === null) {
        this.stats.unbackedReads++;
        out.fill(0xff, i, i + chunk);
      } else {
        out.set(new Uint8Array(f.buffer, off, chunk), i);
      }
      i += chunk;
    }
    return out;
  }

  /** Write bytes starting at pa. */
  writeBytes(pa: bigint | number, bytes: Uint8Array): void {
    if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes must be a Uint8Array, got ${show(bytes)}`);
    const n = this.check(pa, bytes.length);
    let i = 0;
    while (i < bytes.length) {
      const a = n + i;
      const off = a % PAGE_SIZE;
      const chunk = Math.min(PAGE_SIZE - off, bytes.length - i);
      const f = this.writeFrame((a - off) / PAGE_SIZE);
      if (f === null) this.stats.unbackedWrites++;
      else new Uint8Array(f.buffer, off, chunk).set(bytes.subarray(i, i + chunk));
      i += chunk;
    }
  }

  /** Fill a range with a byte value. Filling untouched frames with zero allocates nothing. */
  fill(pa: bigint | number, length: number, value = 0): void {
    intIn(length, 'fill length', 0, Number.MAX_SAFE_INTEGER);
    intIn(value, 'fill value (a byte)', 0, 255);
    const n = this.check(pa, length);
    let i = 0;
    while (i < length) {
      const a = n + i;
      const off = a % PAGE_SIZE;
      const chunk = Math.min(PAGE_SIZE - off, length - i);
      const frameNo = (a - off) / PAGE_SIZE;
      if (value === 0 && !this.frames.has(frameNo)) {
        if (a >= this.size) this.stats.unbackedWrites++;
      } else {
        const f = this.writeFrame(frameNo);
        if (f === null) this.stats.unbackedWrites++;
        else new Uint8Array(f.buffer, off, chunk).fill(value);
      }
      i += chunk;
    }
  }

  /** Host bytes held by allocated frames. */
  get hostBytes(): number {
    return this.frames.size * PAGE_SIZE;
  }
}

