/**
 * The `Kernel` facade of the kernel model (API contract in DESIGN.md): boots the kernel page tables (K1's
 * bootKernel: direct map, text, CR4/PKRS/CR3 on every CPU), installs the protection policy (the entry writer
 * of every page-table write, the direct map's own included), the PKS API with the page-table key, the grouped
 * page cache and the per-CPU poking mms, and hands out address spaces.
 *
 * An attacker's write primitive is `strayWrite`; the kernel takes the resulting #PF as an oops (or, in soft
 * mode, reports it and lets the write land, as RFC v2's soft mode does).
 */

import type { Cpu } from '../cpu/cpu.js';
import { PageFault, VEC_PF } from '../cpu/faults.js';
import type { Machine } from '../cpu/machine.js';
import type { DirectMapApi, DirectMapSize, PageAllocator } from '../cpa/types.js';
import { directMapStore } from '../cpa/writer.js';
import { clearPageVia } from './clear-page.js';
import { PksApi, type PksTask } from '../pks/api.js';
import { bootKernel } from './boot.js';
import { checkPageTables, type Violation } from './check.js';
import { ENOMEM, KernelError } from './errors.js';
import { GroupCache, type GroupProtection } from './group-cache.js';
import { AddressSpace, type MmHost } from './mm.js';
import { buildPokingMm } from './poke.js';
import { makeWriter, POLICIES, PokeWriter, usesPks, type PolicyWriter, type ProtectionPolicy, type WriterHost } from './policies.js';
import { kernelStats, type KernelStats } from './stats.js';
import { TlbState } from './tlb.js';

export interface KernelOptions {
  /** How page tables are protected. Default 'none'. */
  protection?: ProtectionPolicy;
  /** Page size of the direct map. Default '1G' where the CPU has gbpages, else '2M'. */
  directMap?: DirectMapSize;
  /** Group page-table pages in 2 MiB blocks (the RFC's cache). Default true. */
  groupedCache?: boolean;
  /** Soft mode (RFC v2): a stray write to a page table is reported and allowed. Default false. */
  soft?: boolean;
  /** The page-table protection key, 1..15. Default 1. */
  ptKey?: number;
  /** NUMA nodes. Default 1. */
  nodes?: number;
  /** Tables reserved for splitting the direct map (default: the RFC v2 sizing when tables are protected). */
  reserve?: number;
  /** Zero data pages when they are mapped (clear_page, charged as the CPU's stores). Default true. */
  zeroPages?: boolean;
}

/** A fault the kernel took from a write it made (an oops), or a soft-mode report. */
export interface Oops {
  cpu: number;
  /** CR2: the faulting linear address. */
  address: bigint;
  errorCode: number;
  /** The physical address written, when the write went through the direct map. */
  pa: number | null;
  /** The write hit a page-table page. */
  pageTable: boolean;
}

export type StrayWriteResult = { landed: true; reported?: PageFault } | { landed: false; fault: PageFault };

const KNOWN = new Set(['protection', 'directMap', 'groupedCache', 'soft', 'ptKey', 'nodes', 'reserve', 'zeroPages']);
const EFER_NXE = 1n << 11n;
const CR4_PCIDE = 1n << 17n;

function toNum(v: bigint | number, what: string): number {
  if (typeof v === 'bigint') {
    if (v < 0n || v > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`${what} 0x${v.toString(16)} is out of range`);
    return Number(v);
  }
  if (typeof v !== 'number') throw new TypeError(`${what} must be a bigint or number, got ${typeof v}`);
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be a non-negative integer, got ${v}`);
  return v;
}

export class Kernel implements MmHost, WriterHost {
  readonly machine: Machine;
  readonly policy: ProtectionPolicy;
  readonly soft: boolean;
  /** Data pages are zeroed on map (option zeroPages). */
  readonly zeroPages: boolean;
  readonly pks: PksApi;
  readonly ptKey: number;
  readonly dm: DirectMapApi;
  readonly buddy: PageAllocator & { splitAllocated(pa: number, order: number): void };
  readonly cache: GroupCache;
  readonly writer: PolicyWriter;
  readonly tlb: TlbState;
  readonly kernelPgd: number;
  readonly nx: boolean;
  /** Faults the kernel took from its own writes (stray writes that faulted, or a bad entry write). */
  readonly oopses: Oops[] = [];
  /** Soft mode: stray writes to page tables that were reported and allowed. */
  readonly softReports: Oops[] = [];
  private readonly refs = new Map<number, number>();
  /** Page-table pages of address spaces given back to the cache (free_pgtables on unmap, exit_mmap). */
  tablesFreed = 0;
  /** Data pages zeroed on map (clear_page). */
  pagesZeroed = 0;
  private mmCount = 0;
  private readonly mms = new Set<AddressSpace>();
  private readonly idle: PksTask[];
  private readonly bootTables: number[];

  private constructor(machine: Machine, opts: KernelOptions) {
    for (const k of Object.keys(opts)) if (!KNOWN.has(k)) throw new RangeError(`unknown Kernel.boot option '${k}'; known: ${[...KNOWN].join(', ')}`);
    const policy = opts.protection ?? 'none';
    if (!POLICIES.includes(policy)) throw new RangeError(`protection must be one of ${POLICIES.join(', ')}; got ${String(policy)}`);
    if (usesPks(policy) && !machine.features.pks) throw new RangeError(`protection '${policy}' needs a CPU with PKS (features.pks)`);
    for (const b of ['groupedCache', 'soft', 'zeroPages'] as const) {
      if (opts[b] !== undefined && typeof opts[b] !== 'boolean') throw new TypeError(`${b} must be a boolean, got ${String(opts[b])}`);
    }
    this.machine = machine;
    this.policy = policy;
    this.soft = opts.soft === true;
    this.zeroPages = opts.zeroPages ?? true;
    const ptKey = opts.ptKey ?? 1;
    const base = bootKernel(machine, {
      directMap: opts.directMap,
      protect: policy === 'none' ? 'none' : usesPks(policy) ? 'pkey' : 'readonly',
      ptKey,
      nodes: opts.nodes,
      reserve: opts.reserve,
    });
    this.dm = base.directMap;
    this.buddy = base.buddy;
    this.kernelPgd = base.pgdPa;
    this.bootTables = [...base.bootTables];
    this.ptKey = ptKey;
    this.pks = new PksApi(machine.cpus);
    // The page-table key: the first consumer (key 1 by default), write-disabled by default (PKS_INIT_VALUE).
    for (let k = 1; k < ptKey; k++) this.pks.keyAlloc(`reserved-${k}`, 'noaccess');
    if (this.pks.keyAlloc('pgtables', 'ro') !== ptKey) throw new RangeError(`ptKey ${ptKey} could not be allocated`);
    for (const c of machine.cpus) {
      // The idle thread of every CPU runs with PKS_INIT_VALUE (the page-table key read-only), like the CPU.
      if (c.pkrs === this.pks.initValue()) this.pks.adoptBootPkrs(c);
      else this.pks.setup(c);
    }
    this.idle = machine.cpus.map((c) => this.pks.current(c));
    const cpu0 = machine.cpus[0];
    this.nx = (cpu0.efer & EFER_NXE) !== 0n;
    this.tlb = new TlbState(machine, this.kernelPgd, (cpu0.cr4 & CR4_PCIDE) !== 0n);
    this.writer = makeWriter(policy, this, machine.cpus.length);
    this.dm.setWriter(this.writer);
    const buddy = base.buddy;
    this.cache = new GroupCache(this.buddy, this.groupProtection(), opts.groupedCache ?? true, {
      nodes: buddy.nodes.length,
      nodeOfCpu: (i) => base.nodeOfCpu(i),
      nodeOfPage: (pa) => buddy.nodeOf(pa),
    });
    if (this.writer instanceof PokeWriter) {
      const w = this.writer;
      for (const c of machine.cpus) w.setMm(c, buildPokingMm(this, c));
    }
  }

  /** Boot the kernel model on a machine (see KernelOptions). */
  static boot(machine: Machine, opts: KernelOptions = {}): Kernel {
    return new Kernel(machine, opts);
  }

  // ---- address spaces ------------------------------------------------------------------------------------

  /** A new address space: a PGD from the cache with the kernel half copied (pgd_alloc). */
  createAddressSpace(): AddressSpace {
    return this.newAddressSpace();
  }

  newAddressSpace(cpu: Cpu = this.machine.cpus[0]): AddressSpace {
    const pgd = this.cache.get_grouped_page(cpu);
    if (pgd < 0) throw new KernelError(ENOMEM, 'pgd_alloc: out of memory (-ENOMEM)');
    this.writer.fill(cpu, pgd, 0, 256, 0, 0);
    this.writer.copy(cpu, pgd, this.kernelPgd, 256, 256); // clone_pgd_range: the shared kernel half
    const id = ++this.mmCount;
    const mm = new AddressSpace(this, id, pgd);
    this.mms.add(mm);
    return mm;
  }

  /** Live address spaces. */
  addressSpaces(): AddressSpace[] {
    return [...this.mms];
  }

  /** A kernel thread runs on `cpu` (enter_lazy_tlb): the user mm stays loaded, flushes skip this CPU. */
  enterLazy(cpu: Cpu): void {
    this.tlb.enter_lazy_tlb(cpu);
    this.pks.switchTo(cpu, this.idle[cpu.index]);
  }

  // ---- MmHost ----------------------------------------------------------------------------------------------

  allocTable(cpu: Cpu): number {
    const pa = this.cache.get_grouped_page(cpu);
    if (pa < 0) return -1;
    try {
      this.writer.fill(cpu, pa, 0, 512, 0, 0); // clear_page: a protected write
    } catch (e) {
      // The page never became a table (paging-ro: no reserve table left to split the direct map): give it back.
      this.cache.free_grouped_page(cpu, pa);
      if (e instanceof KernelError && e.errno === ENOMEM) return -1;
      throw e;
    }
    return pa;
  }
  freeTable(cpu: Cpu, pa: number): void {
    this.tablesFreed++;
    this.cache.free_grouped_page(cpu, pa);
  }
  allocPage(): number {
    const pa = this.buddy.alloc(0);
    if (pa >= 0) this.refs.set(pa, 1);
    return pa;
  }
  /**
   * clear_page (clear_page_erms: one REP STOSB of 4096 bytes) by `cpu` through the direct map: data pages are
   * writable there under every policy (not a page-table write, no write window). The write is translated by the
   * emulated CPU as a supervisor data write, so a page the CPU may not write faults (the typed fault is thrown,
   * nothing is zeroed); then the page's bytes are zeroed and the CPU is charged the translation and the profile's
   * `clearPage`, the bulk operation's cost.
   */
  clearPage(cpu: Cpu, pa: number): void {
    if (!this.zeroPages) return;
    clearPageVia(cpu, pa);
    this.pagesZeroed++;
  }
  getPage(pa: number): void {
    this.refs.set(pa, (this.refs.get(pa) ?? 0) + 1);
  }
  putPage(pa: number): void {
    const n = this.refs.get(pa) ?? 0;
    if (n <= 0) throw new RangeError(`putPage: page 0x${pa.toString(16)} is not in use`);
    if (n === 1) {
      this.refs.delete(pa);
      this.buddy.free(pa, 0);
    } else this.refs.set(pa, n - 1);
  }
  refcount(pa: number): number {
    return this.refs.get(pa) ?? 0;
  }
  /** Data pages in use (mapped by some address space). */
  get dataPages(): number {
    return this.refs.size;
  }
  defaultCpu(mm: AddressSpace): Cpu {
    for (const i of mm.cpumask) if (!this.tlb.lazy[i]) return this.machine.cpus[i];
    return this.machine.cpus[0];
  }
  createTask(name: string): PksTask {
    return this.pks.createTask(name);
  }
  switchTask(cpu: Cpu, task: PksTask): void {
    this.pks.switchTo(cpu, task);
  }
  forget(mm: AddressSpace): void {
    this.mms.delete(mm);
    const threads = mm.tasks();
    for (const c of this.machine.cpus) if (threads.includes(this.pks.current(c))) this.pks.switchTo(c, this.idle[c.index]);
  }

  // ---- WriterHost --------------------------------------------------------------------------------------------

  isCpaProtected(pa: number): boolean {
    return this.cache.isHandedOut(pa - (pa % 4096));
  }

  /** The kernel takes a fault from one of its own writes: exception entry (PKRS reset), oops report. */
  oops(cpu: Cpu, fault: { vector: number; errorCode: number }): void {
    cpu.charge(this.machine.profile.interrupt.entry);
    this.pks.pkrs_save_irq(cpu); // the faulting context dies: its write window stays closed
    const address = fault instanceof PageFault ? fault.address : 0n;
    this.oopses.push({ cpu: cpu.index, address, errorCode: fault.errorCode, pa: null, pageTable: false });
  }

  // ---- the direct map --------------------------------------------------------------------------------------

  /** Every page-table page that maps the direct map. */
  directMapTables(): bigint[] {
    return this.dm.tables().map((p) => BigInt(p));
  }
  /** The kernel's own tables made at boot (PGD first), the direct map's included. */
  kernelTables(): bigint[] {
    return this.bootTables.map((p) => BigInt(p));
  }
  /** Every page-table page the kernel has now: kernel tables, direct-map tables, every cache page in use. */
  allPageTables(): number[] {
    const s = new Set<number>(this.bootTables);
    for (const t of this.dm.tables()) s.add(t);
    for (const t of this.cache.inUse()) s.add(t);
    return [...s];
  }
  isPageTable(pa: number): boolean {
    const page = pa - (pa % 4096);
    return this.cache.isHandedOut(page) || this.bootTables.includes(page) || this.dm.tables().includes(page);
  }

  setMemoryRo(va: bigint | number, pages: number, cpu = this.machine.cpus[0]): number {
    return this.dm.set_memory_ro(cpu, va, pages);
  }
  setMemoryRw(va: bigint | number, pages: number, cpu = this.machine.cpus[0]): number {
    return this.dm.set_memory_rw(cpu, va, pages);
  }
  setMemoryNx(va: bigint | number, pages: number, cpu = this.machine.cpus[0]): number {
    return this.dm.set_memory_nx(cpu, va, pages);
  }
  setMemoryX(va: bigint | number, pages: number, cpu = this.machine.cpus[0]): number {
    return this.dm.set_memory_x(cpu, va, pages);
  }
  setMemoryNp(va: bigint | number, pages: number, cpu = this.machine.cpus[0]): number {
    return this.dm.set_memory_np(cpu, va, pages);
  }
  setMemoryP(va: bigint | number, pages: number, cpu = this.machine.cpus[0]): number {
    return this.dm.set_memory_p(cpu, va, pages);
  }
  setMemory4k(va: bigint | number, pages: number, cpu = this.machine.cpus[0]): number {
    return this.dm.set_memory_4k(cpu, va, pages);
  }
  setMemoryPks(va: bigint | number, pages: number, key: number, cpu = this.machine.cpus[0]): number {
    return this.dm.set_memory_pks(cpu, va, pages, key);
  }

  // ---- attacks, exceptions, checks -----------------------------------------------------------------------

  /**
   * An attacker's kernel write primitive: an 8-byte supervisor store to physical address `pa` through the
   * direct map, made by the emulated CPU outside any write window. A fault is taken by the kernel (an oops
   * with the faulting address); in soft mode a write to a page table is reported and then allowed.
   */
  strayWrite(pa: bigint | number, value: bigint | number, opts: { cpu?: Cpu } = {}): StrayWriteResult {
    const p = toNum(pa, 'pa');
    if (p % 8 !== 0) throw new RangeError(`pa 0x${p.toString(16)} must be 8-byte aligned`);
    if (p + 8 > this.machine.memory.size) throw new RangeError(`pa 0x${p.toString(16)} is beyond installed memory`);
    const v = BigInt.asUintN(64, typeof value === 'bigint' ? value : BigInt(toNum(value, 'value')));
    const lo = Number(v & 0xffffffffn);
    const hi = Number(v >> 32n);
    const cpu = opts.cpu ?? this.machine.cpus[0];
    if (directMapStore(cpu, p, lo, hi)) return { landed: true };
    const f = cpu.takeException();
    if (f.vector !== VEC_PF) throw f;
    const fault = f as PageFault;
    const pageTable = this.isPageTable(p);
    cpu.charge(this.machine.profile.interrupt.entry);
    const saved = this.pks.pkrs_save_irq(cpu);
    const report: Oops = { cpu: cpu.index, address: fault.address, errorCode: fault.errorCode, pa: p, pageTable };
    let landed = false;
    if (this.soft && pageTable && (fault.errorCode & 3) === 3) {
      // RFC v2 soft mode: warn, then let the write complete.
      this.softReports.push(report);
      this.writer.write(cpu, p, lo, hi);
      landed = true;
    } else {
      this.oopses.push(report);
    }
    this.pks.pkrs_restore_irq(cpu, saved);
    cpu.charge(this.machine.profile.interrupt.exit);
    return landed ? { landed: true, reported: fault } : { landed: false, fault };
  }

  /** An interrupt or exception on `cpu`: PKRS saved and reset for the handler, restored on return. */
  interrupt<T>(cpu: Cpu, handler: (cpu: Cpu) => T): T {
    cpu.charge(this.machine.profile.interrupt.entry);
    const saved = this.pks.pkrs_save_irq(cpu);
    try {
      return handler(cpu);
    } finally {
      this.pks.pkrs_restore_irq(cpu, saved);
      cpu.charge(this.machine.profile.interrupt.exit);
    }
  }

  /** The checker: every page table readable-only outside write windows, keyed under the PKS policies. */
  check(opts: { tlb?: boolean } = {}): Violation[] {
    return checkPageTables(this, opts);
  }

  /** Give free cache pages back to the buddy allocator (the list_lru shrinker). Returns how many. */
  shrinkCache(max = Infinity, cpu = this.machine.cpus[0]): number {
    return this.cache.shrink(cpu, max);
  }

  stats(): KernelStats {
    return kernelStats(this);
  }

  private groupProtection(): GroupProtection | null {
    if (this.policy === 'none') return null;
    const dm = this.dm;
    const key = this.ptKey;
    if (usesPks(this.policy)) {
      return {
        protect: (cpu, pa, pages) => dm.set_memory_pks(cpu, pa, pages, key) === 0,
        unprotect: (cpu, pa, pages) => void dm.set_memory_pks(cpu, pa, pages, 0),
      };
    }
    return {
      protect: (cpu, pa, pages) => dm.set_memory_ro(cpu, pa, pages) === 0,
      unprotect: (cpu, pa, pages) => void dm.set_memory_rw(cpu, pa, pages),
    };
  }
}
