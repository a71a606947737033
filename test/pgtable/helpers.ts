import { expect } from 'vitest';
import { Machine, type Cpu } from '../../src/index.js';
import { Kernel, type KernelOptions } from '../../src/pgtable/kernel.js';
import type { AddressSpace } from '../../src/pgtable/mm.js';
import type { ProtectionPolicy } from '../../src/pgtable/policies.js';

export const POLICY_LIST: ProtectionPolicy[] = ['none', 'pks', 'pks-lock', 'paging-ro', 'poke'];
export const MB2 = 2 ** 21;

export function boot(protection: ProtectionPolicy, opts: Partial<KernelOptions> & { cpus?: number; memory?: number } = {}): { m: Machine; k: Kernel } {
  const { cpus, memory, ...kopts } = opts;
  const m = new Machine({ cpus: cpus ?? 2, memory: memory ?? 2 ** 30 });
  const k = Kernel.boot(m, { protection, directMap: '2M', ...kopts });
  return { m, k };
}

/** What the emulated CPU makes of va (read and write, at the privilege the mapping is meant for), through its TLB. */
export function hw(cpu: Cpu, va: bigint, user: boolean): { pa: bigint | null; write: boolean; exec: boolean } {
  const cpl = user ? 3 : 0;
  const r = cpu.translate(va, { access: 'read', cpl });
  if (!r.ok) return { pa: null, write: false, exec: false };
  const w = cpu.translate(va, { access: 'write', cpl });
  const x = cpu.translate(va, { access: 'fetch', cpl });
  return { pa: r.pa, write: w.ok, exec: x.ok };
}

/** Every listed va translates on `cpu` exactly as the model intends. */
export function expectTranslations(cpu: Cpu, mm: AddressSpace, vas: Iterable<bigint>): void {
  for (const va of vas) {
    const want = mm.translate(va);
    const got = hw(cpu, va, want?.user ?? true);
    if (want === null) expect(got.pa, `va 0x${va.toString(16)} on CPU ${cpu.index}`).toBeNull();
    else expect(got, `va 0x${va.toString(16)} on CPU ${cpu.index}`).toEqual({ pa: want.pa, write: want.write, exec: want.exec });
  }
}

/** Pages are conserved: buddy free + cache (free and in use) + data pages + pages boot and the reserve hold. */
export function pageAccount(k: Kernel): number {
  return k.buddy.freePages + k.cache.freePages + k.cache.pagesInUse + k.dataPages;
}
