/**
 * split_large_page (arch/x86/mm/pat/set_memory.c): replace a 1 GiB page by a table of 512 2 MiB pages, or a
 * 2 MiB page by a table of 512 4 KiB pages, with the same attributes, then flush every CPU's TLB.
 *
 * The flush is the SDM's rule on changing the page size of a range (Vol. 3A 4.10.2.3, "Details of TLB Use",
 * 4.10.1.3 in older editions: after such a change the TLBs may hold one translation per page size for the range,
 * and which one a reference uses is implementation-specific; 4.10.4.2, "Recommended Invalidation": invalidate
 * after changing the page size). Linux does a global flush right after installing the new table and before changing any
 * of its entries, on every CPU (flush_tlb_all in __split_large_page), so no CPU can use the old large translation
 * together with the new small ones.
 */

import type { Cpu } from '../cpu/cpu.js';
import type { DirectMap } from './direct-map.js';
import { E_PAT_LARGE, E_PS, EH_ADDR, KERNPG_TABLE } from './direct-map.js';
import { flush_tlb_all } from './flush.js';
import { ENOMEM, NO_PAGE } from './types.js';

const TWO32 = 2 ** 32;
/** Flag bits of the low half below the address (bits 11:0) plus the large-page PAT bit (12). */
const LO_FLAGS_LARGE = 0x1fff;
/** Flag bits of the high half: XD, protection key, software bits 58:52. */
const HI_FLAGS = ~EH_ADDR >>> 0;

/**
 * Split the large page mapped by the entry at `entryPa` (level 3: 1 GiB, level 2: 2 MiB; value lo/hi) into a new
 * table from the direct map's TableSource. Returns 0, or ENOMEM when the source has no page.
 */
export function split_large_page(dm: DirectMap, cpu: Cpu, level: 2 | 3, entryPa: number, lo: number, hi: number): number {
  const base = dm.tableSource.alloc(cpu);
  if (base === NO_PAGE) return ENOMEM;
  const psize = level === 3 ? 2 ** 30 : 2 ** 21;
  const step = psize / 512;
  const frame = (hi & EH_ADDR) * TWO32 + ((lo & ~LO_FLAGS_LARGE) >>> 0);
  let flagsLo = lo & LO_FLAGS_LARGE;
  if (level === 2) {
    // 2 MiB -> 4 KiB: PS goes, and the PAT bit moves from bit 12 to bit 7 (Table 4-19 vs 4-20).
    const pat = (flagsLo & E_PAT_LARGE) !== 0;
    flagsLo &= ~(E_PS | E_PAT_LARGE);
    if (pat) flagsLo |= E_PS; // bit 7 is PAT in a PTE
  }
  const flagsHi = hi & HI_FLAGS;
  for (let i = 0; i < 512; i++) {
    const addr = frame + i * step;
    dm.writer.write(cpu, base + 8 * i, ((addr % TWO32) | flagsLo) >>> 0, (Math.floor(addr / TWO32) | flagsHi) >>> 0);
  }
  // Install the new table: the large entry becomes a kernel table pointer (_KERNPG_TABLE; no NX, no key: the
  // leaves below decide).
  dm.writer.write(cpu, entryPa, ((base % TWO32) | KERNPG_TABLE) >>> 0, Math.floor(base / TWO32) >>> 0);
  const s = dm.stats;
  if (level === 3) {
    s.splits['1G']++;
    s.directPages['1G']--;
    s.directPages['2M'] += 512;
  } else {
    s.splits['2M']++;
    s.directPages['2M']--;
    s.directPages['4K'] += 512;
  }
  if (dm.reserve?.contains(base)) s.reserveUsed++;
  // SDM Vol. 3A 4.10.2.3 / 4.10.4.2: the page size of the range changed; flush all (globals too) everywhere.
  flush_tlb_all(dm.machine, cpu, s);
  return 0;
}
