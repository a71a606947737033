/**
 * Address spaces (struct mm_struct) of the kernel model: the user half of a 4-level page-table tree whose
 * kernel half (PGD entries 256..511) is copied from the kernel's PGD, tables from the grouped page cache,
 * every entry written by the protection policy's writer under the page-table lock, TLBs kept coherent by
 * flush_tlb_mm_range (tlb.ts). The model also keeps its own record of what each page should map to
 * (`translate`), which the tests compare with what the emulated walker finds.
 */

import type { Cpu } from '../cpu/cpu.js';
import type { PksTask } from '../pks/api.js';
import { ENOMEM, KernelError } from './errors.js';
import { checkProt, checkRange, GB, MB2, toVa, type Intent, type MmCallOptions, type MmHost, type PageRec, type Prot } from './mm-args.js';

export type { Intent, MmCallOptions, MmHost, Prot } from './mm-args.js';
import {
  _PAGE_ACCESSED,
  _PAGE_PRESENT,
  _PAGE_RW,
  _PAGE_USER,
  lastEntry,
  mkHi,
  mkLo,
  pgd_clear,
  pmd_clear,
  populate,
  ptep_get_and_clear,
  ptep_set_wrprotect,
  ptep_test_and_clear_young,
  pud_clear,
  readEntry,
  set_pte,
} from './set-pte.js';
import type { TlbMm } from './tlb.js';
import { free_pgtables, type PgtableTree } from './free-pgtables.js';

export class AddressSpace implements TlbMm, PgtableTree {
  tlbGen = 0;
  readonly cpumask = new Set<number>();
  private readonly pages = new Map<number, PageRec>();
  /** The table tree (PgtableTree): read by free_pgtables, not part of the public API. */
  readonly puds = new Map<number, number>();
  readonly pmds = new Map<number, number>();
  readonly pts = new Map<number, number>();
  readonly ptUsed = new Map<number, number>();
  readonly pmdUsed = new Map<number, number>();
  readonly pudUsed = new Map<number, number>();
  private dead = false;

  constructor(
    private readonly host: MmHost,
    /** Number of this address space in its kernel (1, 2, ... in creation order). */
    readonly id: number,
    /** The PGD page (from the cache, kernel half already copied). */
    readonly pgdPa: number,
  ) {}

  /** This process's thread on each CPU (one thread per CPU it runs on): its PKRS is switched in with it. */
  private readonly threads = new Map<number, PksTask>();

  /** The thread of this process that runs on `cpu`. */
  threadOn(cpu: Cpu): PksTask {
    let t = this.threads.get(cpu.index);
    if (t === undefined) {
      t = this.host.createTask(`mm${this.id}/${cpu.index}`);
      this.threads.set(cpu.index, t);
    }
    return t;
  }

  /** Every thread of this process. */
  tasks(): PksTask[] {
    return [...this.threads.values()];
  }

  get destroyed(): boolean {
    return this.dead;
  }

  /** Pages mapped. */
  get size(): number {
    return this.pages.size;
  }

  /** Map `pages` fresh pages at va. Throws RangeError for bad arguments or an overlap, KernelError(-ENOMEM). */
  map(va: bigint | number, pages: number, prot: Prot = {}, opts: MmCallOptions = {}): void {
    this.alive('map');
    const v = checkRange(va, pages, 'map');
    checkProt(prot, 'map');
    for (let i = 0; i < pages; i++) if (this.pages.has(v / 4096 + i)) throw new RangeError(`map: 0x${(v + i * 4096).toString(16)} is already mapped`);
    const cpu = opts.cpu ?? this.host.defaultCpu(this);
    const w = this.host.writer;
    let done = 0;
    let failed = '';
    let error: unknown = null;
    let pt = -1;
    w.begin(cpu);
    try {
      for (; done < pages; done++) {
        const a = v + done * 4096;
        if (pt < 0 || a % MB2 === 0) {
          w.end(cpu); // the PTE lock is per page table
          pt = this.pte_alloc(cpu, a);
          w.begin(cpu);
          if (pt < 0) {
            failed = 'page-table page';
            break;
          }
        }
        const pa = this.host.allocPage();
        if (pa < 0) {
          failed = 'page';
          break;
        }
        try {
          this.host.clearPage(cpu, pa); // the page may hold another process's data: zero it before mapping
        } catch (e) {
          this.host.putPage(pa);
          error = e;
          break;
        }
        const rec: PageRec = { pa, write: prot.write === true, user: prot.user ?? true, exec: prot.exec === true, cow: false };
        try {
          set_pte(w, cpu, pt + 8 * ((a / 4096) % 512), this.pteLo(rec), this.pteHi(rec));
        } catch (e) {
          this.host.putPage(pa);
          error = e;
          break;
        }
        this.pages.set(a / 4096, rec);
        this.used(a, 1);
      }
    } finally {
      w.end(cpu);
    }
    if (failed !== '' || error !== null) {
      if (done > 0) this.unmap(v, done, { cpu });
      if (error !== null) throw error;
      throw new KernelError(ENOMEM, `map: out of memory for a ${failed} at 0x${(v + done * 4096).toString(16)} (-ENOMEM); nothing was mapped`);
    }
  }

  /** Unmap pages (all must be mapped, else RangeError and nothing changes), flush, free the pages. */
  unmap(va: bigint | number, pages: number, opts: MmCallOptions = {}): void {
    this.alive('unmap');
    const v = checkRange(va, pages, 'unmap');
    this.requireMapped(v, pages, 'unmap');
    const cpu = opts.cpu ?? this.host.defaultCpu(this);
    const w = this.host.writer;
    const freed: number[] = [];
    this.underPtLock(cpu, v, pages, (a, ptep) => {
      ptep_get_and_clear(w, cpu, ptep);
      const rec = this.pages.get(a / 4096) as PageRec;
      this.pages.delete(a / 4096);
      this.used(a, -1);
      freed.push(rec.pa);
    });
    // free_pgtables, then the flush (lazy CPUs too: their paging-structure caches may point at the tables),
    // and only then the tables go back to the cache (tlb_remove_table).
    const tables: number[] = [];
    free_pgtables(w, cpu, this, v, pages, tables);
    this.host.tlb.flush_tlb_mm_range(cpu, this, v >>> 0, Math.floor(v / 2 ** 32), pages, tables.length > 0);
    for (const pa of freed) this.host.putPage(pa);
    for (const t of tables) this.host.freeTable(cpu, t);
  }

  /** Change the rights of mapped pages (mprotect), then flush. */
  protect(va: bigint | number, pages: number, prot: Prot, opts: MmCallOptions = {}): void {
    this.alive('protect');
    const v = checkRange(va, pages, 'protect');
    checkProt(prot, 'protect');
    this.requireMapped(v, pages, 'protect');
    const cpu = opts.cpu ?? this.host.defaultCpu(this);
    const w = this.host.writer;
    let changed = false;
    this.underPtLock(cpu, v, pages, (a, ptep) => {
      const rec = this.pages.get(a / 4096) as PageRec;
      rec.write = prot.write === true;
      rec.user = prot.user ?? true;
      rec.exec = prot.exec === true;
      // A page still shared after fork stays read-only until its first write copies it.
      rec.cow = rec.write && this.host.refcount(rec.pa) > 1;
      const old = readEntry(cpu, ptep);
      const oldHi = lastEntry.hi;
      const lo = (this.pteLo(rec) | (old & 0x60)) >>> 0; // keep A and D
      const hi = this.pteHi(rec);
      if (lo !== old || hi !== oldHi) {
        set_pte(w, cpu, ptep, lo, hi);
        changed = true;
      }
    });
    if (changed) this.host.tlb.flush_tlb_mm_range(cpu, this, v >>> 0, Math.floor(v / 2 ** 32), pages);
  }

  /** fork (dup_mmap): a child with a copy of the tables; private writable pages become copy-on-write in both. */
  fork(opts: MmCallOptions = {}): AddressSpace {
    this.alive('fork');
    const cpu = opts.cpu ?? this.host.defaultCpu(this);
    const w = this.host.writer;
    const child = this.host.newAddressSpace();
    let wrprotected = false;
    let pt = -1;
    let childPt = -1;
    let oom = false;
    w.begin(cpu);
    try {
      for (const [vpn, rec] of this.pages) {
        const a = vpn * 4096;
        if (pt < 0 || pt !== this.pts.get(Math.floor(a / MB2))) {
          w.end(cpu);
          pt = this.pts.get(Math.floor(a / MB2)) as number;
          childPt = child.pte_alloc(cpu, a);
          w.begin(cpu);
          if (childPt < 0) {
            oom = true;
            break;
          }
        }
        if (rec.write && !rec.cow) {
          ptep_set_wrprotect(w, cpu, pt + 8 * (vpn % 512));
          rec.cow = true;
          wrprotected = true;
        }
        const copy: PageRec = { ...rec };
        this.host.getPage(rec.pa);
        child.pages.set(vpn, copy);
        child.used(a, 1);
        set_pte(w, cpu, childPt + 8 * (vpn % 512), child.pteLo(copy), child.pteHi(copy));
      }
    } finally {
      w.end(cpu);
    }
    if (wrprotected) this.host.tlb.flush_tlb_mm_range(cpu, this, 0, 0, Infinity);
    if (oom) {
      child.destroy({ cpu });
      throw new KernelError(ENOMEM, 'fork: out of memory for a page-table page (-ENOMEM); the child was freed, the parent is unchanged but for copy-on-write marks');
    }
    return child;
  }

  /** A write fault on a copy-on-write page (do_wp_page): copy it (or reuse it if no longer shared), make it writable. */
  writeFault(va: bigint | number, opts: MmCallOptions = {}): void {
    this.alive('writeFault');
    const v = toVa(va, 'writeFault');
    const page = v - (v % 4096);
    const rec = this.pages.get(page / 4096);
    if (rec === undefined) throw new RangeError(`writeFault: 0x${v.toString(16)} is not mapped`);
    if (!rec.write) throw new RangeError(`writeFault: 0x${v.toString(16)} is not writable (SIGSEGV)`);
    if (!rec.cow) return;
    const cpu = opts.cpu ?? this.host.defaultCpu(this);
    if (this.host.refcount(rec.pa) > 1) {
      const np = this.host.allocPage();
      if (np < 0) throw new KernelError(ENOMEM, `writeFault: out of memory copying 0x${v.toString(16)} (-ENOMEM)`);
      cpu.memory.writeBytes(np, cpu.memory.readBytes(rec.pa, 4096));
      this.host.putPage(rec.pa);
      rec.pa = np;
    }
    rec.cow = false;
    const w = this.host.writer;
    w.begin(cpu);
    try {
      set_pte(w, cpu, (this.pts.get(Math.floor(page / MB2)) as number) + 8 * ((page / 4096) % 512), this.pteLo(rec), this.pteHi(rec));
    } finally {
      w.end(cpu);
    }
    this.host.tlb.flush_tlb_mm_range(cpu, this, page >>> 0, Math.floor(page / 2 ** 32), 1);
  }

  /**
   * Page aging (ptep_clear_flush_young): clear the Accessed bit the hardware set in the PTE; if it was set,
   * flush the page so the next access sets it again. Returns whether the page was young.
   */
  clearYoung(va: bigint | number, opts: MmCallOptions = {}): boolean {
    this.alive('clearYoung');
    const v = toVa(va, 'clearYoung');
    const page = v - (v % 4096);
    if (!this.pages.has(page / 4096)) throw new RangeError(`clearYoung: 0x${v.toString(16)} is not mapped`);
    const cpu = opts.cpu ?? this.host.defaultCpu(this);
    const w = this.host.writer;
    let young = false;
    w.begin(cpu);
    try {
      young = ptep_test_and_clear_young(w, cpu, (this.pts.get(Math.floor(page / MB2)) as number) + 8 * ((page / 4096) % 512));
    } finally {
      w.end(cpu);
    }
    if (young) this.host.tlb.flush_tlb_mm_range(cpu, this, page >>> 0, Math.floor(page / 2 ** 32), 1);
    return young;
  }

  /** exit_mmap: switch every CPU off this mm, clear every entry, free the pages and every table. */
  destroy(opts: MmCallOptions = {}): void {
    if (this.dead) throw new RangeError(`destroy: address space ${this.id} is already destroyed`);
    const cpu = opts.cpu ?? this.host.defaultCpu(this);
    this.host.tlb.drop(this);
    const w = this.host.writer;
    let pt = -1;
    w.begin(cpu);
    try {
      for (const [vpn, rec] of this.pages) {
        const t = this.pts.get(Math.floor((vpn * 4096) / MB2)) as number;
        if (t !== pt) {
          w.end(cpu);
          w.begin(cpu);
          pt = t;
        }
        ptep_get_and_clear(w, cpu, t + 8 * (vpn % 512));
        this.host.putPage(rec.pa);
      }
    } finally {
      w.end(cpu);
    }
    this.pages.clear();
    // free_pgtables: clear each upper entry, then give the table back to the cache.
    for (const [k, t] of this.pts) {
      pmd_clear(w, cpu, (this.pmds.get(Math.floor(k / 512)) as number) + 8 * (k % 512));
      this.host.freeTable(cpu, t);
    }
    for (const [k, t] of this.pmds) {
      pud_clear(w, cpu, (this.puds.get(Math.floor(k / 512)) as number) + 8 * (k % 512));
      this.host.freeTable(cpu, t);
    }
    for (const [k, t] of this.puds) {
      pgd_clear(w, cpu, this.pgdPa + 8 * k);
      this.host.freeTable(cpu, t);
    }
    this.pts.clear();
    this.pmds.clear();
    this.puds.clear();
    this.ptUsed.clear();
    this.pmdUsed.clear();
    this.pudUsed.clear();
    this.host.freeTable(cpu, this.pgdPa);
    this.dead = true;
    this.host.forget(this);
  }

  /** Load this address space on `cpu` (CR3 with its PCID), and its thread's PKRS. */
  switchTo(cpu: Cpu): void {
    this.alive('switchTo');
    this.host.tlb.switch_mm(cpu, this);
    this.host.switchTask(cpu, this.threadOn(cpu));
  }

  /** What the model intends va to map to, from its own records (null: unmapped). */
  translate(va: bigint | number): Intent | null {
    const v = toVa(va, 'translate');
    const rec = this.pages.get(Math.floor(v / 4096));
    if (rec === undefined) return null;
    return { pa: BigInt(rec.pa + (v % 4096)), write: rec.write && !rec.cow, user: rec.user, exec: rec.exec, cow: rec.cow };
  }

  /** Every mapped page's va (ascending). */
  mappedPages(): bigint[] {
    return [...this.pages.keys()].sort((a, b) => a - b).map((p) => BigInt(p * 4096));
  }

  /** Physical address of every page-table page of this address space, PGD first. */
  pageTables(): bigint[] {
    if (this.dead) return [];
    return [this.pgdPa, ...this.puds.values(), ...this.pmds.values(), ...this.pts.values()].map((p) => BigInt(p));
  }

  /** Physical addresses of the data pages mapped. */
  dataPages(): number[] {
    return [...this.pages.values()].map((r) => r.pa);
  }

  // ---- internals -------------------------------------------------------------------------------------------

  /** pud_alloc: the PUD page for `a` (allocated and set_p4d'd into the PGD if missing; P4D folded), or -1. */
  private pud_alloc(cpu: Cpu, a: number): number {
    const gi = Math.floor(a / 2 ** 39);
    let pud = this.puds.get(gi);
    if (pud === undefined) {
      pud = this.host.allocTable(cpu);
      if (pud < 0) return -1;
      this.puds.set(gi, pud);
      populate(this.host.writer, cpu, this.pgdPa + 8 * gi, pud); // set_p4d
    }
    return pud;
  }

  /** pmd_alloc: the PMD page for `a` (allocated and set_pud'd if missing), or -1. */
  private pmd_alloc(cpu: Cpu, a: number): number {
    const ui = Math.floor(a / GB);
    let pmd = this.pmds.get(ui);
    if (pmd === undefined) {
      const pud = this.pud_alloc(cpu, a);
      if (pud < 0) return -1;
      pmd = this.host.allocTable(cpu);
      if (pmd < 0) return -1;
      this.pmds.set(ui, pmd);
      this.pudUsed.set(Math.floor(ui / 512), (this.pudUsed.get(Math.floor(ui / 512)) ?? 0) + 1);
      populate(this.host.writer, cpu, pud + 8 * (ui % 512), pmd); // set_pud
    }
    return pmd;
  }

  /** pte_alloc: the PT page for `a` (allocated and set_pmd'd if missing, with the levels above), or -1. */
  private pte_alloc(cpu: Cpu, a: number): number {
    const mi = Math.floor(a / MB2);
    let pt = this.pts.get(mi);
    if (pt === undefined) {
      const pmd = this.pmd_alloc(cpu, a);
      if (pmd < 0) return -1;
      pt = this.host.allocTable(cpu);
      if (pt < 0) return -1;
      this.pts.set(mi, pt);
      this.pmdUsed.set(Math.floor(mi / 512), (this.pmdUsed.get(Math.floor(mi / 512)) ?? 0) + 1);
      populate(this.host.writer, cpu, pmd + 8 * (mi % 512), pt); // set_pmd
    }
    return pt;
  }

  /** `d` PTEs more (or fewer) in use in the PT mapping `a`. */
  private used(a: number, d: number): void {
    const mi = Math.floor(a / MB2);
    const n = (this.ptUsed.get(mi) ?? 0) + d;
    if (n > 0) this.ptUsed.set(mi, n);
    else this.ptUsed.delete(mi);
  }

  /** Run `fn` on each page's PTE, the writer's lock hold taken per page table. */
  private underPtLock(cpu: Cpu, v: number, pages: number, fn: (a: number, ptep: number) => void): void {
    const w = this.host.writer;
    w.begin(cpu);
    try {
      for (let i = 0; i < pages; i++) {
        const a = v + i * 4096;
        if (i > 0 && a % MB2 === 0) {
          w.end(cpu);
          w.begin(cpu);
        }
        fn(a, (this.pts.get(Math.floor(a / MB2)) as number) + 8 * ((a / 4096) % 512));
      }
    } finally {
      w.end(cpu);
    }
  }

  private pteLo(r: PageRec): number {
    return mkLo(r.pa, _PAGE_PRESENT | _PAGE_ACCESSED | (r.write && !r.cow ? _PAGE_RW : 0) | (r.user ? _PAGE_USER : 0));
  }
  private pteHi(r: PageRec): number {
    return mkHi(r.pa, this.host.nx && !r.exec);
  }

  private requireMapped(v: number, pages: number, what: string): void {
    for (let i = 0; i < pages; i++) if (!this.pages.has(v / 4096 + i)) throw new RangeError(`${what}: 0x${(v + i * 4096).toString(16)} is not mapped`);
  }

  private alive(what: string): void {
    if (this.dead) throw new RangeError(`${what}: address space ${this.id} was destroyed`);
  }
}
