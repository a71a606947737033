/** A machine in long mode with an identity-mapped first 64 MiB (2 MiB pages, user, writable) for program tests. */

import { Machine } from '../../src/cpu/machine.js';
import { enterLongMode } from '../../src/cpu/machine.js';
import { PageTableBuilder } from '../../src/mmu/builder.js';
import type { ProfileOverrides } from '../../src/cpu/profiles.js';
import type { Cpu } from '../../src/cpu/cpu.js';
import { Asm } from './asm.js';

export const CODE = 0x100000n;
export const STACK_TOP = 0x800000n;

export interface Rig {
  m: Machine;
  cpu: Cpu;
  pt: PageTableBuilder;
}

export function rig(opts: { cpl?: 0 | 3; map?: boolean; profile?: string; profileOverrides?: ProfileOverrides } = {}): Rig {
  const m = new Machine({ memory: 256 * 2 ** 20, profile: opts.profile, profileOverrides: opts.profileOverrides });
  const pt = new PageTableBuilder(m.memory, { start: 0x4000000, end: 0x4100000 });
  if (opts.map !== false) for (let i = 0n; i < 32n; i++) pt.map(i << 21n, i << 21n, 2097152, { write: true, user: true });
  const cpu = m.cpus[0];
  enterLongMode(cpu, { cr3: pt.root, cpl: opts.cpl ?? 0 });
  cpu.setReg('rsp', STACK_TOP);
  cpu.rip = CODE;
  return { m, cpu, pt };
}

/** Assemble at `at`, load it, point RIP there. */
export function load(r: Rig, a: Asm, at: bigint = CODE): Uint8Array {
  const bytes = a.encode(at);
  r.m.load(at, bytes);
  r.cpu.rip = at;
  return bytes;
}
