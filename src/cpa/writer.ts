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
/** The same halves as signed int32 (what the hot path passes to cpu.load/store: V8 keeps them unboxed; the core
 * reads halves with shifts and `>>>`, so the sign does not matter). */
export function dmLoS(pa: number): number {
  return pa % TWO32 | 0;
}
export function dmHiS(pa: number): number {
  return (PAGE_OFFSET_HI + Math.floor(pa / TWO32)) | 0;
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
  return cpu.store(dmLoS(pa), dmHiS(pa), 8, lo | 0, hi | 0, ACC_WRITE);
}

/** The baseline policy's writer: plain stores; a refused store is an oops (the typed fault is thrown). */
export const plainWriter: EntryWriter = {
  begin(): void {},
  write(cpu: Cpu, pa: number, lo: number, hi: number): void {
    if (!directMapStore(cpu, pa, lo, hi)) throw cpu.takeException();
  },
  end(): void {},
};

/**
 * A writer for direct-map tables keyed with `ptKey` when no policy has been plugged in yet: PKRS is made to allow
 * writes with the key around each entry write (the RFC's pks_mk_readwrite / pks_mk_readonly), then restored.
 * The kernel model's policies replace it (DirectMap.setWriter).
 */
export function pksWriter(ptKey: number): EntryWriter {
  const wd = 2 << (2 * ptKey);
  const ad = 1 << (2 * ptKey);
  return {
    begin(): void {},
    write(cpu: Cpu, pa: number, lo: number, hi: number): void {
      const saved = cpu.pkrs;
      const open = (saved & ~(wd | ad)) >>> 0;
      if (open !== saved && !cpu.writePkrs(open)) throw cpu.takeException();
      const ok = directMapStore(cpu, pa, lo, hi);
      if (open !== saved) cpu.writePkrs(saved);
      if (!ok) throw cpu.takeException();
    },
    end(): void {},
  };
}

/**
 * A writer for direct-map tables mapped read-only: CR0.WP is cleared around each entry write, so the supervisor
 * write ignores R/W = 0 (SDM Vol. 3A 4.6.1), as PaX's pax_open_kernel did. Interrupts would be off in the kernel.
 */
export const wpWriter: EntryWriter = {
  begin(): void {},
  write(cpu: Cpu, pa: number, lo: number, hi: number): void {
    const cr0 = cpu.cr0Low;
    const WP = 1 << 16;
    // MOV to CR0 from halves: no BigInt per entry write.
    if (cr0 & WP && !cpu.writeCrHalves(0, cr0 & ~WP, 0)) throw cpu.takeException();
    const ok = directMapStore(cpu, pa, lo, hi);
    if (cr0 & WP && !cpu.writeCrHalves(0, cr0, 0)) throw cpu.takeException();
    if (!ok) throw cpu.takeException();
  },
  end(): void {},
};
