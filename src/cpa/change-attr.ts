/**
 * change_page_attr on the direct map, with the layers of arch/x86/mm/pat/set_memory.c:
 * change_page_attr_set_clr (one cpa_data, one flush decision: cpa_flush) -> __change_page_attr_set_clr (the
 * loop over the range) -> __change_page_attr (one entry: change a 4 KiB PTE, or decide about a large page with
 * should_split_large_page and split it with split_large_page, then retry).
 *
 * The whole change is one lock hold of the EntryWriter (cpa_lock): begin, every entry write, end. The flush of
 * the changed range comes after, on every CPU (flush_tlb_kernel_range), unless the caller batches (flush: false).
 * Linux never merges split pages back; neither does this model.
 */

import type { Cpu } from '../cpu/cpu.js';
import type { DirectMap } from './direct-map.js';
import { split_large_page } from './split.js';
import { flushDirectMapRange } from './flush.js';

/** The attribute change of one call (part of Linux's cpa_data: mask_set, mask_clr, force_split), as halves. */
export interface CpaMasks {
  setLo: number;
  setHi: number;
  clrLo: number;
  clrHi: number;
  forceSplit: boolean;
}
export const CPA_NO_MASK: Readonly<CpaMasks> = Object.freeze({ setLo: 0, setHi: 0, clrLo: 0, clrHi: 0, forceSplit: false });

/** The rest of cpa_data: where the loop is, how many pages the last step covered, whether to flush. */
class CpaData {
  pa = 0;
  numpages = 0;
  flushTlb = false;
  /** This call's own copy of the masks (the caller's object may be reused by a nested call). */
  readonly m: CpaMasks = { ...CPA_NO_MASK };
}

/** cpa_data objects by nesting depth (reused: no allocation per call). */
const pool: CpaData[] = [];
let depth = 0;

/** Apply the masks to an entry's halves: (old & ~clr) | set. */
// The entry's halves stay int32 (see WalkOut), compared with int32 walk results.
function newLo(lo: number, m: CpaMasks): number {
  return (lo & ~m.clrLo) | m.setLo;
}
function newHi(hi: number, m: CpaMasks): number {
  return (hi & ~m.clrHi) | m.setHi;
}

/**
 * change_page_attr_set_clr: change `numpages` pages of the direct map from physical address `pa`. Returns 0, or
 * ENOMEM when a split found no table page (the pages before the failing one are changed, and flushed).
 */
export function change_page_attr_set_clr(dm: DirectMap, cpu: Cpu, pa: number, numpages: number, m: CpaMasks, flush: boolean): number {
  if (numpages === 0) return 0;
  // One cpa_data per nesting level: a policy's writer may itself call set_memory_* (paging-ro).
  if (depth === pool.length) pool.push(new CpaData());
  const cpa = pool[depth++];
  cpa.pa = pa;
  cpa.numpages = numpages;
  cpa.flushTlb = false;
  cpa.m.setLo = m.setLo;
  cpa.m.setHi = m.setHi;
  cpa.m.clrLo = m.clrLo;
  cpa.m.clrHi = m.clrHi;
  cpa.m.forceSplit = m.forceSplit;
  let ret: number;
  dm.writer.begin(cpu);
  try {
    ret = __change_page_attr_set_clr(dm, cpu, cpa, pa, numpages);
  } catch (e) {
    depth--;
    throw e;
  } finally {
    dm.writer.end(cpu);
  }
  // Only when something changed (CPA_FLUSHTLB), and even after an error: the pages before it did change.
  if (cpa.flushTlb && flush) cpa_flush(dm, cpu, pa, numpages);
  depth--;
  return ret;
}

/** cpa_flush: the changed range on every CPU; flush_tlb_kernel_range picks INVLPG per page or a full flush. */
function cpa_flush(dm: DirectMap, cpu: Cpu, pa: number, numpages: number): void {
  flushDirectMapRange(dm.machine, cpu, pa, numpages, dm.stats, dm.flushCeiling);
}

/** __change_page_attr_set_clr: walk the range, one entry (or one large page) per step. */
function __change_page_attr_set_clr(dm: DirectMap, cpu: Cpu, cpa: CpaData, pa: number, numpages: number): number {
  let left = numpages;
  let cur = pa;
  while (left > 0) {
    cpa.pa = cur;
    cpa.numpages = left;
    const ret = __change_page_attr(dm, cpu, cpa);
    if (ret < 0) return ret;
    // cpa.numpages is now how many pages this step covered.
    left -= cpa.numpages;
    cur += cpa.numpages * 4096;
  }
  return 0;
}

/** __change_page_attr: the entry mapping cpa.pa; a large page is changed whole, kept, or split and retried. */
function __change_page_attr(dm: DirectMap, cpu: Cpu, cpa: CpaData): number {
  for (;;) {
    const w = dm.walk(cpu, cpa.pa);
    if (w.level === 1) {
      const lo = newLo(w.lo, cpa.m);
      const hi = newHi(w.hi, cpa.m);
      if (lo !== w.lo || hi !== w.hi) {
        dm.writer.write(cpu, w.entryPa, lo, hi);
        dm.stats.entriesChanged++;
        cpa.flushTlb = true;
      }
      cpa.numpages = 1;
      return 0;
    }
    const level = w.level;
    const entryPa = w.entryPa;
    const lo = w.lo;
    const hi = w.hi;
    if (!should_split_large_page(dm, cpu, cpa, level, entryPa, lo, hi)) return 0;
    const ret = split_large_page(dm, cpu, level, entryPa, lo, hi);
    if (ret < 0) return ret;
  }
}

/**
 * should_split_large_page: clamp this step to the end of the large page; keep the page when the change leaves it
 * as it is (counted as preserved), change it in place when the step covers it whole, else split it. A forced
 * split (set_memory_4k) always splits.
 */
function should_split_large_page(dm: DirectMap, cpu: Cpu, cpa: CpaData, level: 2 | 3, entryPa: number, lo: number, hi: number): boolean {
  const psize = level === 3 ? 2 ** 30 : 2 ** 21;
  const lpaddr = Math.floor(cpa.pa / psize) * psize;
  const numpages = (lpaddr + psize - cpa.pa) / 4096;
  if (numpages < cpa.numpages) cpa.numpages = numpages;
  if (cpa.m.forceSplit) return true;
  const nlo = newLo(lo, cpa.m);
  const nhi = newHi(hi, cpa.m);
  if (nlo === lo && nhi === hi) {
    dm.preserved[level === 3 ? '1G' : '2M']++;
    return false;
  }
  if (cpa.pa === lpaddr && cpa.numpages === psize / 4096) {
    dm.writer.write(cpu, entryPa, nlo, nhi);
    dm.stats.entriesChanged++;
    cpa.flushTlb = true;
    return false;
  }
  return true;
}
