/**
 * Build 4-level or 5-level page tables in physical memory: for tests, examples and guests that need an
 * address space without writing entries by hand. Tables come from a bump allocator over a physical range
 * the caller gives. Each `map` call sets the flags of the leaf and, unless told otherwise, makes the
 * non-leaf entries fully permissive (RW = 1, U/S = 1, XD = 0) so that the leaf decides.
 */

import { makeEntry, tableIndex, type EntryFields, type PageLevel } from './entry.js';
import type { PhysicalMemory } from './physical-memory.js';
import { hex, intIn, linearAddress, oneOf, optBool, options, show, u64, uint } from '../util/validate.js';

/** Entry flag names `map` accepts (besides `tables` and `overrideTables`). */
const ENTRY_FLAGS = ['present', 'write', 'user', 'pwt', 'pcd', 'accessed', 'dirty', 'global', 'pat', 'xd', 'pkey'] as const;

/** Check entry flags: known names, booleans, pkey 0..15. */
function checkEntryFlags(f: unknown, what: string, known: readonly string[]): Record<string, unknown> {
  const o = options(f, what, known);
  for (const k of ENTRY_FLAGS) {
    if (k === 'pkey') {
      if (o.pkey !== undefined) intIn(o.pkey, `${what} pkey`, 0, 15);
    } else optBool(o[k], `${what} ${k}`);
  }
  return o;
}

/** A physical address an entry can hold: below 2^52 (SDM 4.5: bits 51:12). */
function entryAddr(v: unknown, what: string): bigint {
  const a = uint(v, what, 64);
  if (typeof v === 'bigint' ? v < 0n : (v as number) < 0) throw new RangeError(`${what} must not be negative, got ${show(v)}`);
  if (a >= 1n << 52n) throw new RangeError(`${what} ${hex(a)} does not fit the 52-bit address field of an entry`);
  return a;
}

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
    const p = options(pool, 'PageTableBuilder pool', ['start', 'end'], true);
    this.next = entryAddr(p.start, 'pool start');
    this.end = entryAddr(p.end, 'pool end');
    if ((this.next & 0xfffn) !== 0n || this.end <= this.next) throw new RangeError(`table pool [${hex(this.next)}, ${hex(this.end)}) must be a non-empty 4 KiB aligned range`);
    const o = options(opts, 'PageTableBuilder options', ['levels']);
    this.levels = o.levels === undefined ? 4 : oneOf(o.levels, 'PageTableBuilder option levels', [4, 5] as const);
    this.root = this.allocTable();
  }

  /** Take a zeroed 4 KiB page from the pool. */
  allocTable(): bigint {
    if (this.next + 4096n > this.end) throw new RangeError(`page-table pool exhausted at ${hex(this.next)}`);
    const pa = this.next;
    this.next += 4096n;
    this.mem.fill(pa, 4096, 0);
    this.tables.push(pa);
    return pa;
  }

  /** Physical address of the entry for va at `level`, creating tables above it as needed. */
  entryAddress(va: bigint, level: PageLevel, tableFlags: Omit<EntryFields, 'addr' | 'ps'> = {}, overrideTables = false): bigint {
    va = this.va(va, 'entryAddress va');
    this.level(level, 'entryAddress level');
    checkEntryFlags(tableFlags, 'table flags', ENTRY_FLAGS);
    optBool(overrideTables, 'overrideTables');
    let table = this.root;
    for (let l = this.levels as number; l > level; l--) {
      const ea = table + BigInt(tableIndex(va, l as PageLevel) * 8);
      const e = this.mem.read64(ea);
      let next: bigint;
      if ((e & 1n) === 0n) {
        next = this.allocTable();
        this.mem.write64(ea, makeEntry({ write: true, user: true, ...tableFlags, addr: next }, l as PageLevel));
      } else {
        if ((e & 0x80n) !== 0n) throw new RangeError(`va ${hex(va)} is already mapped by a large page at level ${l}`);
        next = e & 0x000ffffffffff000n;
        if (overrideTables) this.mem.write64(ea, makeEntry({ write: true, user: true, ...tableFlags, addr: next }, l as PageLevel));
      }
      table = next;
    }
    return table + BigInt(tableIndex(va, level) * 8);
  }

  /** Map one page of `size` at va to pa. Default flags: present, read-only, supervisor, executable. */
  map(va: bigint | number, pa: bigint | number, size: PageSize = 4096, flags: MapFlags = {}): bigint {
    const v = this.va(va, 'map va');
    const p = entryAddr(pa, 'map pa');
    oneOf(size, 'map size', [4096, 2097152, 1073741824] as const);
    const f = checkEntryFlags(flags, 'map flags', [...ENTRY_FLAGS, 'tables', 'overrideTables']);
    if (f.tables !== undefined) checkEntryFlags(f.tables, 'map flags.tables', ENTRY_FLAGS);
    optBool(f.overrideTables, 'map flags.overrideTables');
    const sz = BigInt(size);
    if ((v & (sz - 1n)) !== 0n || (p & (sz - 1n)) !== 0n) throw new RangeError(`map va ${hex(v)} and pa ${hex(p)} must be aligned to the page size ${size}`);
    const level: PageLevel = size === 4096 ? 1 : size === 2097152 ? 2 : 3;
    const { tables, overrideTables, ...leaf } = flags;
    const ea = this.entryAddress(v, level, tables, overrideTables);
    const e = makeEntry({ ...leaf, addr: p, ps: level !== 1 }, level);
    this.mem.write64(ea, e);
    return ea;
  }

  /** Map a range of 4 KiB pages. */
  mapRange(va: bigint | number, pa: bigint | number, bytes: number, flags: MapFlags = {}, size: PageSize = 4096): void {
    intIn(bytes, 'mapRange bytes', 0, Number.MAX_SAFE_INTEGER);
    oneOf(size, 'mapRange size', [4096, 2097152, 1073741824] as const);
    const n = Math.ceil(bytes / size);
    for (let i = 0; i < n; i++) this.map(BigInt(va) + BigInt(i * size), BigInt(pa) + BigInt(i * size), size, flags);
  }

  /** Overwrite the entry at `level` for va with a raw value (tables above are created as needed). */
  setEntry(va: bigint | number, level: PageLevel, value: bigint): bigint {
    const v = this.va(va, 'setEntry va');
    this.level(level, 'setEntry level');
    const raw = u64(value, 'setEntry value');
    const ea = this.entryAddress(v, level);
    this.mem.write64(ea, raw);
    return ea;
  }

  /** Read the entry at `level` for va (0n where a table above is missing). */
  getEntry(va: bigint | number, level: PageLevel): bigint {
    const v = this.va(va, 'getEntry va');
    this.level(level, 'getEntry level');
    let table = this.root;
    for (let l = this.levels as number; l > level; l--) {
      const e = this.mem.read64(table + BigInt(tableIndex(v, l as PageLevel) * 8));
      if ((e & 1n) === 0n || (e & 0x80n) !== 0n) return 0n;
      table = e & 0x000ffffffffff000n;
    }
    return this.mem.read64(table + BigInt(tableIndex(v, level) * 8));
  }

  /** A linear address these tables can map: canonical for 48-bit (4 levels) or 57-bit (5 levels) addresses. */
  private va(v: unknown, what: string): bigint {
    return linearAddress(v, what, this.levels === 5 ? 57 : 48);
  }

  /** A paging-structure level of these tables: 1 (PTE) .. 4 (PML4E), or 5 (PML5E) with 5-level tables. */
  private level(l: unknown, what: string): void {
    intIn(l, what, 1, this.levels);
  }
}
