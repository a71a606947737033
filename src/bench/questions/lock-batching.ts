/**
 * Question 2: per-write PKRS flips (`pks`, the RFC) against per-lock flips (`pks-lock`, Vlastimil Babka's
 * review question), with the other policies beside them: WRMSRs and cycles per operation for operations that
 * write few or many entries per page-table-lock hold. Operations, on a process loaded on every CPU of a
 * 4-CPU machine (2 MiB direct map):
 *   page-fault      an anonymous fault: one PTE in an existing page table (mm.map of one page)
 *   cow-fault       a write fault on a copy-on-write page after fork (mm.writeFault): PTE + local flush
 *   mmap / munmap   of 1 to 512 pages (mm.map / mm.unmap)
 *   mprotect        of 1 to 512 mapped pages, made read-only (mm.protect)
 *   fork / exit     of a process with 1 MiB to 1 GiB mapped (mm.fork, then the child's mm.destroy)
 */
import type { AddressSpace } from '../../pgtable/mm.js';
import { boot, measure, POLICIES, r2, type Delta, type ProtectionPolicy, type Rig } from '../setup.js';
import { defineQuestion, type BenchRow } from '../types.js';

export type LockOp = 'page-fault' | 'cow-fault' | 'mmap' | 'munmap' | 'mprotect' | 'fork' | 'exit';

export interface LockBatchingCell {
  op: LockOp;
  pages: number;
  policy: ProtectionPolicy;
}

const CPUS = 4;
const BASE = 0x10000000n;
const RANGE_PAGES = [1, 8, 64, 512];
const RANGE_PAGES_QUICK = [1, 512];
const MIB = 256; // pages per MiB
const PROCESS_PAGES = [1 * MIB, 16 * MIB, 256 * MIB, 1024 * MIB];
const PROCESS_PAGES_QUICK = [1 * MIB, 16 * MIB];

function setup(opts: Parameters<typeof boot>[0], policy: ProtectionPolicy, memory = 2 ** 32): Rig & { mm: AddressSpace } {
  const rig = boot(opts, CPUS, policy, { directMap: '2M' }, memory);
  const mm = rig.k.createAddressSpace();
  for (const c of rig.m.cpus) mm.switchTo(c);
  mm.switchTo(rig.cpu); // the process runs on CPU 0 last: it is CPU 0's current mm
  return { ...rig, mm };
}

/** Run one operation, returning the counter deltas of exactly that operation. */
function runOp(cell: LockBatchingCell, opts: Parameters<typeof boot>[0]): Delta {
  const { op, pages, policy } = cell;
  const big = op === 'fork' || op === 'exit';
  const rig = setup(opts, policy, big ? 2 ** 33 : 2 ** 32);
  const { mm, cpu } = rig;
  const at = { cpu };
  switch (op) {
    case 'page-fault':
      mm.map(BASE, 1, { write: true, user: true }, at); // the page table exists
      return measure(rig, () => mm.map(BASE + 0x1000n, 1, { write: true, user: true }, at));
    case 'cow-fault': {
      mm.map(BASE, 1, { write: true, user: true }, at);
      mm.fork(at); // the child keeps the page shared: the fault copies it
      return measure(rig, () => mm.writeFault(BASE, at));
    }
    default:
      break;
  }
  if (op === 'mmap') return measure(rig, () => mm.map(BASE, pages, { write: true, user: true }, at));
  mm.map(BASE, pages, { write: true, user: true }, at);
  if (op === 'munmap') return measure(rig, () => mm.unmap(BASE, pages, at));
  if (op === 'mprotect') return measure(rig, () => mm.protect(BASE, pages, { write: false, user: true }, at));
  if (op === 'fork') return measure(rig, () => void mm.fork(at));
  const child = mm.fork(at);
  return measure(rig, () => child.destroy(at));
}

export const lockBatching = defineQuestion<LockBatchingCell>({
  id: 'lock-batching',
  title: 'Per-write against per-lock PKRS flips: WRMSRs and cycles per operation',
  method:
    'Each operation once, on a process loaded on every CPU of a 4-CPU machine (2 MiB direct map), from a fresh boot: an anonymous page fault, a copy-on-write fault, mmap / munmap / mprotect of 1 to 512 pages, fork and exit of a process with 1 MiB to 1 GiB mapped (quick: fewer sizes). Counters are the kernel model\'s (WRMSRs to PKRS, entry writes, write windows, IPIs) and the CPUs\' clocks.',
  cells(opts) {
    const ranges = opts.quick ? RANGE_PAGES_QUICK : RANGE_PAGES;
    const procs = opts.quick ? PROCESS_PAGES_QUICK : PROCESS_PAGES;
    const cells: LockBatchingCell[] = [];
    const add = (op: LockOp, pages: number) => POLICIES.forEach((policy) => cells.push({ op, pages, policy }));
    add('page-fault', 1);
    add('cow-fault', 1);
    for (const op of ['mmap', 'munmap', 'mprotect'] as const) for (const p of ranges) add(op, p);
    for (const op of ['fork', 'exit'] as const) for (const p of procs) add(op, p);
    return cells;
  },
  runCell(cell, opts): BenchRow[] {
    const base: BenchRow = { operation: cell.op, pages: cell.pages, mib: r2(cell.pages / MIB), policy: cell.policy };
    const d = runOp(cell, opts);
    return [{ ...base, cycles: d.cycles, systemCycles: d.systemCycles, wrmsr: d.wrmsr, entryWrites: d.entryWrites, windows: d.windows, ipis: d.ipis, invlpg: d.invlpg, cr3Writes: d.cr3Writes }];
  },
});
