/**
 * The default EntryWriter: a plain supervisor 8-byte store through the direct map, made by the CPU.
 */

import type { Cpu } from '../cpu/cpu.js';
import { ACC_WRITE } from '../mmu/rights.js';
import { PAGE_OFFSET_HI, type EntryWriter } from './types.js';

const TWO32 = 2 ** 32;

/** Low half of the direct-map va of physical address `pa`. */
export function dmLo(pa: number): number {
  return pa % TWO32 >>> 0;
}
/** High half of the direct-map va of physical address `pa`. */
export function dmHi(pa: number): number {
  return (PAGE_OFFSET_HI + Math.floor(pa / TWO32)) >>> 0;
}
/** The direct-map va of physical address `pa`, as a bigint (API edge). */
export function directMapVa(pa: number): bigint {
  return (BigInt(dmHi(pa)) << 32n) | BigInt(dmLo(pa));
}

/**
 * Store the 8-byte value hi:lo at physical address `pa` through the direct map as a supervisor data write of
 * `cpu`. Returns false with the exception left in cpu.xv/xec (nothing written), as `cpu.store` does.
 */
export function directMapStore(cpu: Cpu, pa: number, lo: number, hi: number): boolean {
  return cpu.store(dmLo(pa), dmHi(pa), 8, lo, hi, ACC_WRITE);
}

/** The baseline policy's writer: plain stores; a refused store is an oops (the typed fault is thrown). */
export const plainWriter: EntryWriter = {
  begin(): void {},
  write(cpu: Cpu, pa: number, lo: number, hi: number): void {
    if (!directMapStore(cpu, pa, lo, hi)) throw cpu.takeException();
  },
  end(): void {},
};
