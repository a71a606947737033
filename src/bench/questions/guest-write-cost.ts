/**
 * Question 1 cross-checked in guest code: the cost of one protected page-table write measured a second way, by
 * x86-64 routines (src/bench/guest-routines.ts) run at CPL 0 on the emulated CPU with `cpu.run`, on the booted
 * kernel model, beside the model's own figure for the same write (write-cost's cyclesPerWrite at 1 CPU).
 *
 * The guest loop writes the same PTE slot the model writes, through the same mappings: `pks` flips IA32_PKRS
 * with WRMSR around a store through the direct map; `paging-ro` runs the core of the CPA sequence (the direct-map
 * PTE of the table page rewritten with CR0.WP cleared, INVLPG, the store, the PTE restored, INVLPG; the CPA
 * bookkeeping and the kernel range flush's IPIs stay the model's: at 1 CPU there are none); `poke` switches CR3
 * to the poking mm (its PCID, no-flush bit), maps the alias, stores, clears the alias, INVLPGs it, switches back;
 * `none` is the store alone. Cycles per write are `cpu.stats.cycles` deltas between a run of 2N and a run of N
 * iterations, divided by N, so the run's entry and the final HLT cancel out. Deterministic.
 */
import { set_pte } from '../../pgtable/set-pte.js';
import { TEXT_PA, TEXT_VA } from '../../pgtable/boot.js';
import { POKE_PT_VA, POKE_VA, PokeWriter } from '../../pgtable/policies.js';
import { PAGE_OFFSET } from '../../cpa/types.js';
import type { Cpu } from '../../cpu/cpu.js';
import type { Kernel } from '../../pgtable/kernel.js';
import { boot, processOnAll, r2, type ProtectionPolicy } from '../setup.js';
import { defineQuestion, type BenchRow } from '../types.js';
import { GUEST_ROUTINES, type GuestRoutineName } from '../guest-routines.js';

export const GUEST_POLICIES: readonly GuestRoutineName[] = ['none', 'pks', 'paging-ro', 'poke'];

const CR0_WP = 1n << 16n;
const CR4_PCIDE = 1n << 17n;
const NOFLUSH = 1n << 63n;
const M64 = (1n << 64n) - 1n;
const TWO32 = 2 ** 32;

const rd64 = (k: Kernel, pa: number): bigint => BigInt(k.machine.memory.rd32(pa) >>> 0) | (BigInt(k.machine.memory.rd32(pa + 4) >>> 0) << 32n);

/** Physical address of the 4 KiB direct-map PTE that maps `pa` (after CPA split it), by a host-side walk. */
function directMapPte(k: Kernel, pa: number): number {
  const va = PAGE_OFFSET + BigInt(pa);
  let table = k.kernelPgd;
  for (let level = 4; level >= 1; level--) {
    const slot = table + 8 * Number((va >> BigInt(12 + 9 * (level - 1))) & 0x1ffn);
    if (level === 1) return slot;
    const e = rd64(k, slot);
    if ((e & 1n) === 0n || (e & 0x80n) !== 0n) throw new RangeError(`guest-write-cost: the direct map of ${pa.toString(16)} is not split to 4 KiB at level ${level}`);
    table = Number(e & 0x000ffffffffff000n);
  }
  throw new RangeError('unreachable');
}

/** Set the routine's input registers for `policy` writing the PTE slot at physical `ptep`. */
function setInputs(k: Kernel, cpu: Cpu, policy: GuestRoutineName, ptep: number, value: bigint): void {
  cpu.setReg('rdi', PAGE_OFFSET + BigInt(ptep));
  cpu.setReg('rsi', value);
  if (policy === 'pks') {
    const ro = cpu.pkrs >>> 0;
    cpu.setReg('r8', BigInt((ro & ~(3 << (2 * k.ptKey))) >>> 0));
    cpu.setReg('r9', BigInt(ro));
  } else if (policy === 'paging-ro') {
    const pte = directMapPte(k, ptep - (ptep % 4096));
    const e = rd64(k, pte);
    cpu.setReg('r10', cpu.cr0 & ~CR0_WP);
    cpu.setReg('r11', PAGE_OFFSET + BigInt(pte));
    cpu.setReg('r12', e | 2n);
    cpu.setReg('r13', cpu.cr0);
    cpu.setReg('r14', e & ~2n);
  } else if (policy === 'poke') {
    // The poking mm the model's writer uses (one PCID, one TLB state).
    if (!(k.writer instanceof PokeWriter)) throw new TypeError(`guest-write-cost: the poke routine needs a kernel booted with protection 'poke', got '${k.policy}'`);
    const mm = k.writer.pokingMm(cpu);
    if (mm === undefined) throw new RangeError(`guest-write-cost: CPU ${cpu.index} has no poking mm`);
    const nf = (cpu.cr4 & CR4_PCIDE) !== 0n ? NOFLUSH : 0n;
    const page = ptep - (ptep % 4096);
    cpu.setReg('r8', (mm.cr3 | nf) & M64);
    cpu.setReg('r9', POKE_PT_VA);
    cpu.setReg('r10', BigInt(page % TWO32 | 0x63) + (BigInt(Math.floor(page / TWO32)) << 32n));
    cpu.setReg('r11', POKE_VA + BigInt(ptep % 4096));
    cpu.setReg('r12', 0n);
    cpu.setReg('r13', (cpu.cr3 | nf) & M64);
  }
}

interface Counts {
  cycles: number;
  /** Data accesses (loads and stores) the CPU made. */
  accesses: number;
  /** 16-byte instruction fetch blocks. */
  fetches: number;
  walks: number;
}
const counts = (cpu: Cpu): Counts => ({ cycles: cpu.stats.cycles, accesses: cpu.stats.reads + cpu.stats.writes, fetches: cpu.stats.fetches, walks: cpu.stats.walks });
const minus = (a: Counts, b: Counts): Counts => ({ cycles: a.cycles - b.cycles, accesses: a.accesses - b.accesses, fetches: a.fetches - b.fetches, walks: a.walks - b.walks });

/**
 * Each routine's instruction mix per iteration, by cost class of the interpreter (src/cpu/exec/cost.ts):
 * moves, XOR and DEC are ALU-class; a store is ALU-class plus the profile's `insn.store`; MOV to CR is
 * serializing (`insn.serialize` on top of the core's movCr0/movCr3); WRMSR and INVLPG charge only the core's
 * cost (the same call the model makes); the loop's JNZ is a taken branch.
 */
export const GUEST_MIX: Readonly<Record<GuestRoutineName, { instructions: number; alu: number; stores: number; serializing: number; branches: number }>> = Object.freeze({
  none: { instructions: 3, alu: 2, stores: 1, serializing: 0, branches: 1 },
  pks: { instructions: 9, alu: 6, stores: 1, serializing: 0, branches: 1 },
  'paging-ro': { instructions: 11, alu: 4, stores: 3, serializing: 4, branches: 1 },
  poke: { instructions: 8, alu: 4, stores: 3, serializing: 2, branches: 1 },
});

/** Run the routine for `iterations` loops; the counters it moved on `cpu`. */
function runGuest(k: Kernel, cpu: Cpu, policy: GuestRoutineName, ptep: number, iterations: number): Counts {
  setInputs(k, cpu, policy, ptep, 0x1000n);
  cpu.setReg('rbx', iterations);
  cpu.rip = TEXT_VA;
  const c0 = counts(cpu);
  const r = cpu.run({ maxInstructions: iterations * 16 + 16 });
  if (r.reason !== 'hlt') throw new RangeError(`guest-write-cost: the ${policy} routine stopped with '${r.reason}' at rip ${r.rip.toString(16)}${r.fault ? ': ' + String(r.fault) : ''}`);
  return minus(counts(cpu), c0);
}

export interface GuestWriteCostCell {
  policy: GuestRoutineName;
}

export const guestWriteCost = defineQuestion<GuestWriteCostCell>({
  id: 'guest-write-cost',
  title: 'Cross-check of question 1 in guest code: one protected page-table write, 1 CPU',
  method:
    'x86-64 routines run at CPL 0 on the emulated CPU (cpu.run) over the booted kernel model write the same PTE slot the model writes, through the same mappings: pks flips IA32_PKRS with WRMSR around the store; paging-ro rewrites the direct-map PTE of the table page with CR0.WP cleared, INVLPGs, stores, restores, INVLPGs (the CPA bookkeeping and IPIs are the model\'s, none at 1 CPU); poke switches CR3 to the poking mm (PCID, no-flush), maps the alias, stores, clears it, INVLPGs it, switches back. guestCyclesPerWrite = (cycles of 2N iterations - cycles of N) / N; modelCyclesPerWrite is write-cost\'s cyclesPerWrite at 1 CPU.',
  cells: () => GUEST_POLICIES.map((policy) => ({ policy })),
  runCell({ policy }, opts): BenchRow[] {
    const rig = boot(opts, 1, policy as ProtectionPolicy);
    const { k, m, cpu } = rig;
    const mm = processOnAll(k, m);
    mm.map(0x400000n, 1, { write: true });
    const tables = mm.pageTables();
    const ptep = Number(tables[tables.length - 1]) + 8;
    const write = (i: number) => set_pte(k.writer, cpu, ptep, (i & 1) * 0x1000, 0);
    write(0);
    write(1);
    const n = opts.quick ? 16 : 64;
    const m0 = counts(cpu);
    for (let i = 0; i < n; i++) write(i);
    const md = minus(counts(cpu), m0);
    set_pte(k.writer, cpu, ptep, 0, 0);
    m.load(TEXT_PA, GUEST_ROUTINES[policy].bytes);
    runGuest(k, cpu, policy, ptep, 2); // warm up: decode, TLB fills
    const c1 = runGuest(k, cpu, policy, ptep, n);
    const c2 = runGuest(k, cpu, policy, ptep, 2 * n);
    set_pte(k.writer, cpu, ptep, 0, 0);
    const g = minus(c2, c1);
    const p = cpu.profile;
    const mix = GUEST_MIX[policy];
    // What the guest pays that the model does not: instruction classes and fetch blocks.
    const insnCycles = mix.alu * p.insn.alu + mix.stores * p.insn.store + mix.serializing * p.insn.serialize + mix.branches * p.insn.branch;
    const fetchCycles = (g.fetches / n) * p.mmu.l1TlbHit;
    // What the model pays that the guest does not: data accesses the routine leaves out (CPA's lookup_address
    // walk of the direct map in paging-ro), each charged at the profile's data-access level.
    const modelOnlyCycles = ((md.accesses - g.accesses) / n) * p.memory[p.dataAccessLevel];
    const guest = g.cycles / n;
    const model = md.cycles / n;
    return [
      {
        cpus: 1,
        policy,
        guestCyclesPerWrite: r2(guest),
        modelCyclesPerWrite: r2(model),
        differenceCycles: r2(guest - model),
        guestInstructionsPerWrite: mix.instructions,
        guestInsnClassCycles: r2(insnCycles),
        guestFetchCycles: r2(fetchCycles),
        modelOnlyAccessCycles: r2(modelOnlyCycles),
        walksPerWriteGuest: r2(g.walks / n),
        walksPerWriteModel: r2(md.walks / n),
        unexplainedCycles: r2(guest - model - insnCycles - fetchCycles + modelOnlyCycles),
      },
    ];
  },
});
