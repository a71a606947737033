/**
 * The per-CPU poking mm of the `poke` policy (as text_poke's poking_mm, arch/x86/kernel/alternative.c): a
 * PGD whose kernel half is the kernel's and whose user half maps only POKE_VA's page-table path. Its PT page
 * maps itself at POKE_PT_VA (writable, supervisor), so the alias PTE at POKE_VA can be written while this mm
 * is loaded, and only then: no other CPU and no other mm can reach that writable mapping. All four pages come
 * from the grouped cache, so they are read-only in the direct map like every other page table.
 *
 * Built at boot with CR0.WP cleared around the stores (pax_open_kernel; SDM Vol. 3A 4.6.1), since nothing can
 * write a read-only table yet.
 */

import type { Cpu } from '../cpu/cpu.js';
import { directMapStore } from '../cpa/writer.js';
import { KernelError, ENOMEM } from './errors.js';
import type { Kernel } from './kernel.js';
import { POKE_PT_VA, POKE_VA, type PokeMm } from './policies.js';
import { _PAGE_ACCESSED, _PAGE_DIRTY, _PAGE_PRESENT, _PAGE_RW, mkHi, mkLo } from './set-pte.js';

/** PCID of the poking mm on every CPU (outside the dynamic ASIDs 1..6 of user mms). */
export const POKE_PCID = 7;

const CR0_WP = 1n << 16n;
const CR4_PCIDE = 1n << 17n;
const SUPERVISOR_TABLE = _PAGE_PRESENT | _PAGE_RW | _PAGE_ACCESSED | _PAGE_DIRTY;

function idx(va: bigint, level: number): number {
  return Number((va >> BigInt(12 + 9 * (level - 1))) & 0x1ffn);
}

export function buildPokingMm(k: Kernel, cpu: Cpu): PokeMm {
  const pages: number[] = [];
  for (let i = 0; i < 4; i++) {
    const p = k.cache.get_grouped_page(cpu);
    if (p < 0) throw new KernelError(ENOMEM, 'poke: out of memory building the poking mm (-ENOMEM)');
    pages.push(p);
  }
  const [pgd, pud, pmd, pt] = pages;
  const mem = cpu.memory;
  const wp = (cpu.cr0 & CR0_WP) !== 0n;
  if (wp) cpu.writeCr(0, cpu.cr0 & ~CR0_WP);
  const st = (pa: number, lo: number, hi: number): void => {
    if (!directMapStore(cpu, pa, lo, hi)) throw cpu.takeException();
  };
  try {
    for (const t of pages) for (let i = 0; i < 512; i++) st(t + 8 * i, 0, 0);
    for (let i = 256; i < 512; i++) st(pgd + 8 * i, mem.rd32(k.kernelPgd + 8 * i), mem.rd32(k.kernelPgd + 8 * i + 4));
    st(pgd + 8 * idx(POKE_VA, 4), mkLo(pud, SUPERVISOR_TABLE), mkHi(pud, false));
    st(pud + 8 * idx(POKE_VA, 3), mkLo(pmd, SUPERVISOR_TABLE), mkHi(pmd, false));
    st(pmd + 8 * idx(POKE_VA, 2), mkLo(pt, SUPERVISOR_TABLE), mkHi(pt, false));
    st(pt + 8 * idx(POKE_PT_VA, 1), mkLo(pt, SUPERVISOR_TABLE), mkHi(pt, k.nx));
  } finally {
    if (wp) cpu.writeCr(0, cpu.cr0 | CR0_WP);
  }
  const pcide = (cpu.cr4 & CR4_PCIDE) !== 0n;
  const cr3 = BigInt(pgd) | (pcide ? BigInt(POKE_PCID) : 0n);
  return { cr3, cr3Lo: Number(cr3 & 0xffffffffn), cr3Hi: Number(cr3 >> 32n) };
}
