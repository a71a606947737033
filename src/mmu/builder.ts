/**
 * Build 4-level or 5-level page tables in physical memory: for tests, examples and guests that need an
 * address space without writing entries by hand. Tables come from a bump allocator over a physical range
 * the caller gives. Each `map` call sets the flags of the leaf and, unless told otherwise, makes the
 * non-leaf entries fully permissive (RW = 1, U/S = 1, XD = 0) so that the leaf decides.
 */

import { makeEntry, tableIndex, type EntryFields, type PageLevel } from './entry.js';
import type { PhysicalMemory } from './physical-memory.js';

export type PageSize = 4096 | 2097152 | 1073741824;

export interface MapFlags extends Omit<EntryFields, 'addr' | 'ps'> {
  /** Flags for the non-leaf entries created or passed on the way (default RW | US, present). Existing
   * entries are updated only when `overrideTables` is set. */
  tables?: Omit<EntryFields, 'addr' | 'ps'>;
  overrideTables?: boolean;
}

export class PageTableBuilder {
  /** Physical address of the root table (PML4 or PML5): put it in CR3. */
  readonly root: bigint;
  readonly levels: 4 | 5;
  private next: bigint;
  private readonly end: bigint;
  /** Every table page allocated, root first. */
  readonly tables: bigint[] = [];

  /**
   * @param mem  the machine's memory
   * @param pool physical range [start, end) to take table pages from (4 KiB aligned)
   */
  constructor(
    private readonly mem: PhysicalMemory,
    pool: { start: bigint | number; end: bigint | number },
    opts: { levels?: 4 | 5 } = {},
  ) {
    this.next = BigInt(pool.start);
    this.end = BigInt(pool.end);
    if ((this.next & 0xfffn) !== 0n || this.next < 0n || this.end <= this.next) throw new RangeError(`table pool [0x${this.next.toString(16)}, 0x${this.end.toString(16)}) must be a non-empty 4 KiB aligned range`);
    this.levels = opts.levels ?? 4;
    if (this.levels !== 4 && this.levels !== 5) throw new RangeError(`levels must be 4 or 5, got ${String(opts.levels)}`);
    this.root = this.allocTable();
  }

  /** Take a zeroed 4 KiB page from the pool. */
  allocTable(): bigint {
    if (this.next + 4096n > this.end) throw new RangeError(`page-table pool exhausted at 0x${this.next.toString(16)}`);
    const pa = this.next;
    this.next += 4096n;
    this.mem.fill(pa, 4096, 0);
    this.tables.push(pa);
    return pa;
  }

  /** Physical address of the entry for va at `level`, creating tables above it as needed. */
  entryAddress(va: bigint, level: PageLevel, tableFlags: Omit<EntryFields, 'addr' | 'ps'> = {}, overrideTables = false): bigint {
    let table = this.root;
    for (let l = this.levels as number; l > level; l--) {
      const ea = table + BigInt(tableIndex(va, l as PageLevel) * 8);
      const e = this.mem.read64(ea);
      let next: bigint;
      if ((e & 1n) === 0n) {
        next = this.allocTable();
        this.mem.write64(ea, makeEntry({ write: true, user: true, ...tableFlags, addr: next }, l as PageLevel));
      } else {
        if ((e & 0x80n) !== 0n) throw new RangeError(`va 0x${va.toString(16)} is already mapped by a large page at level ${l}`);
        next = e & 0x000ffffffffff000n;
        if (overrideTables) this.mem.write64(ea, makeEntry({ write: true, user: true, ...tableFlags, addr: next }, l as PageLevel));
      }
      table = next;
    }
    return table + BigInt(tableIndex(va, level) * 8);
  }

  /** Map one page of `size` at va to pa. Default flags: present, read-only, supervisor, executable. */
  map(va: bigint | number, pa: bigint | number, size: PageSize = 4096, flags: MapFlags = {}): bigint {
    const v = BigInt.asUintN(64, BigInt(va));
    const p = BigInt(pa);
    const sz = BigInt(size);
    if (size !== 4096 && size !== 2097152 && size !== 1073741824) throw new RangeError(`page size must be 4096, 2097152 or 1073741824, got ${String(size)}`);
    if ((v & (sz - 1n)) !== 0n || (p & (sz - 1n)) !== 0n) throw new RangeError(`va 0x${v.toString(16)} and pa 0x${p.toString(16)} must be aligned to the page size ${size}`);
    const level: PageLevel = size === 4096 ? 1 : size === 2097152 ? 2 : 3;
    const { tables, overrideTables, ...leaf } = flags;
    const ea = this.entryAddress(v, level, tables, overrideTables);
    const e = makeEntry({ ...leaf, addr: p, ps: level !== 1 }, level);
    this.mem.write64(ea, e);
    return ea;
  }

  /** Map a range of 4 KiB pages. */
  mapRange(va: bigint | number, pa: bigint | number, bytes: number, flags: MapFlags = {}, size: PageSize = 4096): void {
    const n = Math.ceil(bytes / size);
    for (let i = 0; i < n; i++) this.map(BigInt(va) + BigInt(i * size), BigInt(pa) + BigInt(i * size), size, flags);
  }

  /** Overwrite the entry at `level` for va with a raw value (tables above are created as needed). */
  setEntry(va: bigint | number, level: PageLevel, value: bigint): bigint {
    const ea = this.entryAddress(BigInt.asUintN(64, BigInt(va)), level);
    this.mem.write64(ea, value);
    return ea;
  }

  /** Read the entry at `level` for va (0n where a table above is missing). */
  getEntry(va: bigint | number, level: PageLevel): bigint {
    const v = BigInt.asUintN(64, BigInt(va));
    let table = this.root;
    for (let l = this.levels as number; l > level; l--) {
      const e = this.mem.read64(table + BigInt(tableIndex(v, l as PageLevel) * 8));
      if ((e & 1n) === 0n || (e & 0x80n) !== 0n) return 0n;
      table = e & 0x000ffffffffff000n;
    }
    return this.mem.read64(table + BigInt(tableIndex(v, level) * 8));
  }
}
