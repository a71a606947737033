import { describe, expect, it } from 'vitest';
import { bench, resolveProfile } from '../../src/index.js';

describe('bench.writeCost', () => {
  it('has a row per policy and CPU count with the fields DESIGN.md names; deterministic', () => {
    const r = bench.writeCost({ cpus: [1, 4], quick: true });
    expect(r.title).toMatch(/page-table write/);
    expect(r.rows.map((x) => `${x.cpus}/${x.policy}`)).toEqual(['1/none', '1/pks', '1/pks-lock', '1/paging-ro', '1/poke', '4/none', '4/pks', '4/pks-lock', '4/paging-ro', '4/poke']);
    for (const row of r.rows) {
      expect(row.cyclesPerWrite).toBeGreaterThan(0);
      expect(row.systemCyclesPerWrite).toBeGreaterThanOrEqual(row.cyclesPerWrite as number);
    }
    expect(bench.writeCost({ cpus: [1, 4], quick: true })).toEqual(r);
    const at = (cpus: number, policy: string) => r.rows.find((x) => x.cpus === cpus && x.policy === policy)!;
    // The PKS policies flip PKRS twice per write and send no IPI; paging-ro interrupts the other CPUs.
    expect(at(4, 'pks').wrmsrPerWrite).toBe(2);
    expect(at(4, 'pks').ipisPerWrite).toBe(0);
    expect(at(1, 'paging-ro').ipisPerWrite).toBe(0);
    expect(at(4, 'paging-ro').ipisPerWrite).toBeGreaterThan(0);
    expect(at(4, 'poke').ipisPerWrite).toBe(0);
    // Cost order at 4 CPUs: none < pks < poke < paging-ro.
    expect(at(4, 'none').cyclesPerWrite).toBeLessThan(at(4, 'pks').cyclesPerWrite as number);
    expect(at(4, 'pks').cyclesPerWrite).toBeLessThan(at(4, 'poke').cyclesPerWrite as number);
    expect(at(4, 'poke').cyclesPerWrite).toBeLessThan(at(4, 'paging-ro').cyclesPerWrite as number);
  });

  it('follows the profile: a dearer PKRS WRMSR raises the pks figure by twice the difference', () => {
    const base = bench.writeCost({ cpus: [1], quick: true }).rows.find((x) => x.policy === 'pks')!;
    const dear = bench.writeCost({ cpus: [1], quick: true, profileOverrides: { wrmsr: { byMsr: { 0x6e1: 300 } } } }).rows.find((x) => x.policy === 'pks')!;
    const pkrs = resolveProfile('sapphire-rapids').wrmsr.byMsr[0x6e1];
    expect(dear.cyclesPerWrite).toBe((base.cyclesPerWrite as number) + 2 * (300 - pkrs));
  });

  it('rejects bad options, naming them', () => {
    expect(() => bench.writeCost({ cpus: [0] })).toThrow(/cpus/);
    expect(() => bench.writeCost({ cpus: [300] })).toThrow(RangeError);
    expect(() => bench.writeCost({ speed: 1 } as never)).toThrow(/speed/);
  });
});
