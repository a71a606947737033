/**
 * The access-rights check of IA-32e paging (4-level and 5-level), in one function, next to the rules of
 * Intel SDM Vol. 3A 4.6 ("Access Rights") and 4.7 ("Page-Fault Exceptions"). The walker calls it after a
 * successful walk, the TLB-hit path calls it with the rights the TLB entry cached; so a PKRS or PKRU change
 * acts on the next access without any flush (the TLB holds the key, never the rights the key grants).
 */

import { keyDeniesUnchecked as keyDenies } from '../pks/keys.js';

// ---- access descriptors (one small integer, no objects on the hot path) --------------------------------
/** Data read. */
export const ACC_READ = 0;
/** Data write. */
export const ACC_WRITE = 1;
/** Instruction fetch. */
export const ACC_FETCH = 2;
export const ACC_TYPE_MASK = 3;
/** A user-mode access: CPL 3 and not an implicit supervisor access (SDM 4.6). */
export const ACC_USER = 4;
/** An implicit supervisor-mode access (GDT/LDT/IDT/TSS reads, shadow stacks...), made at any CPL. */
export const ACC_IMPLICIT = 8;
/** The bits the MMU looks at. */
export const ACC_MMU_MASK = 15;
/** A stack reference (CPU-level flag, ignored by the MMU): a non-canonical address raises #SS, not #GP. */
export const ACC_STACK = 16;

// ---- accumulated rights of a translation, as the TLB caches them ---------------------------------------
/** R/W = 1 in every paging-structure entry controlling the translation. */
export const RIGHT_W = 1;
/** U/S = 1 in every entry: the address is a user-mode address (SDM 4.6.1), else supervisor-mode. */
export const RIGHT_U = 2;
/** XD = 0 in every entry. */
export const RIGHT_X = 4;
export const RIGHTS_ALL = RIGHT_W | RIGHT_U | RIGHT_X;

// ---- page-fault error code (SDM 4.7) --------------------------------------------------------------------
export const PFEC_P = 1 << 0;
export const PFEC_W = 1 << 1;
export const PFEC_U = 1 << 2;
export const PFEC_RSVD = 1 << 3;
export const PFEC_I = 1 << 4;
export const PFEC_PK = 1 << 5;

/** The control state the rights depend on. The CPU keeps one per logical processor up to date. */
export interface RightsControl {
  /** CR0.WP */
  wp: boolean;
  /** IA32_EFER.NXE */
  nxe: boolean;
  /** CR4.SMEP */
  smep: boolean;
  /** CR4.SMAP */
  smap: boolean;
  /** CR4.PKE and IA-32e paging active (EFER.LMA). */
  pke: boolean;
  /** CR4.PKS and IA-32e paging active (EFER.LMA). */
  pks: boolean;
  /** RFLAGS.AC */
  ac: boolean;
  /** PKRU, 32 bits. */
  pkru: number;
  /** IA32_PKRS, low 32 bits (63:32 are reserved). */
  pkrs: number;
}

/**
 * The W, U and I bits every page-fault error code for this access carries (SDM 4.7):
 * W for writes; U for user-mode accesses; I for instruction fetches when EFER.NXE = 1 or CR4.SMEP = 1.
 */
export function baseErrorCode(acc: number, c: RightsControl): number {
  const type = acc & ACC_TYPE_MASK;
  let ec = 0;
  if (type === ACC_WRITE) ec |= PFEC_W;
  if ((acc & ACC_USER) !== 0) ec |= PFEC_U;
  if (type === ACC_FETCH && (c.nxe || c.smep)) ec |= PFEC_I;
  return ec;
}

/**
 * The paging rights of SDM 4.6.1 alone (U/S, R/W, CR0.WP, XD/NXE, SMEP, SMAP with AC and implicit
 * accesses), without protection keys.
 * @param rights accumulated RIGHT_* bits of the translation
 * @param acc    ACC_READ/WRITE/FETCH, with ACC_USER or ACC_IMPLICIT
 * @returns whether the access is denied
 */
export function pagingDenies(rights: number, acc: number, c: RightsControl): boolean {
  const type = acc & ACC_TYPE_MASK;
  const userAccess = (acc & ACC_USER) !== 0;
  const implicit = (acc & ACC_IMPLICIT) !== 0;
  const userAddr = (rights & RIGHT_U) !== 0;
  const writable = (rights & RIGHT_W) !== 0;

  if (type === ACC_FETCH) {
    // Instruction fetches. With NXE = 1, XD = 0 is needed in every entry.
    if (c.nxe && (rights & RIGHT_X) === 0) return true;
    // User-mode fetches: never from supervisor-mode addresses.
    if (userAccess) return !userAddr;
    // Supervisor-mode fetches from user-mode addresses: not when CR4.SMEP = 1.
    return userAddr && c.smep;
  }
  if (userAccess) {
    // User-mode data accesses: only to user-mode addresses; writes need R/W = 1 at every level
    // (CR0.WP does not matter for user-mode accesses).
    if (!userAddr) return true;
    return type === ACC_WRITE && !writable;
  }
  // Supervisor-mode data accesses (explicit at CPL < 3, or implicit at any CPL).
  // SMAP: no data access to a user-mode address unless it is explicit with EFLAGS.AC = 1.
  if (userAddr && c.smap && (implicit || !c.ac)) return true;
  // With CR0.WP = 1 a supervisor write needs R/W = 1 at every level; with WP = 0 it may write anyway.
  return type === ACC_WRITE && !writable && c.wp;
}

/**
 * The protection-key rule of SDM 4.6.2: data accesses only; user-mode addresses use PKRU (CR4.PKE),
 * supervisor-mode addresses use IA32_PKRS (CR4.PKS), whatever the CPL of the access.
 * @returns whether the key register denies the access
 */
export function pkeyDenies(rights: number, pkey: number, acc: number, c: RightsControl): boolean {
  const type = acc & ACC_TYPE_MASK;
  if (type === ACC_FETCH) return false; // keys never apply to instruction fetches
  if ((rights & RIGHT_U) !== 0) return c.pke && keyDenies(c.pkru, pkey, type === ACC_WRITE, (acc & ACC_USER) !== 0, c.wp);
  return c.pks && keyDenies(c.pkrs, pkey, type === ACC_WRITE, (acc & ACC_USER) !== 0, c.wp);
}

/**
 * Whether an access to a present translation is allowed: SDM 4.6.1 and 4.6.2, with the error code of 4.7.
 * @param rights accumulated RIGHT_* bits of the translation
 * @param pkey   protection key of the leaf entry (bits 62:59)
 * @param acc    ACC_READ/WRITE/FETCH, with ACC_USER or ACC_IMPLICIT
 * @returns 0 when allowed, else the page-fault error code (P = 1; PK whenever the key denies the access,
 *          together with any other violation, as 4.7 defines the PK flag)
 */
export function accessFault(rights: number, pkey: number, acc: number, c: RightsControl): number {
  const pk = pkeyDenies(rights, pkey, acc, c);
  if (!pk && !pagingDenies(rights, acc, c)) return 0;
  return PFEC_P | baseErrorCode(acc, c) | (pk ? PFEC_PK : 0);
}

/**
 * `accessFault` precomputed for one control state: the paging part (4.6.1) and the error-code bits come
 * from a table indexed by rights, access and RFLAGS.AC, rebuilt with `refresh()` whenever CR0, CR4 or EFER
 * change; the key part (4.6.2) is evaluated per access, so PKRU/PKRS writes need no refresh. The table is
 * filled by `pagingDenies` and `baseErrorCode` themselves, so the two paths cannot disagree.
 */
/** RightsTable contents by (WP, NXE, SMEP, SMAP), built on first use. */
const PAGING_TABLES: (Int32Array | undefined)[] = new Array<Int32Array | undefined>(16);
const BASE_TABLES: (Int32Array | undefined)[] = new Array<Int32Array | undefined>(16);

const EMPTY_PAGING = new Int32Array(256);
const EMPTY_BASE = new Int32Array(16);

export class RightsTable {
  /** index: rights (3 bits) | acc (4 bits) << 3 | AC << 7 -> 0 (allowed) or P|W|U|I error bits */
  private paging: Int32Array;
  /** index: acc (4 bits) -> W|U|I bits of the error code */
  private base: Int32Array;

  constructor(private readonly c: RightsControl) {
    this.paging = EMPTY_PAGING; // replaced at once
    this.base = EMPTY_BASE;
    this.refresh();
  }

  /**
   * Recompute after a change of CR0.WP, CR4.SMEP/SMAP, EFER.NXE: the tables depend on those four bits only, so
   * each of the 16 combinations is built once per process and shared (a kernel toggling CR0.WP pays a lookup).
   */
  refresh(): void {
    const c = this.c;
    const key = (c.wp ? 1 : 0) | (c.nxe ? 2 : 0) | (c.smep ? 4 : 0) | (c.smap ? 8 : 0);
    let paging = PAGING_TABLES[key];
    let base = BASE_TABLES[key];
    if (paging === undefined || base === undefined) {
      paging = new Int32Array(256);
      base = new Int32Array(16);
      const ac = c.ac;
      for (let acc = 0; acc < 16; acc++) {
        if ((acc & ACC_TYPE_MASK) === 3 || (acc & (ACC_USER | ACC_IMPLICIT)) === (ACC_USER | ACC_IMPLICIT)) continue;
        const b = baseErrorCode(acc, c);
        base[acc] = b;
        for (let r = 0; r < 8; r++) {
          for (let a = 0; a < 2; a++) {
            c.ac = a === 1;
            paging[r | (acc << 3) | (a << 7)] = pagingDenies(r, acc, c) ? PFEC_P | b : 0;
          }
        }
      }
      c.ac = ac;
      PAGING_TABLES[key] = paging;
      BASE_TABLES[key] = base;
    }
    this.paging = paging;
    this.base = base;
  }

  /** Same result as accessFault(rights, pkey, acc, c). */
  check(rights: number, pkey: number, acc: number): number {
    const c = this.c;
    const ordinary = this.paging[rights | (acc << 3) | (c.ac ? 128 : 0)];
    if (!pkeyDenies(rights, pkey, acc, c)) return ordinary;
    return PFEC_P | this.base[acc] | PFEC_PK;
  }
}
