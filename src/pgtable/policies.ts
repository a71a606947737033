/**
 * The protection policies: how each paging-entry write of the kernel model is made (the EntryWriter that
 * set_pte & co. and change_page_attr use). Every write is a supervisor store made by the emulated CPU, so the
 * protection is enforced by the emulated hardware: a missing PKRS flip faults with PK, a missing flush leaves a
 * stale TLB entry.
 *
 * - none:      a plain store through the direct map (the baseline).
 * - pks:       pks_set_readwrite(PT key) before and pks_set_readonly after every single entry write (the RFC).
 * - pks-lock:  PKRS writable for as long as the page-table lock is held (begin/end), covering a batch
 *              (Vlastimil Babka's suggestion in review); a write outside a lock hold flips like `pks`.
 * - paging-ro: page-table pages read-only in the direct map; each write is set_memory_rw on the page's alias,
 *              the store, set_memory_ro, each with its kernel range flush. The direct map's own tables (and
 *              the boot tables) cannot go through CPA (it would recurse): they are written with CR0.WP cleared
 *              around the store, as PaX's pax_open_kernel did (SDM Vol. 3A 4.6.1: with WP = 0 supervisor
 *              writes ignore R/W).
 * - poke:      page-table pages read-only in the direct map and written through a writable alias in a per-CPU
 *              temporary mm, as text_poke does: CR3 to the poking mm (its own PCID, no flush), map the page at
 *              POKE_VA through the poking mm's self-mapped PTE page, store, clear the alias, INVLPG it (local:
 *              no other CPU ever loads this mm, so no IPI), CR3 back.
 *
 * A fault taken inside a write window closes the window before it is reported: the exception entry resets
 * PKRS (pkrs_save_irq), and the paging-ro / poke paths re-protect / switch back; the oops is then thrown.
 */

import type { Cpu } from '../cpu/cpu.js';
import type { ArchFault } from '../cpu/faults.js';
import { ACC_WRITE } from '../mmu/rights.js';
import type { PksApi } from '../pks/api.js';
import type { DirectMapApi, EntryWriter } from '../cpa/types.js';
import { dmHiS, dmLoS } from '../cpa/writer.js';
import { KernelError } from './errors.js';

export type ProtectionPolicy = 'none' | 'pks' | 'pks-lock' | 'paging-ro' | 'poke';
export const POLICIES: readonly ProtectionPolicy[] = ['none', 'pks', 'pks-lock', 'paging-ro', 'poke'];

/** Does the policy use PKS? */
export function usesPks(p: ProtectionPolicy): boolean {
  return p === 'pks' || p === 'pks-lock';
}
/** Does the policy protect page tables at all? */
export function protects(p: ProtectionPolicy): boolean {
  return p !== 'none';
}

/** What the writers need from the kernel. */
export interface WriterHost {
  readonly pks: PksApi;
  readonly ptKey: number;
  readonly dm: DirectMapApi;
  /** Is `pa` a page-table page made read-only through CPA (from the grouped cache)? paging-ro only. */
  isCpaProtected(pa: number): boolean;
  /** The kernel takes a fault raised by its own entry write (exception entry, oops report). */
  oops(cpu: Cpu, fault: ArchFault): void;
}

export interface WriterStats {
  /** Entries written (each 8-byte store). */
  entryWrites: number;
  /** Write windows opened (PKRS flips to writable, set_memory_rw, CR0.WP clears, poke sessions). */
  windows: number;
}

const TWO32 = 2 ** 32;
const CR0_WP = 1 << 16;
/** Bit 63 of a CR3 load (the no-flush hint with CR4.PCIDE), in the high half. */
const CR3_NOFLUSH_HI = 0x80000000;
const CR4_PCIDE = 1 << 17;

/** MOV to CRn from halves (no BigInt on the write path); a #GP is a kernel bug and is thrown. */
function movToCr(cpu: Cpu, n: number, lo: number, hi: number): void {
  if (!cpu.writeCrHalves(n, lo, hi)) throw cpu.takeException();
}
/** The poking mm's alias address (a user-half address no other mm uses) and its self-mapped PTE page. */
export const POKE_VA = 0x00007ff000000000n;
export const POKE_PT_VA = POKE_VA + 0x1000n;
const POKE_LO = Number(POKE_VA & 0xffffffffn);
const POKE_HI = Number(POKE_VA >> 32n);
const POKE_PT_LO = Number(POKE_PT_VA & 0xffffffffn);

/** A policy's writer: the EntryWriter of K1's interface, plus batches covering one table page. */
export abstract class PolicyWriter implements EntryWriter {
  abstract readonly policy: ProtectionPolicy;
  readonly stats: WriterStats = { entryWrites: 0, windows: 0 };

  constructor(protected readonly host: WriterHost) {}

  begin(_cpu: Cpu): void {}
  end(_cpu: Cpu): void {}

  /** Is a write window open on `cpu` now (outside one, every table must be read-only)? */
  windowOpen(_cpu: Cpu): boolean {
    return false;
  }

  write(cpu: Cpu, pa: number, lo: number, hi: number): void {
    this.open(cpu, pa);
    this.stats.entryWrites++;
    if (!this.store(cpu, pa, lo, hi)) this.fail(cpu, pa);
    this.close(cpu, pa);
  }

  /** Write `count` entries from `first` in the table page at `tablePa` = hi:lo each (clear_page), one window. */
  fill(cpu: Cpu, tablePa: number, first: number, count: number, lo: number, hi: number): void {
    this.open(cpu, tablePa);
    for (let i = first; i < first + count; i++) {
      this.stats.entryWrites++;
      if (!this.store(cpu, tablePa + 8 * i, lo, hi)) this.fail(cpu, tablePa);
    }
    this.close(cpu, tablePa);
  }

  /** Copy entries [first, first + count) of table `srcPa` into table `dstPa` (clone_pgd_range), one window. */
  copy(cpu: Cpu, dstPa: number, srcPa: number, first: number, count: number): void {
    const mem = cpu.memory;
    this.open(cpu, dstPa);
    for (let i = first; i < first + count; i++) {
      const lo = mem.rd32(srcPa + 8 * i);
      const hi = mem.rd32(srcPa + 8 * i + 4);
      this.stats.entryWrites++;
      if (!this.store(cpu, dstPa + 8 * i, lo, hi)) this.fail(cpu, dstPa);
    }
    this.close(cpu, dstPa);
  }

  /** Open the write window for the table page holding `pa`. */
  protected abstract open(cpu: Cpu, pa: number): void;
  protected abstract close(cpu: Cpu, pa: number): void;

  /** The store itself (through the direct map unless the policy writes through an alias). */
  protected store(cpu: Cpu, pa: number, lo: number, hi: number): boolean {
    return cpu.store(dmLoS(pa), dmHiS(pa), 8, lo | 0, hi | 0, ACC_WRITE);
  }

  /** The store faulted: close the window the way the policy must, report the oops, throw the fault. */
  protected fail(cpu: Cpu, pa: number): never {
    const f = cpu.takeException();
    this.abort(cpu, pa);
    this.host.oops(cpu, f);
    throw f;
  }

  protected abort(cpu: Cpu, pa: number): void {
    this.close(cpu, pa);
  }
}

export class PlainWriter extends PolicyWriter {
  readonly policy = 'none' as const;
  protected open(): void {}
  protected close(): void {}
}

/** The RFC: a PKRS flip around every entry write. */
export class PksWriter extends PolicyWriter {
  readonly policy: ProtectionPolicy = 'pks';
  protected readonly depth: Uint8Array;

  constructor(host: WriterHost, cpus: number) {
    super(host);
    this.depth = new Uint8Array(cpus);
  }
  override windowOpen(cpu: Cpu): boolean {
    return this.depth[cpu.index] > 0;
  }
  protected open(cpu: Cpu): void {
    if (this.depth[cpu.index]++ === 0) {
      this.stats.windows++;
      this.host.pks.pks_set_readwrite(cpu, this.host.ptKey);
    }
  }
  protected close(cpu: Cpu): void {
    if (--this.depth[cpu.index] === 0) this.host.pks.pks_set_readonly(cpu, this.host.ptKey);
  }
  /** The exception entry resets PKRS (the oops path calls pkrs_save_irq); the aborted hold is over. */
  protected override abort(cpu: Cpu): void {
    this.depth[cpu.index] = 0;
  }
}

/**
 * Babka's alternative: writable for the whole page-table-lock hold. The window opens at the first entry write of
 * a hold and closes when the outermost hold ends, so a hold that writes nothing (a PTE page with nothing to
 * change in the range) flips nothing: in a kernel this is pks_set_readwrite on each write of the hold, all but
 * the first skipped by the per-CPU PKRS cache.
 */
export class PksLockWriter extends PksWriter {
  override readonly policy: ProtectionPolicy = 'pks-lock';
  /** Lock holds in progress on each CPU (nested holds: cpa inside a page-table-lock hold). */
  private readonly holds: Uint8Array;

  constructor(host: WriterHost, cpus: number) {
    super(host, cpus);
    this.holds = new Uint8Array(cpus);
  }
  override begin(cpu: Cpu): void {
    this.holds[cpu.index]++;
  }
  protected override open(cpu: Cpu): void {
    if (this.holds[cpu.index] > 0 && this.depth[cpu.index] > 0) return; // already open for this hold
    super.open(cpu);
  }
  protected override close(cpu: Cpu): void {
    if (this.holds[cpu.index] > 0) return; // stays open until the hold ends
    super.close(cpu);
  }
  /** The hold ends (a fault inside it already closed the window: nothing left to close then). */
  override end(cpu: Cpu): void {
    if (this.holds[cpu.index] > 0 && --this.holds[cpu.index] > 0) return;
    if (this.depth[cpu.index] > 0) {
      this.depth[cpu.index] = 1;
      super.close(cpu);
    }
  }
}

/** Tables read-only in the direct map, made writable through CPA for each write. */
export class PagingRoWriter extends PolicyWriter {
  readonly policy = 'paging-ro' as const;
  private readonly viaWp: Uint8Array;
  private readonly depth: Uint8Array;

  constructor(host: WriterHost, cpus: number) {
    super(host);
    this.viaWp = new Uint8Array(cpus);
    this.depth = new Uint8Array(cpus);
  }
  override windowOpen(cpu: Cpu): boolean {
    return this.depth[cpu.index] > 0;
  }
  protected open(cpu: Cpu, pa: number): void {
    if (this.depth[cpu.index]++ !== 0) {
      // Nested: CPA (opened for a cache table) writing a direct-map table. The outer window is per page, so
      // this inner write needs its own.
      if (this.host.isCpaProtected(pa)) throw new RangeError('paging-ro: nested write to a CPA-protected table');
    }
    this.stats.windows++;
    if (this.host.isCpaProtected(pa)) {
      this.viaWp[cpu.index] = (this.viaWp[cpu.index] << 1) & 0xff;
      const r = this.host.dm.set_memory_rw(cpu, pa - (pa % 4096), 1);
      if (r !== 0) {
        this.viaWp[cpu.index] >>>= 1;
        this.depth[cpu.index]--;
        throw new KernelError(r, `paging-ro: set_memory_rw of table 0x${pa.toString(16)} failed with ${r} (no reserve table left to split the direct map)`);
      }
    } else {
      // pax_open_kernel: clear CR0.WP around the store (the direct map's own tables; CPA would recurse).
      this.viaWp[cpu.index] = ((this.viaWp[cpu.index] << 1) | 1) & 0xff;
      movToCr(cpu, 0, cpu.cr0Low & ~CR0_WP, 0);
    }
  }
  protected close(cpu: Cpu, pa: number): void {
    const wp = (this.viaWp[cpu.index] & 1) !== 0;
    this.viaWp[cpu.index] >>>= 1;
    this.depth[cpu.index]--;
    if (wp) movToCr(cpu, 0, cpu.cr0Low | CR0_WP, 0);
    else this.host.dm.set_memory_ro(cpu, pa - (pa % 4096), 1);
  }
}

/** Per-CPU temporary mm of the poke policy. */
export interface PokeMm {
  /** CR3 of the poking mm (PGD | PCID). */
  cr3: bigint;
  /** The same as halves (the write path loads CR3 without a BigInt). */
  cr3Lo: number;
  cr3Hi: number;
}

/** Tables read-only; written through a writable alias in a per-CPU temporary mm (text_poke style). */
export class PokeWriter extends PolicyWriter {
  readonly policy = 'poke' as const;
  private readonly mms: PokeMm[] = [];
  // CR3 to switch back to, per CPU, as halves (typed arrays: storing a half above 2^30 allocates no heap number).
  private readonly prevLo: Uint32Array;
  private readonly prevHi: Uint32Array;
  private readonly depth: Uint8Array;
  private readonly early: Uint8Array;
  /** Alias pokes made (each: 2 CR3 writes, alias map + clear, 1 INVLPG). */
  pokes = 0;

  constructor(host: WriterHost, cpus: number) {
    super(host);
    this.prevLo = new Uint32Array(cpus);
    this.prevHi = new Uint32Array(cpus);
    this.depth = new Uint8Array(cpus);
    this.early = new Uint8Array(cpus);
  }
  /** Install a CPU's poking mm (built at boot). */
  setMm(cpu: Cpu, mm: PokeMm): void {
    this.mms[cpu.index] = mm;
  }
  /**
   * The poking mm this writer uses on `cpu` (its CR3 with the poking PCID), or undefined before it is built (early
   * boot). Read-only: for tools that make the same writes as guest code (the guest-write-cost cross-check); the
   * writer alone installs it (setMm).
   */
  pokingMm(cpu: Cpu): Readonly<PokeMm> | undefined {
    return this.mms[cpu.index];
  }
  override windowOpen(cpu: Cpu): boolean {
    return this.depth[cpu.index] > 0;
  }
  protected open(cpu: Cpu, pa: number): void {
    if (this.depth[cpu.index]++ !== 0) throw new RangeError('poke: nested write window');
    this.stats.windows++;
    const mm = this.mms[cpu.index];
    if (mm === undefined) {
      // Early boot, before this CPU's poking mm exists (building it refills the cache, whose set_memory_ro
      // writes direct-map tables): pax_open_kernel, as paging-ro does for the direct map's own tables.
      this.early[cpu.index] = 1;
      movToCr(cpu, 0, cpu.cr0Low & ~CR0_WP, 0);
      return;
    }
    this.early[cpu.index] = 0;
    this.pokes++;
    const pcide = (cpu.cr4Low & CR4_PCIDE) !== 0;
    this.prevLo[cpu.index] = cpu.cr3Low;
    this.prevHi[cpu.index] = cpu.cr3High;
    // use_temporary_mm: CR3 to the poking mm; its PCID keeps its own TLB entries, no flush needed.
    movToCr(cpu, 3, mm.cr3Lo, pcide ? mm.cr3Hi | CR3_NOFLUSH_HI : mm.cr3Hi);
    // Map the target table page at POKE_VA: PTE 0 of the poking PT page, written through its self-mapping.
    const page = pa - (pa % 4096);
    const lo = (page % TWO32 | 0x63) >>> 0; // P | RW | A | D
    const hi = Math.floor(page / TWO32);
    if (!cpu.store(POKE_PT_LO, POKE_HI, 8, lo, hi, ACC_WRITE)) this.fail(cpu, pa);
  }
  protected override store(cpu: Cpu, pa: number, lo: number, hi: number): boolean {
    if (this.early[cpu.index] === 1) return super.store(cpu, pa, lo, hi);
    return cpu.store((POKE_LO + (pa % 4096)) >>> 0, POKE_HI, 8, lo, hi, ACC_WRITE);
  }
  protected close(cpu: Cpu): void {
    this.depth[cpu.index]--;
    if (this.early[cpu.index] === 1) {
      this.early[cpu.index] = 0;
      movToCr(cpu, 0, cpu.cr0Low | CR0_WP, 0);
      return;
    }
    // Clear the alias and flush it locally (no other CPU uses this mm: no IPI), then switch back.
    cpu.store(POKE_PT_LO, POKE_HI, 8, 0, 0, ACC_WRITE);
    cpu.invlpgHalves(POKE_LO, POKE_HI);
    const pcide = (cpu.cr4Low & CR4_PCIDE) !== 0;
    const hi = this.prevHi[cpu.index];
    movToCr(cpu, 3, this.prevLo[cpu.index], pcide ? hi | CR3_NOFLUSH_HI : hi);
  }
  protected override abort(cpu: Cpu, pa: number): void {
    if (this.depth[cpu.index] > 0) this.close(cpu);
    void pa;
  }
}

/** The writer of a policy. */
export function makeWriter(policy: ProtectionPolicy, host: WriterHost, cpus: number): PolicyWriter {
  switch (policy) {
    case 'none':
      return new PlainWriter(host);
    case 'pks':
      return new PksWriter(host, cpus);
    case 'pks-lock':
      return new PksLockWriter(host, cpus);
    case 'paging-ro':
      return new PagingRoWriter(host, cpus);
    case 'poke':
      return new PokeWriter(host, cpus);
    default:
      throw new RangeError(`protection must be one of ${POLICIES.join(', ')}; got ${String(policy)}`);
  }
}
