/**
 * An independent oracle for IA-32e (4-level and 5-level) paging translations and access rights, written from
 * Intel SDM Vol. 3A ch. 4 (4.5 IA-32e paging, 4.6 access rights, 4.7 page-fault error codes, 4.8 A/D) and the
 * canonical-address rule (Vol. 1 3.3.7.1, Vol. 3A 6.15 #GP/#SS). It shares no code with src/mmu: it reads
 * paging-structure entries as raw 64-bit values from physical memory and applies the manual's rules.
 */

// ---- entry bits (SDM 4.5.4, Tables 4-15 .. 4-20) --------------------------------------------------------
export const P = 1n << 0n;
export const RW = 1n << 1n;
export const US = 1n << 2n;
export const A = 1n << 5n;
export const D = 1n << 6n;
export const PS = 1n << 7n; // PDPTE/PDE: page size; PTE: PAT; PML5E/PML4E: reserved
export const G = 1n << 8n;
export const PAT_LARGE = 1n << 12n; // PAT of a 2 MiB / 1 GiB page entry
export const XD = 1n << 63n;
export const KEY_SHIFT = 59n; // protection key, bits 62:59 of a leaf entry (4.6.2)

/** Page-fault error code bits (SDM 4.7, Figure 4-12). */
export const EC = { P: 1, W: 2, U: 4, RSVD: 8, I: 16, PK: 32 } as const;

export const LEVEL_NAME: Record<number, string> = { 5: 'PML5E', 4: 'PML4E', 3: 'PDPTE', 2: 'PDE', 1: 'PTE' };

export type AccessType = 'read' | 'write' | 'fetch';

export interface Access {
  access: AccessType;
  cpl: 0 | 1 | 2 | 3;
  /** An implicit supervisor-mode access (GDT/IDT/TSS...) (4.6). */
  implicit?: boolean;
  /** A stack reference: a non-canonical address gives #SS(0) rather than #GP(0). */
  stack?: boolean;
}

/** Architectural control state the rights depend on. */
export interface Controls {
  wp: boolean; // CR0.WP
  nxe: boolean; // IA32_EFER.NXE
  smep: boolean; // CR4.SMEP
  smap: boolean; // CR4.SMAP
  ac: boolean; // RFLAGS.AC
  pke: boolean; // CR4.PKE
  pks: boolean; // CR4.PKS
  pkru: number;
  pkrs: number;
}

/** Fixed properties of the machine. */
export interface Arch {
  maxPhysAddr: number;
  la57: boolean;
  /** CPUID.80000001H:EDX[26]: 1-GByte pages. */
  gbpages: boolean;
}

export interface WalkStep {
  level: number;
  /** Physical address of the entry. */
  pa: bigint;
  entry: bigint;
}

export type Expected =
  | { kind: 'ok'; pa: bigint; pageSize: number; pkey: number; walk: WalkStep[] }
  | { kind: 'pf'; errorCode: number; walk: WalkStep[]; why: string }
  | { kind: 'gp'; errorCode: 0 }
  | { kind: 'ss'; errorCode: 0 };

export const NO_CONTROLS: Controls = { wp: false, nxe: false, smep: false, smap: false, ac: false, pke: false, pks: false, pkru: 0, pkrs: 0 };

/** Vol. 1 3.3.7.1: a linear address is canonical iff bits 63:(N-1) are all equal, N = 48 or 57 (LA57). */
export function isCanonicalAddr(va: bigint, la57: boolean): boolean {
  const n = la57 ? 57n : 48n;
  const top = BigInt.asUintN(64, va) >> (n - 1n);
  return top === 0n || top === (1n << (65n - n)) - 1n;
}

/** 4.6: a user-mode access is one made at CPL 3 that is not an implicit supervisor-mode access. */
export function isUserModeAccess(a: Access): boolean {
  return a.cpl === 3 && !a.implicit;
}

/** 4.7: the W, U and I bits that every #PF for this access carries. */
export function accessBits(a: Access, c: Controls): number {
  let ec = 0;
  if (a.access === 'write') ec |= EC.W; // W: the access was a write
  if (isUserModeAccess(a)) ec |= EC.U; // U/S: a user-mode access (implicit supervisor accesses give 0)
  // I: an instruction fetch, and CR4.SMEP = 1 or (PAE-type paging and) IA32_EFER.NXE = 1
  if (a.access === 'fetch' && (c.smep || c.nxe)) ec |= EC.I;
  return ec;
}

/**
 * Reserved bits of a present entry (4.5.4 and Tables 4-15..4-20; RSVD in 4.7). Returns a reason or null.
 * `leafSize` tells whether a PDPTE/PDE maps a page.
 */
export function reservedReason(entry: bigint, level: number, arch: Arch, nxe: boolean): string | null {
  const M = BigInt(arch.maxPhysAddr);
  // Bits 51:MAXPHYADDR of every entry are reserved (Tables 4-15..4-20, "Reserved (must be 0)").
  const highMask = ((1n << 52n) - 1n) & ~((1n << M) - 1n);
  if ((entry & highMask) !== 0n) return `bits 51:${M} (at or above MAXPHYADDR)`;
  // XD (bit 63) is reserved when IA32_EFER.NXE = 0 (4.5.4, each table: "If IA32_EFER.NXE = 1 ... otherwise reserved").
  if (!nxe && (entry & XD) !== 0n) return 'XD with EFER.NXE = 0';
  const ps = (entry & PS) !== 0n;
  // PML5E and PML4E: bit 7 is reserved (Tables 4-14, 4-15).
  if ((level === 5 || level === 4) && ps) return `PS = 1 in a ${LEVEL_NAME[level]}`;
  if (level === 3 && ps) {
    // PDPTE mapping a 1-GByte page (Table 4-16): needs 1-GByte page support; bits 29:13 reserved.
    if (!arch.gbpages) return 'PS = 1 in a PDPTE without 1-GByte pages';
    if ((entry & (((1n << 30n) - 1n) & ~((1n << 13n) - 1n))) !== 0n) return 'bits 29:13 of a 1-GByte page entry';
  }
  if (level === 2 && ps) {
    // PDE mapping a 2-MByte page (Table 4-18): bits 20:13 reserved (bit 12 is PAT).
    if ((entry & (((1n << 21n) - 1n) & ~((1n << 13n) - 1n))) !== 0n) return 'bits 20:13 of a 2-MByte page entry';
  }
  return null;
}

interface Accumulated {
  /** U/S = 1 in every entry of the walk, the leaf included: a user-mode address (4.6.1). */
  userAddress: boolean;
  /** R/W = 1 in every entry. */
  writable: boolean;
  /** XD = 1 in some entry. */
  executeDisabled: boolean;
}

/**
 * 4.6.1 without protection keys: is the access forbidden by U/S, R/W, XD, WP, SMEP, SMAP? Each branch
 * follows one bullet of the manual.
 */
export function ordinaryViolation(acc: Accumulated, a: Access, c: Controls): string | null {
  const user = isUserModeAccess(a);
  const implicit = a.implicit === true;
  if (user) {
    // "User-mode access rights": no user-mode access to a supervisor-mode address.
    if (!acc.userAddress) return 'user-mode access to a supervisor-mode address';
    switch (a.access) {
      case 'read':
        return null; // "Data may be read from any user-mode address" (with a permitting key, 4.6.2)
      case 'write':
        // "Data may be written to any user-mode address with R/W = 1 in every paging-structure entry" (WP irrelevant)
        return acc.writable ? null : 'user-mode write, R/W = 0 somewhere';
      case 'fetch':
        // NXE = 0: any user-mode address; NXE = 1: XD = 0 in every entry.
        return c.nxe && acc.executeDisabled ? 'fetch with XD = 1 (NXE = 1)' : null;
    }
  }
  // "Supervisor-mode access rights" (explicit at CPL < 3, or implicit at any CPL).
  switch (a.access) {
    case 'read':
      // Any supervisor-mode address may be read. User-mode addresses: SMAP = 0 any; SMAP = 1 only explicit with AC = 1.
      if (!acc.userAddress || !c.smap) return null;
      return implicit ? 'SMAP: implicit supervisor read of a user-mode address' : c.ac ? null : 'SMAP: supervisor read of a user-mode address with AC = 0';
    case 'write':
      if (acc.userAddress && c.smap && (implicit || !c.ac)) return implicit ? 'SMAP: implicit supervisor write to a user-mode address' : 'SMAP: supervisor write to a user-mode address with AC = 0';
      // WP = 0: any (permitted) address; WP = 1: R/W = 1 in every entry.
      return c.wp && !acc.writable ? 'supervisor write with CR0.WP = 1, R/W = 0 somewhere' : null;
    case 'fetch':
      // User-mode addresses: none with SMEP = 1. Otherwise NXE = 1 needs XD = 0 in every entry.
      if (acc.userAddress && c.smep) return 'SMEP: supervisor fetch from a user-mode address';
      return c.nxe && acc.executeDisabled ? 'fetch with XD = 1 (NXE = 1)' : null;
  }
}

/**
 * 4.6.2: does the protection key deny the access? User-mode addresses use PKRU (CR4.PKE), supervisor-mode
 * addresses use IA32_PKRS (CR4.PKS), whatever the mode of the access. Fetches are never checked. For key i:
 * AD_i = bit 2i denies all data accesses; WD_i = bit 2i+1 denies user-mode writes, and supervisor-mode writes
 * iff CR0.WP = 1. (Keys apply only with IA32_EFER.LMA = 1, always the case here.)
 */
export function keyViolation(userAddress: boolean, key: number, a: Access, c: Controls): string | null {
  if (a.access === 'fetch') return null;
  const enabled = userAddress ? c.pke : c.pks;
  if (!enabled) return null;
  const reg = userAddress ? c.pkru : c.pkrs;
  const name = userAddress ? 'PKRU' : 'PKRS';
  const ad = Math.floor(reg / 2 ** (2 * key)) % 2 === 1;
  const wd = Math.floor(reg / 2 ** (2 * key + 1)) % 2 === 1;
  if (ad) return `${name}.AD${key}`;
  if (a.access === 'write' && wd && (isUserModeAccess(a) || c.wp)) return `${name}.WD${key}`;
  return null;
}

/**
 * Translate `va` for one access as the SDM says: walk from CR3 (4.5.4), stop at the first not-present entry
 * (P = 0 fault) or the first entry with a reserved bit set (RSVD fault, P = 1), then check the rights of the
 * completed translation (4.6) and build the error code (4.7). Fault error codes carry W/U/I per the access,
 * PK whenever the key denies the data access, along with any other violation.
 */
export function sdmTranslate(va: bigint, cr3: bigint, read64: (pa: bigint) => bigint, arch: Arch, c: Controls, a: Access): Expected {
  const v = BigInt.asUintN(64, va);
  if (!isCanonicalAddr(v, arch.la57)) return a.stack ? { kind: 'ss', errorCode: 0 } : { kind: 'gp', errorCode: 0 };
  const M = BigInt(arch.maxPhysAddr);
  const frameMask = ((1n << M) - 1n) & ~0xfffn; // bits (M-1):12
  let table = cr3 & frameMask;
  const walk: WalkStep[] = [];
  const acc: Accumulated = { userAddress: true, writable: true, executeDisabled: false };
  const base = accessBits(a, c);
  for (let level = arch.la57 ? 5 : 4; level >= 1; level--) {
    // 4.5.4: each level is indexed by 9 bits of the linear address, starting at bit 12 + 9 * (level - 1).
    const index = (v >> BigInt(12 + 9 * (level - 1))) & 0x1ffn;
    const pa = table + index * 8n;
    const entry = read64(pa);
    walk.push({ level, pa, entry });
    // 4.7: P = 0 in any entry: a not-present fault; reserved bits of that entry do not matter.
    if ((entry & P) === 0n) return { kind: 'pf', errorCode: base, walk, why: `${LEVEL_NAME[level]} not present` };
    const rsvd = reservedReason(entry, level, arch, c.nxe);
    if (rsvd !== null) return { kind: 'pf', errorCode: EC.P | EC.RSVD | base, walk, why: `${LEVEL_NAME[level]}: reserved ${rsvd}` };
    // 4.6.1: U/S, R/W and XD of every entry used count, the leaf included.
    if ((entry & US) === 0n) acc.userAddress = false;
    if ((entry & RW) === 0n) acc.writable = false;
    if ((entry & XD) !== 0n) acc.executeDisabled = true;
    const leaf = level === 1 || ((level === 2 || level === 3) && (entry & PS) !== 0n);
    if (!leaf) {
      table = entry & frameMask;
      continue;
    }
    const pageSize = level === 1 ? 1n << 12n : level === 2 ? 1n << 21n : 1n << 30n;
    const frame = entry & frameMask & ~(pageSize - 1n); // bits (M-1):12/21/30
    const key = Number((entry >> KEY_SHIFT) & 0xfn); // 4.6.2: the leaf's key only
    const ordinary = ordinaryViolation(acc, a, c);
    const keyed = keyViolation(acc.userAddress, key, a, c);
    if (ordinary === null && keyed === null) return { kind: 'ok', pa: frame | (v & (pageSize - 1n)), pageSize: Number(pageSize), pkey: key, walk };
    const why = [ordinary, keyed].filter((s) => s !== null).join('; ');
    return { kind: 'pf', errorCode: EC.P | base | (keyed !== null ? EC.PK : 0), walk, why };
  }
  throw new Error('unreachable: the PTE level always ends the walk');
}

/** '0x25 [P U PK]' */
export function ecText(ec: number): string {
  const names = (Object.keys(EC) as (keyof typeof EC)[]).filter((k) => (ec & EC[k]) !== 0);
  return `0x${ec.toString(16)} [${names.join(' ') || 'not-present'}]`;
}
