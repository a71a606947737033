/**
 * The local flush overlaps the remote wait, for user flushes (flush_tlb_mm_range) as for kernel range flushes
 * (test/cpa/flush.test.ts): both charge through chargeOverlapped, the initiator paying the longer of the two.
 */
import { describe, expect, it } from 'vitest';
import { chargeOverlapped } from '../../src/cpa/flush.js';
import { boot } from './helpers.js';

describe('chargeOverlapped', () => {
  it('advances the clock by the longer of local and remote from t0', () => {
    const { m } = boot('none', { cpus: 1 });
    const cpu = m.cpus[0];
    const t0 = cpu.cycles;
    cpu.charge(300 + 500); // local then remote, charged one after the other
    chargeOverlapped(cpu, t0, 300, 500);
    expect(cpu.cycles - t0).toBe(500);
    chargeOverlapped(cpu, t0, 900, 200);
    expect(cpu.cycles - t0).toBe(900);
  });
});

describe('flush_tlb_mm_range charges the initiator max(local, remote)', () => {
  for (const pages of [1, 20, 40]) {
    it(`${pages} page(s)`, () => {
      /** Cycles of one flush made by CPU 0 of an mm loaded on `on`. */
      const flushCost = (on: number[]): number => {
        const { m, k } = boot('none', { cpus: 4, zeroPages: false });
        const mm = k.createAddressSpace();
        for (const i of on) mm.switchTo(m.cpus[i]);
        const c = m.cpus[0];
        const t0 = c.cycles;
        k.tlb.flush_tlb_mm_range(c, mm, 0x400000, 0, pages);
        return c.cycles - t0;
      };
      const local = flushCost([0]); // no other CPU: the local flush alone
      const remote = flushCost([1, 2, 3]); // not loaded here: the IPIs and the wait alone
      expect(local).toBeGreaterThan(0);
      expect(remote).toBeGreaterThan(0);
      expect(flushCost([0, 1, 2, 3])).toBe(Math.max(local, remote));
    });
  }
});
