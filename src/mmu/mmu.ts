/**
 * One logical processor's MMU: its TLBs, its paging-structure caches, and the translation path that uses
 * them before falling back to the walker (walker.ts), checking rights on both paths with the same function
 * (rights.ts).
 *
 * TLBs (SDM Vol. 3A 4.10.2): split L1 instruction and data TLBs per page size, optionally a store-only L1 data
 * TLB for every page size (Sapphire Rapids: CPUID leaf 18H subleaf 3 reports translation cache type 5, "store-only
 * TLB", beside the load-only ones; SDM Vol. 2A CPUID), a second-level TLB shared by
 * 4 KiB and 2 MiB translations, and one for 1 GiB translations; entries tagged with a PCID (4.10.1) and a
 * global flag (CR4.PGE). An entry holds the page frame, the accumulated rights, the dirty flag and the
 * protection key; never the rights that PKRU/PKRS grant, so writing those takes effect at once.
 * Entries are not coherent with memory: they change only through the invalidations of 4.10.4 (INVLPG,
 * INVPCID, CR3/CR4 writes, a page fault) and capacity eviction.
 *
 * Paging-structure caches (4.10.3): PML5E, PML4E, PDPTE and PDE caches, tagged with the PCID, holding the
 * next table's address and the rights accumulated so far; a TLB miss starts its walk at the lowest cached
 * level.
 */

import { AssocCache } from './assoc.js';
import { F64 } from '../util/repr.js';
import { PhysicalMemory } from './physical-memory.js';
import { ACC_FETCH, ACC_READ, ACC_TYPE_MASK, ACC_WRITE, RightsTable, RIGHTS_ALL, type RightsControl } from './rights.js';
import { walk, WalkResult, type WalkControl } from './walker.js';

/** Entries and associativity of one structure. `[0, 1]` disables it. */
export type CacheShape = readonly [entries: number, ways: number];

/** TLB and paging-structure-cache geometry (part of a cost profile). */
export interface TlbGeometry {
  l1d4k: CacheShape;
  l1d2m: CacheShape;
  l1d1g: CacheShape;
  l1i4k: CacheShape;
  l1i2m: CacheShape;
  l1i1g: CacheShape;
  /**
   * Store-only L1 data TLB, fully associative or not, holding translations of every page size. When it has
   * entries, stores look it up (and fill it) instead of the l1d* TLBs, which then serve loads only. Absent or
   * `[0, 1]`: the l1d* TLBs serve loads and stores.
   */
  l1dStore?: CacheShape;
  /** Second-level TLB shared by 4 KiB and 2 MiB translations (instruction and data). */
  stlb: CacheShape;
  /** Second-level TLB for 1 GiB translations. */
  stlb1g: CacheShape;
  pscPml5: CacheShape;
  pscPml4: CacheShape;
  pscPdpt: CacheShape;
  pscPd: CacheShape;
}

/** Cycle costs of translation events (part of a cost profile). */
export interface MmuTiming {
  /** Added to an access that hits an L1 TLB (usually 0: folded into the load-to-use latency). */
  l1TlbHit: number;
  /** An L1 miss that hits the STLB. */
  stlbHit: number;
  /** Fixed cost of starting a page walk after an STLB miss. */
  walkBase: number;
  /**
   * Each paging-structure entry a walk reads, by level (served from the data caches: upper-level entries
   * are few and usually hot, PDEs and PTEs less so). Levels supplied by a paging-structure cache cost nothing.
   */
  walkRef: { pml5e: number; pml4e: number; pdpte: number; pde: number; pte: number };
  /** A walk that sets an A or D flag (a locked update). */
  adUpdate: number;
}

/**
 * Translation statistics. `translations` = `tlbHits` + `stlbHits` + `tlbMisses` (+ non-canonical
 * addresses); every miss and every dirty assist walks: `walks` = `tlbMisses` + `dirtyAssists`.
 */
export interface MmuStats {
  /** The clock translation costs are added to (the CPU's cycle counter). */
  cycles: number;
  translations: number;
  tlbHits: number;
  stlbHits: number;
  tlbMisses: number;
  walks: number;
  walkRefs: number;
  pscHits: number;
  dirtyAssists: number;
  pageFaults: number;
  tlbInvalidations: number;
}

/** Entries of the MMU's hit memo per access kind (reads, writes), direct-mapped by the page number's low bits. */
export const MEMO_SIZE = 32;
export const MEMO_MASK = MEMO_SIZE - 1;

/**
 * The statistics record: a class, so that every record has the same hidden class from its creation, with the
 * clock a double field from the start (see util/repr.ts); the hot paths of every machine then share code.
 */
export class MmuStatsRecord implements MmuStats {
  cycles = F64;
  translations = 0;
  tlbHits = 0;
  stlbHits = 0;
  tlbMisses = 0;
  walks = 0;
  walkRefs = 0;
  pscHits = 0;
  dirtyAssists = 0;
  pageFaults = 0;
  tlbInvalidations = 0;
  constructor() {
    this.cycles = 0; // +0 in the double field (a user's Object.is(cycles, 0) holds)
  }
}

export function newMmuStats(): MmuStats {
  return new MmuStatsRecord();
}

/** Control state the MMU reads; the CPU updates it on every CR/MSR/RFLAGS.AC/PKRU write. */
export class PagingState implements WalkControl, RightsControl {
  /** CR0.PG */
  paging = false;
  la57 = false;
  maxPhysAddr = 46;
  gbpages = true;
  rootBase = 0;
  /** Current PCID (CR3[11:0] with CR4.PCIDE = 1, else 0). */
  pcid = 0;
  /** CR4.PGE */
  pge = false;
  wp = false;
  nxe = false;
  smep = false;
  smap = false;
  pke = false;
  pks = false;
  ac = false;
  pkru = 0;
  pkrs = 0;
}

// Payload bits of a TLB entry.
const INFO_RIGHTS = 7;
const INFO_PKEY_SHIFT = 3;
const INFO_DIRTY = 1 << 7;

// Tag high-half size codes keep 4 KiB and 2 MiB translations apart in the shared STLB.
const SIZE_2M = 1 << 24;
const SIZE_1G = 2 << 24;

/** Low half (int32) of the page number of a linear address for pages of 2^shift bytes (shift 12, 21, 30). */
function tagLo(vaLo: number, vaHi: number, shift: number): number {
  return (vaHi << (32 - shift)) | (vaLo >>> shift);
}

/** High half of the page number, with the page-size code. */
function tagHi(vaHi: number, shift: number): number {
  return (vaHi >>> shift) | (shift === 12 ? 0 : shift === 21 ? SIZE_2M : SIZE_1G);
}

/** Result code of `translate` besides a physical address. */
export const XLATE_PAGE_FAULT = -1;
export const XLATE_NONCANONICAL = -2;

export class Mmu {
  readonly state = new PagingState();
  readonly stats: MmuStats;
  readonly l1d4k: AssocCache;
  readonly l1d2m: AssocCache;
  readonly l1d1g: AssocCache;
  readonly l1i4k: AssocCache;
  readonly l1i2m: AssocCache;
  readonly l1i1g: AssocCache;
  /** The store-only L1 DTLB (0 entries when the geometry has none). */
  readonly l1dStore: AssocCache;
  /** Stores use `l1dStore` rather than the l1d* TLBs. */
  private readonly splitStores: boolean;
  readonly stlb: AssocCache;
  readonly stlb1g: AssocCache;
  readonly pscPml5: AssocCache;
  readonly pscPml4: AssocCache;
  readonly pscPdpt: AssocCache;
  readonly pscPd: AssocCache;
  private readonly all: AssocCache[];
  private readonly pscs: AssocCache[];
  readonly walkOut = new WalkResult();
  /** timing.walkRef by level number (index 1 = PTE ... 5 = PML5E). */
  private readonly walkRefCost: Float64Array;
  /** The rights check of the TLB-hit path for the current control state (see RightsTable). */
  readonly rights: RightsTable;

  // The hit memo: for reads and for writes, recent translations taken on the L1 4 KiB fast path, found again
  // without the set scan and the rights check (QEMU's softmmu TLB plays this part, but there it is the only
  // TLB; here the modelled TLB stays the reference and the memo only remembers where its hits are). Direct-mapped
  // by the page number's low bits, MEMO_SIZE entries per kind. It is exact: an entry is used only while its TLB
  // array is unchanged (a change, AssocCache.onChange, forgets the memo of its kind), so that the same slot would
  // be found, for the same access flags, and while no input of the rights check changed (controlChanged and
  // keysChanged forget every entry), so that the same check would pass. Typed arrays: no allocation, one load per
  // field. The memos are public for the block compiler (src/cpu/jit), which tests them in generated code; only
  // the Mmu writes them.
  /** Page number (va >>> 12) of each read entry. */
  readonly memoPageR = new Int32Array(MEMO_SIZE);
  /** High half (int32) of the entry's address. */
  readonly memoHiR = new Int32Array(MEMO_SIZE);
  /** Access flags of the entry (the `acc` of translate); -1: no entry. */
  readonly memoAccR = new Int32Array(MEMO_SIZE).fill(-1);
  /** The L1 slot the entry's page hits, and its protection key. */
  readonly memoSlotR = new Int32Array(MEMO_SIZE);
  readonly memoPkeyR = new Int32Array(MEMO_SIZE);
  /**
   * The entry's frame for reading: its view (an allocated frame's view never changes), or the shared zero view
   * while it is not allocated (forgotten when any frame is allocated); null above installed memory, or until
   * `translate` next finds the entry.
   */
  readonly memoViewR: (DataView | null)[] = new Array<DataView | null>(MEMO_SIZE).fill(null);
  /** Whether a read (write) entry was made since that memo was last forgotten. */
  private memoLiveR = false;
  private memoLiveW = false;
  /** Whether a read entry may hold the zero view. */
  private memoZero = false;
  // The write memo: the same fields for writes (forgotten when l1Write changes; an entry is made only for a dirty
  // page).
  readonly memoPageW = new Int32Array(MEMO_SIZE);
  readonly memoHiW = new Int32Array(MEMO_SIZE);
  readonly memoAccW = new Int32Array(MEMO_SIZE).fill(-1);
  readonly memoSlotW = new Int32Array(MEMO_SIZE);
  readonly memoPkeyW = new Int32Array(MEMO_SIZE);
  /**
   * The entry's frame when it is allocated and holds no decoded code (PhysicalMemory.writableFrame), else null:
   * a compiled store writes it directly. Forgotten whenever a frame is marked as code (its next write must go
   * through PhysicalMemory.writeFrame, which drops the decoded code first).
   */
  readonly memoViewW: (DataView | null)[] = new Array<DataView | null>(MEMO_SIZE).fill(null);
  /** The L1 4 KiB TLB that reads and writes hit (writes: the store-only TLB where the geometry has one). */
  readonly l1Read: AssocCache;
  readonly l1Write: AssocCache;
  /** timing.l1TlbHit */
  readonly l1HitCost: number;

  /** After XLATE_PAGE_FAULT: the error code. */
  faultCode = 0;
  /** After a successful `translate`: page size shift (12, 21, 30) and key, for reports (compiled accesses leave them). */
  lastPageShift = 12;
  lastPkey = 0;

  constructor(
    readonly mem: PhysicalMemory,
    geometry: TlbGeometry,
    readonly timing: MmuTiming,
    stats?: MmuStats,
  ) {
    this.stats = stats ?? newMmuStats();
    const mk = (s: CacheShape) => new AssocCache(s[0], s[1]);
    this.l1d4k = mk(geometry.l1d4k);
    this.l1d2m = mk(geometry.l1d2m);
    this.l1d1g = mk(geometry.l1d1g);
    this.l1i4k = mk(geometry.l1i4k);
    this.l1i2m = mk(geometry.l1i2m);
    this.l1i1g = mk(geometry.l1i1g);
    this.l1dStore = mk(geometry.l1dStore ?? [0, 1]);
    this.splitStores = this.l1dStore.entries > 0;
    this.l1Read = this.l1d4k;
    this.l1Write = this.splitStores ? this.l1dStore : this.l1d4k;
    this.l1HitCost = timing.l1TlbHit;
    this.stlb = mk(geometry.stlb);
    this.stlb1g = mk(geometry.stlb1g);
    this.pscPml5 = mk(geometry.pscPml5);
    this.pscPml4 = mk(geometry.pscPml4);
    this.pscPdpt = mk(geometry.pscPdpt);
    this.pscPd = mk(geometry.pscPd);
    this.all = [this.l1d4k, this.l1d2m, this.l1d1g, this.l1i4k, this.l1i2m, this.l1i1g, this.l1dStore, this.stlb, this.stlb1g];
    this.pscs = [this.pscPml5, this.pscPml4, this.pscPdpt, this.pscPd];
    this.state.maxPhysAddr = mem.maxPhysAddr;
    this.rights = new RightsTable(this.state);
    const r = timing.walkRef;
    this.walkRefCost = Float64Array.of(0, r.pte, r.pde, r.pdpte, r.pml4e, r.pml5e);
    mem.onMarkCode(() => this.memoViewW.fill(null));
    if (this.l1Write === this.l1Read) {
      this.l1Read.onChange = () => {
        this.forgetR();
        this.forgetW();
      };
    } else {
      this.l1Read.onChange = () => this.forgetR();
      this.l1Write.onChange = () => this.forgetW();
    }
    mem.onAllocate(() => {
      if (!this.memoZero) return;
      for (let i = 0; i < MEMO_SIZE; i++) if (this.memoViewR[i] === PhysicalMemory.ZERO) this.memoViewR[i] = null;
      this.memoZero = false;
    });
  }

  /**
   * Call after changing any of the state's fields (the CPU does, on CR0/CR3/CR4/EFER writes): recomputes the
   * rights tables for wp, nxe, smep and smap and forgets the hit memo.
   */
  controlChanged(): void {
    this.rights.refresh();
    this.keysChanged();
  }

  /** Call after changing the state's pkru, pkrs or ac (the CPU does, on WRPKRU, PKRS writes and RFLAGS.AC changes). */
  keysChanged(): void {
    // (a kernel flips PKRS twice per page-table write: forget only a memo that holds something)
    this.forgetR();
    this.forgetW();
  }

  private forgetR(): void {
    if (this.memoLiveR) {
      this.memoAccR.fill(-1);
      this.memoLiveR = false;
    }
  }
  private forgetW(): void {
    if (this.memoLiveW) {
      this.memoAccW.fill(-1);
      this.memoLiveW = false;
    }
  }

  /** Is the 64-bit address (halves) canonical for the current paging mode? (SDM Vol. 1 3.3.7.1) */
  isCanonical(vaHi: number): boolean {
    const top = this.state.la57 ? vaHi >> 24 : vaHi >> 15;
    return top === 0 || top === -1;
  }

  /**
   * Translate a linear address for one access, as the hardware does: TLBs first, then a walk that sets
   * A/D and fills the TLBs and paging-structure caches.
   * @returns the physical address (>= 0), XLATE_PAGE_FAULT (see `faultCode`) or XLATE_NONCANONICAL
   */
  translate(vaLo: number, vaHi: number, acc: number): number {
    // The common case, kept small so that V8 inlines it into the callers: an allowed access that hits
    // the L1 4 KiB TLB of its kind (and, for a write, an entry already dirty). Everything else, with the
    // same checks and the same statistics, is in translateFull.
    const type = acc & ACC_TYPE_MASK;
    const page = vaLo >>> 12;
    const i = page & MEMO_MASK;
    if (type === ACC_READ) {
      if (this.memoPageR[i] === page && this.memoHiR[i] === (vaHi | 0) && this.memoAccR[i] === acc) {
        if (this.memoViewR[i] === null) this.memoView(i, false);
        return this.l1Hit(this.l1Read, this.memoSlotR[i]!, this.memoPkeyR[i]!) + (vaLo & 0xfff);
      }
    } else if (type === ACC_WRITE) {
      if (this.memoPageW[i] === page && this.memoHiW[i] === (vaHi | 0) && this.memoAccW[i] === acc) {
        if (this.memoViewW[i] === null) this.memoView(i, true);
        return this.l1Hit(this.l1Write, this.memoSlotW[i]!, this.memoPkeyW[i]!) + (vaLo & 0xfff);
      }
    }
    return this.translateL1(vaLo, vaHi, acc);
  }

  /** The L1 4 KiB TLB hit path of `translate` (an allowed access, a dirty entry for a write), memo'd. */
  private translateL1(vaLo: number, vaHi: number, acc: number): number {
    const s = this.state;
    if (s.paging && this.isCanonical(vaHi)) {
      const type = acc & ACC_TYPE_MASK;
      const arr = type === ACC_FETCH ? this.l1i4k : type === ACC_WRITE ? this.l1Write : this.l1Read;
      const slot = arr.lookupOnly((vaHi << 20) | (vaLo >>> 12), vaHi >>> 12, s.pcid); // tagLo/tagHi(12), inline
      if (slot >= 0) {
        const info = arr.info[slot];
        const pkey = (info >>> INFO_PKEY_SHIFT) & 15;
        if ((type !== ACC_WRITE || (info & INFO_DIRTY) !== 0) && this.rights.check(info & INFO_RIGHTS, pkey, acc) === 0) {
          const i = (vaLo >>> 12) & MEMO_MASK;
          if (type === ACC_READ) {
            this.memoLiveR = true;
            this.memoPageR[i] = vaLo >>> 12;
            this.memoHiR[i] = vaHi;
            this.memoAccR[i] = acc;
            this.memoSlotR[i] = slot;
            this.memoPkeyR[i] = pkey;
            this.memoView(i, false);
          } else if (type === ACC_WRITE) {
            this.memoLiveW = true;
            this.memoPageW[i] = vaLo >>> 12;
            this.memoHiW[i] = vaHi;
            this.memoAccW[i] = acc;
            this.memoSlotW[i] = slot;
            this.memoPkeyW[i] = pkey;
            this.memoView(i, true);
          }
          return this.l1Hit(arr, slot, pkey) + (vaLo & 0xfff);
        }
      }
    }
    return this.translateFull(vaLo, vaHi, acc);
  }

  /**
   * The frame view of memo entry i (its slot's base): for reading, the frame's view (the zero view while it is not
   * allocated); for writing, the view when it may be written directly (PhysicalMemory.writableFrame). An entry
   * made before the frame was allocated, or while it held decoded code, gets it when `translate` next finds it.
   */
  private memoView(i: number, write: boolean): void {
    if (write) this.memoViewW[i] = this.mem.writableFrame(this.l1Write.base[this.memoSlotW[i]!]! / 4096);
    else {
      const f = this.mem.readFrame(this.l1Read.base[this.memoSlotR[i]!]! / 4096);
      if (f === PhysicalMemory.ZERO) this.memoZero = true;
      this.memoViewR[i] = f;
    }
  }

  /**
   * An allowed access hit the L1 4 KiB TLB at `slot`: mark it used, count it; returns the page's base. Compiled
   * blocks write this out for an access that finds the read or write memo (jit/templates.ts rdBody, wrBody): keep
   * them in step.
   */
  private l1Hit(arr: AssocCache, slot: number, pkey: number): number {
    arr.touch(slot);
    this.stats.translations++;
    this.stats.tlbHits++;
    this.stats.cycles += this.l1HitCost;
    this.lastPageShift = 12;
    this.lastPkey = pkey;
    return arr.base[slot];
  }

  /** The whole translation path: every TLB level, the rights check, the dirty assist, the walk. */
  private translateFull(vaLo: number, vaHi: number, acc: number): number {
    const s = this.state;
    if (!s.paging) return vaLo >>> 0; // paging off: linear = physical (32-bit outside long mode)
    this.stats.translations++;
    if (!this.isCanonical(vaHi)) return XLATE_NONCANONICAL;
    const pcid = s.pcid;
    const type = acc & ACC_TYPE_MASK;
    const fetch = type === ACC_FETCH;
    const write = type === ACC_WRITE;

    // Tags per page size (int32 halves of the page number; the size code keeps 2 MiB and 1 GiB
    // translations apart in the shared STLB).
    const t4lo = tagLo(vaLo, vaHi, 12);
    const t4hi = tagHi(vaHi, 12);
    const t2lo = tagLo(vaLo, vaHi, 21);
    const t2hi = tagHi(vaHi, 21);
    const t1lo = tagLo(vaLo, vaHi, 30);
    const t1hi = tagHi(vaHi, 30);
    const storeTlb = write && this.splitStores;
    let arr = fetch ? this.l1i4k : storeTlb ? this.l1dStore : this.l1d4k;
    let slot = arr.lookup(t4lo, t4hi, pcid);
    let shift = 12;
    let l1Hit = slot >= 0;
    if (!l1Hit) {
      arr = fetch ? this.l1i2m : storeTlb ? this.l1dStore : this.l1d2m;
      slot = arr.lookup(t2lo, t2hi, pcid);
      shift = 21;
      if (slot < 0) {
        arr = fetch ? this.l1i1g : storeTlb ? this.l1dStore : this.l1d1g;
        slot = arr.lookup(t1lo, t1hi, pcid);
        shift = 30;
      }
      l1Hit = slot >= 0;
      if (!l1Hit) {
        // Second-level TLBs.
        arr = this.stlb;
        slot = arr.lookup(t4lo, t4hi, pcid);
        shift = 12;
        if (slot < 0) {
          slot = arr.lookup(t2lo, t2hi, pcid);
          shift = 21;
          if (slot < 0) {
            arr = this.stlb1g;
            slot = arr.lookup(t1lo, t1hi, pcid);
            shift = 30;
          }
        }
      }
    }

    if (slot >= 0) {
      const info = arr.info[slot];
      const pkey = (info >>> INFO_PKEY_SHIFT) & 15;
      if (l1Hit) {
        this.stats.tlbHits++;
        this.stats.cycles += this.timing.l1TlbHit;
      } else {
        this.stats.stlbHits++;
        this.stats.cycles += this.timing.stlbHit;
      }
      // The rights check of a TLB hit: the same function as after a walk, with the cached rights and key.
      const ec = this.rights.check(info & INFO_RIGHTS, pkey, acc);
      if (ec !== 0) return this.pageFault(vaLo, vaHi, ec);
      if (!write || (info & INFO_DIRTY) !== 0) {
        const base = arr.base[slot];
        if (!l1Hit) {
          // fill the L1 TLB of this access kind
          this.l1For(acc, shift).insert(tagLo(vaLo, vaHi, shift), tagHi(vaHi, shift), pcid, arr.isGlobal(slot), base, info);
        }
        this.lastPageShift = shift;
        this.lastPkey = pkey;
        return base + (shift === 12 ? vaLo & 0xfff : shift === 21 ? vaLo & 0x1fffff : vaLo & 0x3fffffff);
      }
      // A write through an entry whose dirty flag is clear: the processor walks again to set D (4.8).
      this.stats.dirtyAssists++;
    } else {
      this.stats.tlbMisses++;
    }
    return this.walkAndFill(vaLo, vaHi, acc, t4lo, t4hi, t2lo, t2hi, t1lo, t1hi);
  }

  private walkAndFill(vaLo: number, vaHi: number, acc: number, t4lo: number, t4hi: number, t2lo: number, t2hi: number, t1lo: number, t1hi: number): number {
    const s = this.state;
    const pcid = s.pcid;
    const top = s.la57 ? 5 : 4;
    // Start at the lowest level a paging-structure cache can supply (4.10.3.2).
    let startLevel = top;
    let startBase = s.rootBase;
    let startRights = RIGHTS_ALL;
    let p = this.pscPd.lookup(t2lo, t2hi, pcid);
    if (p >= 0) {
      startLevel = 1;
      startBase = this.pscPd.base[p];
      startRights = this.pscPd.info[p];
    } else if ((p = this.pscPdpt.lookup(t1lo, t1hi, pcid)) >= 0) {
      startLevel = 2;
      startBase = this.pscPdpt.base[p];
      startRights = this.pscPdpt.info[p];
    } else if ((p = this.pscPml4.lookup(vaHi >>> 7, 0, pcid)) >= 0) {
      startLevel = 3;
      startBase = this.pscPml4.base[p];
      startRights = this.pscPml4.info[p];
    } else if (top === 5 && (p = this.pscPml5.lookup(vaHi >>> 16, 0, pcid)) >= 0) {
      startLevel = 4;
      startBase = this.pscPml5.base[p];
      startRights = this.pscPml5.info[p];
    }
    if (p >= 0) this.stats.pscHits++;

    const w = this.walkOut;
    const ok = walk(this.mem, s, vaLo, vaHi, acc, startLevel, startBase, startRights, true, w);
    this.stats.walks++;
    this.stats.walkRefs += w.refs;
    // Walk cost: a fixed start, then each entry read at its level's cost (levels the PSC supplied are free).
    let walkCycles = this.timing.walkBase + (w.adWrites > 0 ? this.timing.adUpdate : 0);
    for (let l = w.level; l <= startLevel; l++) walkCycles += this.walkRefCost[l];
    this.stats.cycles += walkCycles;
    if (!ok) return this.pageFault(vaLo, vaHi, w.errorCode);

    // Fill the paging-structure caches with the non-leaf entries this walk read (4.10.3.1). Global pages do
    // not make PSC entries global.
    for (let level = w.lowestTableLevel; level <= startLevel && level <= 5; level++) {
      const base = w.nextBase[level];
      const r = w.rightsAt[level];
      if (level === 2) this.pscPd.insert(t2lo, t2hi, pcid, false, base, r);
      else if (level === 3) this.pscPdpt.insert(t1lo, t1hi, pcid, false, base, r);
      else if (level === 4) this.pscPml4.insert(vaHi >>> 7, 0, pcid, false, base, r);
      else if (level === 5) this.pscPml5.insert(vaHi >>> 16, 0, pcid, false, base, r);
    }

    // Fill the TLBs (4.10.2.1). The global flag counts only with CR4.PGE = 1.
    const g = s.pge && w.global;
    const info = w.rights | (w.pkey << INFO_PKEY_SHIFT) | (w.dirty ? INFO_DIRTY : 0);
    const shift = w.pageShift;
    const l1 = this.l1For(acc, shift);
    if (shift === 12) {
      l1.insert(t4lo, t4hi, pcid, g, w.pageBase, info);
      this.stlb.insert(t4lo, t4hi, pcid, g, w.pageBase, info);
    } else if (shift === 21) {
      l1.insert(t2lo, t2hi, pcid, g, w.pageBase, info);
      this.stlb.insert(t2lo, t2hi, pcid, g, w.pageBase, info);
    } else {
      l1.insert(t1lo, t1hi, pcid, g, w.pageBase, info);
      this.stlb1g.insert(t1lo, t1hi, pcid, g, w.pageBase, info);
    }
    this.lastPageShift = shift;
    this.lastPkey = w.pkey;
    return w.pageBase + (shift === 12 ? vaLo & 0xfff : shift === 21 ? vaLo & 0x1fffff : vaLo & 0x3fffffff);
  }

  /** The L1 TLB an access of this kind fills for a page of 2^shift bytes: instruction, store-only or data. */
  private l1For(acc: number, shift: number): AssocCache {
    const type = acc & ACC_TYPE_MASK;
    if (type === ACC_FETCH) return shift === 12 ? this.l1i4k : shift === 21 ? this.l1i2m : this.l1i1g;
    if (type === ACC_WRITE && this.splitStores) return this.l1dStore;
    return shift === 12 ? this.l1d4k : shift === 21 ? this.l1d2m : this.l1d1g;
  }

  /**
   * A page fault invalidates the TLB entries for the faulting page and the paging-structure-cache entries
   * that would be used for it, for the current PCID (SDM 4.10.4.1, "page faults").
   */
  private pageFault(vaLo: number, vaHi: number, ec: number): number {
    this.stats.pageFaults++;
    this.faultCode = ec;
    this.invalidatePage(vaLo, vaHi, this.state.pcid, false, true);
    return XLATE_PAGE_FAULT;
  }

  /**
   * Walk without side effects (no TLB use or fill, no A/D update): what the paging structures in memory say
   * now. Fills and returns the shared `walkOut`.
   */
  probe(vaLo: number, vaHi: number, acc: number): WalkResult {
    const s = this.state;
    walk(this.mem, s, vaLo, vaHi, acc, s.la57 ? 5 : 4, s.rootBase, RIGHTS_ALL, false, this.walkOut);
    return this.walkOut;
  }

  // ---- invalidation (SDM 4.10.4.1) --------------------------------------------------------------------

  /**
   * Drop the TLB entries for the page containing va, of every page size, for `pcid` (-1: all PCIDs).
   * `keepGlobal` keeps global translations (INVPCID type 0). `pscForVaOnly` limits the paging-structure
   * caches to the entries that would be used for va (page fault); else all PSC entries of the PCID go
   * (INVLPG, INVPCID type 0).
   */
  invalidatePage(vaLo: number, vaHi: number, pcid: number, keepGlobal: boolean, pscForVaOnly: boolean): void {
    const t4lo = tagLo(vaLo, vaHi, 12);
    const t4hi = tagHi(vaHi, 12);
    const t2lo = tagLo(vaLo, vaHi, 21);
    const t2hi = tagHi(vaHi, 21);
    const t1lo = tagLo(vaLo, vaHi, 30);
    const t1hi = tagHi(vaHi, 30);
    let n = 0;
    n += this.l1d4k.invalidateTag(t4lo, t4hi, pcid, keepGlobal);
    n += this.l1i4k.invalidateTag(t4lo, t4hi, pcid, keepGlobal);
    n += this.stlb.invalidateTag(t4lo, t4hi, pcid, keepGlobal);
    n += this.l1d2m.invalidateTag(t2lo, t2hi, pcid, keepGlobal);
    n += this.l1i2m.invalidateTag(t2lo, t2hi, pcid, keepGlobal);
    n += this.stlb.invalidateTag(t2lo, t2hi, pcid, keepGlobal);
    n += this.l1d1g.invalidateTag(t1lo, t1hi, pcid, keepGlobal);
    n += this.l1i1g.invalidateTag(t1lo, t1hi, pcid, keepGlobal);
    n += this.stlb1g.invalidateTag(t1lo, t1hi, pcid, keepGlobal);
    if (this.splitStores) {
      n += this.l1dStore.invalidateTag(t4lo, t4hi, pcid, keepGlobal);
      n += this.l1dStore.invalidateTag(t2lo, t2hi, pcid, keepGlobal);
      n += this.l1dStore.invalidateTag(t1lo, t1hi, pcid, keepGlobal);
    }
    this.stats.tlbInvalidations += n;
    if (pscForVaOnly) {
      this.pscPd.invalidateTag(t2lo, t2hi, pcid, false);
      this.pscPdpt.invalidateTag(t1lo, t1hi, pcid, false);
      this.pscPml4.invalidateTag(vaHi >>> 7, 0, pcid, false);
      this.pscPml5.invalidateTag(vaHi >>> 16, 0, pcid, false);
    } else {
      for (const c of this.pscs) c.invalidatePcid(pcid, false);
    }
  }

  /** Drop the TLB and PSC entries of `pcid` (-1: every PCID); `keepGlobal` keeps global TLB entries. */
  invalidatePcid(pcid: number, keepGlobal: boolean): void {
    let n = 0;
    for (const c of this.all) n += c.invalidatePcid(pcid, keepGlobal);
    for (const c of this.pscs) c.invalidatePcid(pcid, false);
    this.stats.tlbInvalidations += n;
  }

  /** Drop everything, global entries included. */
  invalidateAll(): void {
    let n = 0;
    for (const c of this.all) n += c.clear();
    for (const c of this.pscs) c.clear();
    this.stats.tlbInvalidations += n;
  }

  /** Host bytes held by this MMU's TLBs and paging-structure caches. */
  get hostBytes(): number {
    let n = 0;
    for (const c of this.all) n += c.hostBytes;
    for (const c of this.pscs) n += c.hostBytes;
    return n;
  }

  /** Valid TLB entries per structure (tests, reports). */
  occupancy(): Record<string, number> {
    return {
      l1d4k: this.l1d4k.count(),
      l1d2m: this.l1d2m.count(),
      l1d1g: this.l1d1g.count(),
      l1i4k: this.l1i4k.count(),
      l1i2m: this.l1i2m.count(),
      l1i1g: this.l1i1g.count(),
      l1dStore: this.l1dStore.count(),
      stlb: this.stlb.count(),
      stlb1g: this.stlb1g.count(),
      pscPml5: this.pscPml5.count(),
      pscPml4: this.pscPml4.count(),
      pscPdpt: this.pscPdpt.count(),
      pscPd: this.pscPd.count(),
    };
  }
}

