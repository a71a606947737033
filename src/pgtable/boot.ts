/**
 * Kernel boot for the kernel model: the physical page allocator, the kernel page tables (swapper_pg_dir with the
 * direct map of all installed memory at PAGE_OFFSET and the kernel text at __START_KERNEL_map + 16 MiB), and the
 * per-CPU control state (CR4 features, EFER, PKRS, CR3) on every CPU.
 *
 * Early boot writes the tables straight into physical memory, as Linux's init_memory_mapping does before the
 * protections exist; every write after boot goes through the emulated CPU (src/cpa). A 1 TiB machine with a
 * 1 GiB direct map costs host memory only for the handful of tables written: the allocator keeps no per-page
 * state and untouched frames are never allocated.
 */

import type { Machine } from '../cpu/machine.js';
import { enterLongMode } from '../cpu/machine.js';
import { CR4_PCIDE, CR4_PGE, CR4_PKE, CR4_PKS, CR4_SMAP, CR4_SMEP } from '../cpu/regs.js';
import { pkr, type KeyRights } from '../pks/keys.js';
import { DirectMap } from '../cpa/direct-map.js';
import { rfcReservePages, TableReserve, type PhysRange } from '../cpa/reserve.js';
import { DIRECT_MAP_MAX, NO_PAGE, type BootOptions, type DirectMapSize, type EntryWriter, type TableProtection, type TableSource } from '../cpa/types.js';
import { pksWriter, plainWriter, wpWriter } from '../cpa/writer.js';
import { BuddyAllocator, MAX_ORDER, NodeAllocator } from './buddy.js';
import { writeKernelTables, type TableAlloc } from './boot-tables.js';

/** Physical load address of the kernel (CONFIG_PHYSICAL_START, 16 MiB). */
export const TEXT_PA = 0x1000000;
/** Its virtual address: __START_KERNEL_map (0xffffffff80000000) + TEXT_PA. */
export const TEXT_VA = 0xffffffff81000000n;
const MAX_TEXT_PAGES = 512 * 64;

/** What boot leaves: the kernel's memory and page-table state, for the kernel model above it. */
export interface KernelBase {
  readonly machine: Machine;
  /** Physical pages (per NUMA node). */
  readonly buddy: NodeAllocator;
  readonly directMap: DirectMap;
  /** The kernel PGD (swapper_pg_dir): entries 256..511 are the kernel half every address space shares. */
  readonly pgdPa: number;
  readonly textVa: bigint;
  readonly textPa: number;
  readonly textPages: number;
  /** The reserve of direct-map tables (null when there is none). */
  readonly reserve: TableReserve | null;
  /** Physical memory below which nothing is allocatable (firmware, kernel image). */
  readonly reservedEnd: number;
  /** Every table boot wrote, the PGD first. */
  readonly bootTables: readonly number[];
  /** PKRS loaded on every CPU (0 when the CPU has no PKS). */
  readonly initialPkrs: number;
  /** Options as resolved. */
  readonly options: Readonly<Required<BootOptions>>;
  /** NUMA node of a CPU (CPUs split evenly over the nodes). */
  nodeOfCpu(cpuIndex: number): number;
}

const KNOWN = new Set(['directMap', 'protect', 'ptKey', 'nodes', 'reserve', 'textPages']);

function resolveOptions(machine: Machine, o: BootOptions): Required<BootOptions> {
  if (o === null || typeof o !== 'object') throw new TypeError(`boot options must be an object, got ${String(o)}`);
  for (const k of Object.keys(o)) if (!KNOWN.has(k)) throw new RangeError(`unknown boot option '${k}'; known: ${[...KNOWN].join(', ')}`);
  const f = machine.features;
  const directMap: DirectMapSize = o.directMap ?? (f.gbpages ? '1G' : '2M');
  if (directMap !== '1G' && directMap !== '2M' && directMap !== '4K') throw new RangeError(`directMap must be '1G', '2M' or '4K', got ${String(directMap)}`);
  if (directMap === '1G' && !f.gbpages) throw new RangeError("directMap '1G' needs 1 GiB pages (features.gbpages)");
  const protect: TableProtection = o.protect ?? 'none';
  if (protect !== 'none' && protect !== 'pkey' && protect !== 'readonly') throw new RangeError(`protect must be 'none', 'pkey' or 'readonly', got ${String(protect)}`);
  if (protect === 'pkey' && !f.pks) throw new RangeError("protect 'pkey' needs PKS (features.pks)");
  const ptKey = o.ptKey ?? 1;
  if (!Number.isInteger(ptKey) || ptKey < 1 || ptKey > 15) throw new RangeError(`ptKey must be an integer 1..15, got ${String(ptKey)}`);
  const nodes = o.nodes ?? 1;
  if (!Number.isInteger(nodes) || nodes < 1 || nodes > 64) throw new RangeError(`nodes must be an integer 1..64, got ${String(nodes)}`);
  const size = machine.memory.size;
  const reserve = o.reserve ?? (protect === 'none' ? 0 : rfcReservePages(size));
  if (!Number.isInteger(reserve) || reserve < 0) throw new RangeError(`reserve must be a non-negative integer (pages), got ${String(reserve)}`);
  const textPages = o.textPages ?? 512;
  if (!Number.isInteger(textPages) || textPages < 1 || textPages > MAX_TEXT_PAGES) throw new RangeError(`textPages must be an integer 1..${MAX_TEXT_PAGES}, got ${String(textPages)}`);
  return { directMap, protect, ptKey, nodes, reserve, textPages };
}

/** Take `pages` pages from the allocator as large blocks (largest orders first, node 0 preferred), merged into
 * sorted physical ranges. Null when memory runs out. */
function allocRanges(buddy: NodeAllocator, pages: number): PhysRange[] | null {
  const got: PhysRange[] = [];
  let left = pages;
  for (let order = MAX_ORDER; order >= 0 && left > 0; order--) {
    while (left >= 1 << order) {
      const pa = buddy.alloc(order, 0);
      if (pa === NO_PAGE) break;
      got.push({ start: pa, end: pa + (4096 << order) });
      left -= 1 << order;
    }
  }
  if (left > 0) return null;
  got.sort((a, b) => a.start - b.start);
  const merged: PhysRange[] = [];
  for (const r of got) {
    const last = merged[merged.length - 1];
    if (last && last.end === r.start) last.end = r.end;
    else merged.push({ ...r });
  }
  return merged;
}

/** Tables boot writes for a layout, with room for the protected ranges' edges (each edge may need one PMD and
 * one PTE page inside a large page). */
function bootTableBound(size: number, mode: DirectMapSize, textPages: number, edges: number): number {
  let n = 1 + 2 + Math.ceil(textPages / 512); // PGD; text PUD, PMD, PTE pages
  n += Math.ceil(size / 2 ** 39) + 2; // direct-map PUD pages; tail of memory not 1G / 2M aligned
  if (mode !== '1G') n += Math.ceil(size / 2 ** 30);
  if (mode === '4K') n += Math.ceil(size / 2 ** 21);
  return n + 2 * edges;
}

/**
 * Boot the kernel model's base on `machine`: see the file comment. Throws RangeError for bad options or a machine
 * too small for the kernel image and the reserve; the CPUs must be fresh (paging off).
 */
export function bootKernel(machine: Machine, opts: BootOptions = {}): KernelBase {
  const o = resolveOptions(machine, opts);
  const size = machine.memory.size;
  if (size > DIRECT_MAP_MAX) throw new RangeError(`installed memory 0x${size.toString(16)} exceeds the 64 TiB direct map of 4-level paging`);
  for (const c of machine.cpus) if ((c.cr0 & (1n << 31n)) !== 0n) throw new RangeError(`CPU ${c.index} already has paging enabled: boot needs fresh CPUs`);
  const reservedEnd = TEXT_PA + Math.ceil((o.textPages * 4096) / 2 ** 21) * 2 ** 21;
  if (size < reservedEnd + 4 * 2 ** 20) throw new RangeError(`memory 0x${size.toString(16)} is too small: the kernel image ends at 0x${reservedEnd.toString(16)}, boot needs 4 MiB more`);

  // Physical pages: one buddy allocator per node, memory split evenly; the firmware area and kernel image excluded.
  const per = Math.floor(size / o.nodes / 4096) * 4096;
  const nodes: BuddyAllocator[] = [];
  for (let i = 0; i < o.nodes; i++) {
    const end = i === o.nodes - 1 ? size : (i + 1) * per;
    const start = Math.max(i * per, reservedEnd);
    if (start >= end) throw new RangeError(`node ${i} [0x${(i * per).toString(16)}, 0x${end.toString(16)}) lies inside the kernel image: use fewer nodes`);
    nodes.push(new BuddyAllocator(start, end));
  }
  const buddy = new NodeAllocator(nodes);

  // The protected pool: boot's own tables and the reserve for later splits, protected as one set of ranges.
  const protectTables = o.protect !== 'none';
  let reserve: TableReserve | null = null;
  if (protectTables || o.reserve > 0) {
    const bound = bootTableBound(size, o.directMap, o.textPages, 2 * (MAX_ORDER + 2) * o.nodes);
    const ranges = allocRanges(buddy, (protectTables ? bound : 0) + o.reserve);
    if (ranges === null) throw new RangeError(`memory 0x${size.toString(16)} is too small for a reserve of ${o.reserve} table pages`);
    reserve = new TableReserve(ranges);
  }
  const tableAlloc: TableAlloc = () => {
    const pa = protectTables && reserve ? reserve.alloc() : buddy.alloc(0, 0);
    if (pa === NO_PAGE) throw new RangeError('out of memory while writing the boot page tables');
    machine.memory.fill(pa, 4096, 0);
    return pa;
  };
  const written = writeKernelTables(machine, {
    mode: o.directMap,
    protect: o.protect,
    ptKey: o.ptKey,
    protectedRanges: protectTables && reserve ? reserve.ranges : [],
    textVa: TEXT_VA,
    textPa: TEXT_PA,
    textPages: o.textPages,
    alloc: tableAlloc,
  });

  // Per-CPU state: long mode with CR3 = swapper_pg_dir and the CR4 features the machine has; the initial PKRS.
  const f = machine.features;
  const cr4 = (f.pge ? CR4_PGE : 0) | (f.smep ? CR4_SMEP : 0) | (f.smap ? CR4_SMAP : 0) | (f.pcid ? CR4_PCIDE : 0) | (f.pks ? CR4_PKS : 0) | (f.pku ? CR4_PKE : 0);
  const rights: Record<number, KeyRights> = {};
  for (let k = 1; k < 16; k++) rights[k] = k === o.ptKey ? 'wd' : 'ad';
  const initialPkrs = f.pks ? pkr(rights) : 0;
  for (const cpu of machine.cpus) {
    enterLongMode(cpu, { cr3: written.pgdPa, cr4: cr4 >>> 0, wp: true, cpl: 0 });
    if (f.pks && !cpu.writePkrs(initialPkrs)) throw cpu.takeException();
  }

  const writer: EntryWriter = o.protect === 'pkey' ? pksWriter(o.ptKey) : o.protect === 'readonly' ? wpWriter : plainWriter;
  const cpusPerNode = Math.ceil(machine.cpus.length / o.nodes);
  const nodeOfCpu = (i: number): number => Math.min(o.nodes - 1, Math.floor(i / cpusPerNode));
  const source: TableSource =
    reserve ?? {
      alloc: (cpu) => buddy.alloc(0, nodeOfCpu(cpu.index)),
      free: (_cpu, pa) => buddy.free(pa, 0),
    };
  const directMap = new DirectMap({ machine, pgdPa: written.pgdPa, size, writer, tableSource: source, reserve, directPages: written.directPages });
  return {
    machine,
    buddy,
    directMap,
    pgdPa: written.pgdPa,
    textVa: TEXT_VA,
    textPa: TEXT_PA,
    textPages: o.textPages,
    reserve,
    reservedEnd,
    bootTables: Object.freeze(written.tables),
    initialPkrs,
    options: Object.freeze(o),
    nodeOfCpu,
  };
}
