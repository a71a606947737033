/**
 * Page-table entry operations under Linux's names (arch/x86/include/asm/pgtable.h, pgtable_64.h), each write
 * made by the policy's writer, so it is a protected store of the emulated CPU. Entries are addressed by the
 * physical address of the 8-byte slot (`ptep`, `pmdp`...) and passed as 32-bit halves (hot path: no bigint, no
 * allocation). Reads are loads through the direct map (reading a protected table is allowed: WD and R/W=0
 * only stop writes).
 *
 * With 4-level paging the P4D level is folded into the PGD, as in Linux: set_p4d writes the PGD slot.
 */

import type { Cpu } from '../cpu/cpu.js';
import { ACC_READ } from '../mmu/rights.js';
import type { EntryWriter } from '../cpa/types.js';
import { dmHiS, dmLoS } from '../cpa/writer.js';

/** Entry bits, low half (SDM Vol. 3A Table 4-19/4-20). */
export const _PAGE_PRESENT = 1 << 0;
export const _PAGE_RW = 1 << 1;
export const _PAGE_USER = 1 << 2;
export const _PAGE_ACCESSED = 1 << 5;
export const _PAGE_DIRTY = 1 << 6;
export const _PAGE_PSE = 1 << 7;
/** NX is bit 63: bit 31 of the high half. */
export const _PAGE_NX_HI = 0x80000000;
/** A non-leaf entry of a user address space (Linux's _PAGE_TABLE): P | RW | USER | ACCESSED | DIRTY. */
export const _PAGE_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_USER | _PAGE_ACCESSED | _PAGE_DIRTY;

const TWO32 = 2 ** 32;

/** Low half of an entry pointing at physical page `pa` with flags. */
export function mkLo(pa: number, flags: number): number {
  return ((pa % TWO32) | flags) >>> 0;
}
/** High half: address bits 51:32 and the NX bit. */
export function mkHi(pa: number, nx: boolean): number {
  return (Math.floor(pa / TWO32) | (nx ? _PAGE_NX_HI : 0)) >>> 0;
}
/** Physical address in an entry given as halves (bits 51:12). */
export function entryPa(lo: number, hi: number): number {
  return (hi & 0xfffff) * TWO32 + ((lo & 0xfffff000) >>> 0);
}

/** High half of the last `readEntry` / `ptep_get_and_clear` (allocation-free two-value return). */
export const lastEntry = { hi: 0 };

/** Read the entry at `pa` through the direct map (a supervisor load). Returns the low half; high in lastEntry.hi. */
export function readEntry(cpu: Cpu, pa: number): number {
  const lo = cpu.load(dmLoS(pa), dmHiS(pa), 8, ACC_READ);
  if (cpu.xv >= 0) throw cpu.takeException();
  lastEntry.hi = cpu.loadHi;
  return lo >>> 0;
}

export function set_pte(w: EntryWriter, cpu: Cpu, ptep: number, lo: number, hi: number): void {
  w.write(cpu, ptep, lo, hi);
}
export function set_pmd(w: EntryWriter, cpu: Cpu, pmdp: number, lo: number, hi: number): void {
  w.write(cpu, pmdp, lo, hi);
}
export function set_pud(w: EntryWriter, cpu: Cpu, pudp: number, lo: number, hi: number): void {
  w.write(cpu, pudp, lo, hi);
}
/** 4-level paging: the P4D is folded into the PGD. */
export function set_p4d(w: EntryWriter, cpu: Cpu, p4dp: number, lo: number, hi: number): void {
  w.write(cpu, p4dp, lo, hi);
}
export function set_pgd(w: EntryWriter, cpu: Cpu, pgdp: number, lo: number, hi: number): void {
  w.write(cpu, pgdp, lo, hi);
}
export function pte_clear(w: EntryWriter, cpu: Cpu, ptep: number): void {
  w.write(cpu, ptep, 0, 0);
}
export function pmd_clear(w: EntryWriter, cpu: Cpu, pmdp: number): void {
  w.write(cpu, pmdp, 0, 0);
}
export function pud_clear(w: EntryWriter, cpu: Cpu, pudp: number): void {
  w.write(cpu, pudp, 0, 0);
}
export function pgd_clear(w: EntryWriter, cpu: Cpu, pgdp: number): void {
  w.write(cpu, pgdp, 0, 0);
}

/** Populate a table entry to point at the table page `tablePa` (pmd_populate, pud_populate, p4d_populate). */
export function populate(w: EntryWriter, cpu: Cpu, entry: number, tablePa: number): void {
  w.write(cpu, entry, mkLo(tablePa, _PAGE_TABLE), mkHi(tablePa, false));
}

/** Clear the PTE and return its old value (low half; high in lastEntry.hi). */
export function ptep_get_and_clear(w: EntryWriter, cpu: Cpu, ptep: number): number {
  const lo = readEntry(cpu, ptep);
  const hi = lastEntry.hi;
  w.write(cpu, ptep, 0, 0);
  lastEntry.hi = hi;
  return lo;
}

/** Clear R/W in the PTE (fork's copy-on-write marking). No write when it is already read-only. */
export function ptep_set_wrprotect(w: EntryWriter, cpu: Cpu, ptep: number): void {
  const lo = readEntry(cpu, ptep);
  if ((lo & _PAGE_RW) === 0) return;
  w.write(cpu, ptep, (lo & ~_PAGE_RW) >>> 0, lastEntry.hi);
}

/** Clear the Accessed bit; true if it was set (page reclaim's aging). No write when it was clear. */
export function ptep_test_and_clear_young(w: EntryWriter, cpu: Cpu, ptep: number): boolean {
  const lo = readEntry(cpu, ptep);
  if ((lo & _PAGE_ACCESSED) === 0) return false;
  w.write(cpu, ptep, (lo & ~_PAGE_ACCESSED) >>> 0, lastEntry.hi);
  return true;
}
