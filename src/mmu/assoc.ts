/**
 * A set-associative translation cache in flat typed arrays: the building block of the L1 TLBs, the STLB and
 * the paging-structure caches. Deterministic replacement: an invalid way first, else the least recently used
 * way of the set (per-set LRU by a monotonic stamp).
 *
 * Each way holds a 64-bit tag (two 32-bit halves; the caller puts the page number, and for shared
 * structures the page size, in it), a PCID, a global flag, a physical base address (a number: < 2^52) and a
 * small integer of payload bits (rights, key, dirty; the meaning is the caller's).
 */

export class AssocCache {
  readonly entries: number;
  readonly ways: number;
  readonly sets: number;
  /** -1 = invalid, else the PCID (0..4095). */
  private readonly pcid: Int32Array;
  // Tags are int32 (callers pass `x | 0` values): int32 compares stay on V8's fast integer path.
  private readonly tagLo: Int32Array;
  private readonly tagHi: Int32Array;
  private readonly globalFlag: Uint8Array;
  /**
   * Last-use stamps by slot, and after them (at index `entries`) the clock: the last stamp given. Public for the
   * block compiler (src/cpu/jit), whose compiled accesses mark their slot used as `touch` does; only this class and
   * those write it.
   */
  readonly stamp: Float64Array;
  /** Physical base of the page (TLB) or of the next table (paging-structure cache). */
  readonly base: Float64Array;
  /** Payload bits. */
  readonly info: Int32Array;
  /**
   * Counts the changes to the entries (insert, invalidate, clear): a slot found for a tag stays the slot a
   * lookup of that tag finds until `version` changes (and `onChange` is called).
   */
  version = 0;
  /** Called after every change counted by `version` (the MMU forgets its hit memo of this array then). */
  onChange: (() => void) | null = null;
  /** sets - 1 when sets is a power of two, else -1 (then the set index is a modulo). */
  private readonly setMask: number;

  constructor(entries: number, ways: number) {
    if (!Number.isInteger(entries) || entries < 0 || entries > 1 << 16) throw new RangeError(`TLB entries must be an integer 0..65536, got ${String(entries)}`);
    if (entries > 0 && (!Number.isInteger(ways) || ways < 1 || entries % ways !== 0)) {
      throw new RangeError(`TLB ways (${String(ways)}) must divide the entry count (${entries})`);
    }
    this.entries = entries;
    this.ways = entries === 0 ? 1 : ways;
    this.sets = entries === 0 ? 0 : entries / ways;
    this.setMask = this.sets > 0 && (this.sets & (this.sets - 1)) === 0 ? this.sets - 1 : -1;
    this.pcid = new Int32Array(entries).fill(-1);
    this.tagLo = new Int32Array(entries);
    this.tagHi = new Int32Array(entries);
    this.globalFlag = new Uint8Array(entries);
    this.stamp = new Float64Array(entries + 1);
    this.base = new Float64Array(entries);
    this.info = new Int32Array(entries);
  }

  /** First slot of the set a tag maps to. */
  private setBase(tagLo: number): number {
    const m = this.setMask;
    return (m >= 0 ? tagLo & m : (tagLo >>> 0) % this.sets) * this.ways;
  }

  /** Find a valid way with this tag for this PCID (or global). Returns the slot index or -1. Marks it used. */
  lookup(tagLo: number, tagHi: number, pcid: number): number {
    const i = this.lookupOnly(tagLo, tagHi, pcid);
    if (i >= 0) this.touch(i);
    return i;
  }

  /** Like `lookup` but without marking the slot used; pair with `touch` when the hit is taken. */
  lookupOnly(tagLo: number, tagHi: number, pcid: number): number {
    if (this.sets === 0) return -1;
    tagLo |= 0;
    tagHi |= 0;
    const first = this.setBase(tagLo);
    const end = first + this.ways;
    for (let i = first; i < end; i++) {
      if (this.tagLo[i] === tagLo && this.tagHi[i] === tagHi) {
        const p = this.pcid[i];
        if (p === pcid ? true : p >= 0 && this.globalFlag[i] === 1) return i;
      }
    }
    return -1;
  }

  /** Mark a slot most recently used. */
  touch(i: number): void {
    const st = this.stamp;
    const c = st[this.entries]! + 1;
    st[this.entries] = c;
    st[i] = c;
  }

  /**
   * Insert (or replace the entry with the same tag and PCID). Returns the slot index, or -1 if the cache
   * has no entries.
   */
  insert(tagLo: number, tagHi: number, pcid: number, global: boolean, base: number, info: number): number {
    if (this.sets === 0) return -1;
    tagLo |= 0;
    tagHi |= 0;
    const ways = this.ways;
    const first = this.setBase(tagLo);
    const end = first + ways;
    let victim = -1;
    let oldest = Infinity;
    for (let i = first; i < end; i++) {
      const p = this.pcid[i];
      if (p < 0) {
        if (oldest !== -Infinity) {
          victim = i;
          oldest = -Infinity; // an invalid way beats any valid one; keep the first invalid way
        }
        continue;
      }
      if (this.tagLo[i] === tagLo && this.tagHi[i] === tagHi && (p === pcid || this.globalFlag[i] === 1 || global)) {
        victim = i;
        break;
      }
      if (oldest !== -Infinity && this.stamp[i] < oldest) {
        oldest = this.stamp[i];
        victim = i;
      }
    }
    this.pcid[victim] = pcid;
    this.tagLo[victim] = tagLo;
    this.tagHi[victim] = tagHi;
    this.globalFlag[victim] = global ? 1 : 0;
    this.base[victim] = base;
    this.info[victim] = info;
    this.touch(victim);
    this.changed();
    return victim;
  }

  private changed(): void {
    this.version++;
    if (this.onChange !== null) this.onChange();
  }

  /** Is the slot's entry global? */
  isGlobal(i: number): boolean {
    return this.globalFlag[i] === 1;
  }

  /** Drop one slot. */
  invalidateSlot(i: number): void {
    this.pcid[i] = -1;
    this.changed();
  }

  /**
   * Drop entries with this tag. `pcid` -1 means any PCID. `keepGlobal` keeps global entries.
   * Returns how many were dropped.
   */
  invalidateTag(tagLo: number, tagHi: number, pcid: number, keepGlobal: boolean): number {
    if (this.sets === 0) return 0;
    tagLo |= 0;
    tagHi |= 0;
    const first = this.setBase(tagLo);
    const end = first + this.ways;
    let n = 0;
    for (let i = first; i < end; i++) {
      const p = this.pcid[i];
      if (p < 0 || this.tagLo[i] !== tagLo || this.tagHi[i] !== tagHi) continue;
      const g = this.globalFlag[i] === 1;
      if (keepGlobal && g) continue;
      if (pcid >= 0 && p !== pcid && !g) continue;
      this.pcid[i] = -1;
      n++;
    }
    if (n > 0) this.changed();
    return n;
  }

  /** Drop every entry of this PCID (-1: of every PCID); `keepGlobal` keeps global entries. */
  invalidatePcid(pcid: number, keepGlobal: boolean): number {
    let n = 0;
    for (let i = 0; i < this.entries; i++) {
      const p = this.pcid[i];
      if (p < 0) continue;
      if (keepGlobal && this.globalFlag[i] === 1) continue;
      if (pcid >= 0 && p !== pcid) continue;
      this.pcid[i] = -1;
      n++;
    }
    if (n > 0) this.changed();
    return n;
  }

  /** Drop everything. */
  clear(): number {
    let n = 0;
    for (let i = 0; i < this.entries; i++) {
      if (this.pcid[i] >= 0) {
        this.pcid[i] = -1;
        n++;
      }
    }
    if (n > 0) this.changed();
    return n;
  }

  /** Host bytes held by the arrays. */
  get hostBytes(): number {
    return this.entries * (4 + 4 + 4 + 1 + 8 + 8 + 4);
  }

  /** Valid entries (for tests and statistics). */
  count(): number {
    let n = 0;
    for (let i = 0; i < this.entries; i++) if (this.pcid[i] >= 0) n++;
    return n;
  }

  /** Describe a slot (tests, debugging). */
  slot(i: number): { valid: boolean; pcid: number; tagLo: number; tagHi: number; global: boolean; base: number; info: number } {
    return {
      valid: this.pcid[i] >= 0,
      pcid: this.pcid[i],
      tagLo: this.tagLo[i],
      tagHi: this.tagHi[i],
      global: this.globalFlag[i] === 1,
      base: this.base[i],
      info: this.info[i],
    };
  }
}
