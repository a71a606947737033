/**
 * Paging-entry bits as cpa and boot use them, on the entry's two 32-bit halves. Kept apart from direct-map.ts so
 * that split.ts and boot can use them without an import cycle through direct-map.ts.
 */

const TWO32 = 2 ** 32;

/** Entry bits in the low half (SDM Vol. 3A 4.5, Tables 4-15 to 4-20). */
export const E_P = 1 << 0;
export const E_RW = 1 << 1;
export const E_A = 1 << 5;
export const E_D = 1 << 6;
export const E_PS = 1 << 7;
export const E_G = 1 << 8;
/** PAT bit of a large-page entry (bit 12); a 4 KiB PTE has it at bit 7. */
export const E_PAT_LARGE = 1 << 12;
/** High half: XD (bit 63), protection key (bits 62:59). */
export const EH_XD = 0x80000000;
export const EH_PKEY_SHIFT = 27;
export const EH_PKEY_MASK = 0xf << EH_PKEY_SHIFT;
/** _KERNPG_TABLE: a kernel table pointer (P | RW | A | D). */
export const KERNPG_TABLE = E_P | E_RW | E_A | E_D;
/** Address bits 51:32 of an entry, in its high half. */
export const EH_ADDR = 0x000fffff;

/** Physical address an entry points to (table or page frame), with the page-offset bits of `pageBytes` cleared. */
export function entryAddr(lo: number, hi: number, pageBytes: number): number {
  const low = (lo & ~(pageBytes - 1) & ~0xfff) >>> 0;
  return (hi & EH_ADDR) * TWO32 + low;
}
