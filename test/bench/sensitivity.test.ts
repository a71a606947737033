import { describe, expect, it } from 'vitest';
import { bench } from '../../src/index.js';

describe('bench.sensitivity', () => {
  it('sweeps the PKRS cost for the PKS policies and scales the IPI costs for paging-ro', () => {
    const { rows } = bench.sensitivity({ cpus: [1, 8], quick: true });
    const pks = rows.filter((r) => r.policy === 'pks' && r.cpus === 8).map((r) => [r.pkrsWrite, r.cyclesPerWrite]);
    // two PKRS writes per protected write: the cost grows by twice the sweep step
    const base = pks[0][1] as number;
    for (const [p, c] of pks) expect(c).toBe(base + 2 * ((p as number) - (pks[0][0] as number)));
    const ro = (s: number) => rows.find((r) => r.policy === 'paging-ro' && r.cpus === 8 && r.ipiScale === s)!.cyclesPerWrite as number;
    expect(ro(0.5)).toBeLessThan(ro(1));
    expect(ro(1)).toBeLessThan(ro(2));
    expect(rows.some((r) => r.policy === 'paging-ro' && r.cpus === 1 && r.ipiScale !== 1)).toBe(false);
    // the break-even against poke: where 2 * pkrsWrite + the store meets poke's cost (within the sweep)
    const poke = rows.find((r) => r.policy === 'poke' && r.cpus === 8)!.cyclesPerWrite as number;
    const be = bench.breakEven(rows, 'pks', 'poke', 8, 1)!;
    const store = base - 2 * 10;
    expect(Math.abs(2 * be + store - poke)).toBeLessThanOrEqual(2);
  });
});
