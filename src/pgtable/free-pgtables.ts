/**
 * free_pgtables / free_pgd_range of mm/memory.c for the model's address spaces: after an unmap, every PTE
 * page left with no entry in the range the unmap covered is unhooked from its PMD, then every PMD page left
 * empty from its PUD, then every PUD page from the PGD (the P4D is folded). The pages are only collected here:
 * as with mmu_gather's tlb_remove_table, the caller frees them after the TLB flush, because until every CPU in
 * the mm's cpumask (lazy ones included) has flushed, its paging-structure caches may still point at them
 * (SDM Vol. 3A 4.10.3: PDE/PDPTE/PML4E caches hold the physical address of the next table; 4.10.4.1: INVLPG
 * and a CR3 load without NOFLUSH invalidate them for the PCID).
 */

import type { Cpu } from '../cpu/cpu.js';
import type { EntryWriter } from '../cpa/types.js';
import { GB, MB2 } from './mm-args.js';
import { pgd_clear, pmd_clear, pud_clear } from './set-pte.js';

const PGD_SPAN = 2 ** 39;

/** The table tree of an address space, with the number of entries in use in each table below the PGD. */
export interface PgtableTree {
  readonly pgdPa: number;
  /** PUD page by PGD index, PMD page by 1 GiB index, PT page by 2 MiB index. */
  readonly puds: Map<number, number>;
  readonly pmds: Map<number, number>;
  readonly pts: Map<number, number>;
  /** Entries in use: PTEs per PT, PT pointers per PMD, PMD pointers per PUD. */
  readonly ptUsed: Map<number, number>;
  readonly pmdUsed: Map<number, number>;
  readonly pudUsed: Map<number, number>;
}

function dec(m: Map<number, number>, k: number): void {
  const n = (m.get(k) ?? 0) - 1;
  if (n > 0) m.set(k, n);
  else m.delete(k);
}

/**
 * Unhook the tables left empty in [v, v + pages * 4096) (each upper entry cleared by the writer: a protected
 * write), pushing their physical addresses on `out` (PTs first, then PMDs, then PUDs). Returns how many.
 */
export function free_pgtables(w: EntryWriter, cpu: Cpu, t: PgtableTree, v: number, pages: number, out: number[]): number {
  const before = out.length;
  const end = v + pages * 4096 - 1;
  for (let mi = Math.floor(v / MB2); mi <= Math.floor(end / MB2); mi++) {
    const pt = t.pts.get(mi);
    if (pt === undefined || (t.ptUsed.get(mi) ?? 0) > 0) continue;
    const ui = Math.floor(mi / 512);
    pmd_clear(w, cpu, (t.pmds.get(ui) as number) + 8 * (mi % 512));
    t.pts.delete(mi);
    dec(t.pmdUsed, ui);
    out.push(pt);
  }
  for (let ui = Math.floor(v / GB); ui <= Math.floor(end / GB); ui++) {
    const pmd = t.pmds.get(ui);
    if (pmd === undefined || (t.pmdUsed.get(ui) ?? 0) > 0) continue;
    const gi = Math.floor(ui / 512);
    pud_clear(w, cpu, (t.puds.get(gi) as number) + 8 * (ui % 512));
    t.pmds.delete(ui);
    dec(t.pudUsed, gi);
    out.push(pmd);
  }
  for (let gi = Math.floor(v / PGD_SPAN); gi <= Math.floor(end / PGD_SPAN); gi++) {
    const pud = t.puds.get(gi);
    if (pud === undefined || (t.pudUsed.get(gi) ?? 0) > 0) continue;
    pgd_clear(w, cpu, t.pgdPa + 8 * gi); // p4d_clear: the P4D is folded into the PGD
    t.puds.delete(gi);
    out.push(pud);
  }
  return out.length - before;
}
