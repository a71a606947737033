import { expect } from 'vitest';
import type { Cpu } from '../../src/cpu/cpu.js';
import { Machine, type MachineOptions } from '../../src/cpu/machine.js';
import { directMapVa } from '../../src/cpa/writer.js';
import { bootKernel, type KernelBase } from '../../src/pgtable/boot.js';
import type { BootOptions } from '../../src/cpa/types.js';

export const GiB = 2 ** 30;
export const MiB = 2 ** 20;
export const PFEC_P = 1;
export const PFEC_W = 2;
export const PFEC_I = 16;
export const PFEC_PK = 32;

export function boot(mo: MachineOptions, bo: BootOptions = {}): { m: Machine; k: KernelBase; dm: KernelBase['directMap'] } {
  const m = new Machine(mo);
  const k = bootKernel(m, bo);
  return { m, k, dm: k.directMap };
}

export type Access = 'read' | 'write' | 'fetch';

/** What a CPU sees for an access now: through its TLB (as the hardware would) and by a fresh walk of memory. */
export function seen(c: Cpu, pa: number, access: Access, probe: boolean): string {
  const r = c.translate(directMapVa(pa), { access, probe });
  return r.ok ? `ok ${r.pa.toString(16)} ${r.pageSize} k${r.pkey}` : `#PF ${(r.fault as { errorCode: number }).errorCode}`;
}

/** No CPU holds a translation that differs from what the tables say now (the TLB check of a documented flush). */
export function expectNoStale(m: Machine, pas: number[]): void {
  for (const c of m.cpus) {
    for (const pa of pas) {
      for (const a of ['read', 'write'] as const) {
        const probe = seen(c, pa, a, true);
        const tlb = seen(c, pa, a, false);
        expect(tlb, `CPU ${c.index} ${a} of pa 0x${pa.toString(16)}`).toBe(probe);
      }
    }
  }
}

/** Leaves of the direct map by page size, counted by scanning the tables in memory. */
export function scanDirectPages(k: KernelBase): { '1G': number; '2M': number; '4K': number } {
  const mem = k.machine.memory;
  const out = { '1G': 0, '2M': 0, '4K': 0 };
  const size = mem.size;
  let pa = 0;
  while (pa < size) {
    const l = k.directMap.lookup(pa)!;
    out[l.pageSize === GiB ? '1G' : l.pageSize === 2 * MiB ? '2M' : '4K']++;
    pa += l.pageSize;
  }
  return out;
}
