/** Types and argument checks of the address-space API (mm.ts). */

import type { Cpu } from '../cpu/cpu.js';
import type { PksTask } from '../pks/api.js';
import type { AddressSpace } from './mm.js';
import type { PolicyWriter } from './policies.js';
import type { TlbState } from './tlb.js';

/** Rights of a mapping. Defaults: read-only, no-execute, user. */
export interface Prot {
  write?: boolean;
  exec?: boolean;
  user?: boolean;
}

/** What the model intends a page to map to. `write` is what the PTE allows now (false while copy-on-write). */
export interface Intent {
  pa: bigint;
  write: boolean;
  user: boolean;
  exec: boolean;
  /** Shared after fork: the first write copies it. */
  cow: boolean;
}

/** Options of the mm calls: the CPU making the call (default: one running this mm, else CPU 0). */
export interface MmCallOptions {
  cpu?: Cpu;
}

export interface PageRec {
  pa: number;
  write: boolean;
  user: boolean;
  exec: boolean;
  cow: boolean;
}

/** What an address space needs from the kernel. */
export interface MmHost {
  readonly writer: PolicyWriter;
  readonly tlb: TlbState;
  readonly kernelPgd: number;
  /** EFER.NXE is on: non-executable pages get NX. */
  readonly nx: boolean;
  /** A zeroed page-table page from the grouped cache, or -1. */
  allocTable(cpu: Cpu): number;
  freeTable(cpu: Cpu, pa: number): void;
  /** A data page (refcount 1), or -1. */
  allocPage(): number;
  /** clear_page of a data page fresh from the buddy allocator: plain kernel stores through the direct map. */
  clearPage(cpu: Cpu, pa: number): void;
  getPage(pa: number): void;
  putPage(pa: number): void;
  refcount(pa: number): number;
  defaultCpu(mm: AddressSpace): Cpu;
  newAddressSpace(): AddressSpace;
  switchTask(cpu: Cpu, task: PksTask): void;
  /** A new thread (PKRS = PKS_INIT_VALUE). */
  createTask(name: string): PksTask;
  forget(mm: AddressSpace): void;
}

export const USER_TOP = 2 ** 47;
const CANON_KERNEL = 0xffff800000000000n;
export const GB = 2 ** 30;
export const MB2 = 2 ** 21;

export function toVa(va: bigint | number, what: string): number {
  let v: number;
  if (typeof va === 'bigint') {
    const u = BigInt.asUintN(64, va);
    if (u >= CANON_KERNEL) throw new RangeError(`${what}: 0x${u.toString(16)} is a kernel address; an address space maps the user half (below 0x800000000000)`);
    if (u >= BigInt(USER_TOP)) throw new RangeError(`${what}: 0x${u.toString(16)} is non-canonical`);
    v = Number(u);
  } else if (typeof va === 'number') {
    if (!Number.isSafeInteger(va) || va < 0) throw new RangeError(`${what}: va must be a non-negative integer, got ${va}`);
    if (va >= USER_TOP) throw new RangeError(`${what}: 0x${va.toString(16)} is non-canonical or not in the user half`);
    v = va;
  } else {
    throw new TypeError(`${what}: va must be a bigint or number, got ${typeof va}`);
  }
  return v;
}

export function checkRange(va: bigint | number, pages: number, what: string): number {
  const v = toVa(va, what);
  if (v % 4096 !== 0) throw new RangeError(`${what}: va 0x${v.toString(16)} is not 4 KiB aligned`);
  if (!Number.isInteger(pages) || pages < 1) throw new RangeError(`${what}: pages must be a positive integer, got ${String(pages)}`);
  if (v + pages * 4096 > USER_TOP) throw new RangeError(`${what}: 0x${v.toString(16)} + ${pages} pages runs past the user half`);
  return v;
}

export function checkProt(prot: Prot, what: string): void {
  if (prot === null || typeof prot !== 'object') throw new TypeError(`${what}: prot must be an object like { write, exec, user }, got ${String(prot)}`);
  for (const k of Object.keys(prot)) if (k !== 'write' && k !== 'exec' && k !== 'user') throw new RangeError(`${what}: unknown prot field '${k}' (write, exec, user)`);
}
