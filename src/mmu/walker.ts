/**
 * The page walker for IA-32e paging: 4-level and 5-level (CR4.LA57), 4 KiB, 2 MiB and 1 GiB pages.
 * Intel SDM Vol. 3A 4.5 (the walk and the entry formats), 4.6 (access rights, see rights.ts), 4.7 (page-fault
 * error codes), 4.8 (accessed and dirty flags).
 *
 * Allocation-free: the linear address comes as two 32-bit halves, the result goes into a caller-owned
 * `WalkResult`. The walker neither reads nor fills TLBs; the caller may hand it a starting point from a
 * paging-structure cache (SDM 4.10.3) and gets back the non-leaf entries it read, to fill those caches.
 */

import { HI_PKEY_SHIFT, HI_XD, LO_A, LO_D, LO_P, LO_PS, LO_RW, LO_US, LO_G } from './entry.js';
import type { PhysicalMemory } from './physical-memory.js';
import { accessFault, baseErrorCode, ACC_TYPE_MASK, ACC_WRITE, PFEC_P, PFEC_RSVD, RIGHT_U, RIGHT_W, RIGHT_X, type RightsControl } from './rights.js';

/** What the walk depends on beyond the rights controls. */
export interface WalkControl extends RightsControl {
  /** CR4.LA57: 5-level paging. */
  la57: boolean;
  /** MAXPHYADDR. */
  maxPhysAddr: number;
  /** 1 GiB pages supported (CPUID.80000001H:EDX[26]); without it PS = 1 in a PDPTE is reserved. */
  gbpages: boolean;
  /** Physical address of the root table (PML4 or PML5), from CR3. */
  rootBase: number;
}

/** Caller-owned result of a walk; reused across walks. */
export class WalkResult {
  /** The walk produced a translation and the access is allowed. */
  ok = false;
  /** Page-fault error code when !ok. */
  errorCode = 0;
  /** Level of the entry that ended the walk (1 = PTE), for reports. */
  level = 0;
  /** Physical base of the page. */
  pageBase = 0;
  /** 12, 21 or 30. */
  pageShift = 12;
  /** Accumulated RIGHT_* bits. */
  rights = 0;
  /** Protection key of the leaf (bits 62:59). */
  pkey = 0;
  /** G bit of the leaf. */
  global = false;
  /** D bit of the leaf after the walk (set by it on a write). */
  dirty = false;
  /** Memory references made to paging-structure entries. */
  refs = 0;
  /** Entries whose A or D flag this walk set. */
  adWrites = 0;
  /** Non-leaf entries read, by level (index = level of the entry): next-table base and rights so far. */
  readonly nextBase = new Float64Array(6);
  readonly rightsAt = new Int32Array(6);
  /** Lowest level whose non-leaf entry was read in this walk (6 = none). */
  lowestTableLevel = 6;
  /** Physical address of the entry read at each level (valid for the levels this walk read). */
  readonly entryPa = new Float64Array(6);
  readonly entryLo = new Uint32Array(6);
  readonly entryHi = new Uint32Array(6);
}

const TWO32 = 4294967296;

/** Index of the linear address into the table at `level` (SDM 4.5.4, Figures 4-8 to 4-10). */
export function levelIndex(vaLo: number, vaHi: number, level: number): number {
  switch (level) {
    case 1:
      return (vaLo >>> 12) & 511;
    case 2:
      return (vaLo >>> 21) & 511;
    case 3:
      return ((vaLo >>> 30) | (vaHi << 2)) & 511;
    case 4:
      return (vaHi >>> 7) & 511;
    default:
      return (vaHi >>> 16) & 511;
  }
}

/**
 * Walk the paging structures for one access.
 *
 * @param startLevel level of the first entry to read (4 or 5 from CR3; lower when a paging-structure cache
 *                   supplied the table at that level)
 * @param startBase  physical base of the table at startLevel
 * @param startRights accumulated rights of the entries above startLevel
 * @param setAD      set accessed/dirty flags as the hardware does (false: a side-effect-free probe)
 */
export function walk(
  mem: PhysicalMemory,
  c: WalkControl,
  vaLo: number,
  vaHi: number,
  acc: number,
  startLevel: number,
  startBase: number,
  startRights: number,
  setAD: boolean,
  out: WalkResult,
): boolean {
  out.ok = false;
  out.refs = 0;
  out.adWrites = 0;
  out.lowestTableLevel = 6;

  // Reserved physical-address bits 51:MAXPHYADDR live in bits 19:(M-32) of the high half (SDM 4.5.4,
  // Tables 4-15..4-20: "Reserved (must be 0)").
  const rsvdHi = (0xfffff & ~((1 << (c.maxPhysAddr - 32)) - 1)) >>> 0;
  // XD is reserved when EFER.NXE = 0 (SDM 4.5.4).
  const rsvdXd = c.nxe ? 0 : HI_XD;

  let base = startBase;
  let rights = startRights;
  for (let level = startLevel; level >= 1; level--) {
    // Tables are 4 KiB aligned and entries 8-byte aligned: both halves come from one frame.
    const off = levelIndex(vaLo, vaHi, level) * 8;
    const entryPa = base + off;
    const frame = mem.readFrame(base / 4096);
    let lo = 0xffffffff; // beyond installed memory a read returns all-ones
    let hi = 0xffffffff;
    if (frame !== null) {
      lo = frame.getUint32(off, true);
      hi = frame.getUint32(off + 4, true);
    } else {
      mem.stats.unbackedReads++;
    }
    out.refs++;
    out.entryPa[level] = entryPa;
    out.entryLo[level] = lo;
    out.entryHi[level] = hi;
    out.level = level;

    // 4.7: a not-present entry anywhere on the walk gives a #PF with P = 0.
    if ((lo & LO_P) === 0) {
      out.errorCode = baseErrorCode(acc, c);
      return false;
    }

    // Reserved bits (4.5.4): address bits beyond MAXPHYADDR, XD without NXE, PS in a PML5E/PML4E, PS in a
    // PDPTE without 1-GiB-page support, and in a large-page entry the address bits below the page size
    // other than the PAT bit (bit 12).
    const ps = (lo & LO_PS) !== 0 && level >= 2;
    let rsvd = (hi & rsvdHi) !== 0 || (hi & rsvdXd) !== 0;
    if (ps) {
      if (level >= 4) rsvd = true;
      else if (level === 3) rsvd ||= !c.gbpages || (lo & 0x3fffe000) !== 0;
      else rsvd ||= (lo & 0x1fe000) !== 0;
    }
    if (rsvd) {
      out.errorCode = PFEC_P | PFEC_RSVD | baseErrorCode(acc, c);
      return false;
    }

    // 4.6.1: R/W and U/S accumulate over every level (the leaf included); XD in any entry forbids fetches.
    if ((lo & LO_RW) === 0) rights &= ~RIGHT_W;
    if ((lo & LO_US) === 0) rights &= ~RIGHT_U;
    if ((hi & HI_XD) !== 0) rights &= ~RIGHT_X;

    const addrHi = hi & 0xfffff;
    if (level === 1 || ps) {
      // The leaf: a 4 KiB PTE, a 2 MiB PDE or a 1 GiB PDPTE.
      const shift = level === 1 ? 12 : level === 2 ? 21 : 30;
      const lowMask = level === 1 ? 0xfffff000 : level === 2 ? 0xffe00000 : 0xc0000000;
      out.pageShift = shift;
      out.pageBase = ((lo & lowMask) >>> 0) + addrHi * TWO32;
      out.rights = rights;
      out.pkey = (hi >>> HI_PKEY_SHIFT) & 0xf;
      out.global = (lo & LO_G) !== 0;

      const ec = accessFault(rights, out.pkey, acc, c);
      if (ec !== 0) {
        out.errorCode = ec;
        return false;
      }
      const write = (acc & ACC_TYPE_MASK) === ACC_WRITE;
      if (setAD) {
        // 4.8: set A in every entry used (and D in the leaf on a write), only for an access that is allowed.
        for (let l = startLevel; l > level; l--) {
          const el = out.entryLo[l];
          if ((el & LO_A) === 0) {
            mem.wr32(out.entryPa[l], (el | LO_A) >>> 0);
            out.adWrites++;
          }
        }
        const want = write ? LO_A | LO_D : LO_A;
        if ((lo & want) !== want) {
          mem.wr32(entryPa, (lo | want) >>> 0);
          out.adWrites++;
        }
      }
      out.dirty = (lo & LO_D) !== 0 || (write && setAD);
      out.ok = true;
      return true;
    }

    // A non-leaf entry: descend.
    base = ((lo & 0xfffff000) >>> 0) + addrHi * TWO32;
    out.nextBase[level] = base;
    out.rightsAt[level] = rights;
    out.lowestTableLevel = level;
  }
  // Not reached: level 1 always ends the loop.
  out.errorCode = baseErrorCode(acc, c);
  return false;
}

