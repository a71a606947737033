/**
 * clear_page as one bulk operation of the emulated CPU: Linux zeroes a page with clear_page_erms (REP STOSB of
 * 4096 bytes with ERMSB), clear_page_rep (REP STOSQ) or clear_page_orig (an unrolled loop), so the model charges
 * the profile's `clearPage` for the page rather than 512 separate stores.
 *
 * Function stays the hardware's: the page is written through the direct map as a supervisor data write, so its
 * translation goes through the CPU's TLBs and page walker with every access right checked (R/W with CR0.WP, PKS
 * for supervisor pages, SDM Vol. 3A 4.6); a write the CPU may not make faults before any byte changes (REP STOS
 * faults on its first store to the page, SDM Vol. 2B STOS), and then the whole page's bytes become zero.
 */

import type { Cpu } from '../cpu/cpu.js';
import { ACC_WRITE } from '../mmu/rights.js';
import { dmHiS, dmLoS } from '../cpa/writer.js';

/**
 * Zero the 4 KiB page at physical address `pa` (page-aligned) through the direct map, as `cpu`: translate for a
 * supervisor write (a fault is thrown as its typed ArchFault, nothing written), zero the page's frame, charge
 * `profile.clearPage`. Allocation-free.
 */
export function clearPageVia(cpu: Cpu, pa: number): void {
  if (pa % 4096 !== 0) throw new RangeError(`clear_page: pa 0x${pa.toString(16)} is not page-aligned`);
  const got = cpu.xlate(dmLoS(pa), dmHiS(pa), ACC_WRITE);
  if (got < 0) throw cpu.takeException();
  const frame = cpu.memory.writeFrame(got / 4096);
  if (frame !== null) for (let off = 0; off < 4096; off += 8) frame.setFloat64(off, 0);
  cpu.charge(cpu.profile.clearPage);
}
