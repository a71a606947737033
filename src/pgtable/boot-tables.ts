/**
 * The early-boot writer of the kernel page tables (init_memory_mapping / kernel_physical_mapping_init): the direct
 * map of [0, size) at PAGE_OFFSET with the largest page size allowed that is aligned, lies in memory and has one
 * protection over its whole extent (split_mem_range), and the kernel text. Writes go straight to physical memory:
 * nothing is protected yet and no CPU has paging on.
 *
 * Direct-map leaves are __PAGE_KERNEL: present, writable, accessed, dirty, global, NX (when the CPU has NX).
 * Pages of the protected ranges (the table pool) get the page-table key ('pkey') or lose R/W ('readonly').
 * Kernel text is __PAGE_KERNEL_ROX (present, accessed, global; read-only, executable), 4 KiB pages.
 */

import type { Machine } from '../cpu/machine.js';
import { DIRECT_MAP_PGD_INDEX, E_A, E_D, E_G, E_P, E_PS, E_RW, EH_PKEY_SHIFT, EH_XD, KERNPG_TABLE } from '../cpa/direct-map.js';
import type { PhysRange } from '../cpa/reserve.js';
import type { DirectMapSize, TableProtection } from '../cpa/types.js';

const TWO32 = 2 ** 32;
const GIB = 2 ** 30;
const MIB2 = 2 ** 21;

/** Allocate a zeroed table page (boot's allocator; throws when memory runs out). */
export type TableAlloc = () => number;

export interface KernelTablesSpec {
  mode: DirectMapSize;
  protect: TableProtection;
  ptKey: number;
  /** Sorted, disjoint physical ranges whose direct-map pages are protected. */
  protectedRanges: readonly PhysRange[];
  textVa: bigint;
  textPa: number;
  textPages: number;
  alloc: TableAlloc;
}

export interface KernelTables {
  pgdPa: number;
  /** Every table written, the PGD first. */
  tables: number[];
  /** Direct-map leaves by page size. */
  directPages: { '1G': number; '2M': number; '4K': number };
}

export function writeKernelTables(machine: Machine, spec: KernelTablesSpec): KernelTables {
  const mem = machine.memory;
  const size = mem.size;
  const nx = machine.features.nx;
  const tables: number[] = [];
  const directPages = { '1G': 0, '2M': 0, '4K': 0 };
  const ranges = spec.protectedRanges;

  const newTable = (): number => {
    const pa = spec.alloc();
    tables.push(pa);
    return pa;
  };
  const frame = (pa: number): DataView => {
    const f = mem.writeFrame(pa / 4096);
    if (f === null) throw new RangeError(`boot table 0x${pa.toString(16)} lies outside installed memory`);
    return f;
  };
  const put = (dv: DataView, index: number, lo: number, hi: number): void => {
    dv.setUint32(8 * index, lo >>> 0, true);
    dv.setUint32(8 * index + 4, hi >>> 0, true);
  };
  const pointer = (dv: DataView, index: number, table: number): void => put(dv, index, (table % TWO32) | KERNPG_TABLE, Math.floor(table / TWO32));

  /** 0: no page of [a, b) is protected; 1: all are; 2: mixed. */
  const classify = (a: number, b: number): 0 | 1 | 2 => {
    for (const r of ranges) {
      if (r.end <= a || r.start >= b) continue;
      return r.start <= a && r.end >= b ? 1 : 2;
    }
    return 0;
  };
  // Leaf attribute halves for a page of size `bytes` at `a`, by protection.
  const baseLo = E_P | E_RW | E_A | E_D | E_G;
  const baseHi = nx ? EH_XD : 0;
  const leaf = (dv: DataView, index: number, a: number, prot: boolean, large: boolean): void => {
    let lo = baseLo | (large ? E_PS : 0);
    let hi = baseHi;
    if (prot && spec.protect === 'readonly') lo &= ~E_RW;
    if (prot && spec.protect === 'pkey') hi |= spec.ptKey << EH_PKEY_SHIFT;
    put(dv, index, (a % TWO32) | lo, Math.floor(a / TWO32) | hi);
  };

  const pgd = newTable();
  // ---- direct map --------------------------------------------------------------------------------------------
  const pudCount = Math.ceil(size / 2 ** 39);
  for (let g = 0; g < pudCount; g++) {
    const pud = newTable();
    pointer(frame(pgd), DIRECT_MAP_PGD_INDEX + g, pud);
    for (let i = 0; i < 512; i++) {
      const a = g * 2 ** 39 + i * GIB;
      if (a >= size) break;
      const c = classify(a, a + GIB);
      if (spec.mode === '1G' && a + GIB <= size && c !== 2) {
        leaf(frame(pud), i, a, c === 1, true);
        directPages['1G']++;
        continue;
      }
      const pmd = newTable();
      pointer(frame(pud), i, pmd);
      for (let j = 0; j < 512; j++) {
        const b = a + j * MIB2;
        if (b >= size) break;
        const c2 = classify(b, b + MIB2);
        if (spec.mode !== '4K' && b + MIB2 <= size && c2 !== 2) {
          leaf(frame(pmd), j, b, c2 === 1, true);
          directPages['2M']++;
          continue;
        }
        const pt = newTable();
        pointer(frame(pmd), j, pt);
        const dv = frame(pt);
        const n = Math.min(512, (size - b) / 4096);
        if (c2 === 2) {
          for (let k = 0; k < n; k++) leaf(dv, k, b + k * 4096, classify(b + k * 4096, b + (k + 1) * 4096) === 1, false);
        } else {
          // One protection over the 2 MiB: the high half is the same for all 512 entries (no 4 GiB crossing).
          let lo = baseLo;
          let hi = (baseHi | Math.floor(b / TWO32)) >>> 0;
          if (c2 === 1 && spec.protect === 'readonly') lo &= ~E_RW;
          if (c2 === 1 && spec.protect === 'pkey') hi = (hi | (spec.ptKey << EH_PKEY_SHIFT)) >>> 0;
          const low = b % TWO32;
          for (let k = 0; k < n; k++) {
            dv.setUint32(8 * k, (low + k * 4096) | lo, true);
            dv.setUint32(8 * k + 4, hi, true);
          }
        }
        directPages['4K'] += n;
      }
    }
  }

  // ---- kernel text: PGD 511 -> PUD -> PMD -> PTE pages --------------------------------------------------------
  const tv = spec.textVa;
  const idx = (shift: bigint): number => Number((tv >> shift) & 0x1ffn);
  const pud = newTable();
  pointer(frame(pgd), idx(39n), pud);
  const pmd = newTable();
  pointer(frame(pud), idx(30n), pmd);
  const pmdFirst = idx(21n);
  const textLo = E_P | E_A | E_G;
  for (let t = 0; t < Math.ceil(spec.textPages / 512); t++) {
    const pt = newTable();
    pointer(frame(pmd), pmdFirst + t, pt);
    const dv = frame(pt);
    for (let k = 0; k < 512 && t * 512 + k < spec.textPages; k++) {
      const p = spec.textPa + (t * 512 + k) * 4096;
      put(dv, k, (p % TWO32) | textLo, Math.floor(p / TWO32));
    }
  }
  return { pgdPa: pgd, tables, directPages };
}
