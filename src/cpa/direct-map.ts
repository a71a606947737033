/**
 * The kernel direct map (all installed memory at PAGE_OFFSET, 4-level paging) and the set_memory_* interface of
 * arch/x86/mm/pat/set_memory.c on it. The page-attribute changes themselves are in change-attr.ts and split.ts;
 * this file knows the layout: where the entry mapping a physical address lives, which tables map the direct map,
 * and the counters.
 *
 * Entries are read by the calling CPU through the direct map (`cpu.load`, as the kernel's lookup_address reads
 * them) and written through the EntryWriter; the host-side `lookup` and `tables` read physical memory without
 * cost, for tests, policies and checkers.
 */

import type { Cpu } from '../cpu/cpu.js';
import { NO_EXCEPTION } from '../cpu/cpu.js';
import type { Machine } from '../cpu/machine.js';
import { ACC_READ } from '../mmu/rights.js';
import { change_page_attr_set_clr, CPA_NO_MASK, type CpaMasks } from './change-attr.js';
import { flush_tlb_kernel_range as flushRange, TLB_SINGLE_PAGE_FLUSH_CEILING } from './flush.js';
import type { TableReserve } from './reserve.js';
import {
  PAGE_OFFSET,
  type CpaStats,
  type DirectMapApi,
  type DirectMapLookup,
  type EntryWriter,
  type PageBytes,
  type SetMemoryOptions,
  type TableSource,
} from './types.js';
import { dmHiS, dmLoS } from './writer.js';

/** PGD index of PAGE_OFFSET (bits 47:39 of 0xffff888000000000). */
export const DIRECT_MAP_PGD_INDEX = 273;

const WALK_SHIFTS = [30, 21, 12];
const LEAF_SIZES: readonly PageBytes[] = [1073741824, 2097152, 4096];

import { E_P, E_RW, E_A, E_D, E_PS, E_G, E_PAT_LARGE, EH_XD, EH_PKEY_SHIFT, EH_PKEY_MASK, KERNPG_TABLE, EH_ADDR, entryAddr } from './entry-bits.js';
export { E_P, E_RW, E_A, E_D, E_PS, E_G, E_PAT_LARGE, EH_XD, EH_PKEY_SHIFT, EH_PKEY_MASK, KERNPG_TABLE, EH_ADDR, entryAddr };

export interface DirectMapOptions {
  machine: Machine;
  /** The kernel PGD (swapper_pg_dir). */
  pgdPa: number;
  /** Installed bytes mapped. */
  size: number;
  writer: EntryWriter;
  tableSource: TableSource;
  /** The reserve, when the direct map's tables are protected (its pages are reported in stats). */
  reserve?: TableReserve | null;
  /** Leaf counts by page size as boot wrote them. */
  directPages: { '1G': number; '2M': number; '4K': number };
  /** tlb_single_page_flush_ceiling (default 33). */
  flushCeiling?: number;
}

/**
 * The entry a walk found (reused; read its fields before the next walk). `lo`/`hi` are the entry's 32-bit halves
 * as signed int32 (the bits; `>>> 0` gives the unsigned half): small integers that V8 never boxes on their way
 * through change_page_attr (a direct-map entry's high half has XD, bit 63, set).
 */
export class WalkOut {
  level: 1 | 2 | 3 = 1;
  entryPa = 0;
  lo = 0;
  hi = 0;
}

export class DirectMap implements DirectMapApi {
  readonly machine: Machine;
  readonly pgdPa: number;
  readonly size: number;
  readonly reserve: TableReserve | null;
  readonly stats: CpaStats;
  /** Large pages found already carrying the requested attributes, left whole (cpa_1g/2m_preserved). */
  readonly preserved = { '1G': 0, '2M': 0 };
  flushCeiling: number;
  writer: EntryWriter;
  tableSource: TableSource;
  /** NX is supported (EFER.NXE on at boot): set_memory_nx/x change XD; otherwise they change nothing. */
  readonly nx: boolean;
  private readonly w = new WalkOut();

  constructor(o: DirectMapOptions) {
    this.machine = o.machine;
    this.pgdPa = o.pgdPa;
    this.size = o.size;
    this.writer = o.writer;
    this.tableSource = o.tableSource;
    this.reserve = o.reserve ?? null;
    this.flushCeiling = o.flushCeiling ?? TLB_SINGLE_PAGE_FLUSH_CEILING;
    this.nx = o.machine.features.nx;
    // The reserve proper: the pool's pages boot's own tables did not take.
    const rp = this.reserve?.pagesFree ?? 0;
    this.stats = {
      splits: { '1G': 0, '2M': 0 },
      directPages: { ...o.directPages },
      flushes: { single: 0, full: 0 },
      ipis: 0,
      invlpg: 0,
      entriesChanged: 0,
      enomem: 0,
      reservePages: rp,
      reserveBytes: rp * 4096,
      reserveUsed: 0,
    };
  }

  setWriter(w: EntryWriter): void {
    if (w === null || typeof w !== 'object' || typeof w.write !== 'function') throw new TypeError('setWriter: writer must be an EntryWriter (begin, write, end)');
    this.writer = w;
  }

  setTableSource(s: TableSource): void {
    if (s === null || typeof s !== 'object' || typeof s.alloc !== 'function') throw new TypeError('setTableSource: source must be a TableSource (alloc, free)');
    this.tableSource = s;
  }

  // ---- set_memory_* (arch/x86/mm/pat/set_memory.c) -----------------------------------------------------------

  set_memory_ro(cpu: Cpu, addr: bigint | number, numpages: number, opts?: SetMemoryOptions): number {
    return this.change(cpu, addr, numpages, 0, 0, E_RW, 0, false, opts);
  }
  set_memory_rw(cpu: Cpu, addr: bigint | number, numpages: number, opts?: SetMemoryOptions): number {
    return this.change(cpu, addr, numpages, E_RW, 0, 0, 0, false, opts);
  }
  set_memory_nx(cpu: Cpu, addr: bigint | number, numpages: number, opts?: SetMemoryOptions): number {
    // Without NX the bit is not in __supported_pte_mask: nothing to change (setting it would be a reserved bit).
    return this.change(cpu, addr, numpages, 0, this.nx ? EH_XD : 0, 0, 0, false, opts);
  }
  set_memory_x(cpu: Cpu, addr: bigint | number, numpages: number, opts?: SetMemoryOptions): number {
    return this.change(cpu, addr, numpages, 0, 0, 0, this.nx ? EH_XD : 0, false, opts);
  }
  set_memory_np(cpu: Cpu, addr: bigint | number, numpages: number, opts?: SetMemoryOptions): number {
    return this.change(cpu, addr, numpages, 0, 0, E_P, 0, false, opts);
  }
  set_memory_p(cpu: Cpu, addr: bigint | number, numpages: number, opts?: SetMemoryOptions): number {
    return this.change(cpu, addr, numpages, E_P, 0, 0, 0, false, opts);
  }
  /** Split every large page covering the range down to 4 KiB, changing no attribute (force_split). */
  set_memory_4k(cpu: Cpu, addr: bigint | number, numpages: number, opts?: SetMemoryOptions): number {
    return this.change(cpu, addr, numpages, 0, 0, 0, 0, true, opts);
  }
  /** Set the protection key of the range (the RFC's set_memory_pks). */
  set_memory_pks(cpu: Cpu, addr: bigint | number, numpages: number, key: number, opts?: SetMemoryOptions): number {
    if (!Number.isInteger(key) || key < 0 || key > 15) throw new RangeError(`key must be an integer 0..15, got ${String(key)}`);
    return this.change(cpu, addr, numpages, 0, (key << EH_PKEY_SHIFT) >>> 0, 0, EH_PKEY_MASK, false, opts);
  }

  /** flush_tlb_kernel_range on every CPU, counted in this direct map's stats. */
  flush_tlb_kernel_range(cpu: Cpu, start: bigint | number, end: bigint | number): void {
    flushRange(this.machine, cpu, start, end, this.stats, this.flushCeiling);
  }

  private readonly masks: CpaMasks = { ...CPA_NO_MASK };

  private change(cpu: Cpu, addr: bigint | number, numpages: number, setLo: number, setHi: number, clrLo: number, clrHi: number, force: boolean, opts?: SetMemoryOptions): number {
    this.checkCpu(cpu);
    const pa = this.physOf(addr, numpages);
    const m = this.masks;
    m.setLo = setLo;
    m.setHi = setHi;
    m.clrLo = clrLo;
    m.clrHi = clrHi;
    m.forceSplit = force;
    const ret = change_page_attr_set_clr(this, cpu, pa, numpages, m, opts?.flush ?? true);
    if (ret < 0) this.stats.enomem++;
    return ret;
  }

  /** The physical address a set_memory_* address names: a bigint is a direct-map va, a number a physical
   * address (a kernel va does not fit in a number). Checks alignment and that the range lies in the map. */
  physOf(addr: bigint | number, numpages: number): number {
    if (!Number.isInteger(numpages) || numpages < 0) throw new RangeError(`numpages must be a non-negative integer, got ${String(numpages)}`);
    let pa: number;
    if (typeof addr === 'bigint') {
      const off = BigInt.asUintN(64, addr) - PAGE_OFFSET;
      if (off < 0n || off >= BigInt(this.size)) throw new RangeError(`addr 0x${BigInt.asUintN(64, addr).toString(16)} is not in the direct map [0x${PAGE_OFFSET.toString(16)}, +0x${this.size.toString(16)})`);
      pa = Number(off);
    } else if (typeof addr === 'number') {
      if (!Number.isInteger(addr) || addr < 0 || addr >= this.size) throw new RangeError(`addr ${String(addr)} is not a physical address of installed memory (size 0x${this.size.toString(16)})`);
      pa = addr;
    } else {
      throw new TypeError(`addr must be a bigint (direct-map va) or a number (physical address), got ${typeof addr}`);
    }
    if (pa % 4096 !== 0) throw new RangeError(`addr 0x${(PAGE_OFFSET + BigInt(pa)).toString(16)} is not page aligned`);
    if (pa + numpages * 4096 > this.size) throw new RangeError(`range of ${numpages} pages at physical 0x${pa.toString(16)} runs past installed memory (0x${this.size.toString(16)})`);
    return pa;
  }

  private checkCpu(cpu: Cpu): void {
    if (!this.machine.cpus.includes(cpu)) throw new RangeError(`cpu must be a CPU of this machine, got ${String((cpu as { index?: unknown } | null)?.index)}`);
  }

  // ---- walking -------------------------------------------------------------------------------------------

  /** Read the 8-byte entry at `pa` through the direct map as `cpu` (lookup_address); a refused read is an oops. */
  readEntry(cpu: Cpu, pa: number, out: WalkOut): void {
    cpu.xv = NO_EXCEPTION;
    out.lo = cpu.loadSigned(dmLoS(pa), dmHiS(pa), 8, ACC_READ);
    if (cpu.xv !== NO_EXCEPTION) throw cpu.takeException();
    out.hi = cpu.loadHi; // int32 after loadSigned
  }

  /**
   * lookup_address for the direct-map address of `pa`, made by `cpu`: the leaf entry (or a non-present entry,
   * which ends the walk as in Linux) in the reused WalkOut.
   */
  walk(cpu: Cpu, pa: number): WalkOut {
    const w = this.w;
    this.readEntry(cpu, this.pgdPa + 8 * (DIRECT_MAP_PGD_INDEX + Math.floor(pa / 2 ** 39)), w);
    let table = entryAddr(w.lo, w.hi, 4096);
    const shifts = WALK_SHIFTS;
    for (let i = 0; i < 3; i++) {
      const level = (3 - i) as 1 | 2 | 3;
      const entryPa = table + 8 * (Math.floor(pa / 2 ** shifts[i]) % 512);
      this.readEntry(cpu, entryPa, w);
      w.level = level;
      w.entryPa = entryPa;
      if (level === 1 || (w.lo & E_P) === 0 || (w.lo & E_PS) !== 0) return w;
      table = entryAddr(w.lo, w.hi, 4096);
    }
    return w;
  }

  /** Host-side walk (no CPU, no cost): which entry maps physical address `pa` now. */
  lookup(pa: number): DirectMapLookup | null {
    if (!Number.isInteger(pa) || pa < 0) throw new RangeError(`pa must be a non-negative integer, got ${String(pa)}`);
    if (pa >= this.size) return null;
    const mem = this.machine.memory;
    const pgde = this.pgdPa + 8 * (DIRECT_MAP_PGD_INDEX + Math.floor(pa / 2 ** 39));
    let table = entryAddr(mem.rd32(pgde), mem.rd32(pgde + 4), 4096);
    const sizes = LEAF_SIZES;
    for (let i = 0; i < 3; i++) {
      const level = (3 - i) as 1 | 2 | 3;
      const entryPa = table + 8 * (Math.floor(pa / sizes[i]) % 512);
      const lo = mem.rd32(entryPa);
      const hi = mem.rd32(entryPa + 4);
      if (level === 1 || (lo & E_P) === 0 || (lo & E_PS) !== 0) {
        return {
          level,
          entryPa,
          tablePa: table,
          pageSize: sizes[i],
          lo,
          hi,
          present: (lo & E_P) !== 0,
          write: (lo & E_RW) !== 0,
          nx: (hi & EH_XD) !== 0,
          global: (lo & E_G) !== 0,
          pkey: (hi & EH_PKEY_MASK) >>> EH_PKEY_SHIFT,
        };
      }
      table = entryAddr(lo, hi, 4096);
    }
    return null;
  }

  /** Every page-table page mapping the direct map: PUD pages, then the PMD and PTE pages under each, in
   * address order (the PGD, shared with the rest of the kernel half, is `pgdPa`). */
  tables(): number[] {
    // Only a split changes the set (Linux never frees direct-map tables): recompute after one, else copy.
    const n = this.stats.splits['1G'] + this.stats.splits['2M'];
    if (this.tablesCache === null || this.tablesAt !== n) {
      this.tablesCache = this.scanTables();
      this.tablesAt = n;
    }
    return this.tablesCache.slice();
  }
  private tablesCache: number[] | null = null;
  private tablesAt = -1;

  private scanTables(): number[] {
    const mem = this.machine.memory;
    const out: number[] = [];
    const visit = (table: number, level: number): void => {
      out.push(table);
      if (level === 1) return;
      for (let i = 0; i < 512; i++) {
        const lo = mem.rd32(table + 8 * i);
        if ((lo & E_P) === 0 || (lo & E_PS) !== 0) continue;
        visit(entryAddr(lo, mem.rd32(table + 8 * i + 4), 4096), level - 1);
      }
    };
    const puds = Math.ceil(this.size / 2 ** 39);
    for (let i = 0; i < puds; i++) {
      const e = this.pgdPa + 8 * (DIRECT_MAP_PGD_INDEX + i);
      visit(entryAddr(mem.rd32(e), mem.rd32(e + 4), 4096), 3);
    }
    return out;
  }
}
