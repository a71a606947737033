import { describe, expect, it } from 'vitest';
import { bench, GUEST_MIX, GUEST_ROUTINES, resolveProfile } from '../../src/index.js';

describe('bench.guestWriteCost (question 1 cross-checked in guest code)', () => {
  const r = bench.guestWriteCost({ quick: true });
  const at = (policy: string) => r.rows.find((x) => x.policy === policy)!;

  it('has a row per policy at 1 CPU, guest beside model; deterministic', () => {
    expect(r.rows.map((x) => x.policy)).toEqual(['none', 'pks', 'paging-ro', 'poke']);
    for (const row of r.rows) {
      expect(row.cpus).toBe(1);
      expect(row.guestCyclesPerWrite).toBeGreaterThan(0);
      expect(row.modelCyclesPerWrite).toBeGreaterThan(0);
      expect(row.differenceCycles).toBe((row.guestCyclesPerWrite as number) - (row.modelCyclesPerWrite as number));
    }
    expect(bench.guestWriteCost({ quick: true })).toEqual(r);
  });

  it('the model figure is write-cost\'s at 1 CPU', () => {
    const wc = bench.writeCost({ cpus: [1], quick: true }).rows;
    for (const row of r.rows) expect(row.modelCyclesPerWrite).toBe(wc.find((x) => x.policy === row.policy)!.cyclesPerWrite);
  });

  it('pks in guest code = 2 WRMSR(IA32_PKRS) + the store + the instruction overheads, from the profile', () => {
    const p = resolveProfile('sapphire-rapids');
    const mix = GUEST_MIX.pks;
    const store = p.memory[p.dataAccessLevel];
    const insn = mix.alu * p.insn.alu + mix.stores * p.insn.store + mix.serializing * p.insn.serialize + mix.branches * p.insn.branch;
    const fetch = at('pks').guestFetchCycles as number;
    expect(fetch % Math.max(p.mmu.l1TlbHit, 1) === 0 || p.mmu.l1TlbHit === 0).toBe(true);
    expect(at('pks').guestCyclesPerWrite).toBe(2 * p.wrmsr.byMsr[0x6e1] + store + insn + fetch);
    expect(at('pks').guestInsnClassCycles).toBe(insn);
  });

  it('every difference is accounted for by the explained terms', () => {
    for (const row of r.rows) expect(row.unexplainedCycles).toBe(0);
    // paging-ro's model pays CPA's lookup walk (data accesses) that the routine leaves out; the others none
    expect(at('paging-ro').modelOnlyAccessCycles).toBeGreaterThan(0);
    expect(at('pks').modelOnlyAccessCycles).toBe(0);
    expect(at('poke').modelOnlyAccessCycles).toBe(0);
  });

  it('follows the profile: a dearer PKRS WRMSR moves guest and model alike', () => {
    const dear = bench.guestWriteCost({ quick: true, profileOverrides: { wrmsr: { byMsr: { 0x6e1: 300 } } } }).rows.find((x) => x.policy === 'pks')!;
    const pkrs = resolveProfile('sapphire-rapids').wrmsr.byMsr[0x6e1];
    expect(dear.guestCyclesPerWrite).toBe((at('pks').guestCyclesPerWrite as number) + 2 * (300 - pkrs));
    expect(dear.differenceCycles).toBe(at('pks').differenceCycles);
  });

  it('ships the routines as bytes, each ending with HLT', () => {
    for (const k of Object.keys(GUEST_ROUTINES) as (keyof typeof GUEST_ROUTINES)[]) expect(GUEST_ROUTINES[k].bytes.at(-1)).toBe(0xf4);
  });
});
