/** Booting a machine and the kernel model for one benchmark cell, from the bench options. */
import { Machine } from '../cpu/machine.js';
import type { Cpu } from '../cpu/cpu.js';
import { Kernel, type KernelOptions } from '../pgtable/kernel.js';
import { POLICIES, type ProtectionPolicy } from '../pgtable/policies.js';
import type { AddressSpace } from '../pgtable/mm.js';
import type { BenchOptions } from './types.js';

export { POLICIES, type ProtectionPolicy };


export interface Rig {
  m: Machine;
  k: Kernel;
  cpu: Cpu;
}

/** A machine with `cpus` CPUs and `memory` bytes, the kernel model booted with `policy`. */
/**
 * A booted kernel model for one cell. Data pages are not zeroed on map (`zeroPages: false`): zeroing is not
 * page-table work and costs the same under every policy (the profile's `clearPage` per page), so it would only
 * dilute the policies' differences.
 */
export function boot(opts: BenchOptions, cpus: number, policy: ProtectionPolicy, kernel: Omit<KernelOptions, 'protection'> = {}, memory = 2 ** 32): Rig {
  const m = new Machine({ cpus, memory, profile: opts.profile, profileOverrides: opts.profileOverrides });
  const k = Kernel.boot(m, { zeroPages: false, ...kernel, protection: policy });
  return { m, k, cpu: m.cpus[0] };
}

/** Cycles summed over every CPU's clock. */
export function systemCycles(m: Machine): number {
  let s = 0;
  for (const c of m.cpus) s += c.stats.cycles;
  return s;
}

/** An address space loaded on every CPU (a process whose threads run everywhere). */
export function processOnAll(k: Kernel, m: Machine): AddressSpace {
  const mm = k.createAddressSpace();
  for (const c of m.cpus) mm.switchTo(c);
  return mm;
}

/** Counter deltas of the kernel model around `body`, on the writing CPU and over all CPUs. */
export interface Delta {
  cycles: number;
  systemCycles: number;
  wrmsr: number;
  ipis: number;
  invlpg: number;
  cr3Writes: number;
  fullFlushes: number;
  shootdowns: number;
  entryWrites: number;
  windows: number;
  cacheRefills: number;
}

export function measure(rig: Rig, body: () => void): Delta {
  const { m, k, cpu } = rig;
  const s0 = k.stats();
  const c0 = cpu.stats.cycles;
  const y0 = systemCycles(m);
  body();
  const s1 = k.stats();
  return {
    cycles: cpu.stats.cycles - c0,
    systemCycles: systemCycles(m) - y0,
    wrmsr: s1.wrmsr - s0.wrmsr,
    ipis: s1.ipis - s0.ipis,
    invlpg: s1.invlpg - s0.invlpg,
    cr3Writes: s1.cr3Writes - s0.cr3Writes,
    fullFlushes: s1.fullFlushes - s0.fullFlushes,
    shootdowns: s1.shootdowns - s0.shootdowns,
    entryWrites: s1.entryWrites - s0.entryWrites,
    windows: s1.windows - s0.windows,
    cacheRefills: s1.cacheRefills - s0.cacheRefills,
  };
}

/** Round to 0.01 (figures are averages of integer cycle counts; this keeps the JSON readable). */
export const r2 = (x: number): number => Math.round(x * 100) / 100;
