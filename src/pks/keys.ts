/**
 * Protection-key registers: PKRU (user-mode addresses, CR4.PKE) and IA32_PKRS (supervisor-mode addresses,
 * CR4.PKS). Both use the same 32-bit layout (Intel SDM Vol. 3A 4.6.2): for key k, bit 2k is AD (access
 * disable) and bit 2k+1 is WD (write disable).
 *
 * This file is the architecture part of src/pks: the MMU uses `keyDenies` on every walk and every TLB hit.
 * It knows nothing of the kernel model.
 */

import { intIn, optBool, show } from '../util/validate.js';

/** MSR index of IA32_PKRS (SDM Vol. 4, Table 2-2). */
export const MSR_IA32_PKRS = 0x6e1;

/** Number of protection keys (4-bit key in bits 62:59 of a leaf entry). */
export const PKEY_COUNT = 16;

/** Rights a key can be given in PKRU or PKRS. */
export type KeyRights = 'rw' | 'ro' | 'wd' | 'ad' | 'none' | 'noaccess';

/** AD bit for key k. */
export function pkeyAdBit(k: number): number {
  checkKey(k);
  return 1 << (2 * k);
}

/** WD bit for key k. */
export function pkeyWdBit(k: number): number {
  checkKey(k);
  return (1 << (2 * k + 1)) >>> 0;
}

function checkKey(k: number, what = 'protection key'): void {
  intIn(k, what, 0, PKEY_COUNT - 1);
}

/** A PKRU/PKRS value: a 32-bit unsigned integer (IA32_PKRS bits 63:32 are reserved). */
function checkPkr(v: number, what: string): void {
  intIn(v, what, 0, 0xffffffff);
}

/**
 * Build a PKRU/PKRS value. Keys not named get full access (00).
 * `'wd'`/`'ro'` set WD, `'ad'`/`'none'`/`'noaccess'` set AD (and only AD), `'rw'` sets neither.
 * @example pkr({ 1: 'wd', 2: 'ad' }) === 0b10_0000_1000  // WD1 | AD2
 */
export function pkr(rights: Partial<Record<number, KeyRights>>): number {
  if (typeof rights !== 'object' || rights === null || Array.isArray(rights)) throw new TypeError(`pkr rights must be an object mapping keys 0..15 to rights, got ${show(rights)}`);
  let v = 0;
  for (const [key, r] of Object.entries(rights)) {
    if (!/^(0|[1-9][0-9]?)$/.test(key)) throw new RangeError(`pkr: protection key must be an integer 0..15, got ${show(key)}`);
    const k = Number(key);
    checkKey(k, 'pkr: protection key');
    switch (r) {
      case 'rw':
        break;
      case 'ro':
      case 'wd':
        v |= pkeyWdBit(k);
        break;
      case 'ad':
      case 'none':
      case 'noaccess':
        v |= pkeyAdBit(k);
        break;
      default:
        throw new (typeof r === 'string' ? RangeError : TypeError)(`pkr: rights for key ${k} must be one of 'rw', 'ro', 'wd', 'ad', 'none', 'noaccess', got ${show(r)}`);
    }
  }
  return v >>> 0;
}

/** Rights that a PKRU/PKRS value gives key k. */
export function pkrRights(value: number, k: number): 'rw' | 'wd' | 'ad' | 'ad+wd' {
  checkPkr(value, 'pkrRights value');
  const ad = (value & pkeyAdBit(k)) !== 0;
  const wd = (value & pkeyWdBit(k)) !== 0;
  return ad ? (wd ? 'ad+wd' : 'ad') : wd ? 'wd' : 'rw';
}

/** Replace the rights of key k in a PKRU/PKRS value. */
export function pkrWith(value: number, k: number, r: KeyRights): number {
  checkPkr(value, 'pkrWith value');
  const cleared = value & ~(pkeyAdBit(k) | pkeyWdBit(k));
  return (cleared | pkr({ [k]: r })) >>> 0;
}

/**
 * Does the key register deny this data access? (SDM Vol. 3A 4.6.2, and the PK flag of 4.7.)
 * - AD_k = 1 denies every data access.
 * - WD_k = 1 denies a write if it is a user-mode access, or if CR0.WP = 1.
 * Instruction fetches are never checked against keys; callers do not call this for fetches.
 *
 * @param reg    PKRU for user-mode addresses, IA32_PKRS for supervisor-mode addresses
 * @param key    the leaf entry's key, 0..15
 * @param write  the access is a data write
 * @param userAccess the access is a user-mode access (CPL 3 and not an implicit supervisor access)
 * @param wp     CR0.WP
 */
export function keyDenies(reg: number, key: number, write: boolean, userAccess: boolean, wp: boolean): boolean {
  checkPkr(reg, 'keyDenies reg');
  checkKey(key, 'keyDenies key');
  const w = optBool(write, 'keyDenies write');
  const u = optBool(userAccess, 'keyDenies userAccess');
  const p = optBool(wp, 'keyDenies wp');
  if (w === undefined || u === undefined || p === undefined) throw new TypeError(`keyDenies write, userAccess and wp must be true or false, got ${show(write)}, ${show(userAccess)}, ${show(wp)}`);
  return keyDeniesUnchecked(reg, key, w, u, p);
}

/** `keyDenies` without argument checks, for the MMU's rights check (`reg` 32-bit, `key` 0..15). */
export function keyDeniesUnchecked(reg: number, key: number, write: boolean, userAccess: boolean, wp: boolean): boolean {
  const bits = reg >>> (2 * key);
  if ((bits & 1) !== 0) return true; // AD
  return write && (bits & 2) !== 0 && (userAccess || wp); // WD
}
