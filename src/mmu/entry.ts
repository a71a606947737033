/**
 * Paging-structure entry bits for 4-level and 5-level paging (Intel SDM Vol. 3A 4.5, Tables 4-15 to 4-20).
 *
 * The same layout serves PML5E, PML4E, PDPTE, PDE and PTE; which bits are meaningful (PS, G, D, PAT, the
 * protection key) depends on the level and on whether the entry maps a page. Builders and decoders below use
 * bigint (API edge). The walker reads entries as two 32-bit halves and uses the `LO_*`/`HI_*` masks.
 */

import { hex, intIn, optBool, options, show, u64 } from '../util/validate.js';

// ---- bit positions (bigint) -----------------------------------------------------------------------------
export const P = 1n << 0n;
export const RW = 1n << 1n;
export const US = 1n << 2n;
export const PWT = 1n << 3n;
export const PCD = 1n << 4n;
export const A = 1n << 5n;
export const D = 1n << 6n;
/** Page size (PDPTE/PDE); PAT in a 4 KiB PTE (same bit 7). */
export const PS = 1n << 7n;
export const PAT_4K = 1n << 7n;
export const G = 1n << 8n;
/** PAT bit of a 2 MiB or 1 GiB page entry. */
export const PAT_LARGE = 1n << 12n;
export const XD = 1n << 63n;
export const PKEY_SHIFT = 59n;
export const PKEY_MASK = 0xfn << PKEY_SHIFT;

// ---- 32-bit halves for the hot path ---------------------------------------------------------------------
export const LO_P = 1 << 0;
export const LO_RW = 1 << 1;
export const LO_US = 1 << 2;
export const LO_A = 1 << 5;
export const LO_D = 1 << 6;
export const LO_PS = 1 << 7;
export const LO_G = 1 << 8;
export const LO_PAT_LARGE = 1 << 12;
/** XD is bit 63: bit 31 of the high half. */
export const HI_XD = 0x80000000;
/** Protection key: bits 62:59, bits 30:27 of the high half. */
export const HI_PKEY_SHIFT = 27;

export type PageLevel = 5 | 4 | 3 | 2 | 1;
export const LEVEL_NAMES: Record<PageLevel, string> = { 5: 'PML5E', 4: 'PML4E', 3: 'PDPTE', 2: 'PDE', 1: 'PTE' };

/** Fields of an entry, for builders and decoders. */
export interface EntryFields {
  /** Physical address the entry points to: the next table, or the page frame. Must be suitably aligned. */
  addr: bigint | number;
  present?: boolean;
  write?: boolean;
  user?: boolean;
  pwt?: boolean;
  pcd?: boolean;
  accessed?: boolean;
  dirty?: boolean;
  /** Maps a 2 MiB (PDE) or 1 GiB (PDPTE) page. */
  ps?: boolean;
  global?: boolean;
  /** PAT bit: bit 7 of a 4 KiB PTE, bit 12 of a large-page entry (which one depends on `ps`/`level`). */
  pat?: boolean;
  xd?: boolean;
  /** Protection key 0..15 (bits 62:59), meaningful in the leaf entry only. */
  pkey?: number;
}

const ADDR_MASK_52 = ((1n << 52n) - 1n) & ~0xfffn;

const FLAG_NAMES = ['present', 'write', 'user', 'pwt', 'pcd', 'accessed', 'dirty', 'ps', 'global', 'pat', 'xd'] as const;
const FIELD_NAMES: readonly string[] = ['addr', ...FLAG_NAMES, 'pkey'];

/** A paging-structure level, 1 (PTE) .. 5 (PML5E). */
function checkLevel(level: unknown, what: string): void {
  intIn(level, what, 1, 5);
}

/**
 * Build an entry. `present` defaults to true; every other flag to false. `level` (1 = PTE) decides where the
 * PAT bit goes when `pat` is set: bit 7 for a PTE, bit 12 for a large-page PDE/PDPTE.
 */
export function makeEntry(f: EntryFields, level: PageLevel = 1): bigint {
  options(f, 'entry fields', FIELD_NAMES, true);
  checkLevel(level, 'entry level');
  for (const k of FLAG_NAMES) optBool(f[k], `entry field ${k}`);
  if (typeof f.addr !== 'bigint' && typeof f.addr !== 'number') throw new TypeError(`entry address must be a bigint or an integer number, got ${show(f.addr)}`);
  if (typeof f.addr === 'number' && !Number.isInteger(f.addr)) throw new RangeError(`entry address must be an integer, got ${show(f.addr)}`);
  const addr = BigInt(f.addr);
  if (addr < 0n || addr >= 1n << 52n) throw new RangeError(`entry address ${show(f.addr)} is not in 0 .. 2^52-1`);
  if ((addr & 0xfffn) !== 0n) throw new RangeError(`entry address ${hex(addr)} is not 4 KiB aligned`);
  let e = addr & ADDR_MASK_52;
  if (f.present ?? true) e |= P;
  if (f.write) e |= RW;
  if (f.user) e |= US;
  if (f.pwt) e |= PWT;
  if (f.pcd) e |= PCD;
  if (f.accessed) e |= A;
  if (f.dirty) e |= D;
  if (f.ps) e |= PS;
  if (f.global) e |= G;
  if (f.pat) e |= level === 1 && !f.ps ? PAT_4K : PAT_LARGE;
  if (f.xd) e |= XD;
  if (f.pkey !== undefined) {
    intIn(f.pkey, 'entry field pkey', 0, 15);
    e |= BigInt(f.pkey) << PKEY_SHIFT;
  }
  return e;
}

/** A non-leaf entry pointing at the next table. */
export function tableEntry(addr: bigint | number, f: Omit<EntryFields, 'addr' | 'ps'> = {}): bigint {
  options(f, 'tableEntry flags', FIELD_NAMES);
  return makeEntry({ write: true, user: true, ...f, addr, ps: false }, 4);
}

/** A 4 KiB page PTE. */
export function pte(addr: bigint | number, f: Omit<EntryFields, 'addr' | 'ps'> = {}): bigint {
  options(f, 'pte flags', FIELD_NAMES);
  return makeEntry({ ...f, addr, ps: false }, 1);
}

/** A 2 MiB page PDE (PS=1). */
export function pde2M(addr: bigint | number, f: Omit<EntryFields, 'addr' | 'ps'> = {}): bigint {
  options(f, 'pde2M flags', FIELD_NAMES);
  if ((u64(addr, '2 MiB page address') & 0x1fffffn) !== 0n) throw new RangeError(`2 MiB page address ${show(addr)} is not 2 MiB aligned`);
  return makeEntry({ ...f, addr, ps: true }, 2);
}

/** A 1 GiB page PDPTE (PS=1). */
export function pdpte1G(addr: bigint | number, f: Omit<EntryFields, 'addr' | 'ps'> = {}): bigint {
  options(f, 'pdpte1G flags', FIELD_NAMES);
  if ((u64(addr, '1 GiB page address') & 0x3fffffffn) !== 0n) throw new RangeError(`1 GiB page address ${show(addr)} is not 1 GiB aligned`);
  return makeEntry({ ...f, addr, ps: true }, 3);
}

/** Decode an entry. `level` decides the meaning of bit 7 (PS or PAT) and of bit 12. */
export function decodeEntry(e: bigint, level: PageLevel = 1): Required<Omit<EntryFields, 'addr'>> & { addr: bigint } {
  e = u64(e, 'decodeEntry entry');
  checkLevel(level, 'decodeEntry level');
  const ps = level !== 1 && (e & PS) !== 0n;
  const leaf = level === 1 || ps;
  const addrMask = ps ? ADDR_MASK_52 & ~((level === 2 ? 0x1fffffn : 0x3fffffffn) as bigint) : ADDR_MASK_52;
  return {
    addr: e & addrMask,
    present: (e & P) !== 0n,
    write: (e & RW) !== 0n,
    user: (e & US) !== 0n,
    pwt: (e & PWT) !== 0n,
    pcd: (e & PCD) !== 0n,
    accessed: (e & A) !== 0n,
    dirty: leaf && (e & D) !== 0n,
    ps,
    global: leaf && (e & G) !== 0n,
    pat: level === 1 ? (e & PAT_4K) !== 0n : ps && (e & PAT_LARGE) !== 0n,
    xd: (e & XD) !== 0n,
    pkey: leaf ? Number((e & PKEY_MASK) >> PKEY_SHIFT) : 0,
  };
}

/** Index of va into the table at `level` (9 bits each; level 1 = PT). */
export function tableIndex(va: bigint, level: PageLevel): number {
  u64(va, 'tableIndex va');
  checkLevel(level, 'tableIndex level');
  return Number((BigInt.asUintN(64, va) >> BigInt(12 + 9 * (level - 1))) & 0x1ffn);
}
