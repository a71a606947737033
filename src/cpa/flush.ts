/**
 * Kernel TLB flushes as arch/x86/mm/tlb.c makes them: flush_tlb_kernel_range and flush_tlb_all, on every
 * online CPU (IPIs to the others through machine.ipiMask, allocation-free; the initiator flushes its own TLB
 * while the remote CPUs work, so it is charged the longer of the two, not their sum: chargeOverlapped).
 *
 * The direct map and kernel text are global (G = 1), so a range flush uses INVLPG (which drops global entries
 * too, SDM Vol. 2A INVLPG) and a full flush toggles CR4.PGE (SDM Vol. 3A 4.10.4.1), never a CR3 reload.
 */

import type { Cpu } from '../cpu/cpu.js';
import type { IpiHandler, Machine } from '../cpu/machine.js';
import { PAGE_OFFSET_HI } from './types.js';

/**
 * tlb_single_page_flush_ceiling: ranges of up to this many pages are flushed one INVLPG per page, larger ones
 * with a full flush. Linux chose 33 from about 100 ns per INVLPG against the cost of refilling after a full flush
 * (Dave Hansen, 2014; REFERENCES.md).
 */
export const TLB_SINGLE_PAGE_FLUSH_CEILING = 33;

/** Counters a kernel flush updates (the DirectMap's stats carry them). */
export interface FlushCounters {
  flushes: { single: number; full: number };
  ipis: number;
  invlpg: number;
}

const TWO32 = 2 ** 32;

/** A linear address as halves (API edge: bigint or a number below 2^53). */
function vaHalves(va: bigint | number, what: string): [number, number] {
  const v = typeof va === 'bigint' ? BigInt.asUintN(64, va) : BigInt(checkedNumber(va, what));
  return [Number(v & 0xffffffffn), Number(v >> 32n)];
}
function checkedNumber(v: number, what: string): number {
  if (!Number.isInteger(v) || v < 0) throw new RangeError(`${what} must be a non-negative integer or a bigint, got ${String(v)}`);
  return v;
}

/**
 * The kernel flush in progress: one handler object whose fields are set before each flush (no closure and no
 * allocation per flush). `run` is the function each CPU runs: do_kernel_range_flush (INVLPG each page) or
 * do_flush_tlb_all.
 */
class KernelFlush implements IpiHandler {
  lo = 0;
  hi = 0;
  pages = 0;
  full = false;

  run(c: Cpu): void {
    if (this.full) {
      c.flushTlb({ global: true });
      return;
    }
    let lo = this.lo; // unsigned, as a double
    let hi = this.hi | 0; // signed halves to the core: no heap numbers
    for (let i = 0; i < this.pages; i++) {
      c.invlpgHalves(lo | 0, hi);
      lo += 4096;
      if (lo >= TWO32) {
        lo -= TWO32;
        hi = (hi + 1) | 0;
      }
    }
  }
}
const flush = new KernelFlush();

/** Every CPU of a machine (ipiMask ignores the sender's own byte): one mask per machine, made once. */
const allCpus = new WeakMap<Machine, Uint8Array>();

/**
 * The initiator of a TLB shootdown flushes its own TLB while the targets handle the IPI (on_each_cpu runs the local
 * function between sending the IPIs and waiting for them; flush_tlb_mm_range does the same since Linux 5.4): its
 * clock advances by the longer of the two, not their sum. `t0` is its clock before either; `local` and `remote`
 * the cycles each took when charged one after the other. Kernel range flushes and user flushes both use it.
 */
export function chargeOverlapped(cpu: Cpu, t0: number, local: number, remote: number): void {
  cpu.stats.cycles = t0 + Math.max(local, remote);
}

/** Run the current flush on every CPU of `machine`: IPIs to the others, the local flush overlapping the wait. */
function onEachCpu(machine: Machine, cpu: Cpu, counters: FlushCounters | undefined): void {
  const n = machine.cpus.length;
  const t0 = cpu.stats.cycles;
  if (n > 1) {
    let all = allCpus.get(machine);
    if (all === undefined) {
      all = new Uint8Array(n).fill(1);
      allCpus.set(machine, all);
    }
    machine.ipiMask(cpu, all, flush);
    if (counters) counters.ipis += n - 1;
  }
  const remote = cpu.stats.cycles - t0;
  const t1 = cpu.stats.cycles;
  flush.run(cpu);
  chargeOverlapped(cpu, t0, cpu.stats.cycles - t1, remote);
  if (counters) {
    if (flush.full) counters.flushes.full++;
    else {
      counters.flushes.single++;
      counters.invlpg += flush.pages * n;
    }
  }
}

/**
 * flush_tlb_kernel_range(start, end) made by `cpu`: [start, end) rounded out to pages; up to the ceiling, one
 * INVLPG per page on every CPU; beyond it (or end = -1n, TLB_FLUSH_ALL), a full flush including globals.
 */
export function flush_tlb_kernel_range(
  machine: Machine,
  cpu: Cpu,
  start: bigint | number,
  end: bigint | number,
  counters?: FlushCounters,
  ceiling = TLB_SINGLE_PAGE_FLUSH_CEILING,
): void {
  if (end === -1n || end === -1) {
    flush_tlb_all(machine, cpu, counters);
    return;
  }
  const s = typeof start === 'bigint' ? BigInt.asUintN(64, start) : BigInt(checkedNumber(start, 'start'));
  const e = typeof end === 'bigint' ? BigInt.asUintN(64, end) : BigInt(checkedNumber(end, 'end'));
  if (e < s) throw new RangeError(`flush range end 0x${e.toString(16)} is below start 0x${s.toString(16)}`);
  const first = s & ~0xfffn;
  const pages = Number((e - first + 0xfffn) >> 12n);
  if (pages === 0) return;
  if (pages > ceiling) {
    flush.full = true;
  } else {
    flush.full = false;
    [flush.lo, flush.hi] = vaHalves(first, 'start');
    flush.pages = pages;
  }
  onEachCpu(machine, cpu, counters);
}

/**
 * The same on the hot path: `pages` pages from the direct-map address of physical address `pa` (no BigInt, no
 * allocation). cpa uses it for its cpa_flush.
 */
export function flushDirectMapRange(machine: Machine, cpu: Cpu, pa: number, pages: number, counters: FlushCounters | undefined, ceiling: number): void {
  if (pages <= 0) return;
  if (pages > ceiling) {
    flush.full = true;
  } else {
    flush.full = false;
    flush.lo = pa % TWO32 >>> 0;
    flush.hi = (PAGE_OFFSET_HI + Math.floor(pa / TWO32)) >>> 0;
    flush.pages = pages;
  }
  onEachCpu(machine, cpu, counters);
}

/** flush_tlb_all: a full flush (globals included) on every CPU. */
export function flush_tlb_all(machine: Machine, cpu: Cpu, counters?: FlushCounters): void {
  flush.full = true;
  onEachCpu(machine, cpu, counters);
}
