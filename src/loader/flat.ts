/**
 * Load raw machine code at an address and make a CPU ready to run it at CPL 0 in 64-bit mode with paging:
 * page tables (built with the core's PageTableBuilder) map the code, a stack and any extra ranges; the CPU
 * enters IA-32e mode through the architectural sequence (enterLongMode) and RIP/RSP point at the code and the
 * stack. No IDT is set up: a fault makes `run()` return it (the caller may build one).
 */

import type { Cpu } from '../cpu/cpu.js';
import { enterLongMode, type Machine } from '../cpu/machine.js';
import { PageTableBuilder } from '../mmu/builder.js';

const PAGE = 4096;

export interface FlatMapping {
  /** Linear address, 4 KiB aligned. */
  va: bigint | number;
  /** Physical address, 4 KiB aligned. */
  pa: bigint | number;
  /** Length in bytes (rounded up to pages). */
  bytes: number;
  write?: boolean;
  user?: boolean;
  exec?: boolean;
  pkey?: number;
}

export interface FlatOptions {
  /** Linear address of the first byte of code, 4 KiB aligned. */
  address: bigint | number;
  /** Physical address the code is copied to. Default: `address` (an identity mapping). */
  physAddr?: bigint | number;
  /** First instruction; default `address`. */
  entry?: bigint | number;
  /** CPU index; default 0. */
  cpu?: number;
  /** Stack bytes (a multiple of 4096), placed after the page-table pool; default 64 KiB. */
  stackBytes?: number;
  /** Page-table pages to reserve; default 64. */
  tablePages?: number;
  /** Extra ranges to map (device pages, data for the test...). */
  map?: FlatMapping[];
  /** Extra CR4 bits (PKS, PKE, SMEP, SMAP, PGE...). */
  cr4?: bigint | number;
  /** CR0.WP; default true. */
  wp?: boolean;
}

export interface FlatLoad {
  cpu: Cpu;
  /** The page tables: add mappings or change entries before running. */
  tables: PageTableBuilder;
  entry: bigint;
  /** Linear address one past the top of the stack (RSP starts here). */
  stackTop: bigint;
  /** Physical layout: code, page-table pool, stack, each [start, end). */
  layout: { code: [bigint, bigint]; tables: [bigint, bigint]; stack: [bigint, bigint] };
}

function u64Arg(v: unknown, what: string): bigint {
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${what} must be a non-negative safe integer, got ${v}`);
    return BigInt(v);
  }
  if (typeof v === 'bigint') {
    if (v < 0n || v >= 1n << 64n) throw new RangeError(`${what} must be in [0, 2^64), got ${v}`);
    return v;
  }
  throw new TypeError(`${what} must be a bigint or number, got ${v === null ? 'null' : typeof v}`);
}
function pagesArg(v: unknown, dflt: number, what: string): number {
  if (v === undefined) return dflt;
  if (typeof v !== 'number') throw new TypeError(`${what} must be a number, got ${typeof v}`);
  if (!Number.isInteger(v) || v < 1 || v > 1 << 20) throw new RangeError(`${what} must be an integer 1..${1 << 20}, got ${v}`);
  return v;
}
function pageUp(n: bigint): bigint {
  return (n + 4095n) & ~4095n;
}

/** Copy `bytes` into memory, build page tables and put a CPU at CPL 0 in long mode, ready to run them. */
export function loadFlat(machine: Machine, bytes: Uint8Array, opts: FlatOptions): FlatLoad {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`bytes must be a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  if (bytes.length === 0) throw new RangeError('bytes must not be empty');
  if (opts === null || typeof opts !== 'object') throw new TypeError('opts must be an object with at least { address }');
  const va = u64Arg(opts.address, 'address');
  const pa = opts.physAddr === undefined ? va : u64Arg(opts.physAddr, 'physAddr');
  if (va % 4096n !== 0n) throw new RangeError(`address 0x${va.toString(16)} must be 4 KiB aligned`);
  if (pa % 4096n !== 0n) throw new RangeError(`physAddr 0x${pa.toString(16)} must be 4 KiB aligned`);
  const cpuIndex = opts.cpu ?? 0;
  const cpu = machine.cpus[cpuIndex];
  if (cpu === undefined) throw new RangeError(`cpu ${String(cpuIndex)} does not exist (the machine has ${machine.cpus.length})`);
  const entry = opts.entry === undefined ? va : u64Arg(opts.entry, 'entry');
  const codeEnd = pa + pageUp(BigInt(bytes.length));
  if (entry < va || entry >= va + BigInt(bytes.length)) throw new RangeError(`entry 0x${entry.toString(16)} is outside the code [0x${va.toString(16)}, 0x${(va + BigInt(bytes.length)).toString(16)})`);
  const tablePages = pagesArg(opts.tablePages, 64, 'tablePages');
  const stackBytes = opts.stackBytes ?? 65536;
  if (typeof stackBytes !== 'number' || !Number.isInteger(stackBytes) || stackBytes < PAGE || stackBytes % PAGE !== 0 || stackBytes > 1 << 30) throw new RangeError(`stackBytes must be a multiple of 4096 in [4096, 2^30], got ${String(stackBytes)}`);
  const tables: [bigint, bigint] = [codeEnd, codeEnd + BigInt(tablePages * PAGE)];
  const stack: [bigint, bigint] = [tables[1], tables[1] + BigInt(stackBytes)];
  if (stack[1] > BigInt(machine.memory.size)) throw new RangeError(`code, ${tablePages} table pages and a ${stackBytes}-byte stack from physical 0x${pa.toString(16)} need memory up to 0x${stack[1].toString(16)}, but the machine has 0x${machine.memory.size.toString(16)}`);
  // The stack sits at the same linear-to-physical offset as the code (identity when the code is).
  const offset = va - pa;
  const stackVa = stack[0] + offset;
  if (stack[1] + offset > 1n << 64n) throw new RangeError('the stack would wrap past the top of the address space');

  machine.load(pa, bytes);
  const pt = new PageTableBuilder(machine.memory, { start: tables[0], end: tables[1] });
  pt.mapRange(va, pa, bytes.length, { write: true });
  pt.mapRange(stackVa, stack[0], stackBytes, { write: true, xd: true });
  for (const [i, m] of (opts.map ?? []).entries()) {
    const mva = u64Arg(m.va, `map[${i}].va`);
    const mpa = u64Arg(m.pa, `map[${i}].pa`);
    if (typeof m.bytes !== 'number' || !Number.isInteger(m.bytes) || m.bytes <= 0 || m.bytes > 2 ** 40) throw new RangeError(`map[${i}].bytes must be a positive integer, got ${String(m.bytes)}`);
    if (mva % 4096n !== 0n || mpa % 4096n !== 0n) throw new RangeError(`map[${i}]: va and pa must be 4 KiB aligned`);
    pt.mapRange(mva, mpa, m.bytes, { write: m.write ?? false, user: m.user ?? false, xd: !(m.exec ?? false), pkey: m.pkey ?? 0 });
  }
  enterLongMode(cpu, { cr3: pt.root, cr4: opts.cr4 ?? 0n, wp: opts.wp ?? true, cpl: 0 });
  cpu.rip = entry;
  const stackTop = BigInt.asUintN(64, stackVa + BigInt(stackBytes));
  cpu.setReg('rsp', stackTop);
  return { cpu, tables: pt, entry, stackTop, layout: { code: [pa, codeEnd], tables, stack } };
}
