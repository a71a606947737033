/**
 * User address-space TLB management as Linux's arch/x86/mm/tlb.c does it: per-CPU dynamic ASIDs (PCIDs)
 * with a per-mm TLB generation (`tlb_gen`), switch_mm_irqs_off choosing an ASID and flushing it only when its
 * generation is stale, lazy-TLB mode for kernel threads, and flush_tlb_mm_range: INVLPG up to
 * tlb_single_page_flush_ceiling (33) pages, else a full flush of the mm's PCID; IPIs only to the CPUs in the
 * mm's cpumask that are not lazy (lazy ones catch up when they switch back, by the generation check), unless
 * page tables were freed (then lazy CPUs are flushed too: their paging-structure caches may point at them).
 * The local flush overlaps the remote ones (since Linux 5.4): the initiator is charged the longer of the two
 * (chargeOverlapped, shared with the kernel range flushes). The IPIs go through machine.ipiMask with a per-state
 * target mask and handler object: no allocation per flush.
 */

import type { Cpu } from '../cpu/cpu.js';
import type { IpiHandler, Machine } from '../cpu/machine.js';
import { chargeOverlapped, TLB_SINGLE_PAGE_FLUSH_CEILING } from '../cpa/flush.js';

/** TLB_NR_DYN_ASIDS of arch/x86/include/asm/tlbflush.h. PCID = ASID + 1 (PCID 0 is the kernel's). */
export const TLB_NR_DYN_ASIDS = 6;

/** What the TLB code needs of an address space. */
export interface TlbMm {
  readonly pgdPa: number;
  /** Bumped by every flush of this mm (mm->context.tlb_gen). */
  tlbGen: number;
  /** CPUs that have this mm loaded (mm_cpumask), lazy ones included. */
  readonly cpumask: Set<number>;
}

export interface TlbStats {
  /** flush_tlb_mm_range calls. */
  flushes: number;
  /** flush_tlb_mm_range calls that interrupted other CPUs. */
  shootdowns: number;
  /** IPIs sent for user flushes. */
  ipis: number;
  /** INVLPGs executed for user flushes (every CPU). */
  invlpg: number;
  /** Full flushes of an mm's PCID (every CPU). */
  fullFlushes: number;
  /** CPUs skipped because they were in lazy-TLB mode. */
  lazySkipped: number;
  /** Context switches (switch_mm_irqs_off) that loaded CR3. */
  switches: number;
  /** ...of which had to flush the ASID (new ASID, or a stale generation). */
  asidFlushes: number;
}

/** Bit 63 of a CR3 load (no-flush with CR4.PCIDE), in the high half. */
const CR3_NOFLUSH_HI = 0x80000000;
const TWO32 = 2 ** 32;

/** MOV to CR3 = pa | pcid from halves (no BigInt on a context switch). */
function loadCr3(cpu: Cpu, pa: number, pcid: number, noFlush: boolean): void {
  if (!cpu.writeCrHalves(3, ((pa % TWO32) | pcid) >>> 0, Math.floor(pa / TWO32) | (noFlush ? CR3_NOFLUSH_HI : 0))) throw cpu.takeException();
}

/** The flush a target of flush_tlb_mm_range runs: one object per TlbState, its fields set before each send. */
class MmFlushIpi implements IpiHandler {
  mm: TlbMm | null = null;
  startLo = 0;
  startHi = 0;
  pages = 0;
  full = false;

  constructor(private readonly flush: (t: Cpu, mm: TlbMm, startLo: number, startHi: number, pages: number, full: boolean) => void) {}

  run(t: Cpu): void {
    if (this.mm !== null) this.flush(t, this.mm, this.startLo, this.startHi, this.pages, this.full);
  }
}

export class TlbState {
  /** Per CPU: the user mm whose CR3 is loaded, null = init_mm (the kernel's PGD). */
  readonly loaded: (TlbMm | null)[];
  readonly lazy: boolean[];
  private readonly slotMm: (TlbMm | null)[][];
  private readonly slotGen: number[][];
  private readonly nextSlot: number[];
  /** The targets of the shootdown being sent (one byte per CPU, cleared after each send). */
  private readonly targetMask: Uint8Array;
  /** The IPI handler of flush_tlb_mm_range: its fields are set before each send (no closure per flush). */
  private readonly ipiHandler: MmFlushIpi;
  readonly stats: TlbStats = { flushes: 0, shootdowns: 0, ipis: 0, invlpg: 0, fullFlushes: 0, lazySkipped: 0, switches: 0, asidFlushes: 0 };

  constructor(
    private readonly machine: Machine,
    /** Physical address of the kernel's PGD (init_mm, swapper_pg_dir). */
    private readonly kernelPgd: number,
    /** Does each CPU run with CR4.PCIDE? */
    private readonly pcid: boolean,
  ) {
    const n = machine.cpus.length;
    this.loaded = new Array<TlbMm | null>(n).fill(null);
    this.lazy = new Array<boolean>(n).fill(false);
    this.slotMm = Array.from({ length: n }, () => new Array<TlbMm | null>(TLB_NR_DYN_ASIDS).fill(null));
    this.slotGen = Array.from({ length: n }, () => new Array<number>(TLB_NR_DYN_ASIDS).fill(0));
    this.nextSlot = new Array<number>(n).fill(0);
    this.targetMask = new Uint8Array(n);
    this.ipiHandler = new MmFlushIpi((t, mm, lo, hi, pages, full) => this.flushRemote(t, mm, lo, hi, pages, full));
  }

  /** The PCID `mm` has on `cpu` now, or -1. */
  pcidOf(cpu: Cpu, mm: TlbMm): number {
    if (!this.pcid) return 0;
    const s = this.slotMm[cpu.index].indexOf(mm);
    return s < 0 ? -1 : s + 1;
  }

  /** switch_mm_irqs_off: load `next` (null: init_mm) on `cpu`. */
  switch_mm(cpu: Cpu, next: TlbMm | null): void {
    const i = cpu.index;
    const prev = this.loaded[i];
    if (prev === next) {
      if (!this.lazy[i]) return;
      this.lazy[i] = false;
      if (next === null) return;
      // Leaving lazy mode: catch up with the flushes skipped meanwhile.
      const s = this.pcid ? this.slotMm[i].indexOf(next) : -1;
      const stale = this.pcid ? s < 0 || this.slotGen[i][s] < next.tlbGen : true;
      if (stale) this.loadCr3(cpu, next, true);
      return;
    }
    if (prev !== null) prev.cpumask.delete(i);
    this.lazy[i] = false;
    this.loaded[i] = next;
    if (next === null) {
      this.stats.switches++;
      loadCr3(cpu, this.kernelPgd, 0, false);
      return;
    }
    next.cpumask.add(i);
    this.loadCr3(cpu, next, false);
  }

  /** enter_lazy_tlb: a kernel thread runs on `cpu`, keeping the user mm loaded. */
  enter_lazy_tlb(cpu: Cpu): void {
    if (this.loaded[cpu.index] !== null) this.lazy[cpu.index] = true;
  }

  /** Switch every CPU off `mm` (exit: leave_mm) and forget its ASIDs. */
  drop(mm: TlbMm): void {
    for (const c of this.machine.cpus) {
      if (this.loaded[c.index] === mm) this.switch_mm(c, null);
      const slots = this.slotMm[c.index];
      for (let s = 0; s < slots.length; s++) if (slots[s] === mm) slots[s] = null;
    }
  }

  /** flush_tlb_mm_range(mm, start, start + pages * 4096) made by `cpu`. */
  flush_tlb_mm_range(cpu: Cpu, mm: TlbMm, startLo: number, startHi: number, pages: number, freedTables = false): void {
    mm.tlbGen++;
    this.stats.flushes++;
    const full = pages > TLB_SINGLE_PAGE_FLUSH_CEILING;
    const mask = this.targetMask;
    let targets = 0;
    for (const c of mm.cpumask) {
      if (c === cpu.index) continue;
      if (this.lazy[c] && !freedTables) {
        this.stats.lazySkipped++;
        continue;
      }
      mask[c] = 1;
      targets++;
    }
    const t0 = cpu.stats.cycles;
    if (this.loaded[cpu.index] === mm && !this.lazy[cpu.index]) this.flushLocal(cpu, mm, startLo, startHi, pages, full);
    const local = cpu.stats.cycles - t0;
    cpu.stats.cycles = t0;
    if (targets > 0) {
      this.stats.shootdowns++;
      this.stats.ipis += targets;
      const h = this.ipiHandler;
      h.mm = mm;
      h.startLo = startLo;
      h.startHi = startHi;
      h.pages = pages;
      h.full = full;
      try {
        this.machine.ipiMask(cpu, mask, h);
      } finally {
        h.mm = null;
        mask.fill(0);
      }
    }
    chargeOverlapped(cpu, t0, local, cpu.stats.cycles - t0);
  }

  /** flush_tlb_func on a target of flush_tlb_mm_range's IPI. */
  private flushRemote(t: Cpu, mm: TlbMm, startLo: number, startHi: number, pages: number, full: boolean): void {
    if (this.loaded[t.index] !== mm) return;
    if (this.lazy[t.index]) this.switch_mm(t, null);
    else this.flushLocal(t, mm, startLo, startHi, pages, full);
  }

  private flushLocal(cpu: Cpu, mm: TlbMm, startLo: number, startHi: number, pages: number, full: boolean): void {
    if (full) {
      this.stats.fullFlushes++;
      cpu.flushTlb();
    } else {
      let lo = startLo >>> 0;
      let hi = startHi;
      for (let p = 0; p < pages; p++) {
        this.stats.invlpg++;
        cpu.invlpgHalves(lo, hi);
        lo = (lo + 4096) >>> 0;
        if (lo === 0) hi++;
      }
    }
    if (this.pcid) {
      const s = this.slotMm[cpu.index].indexOf(mm);
      if (s >= 0) this.slotGen[cpu.index][s] = mm.tlbGen;
    }
  }

  /** choose_new_asid + load_new_mm_cr3. */
  private loadCr3(cpu: Cpu, mm: TlbMm, forceFlush: boolean): void {
    const i = cpu.index;
    this.stats.switches++;
    if (!this.pcid) {
      this.stats.asidFlushes++;
      loadCr3(cpu, mm.pgdPa, 0, false);
      return;
    }
    let s = this.slotMm[i].indexOf(mm);
    let flush = forceFlush;
    if (s < 0) {
      s = this.nextSlot[i];
      this.nextSlot[i] = (s + 1) % TLB_NR_DYN_ASIDS;
      this.slotMm[i][s] = mm;
      flush = true;
    } else if (this.slotGen[i][s] < mm.tlbGen) {
      flush = true;
    }
    this.slotGen[i][s] = mm.tlbGen;
    if (flush) this.stats.asidFlushes++;
    loadCr3(cpu, mm.pgdPa, s + 1, !flush);
  }
}
