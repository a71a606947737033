import { describe, expect, it } from 'vitest';
import { bench } from '../../src/index.js';

describe('bench direct-map and cache questions', () => {
  it('the grouped cache shatters the direct map no more than single pages do, and flushes less; deterministic', () => {
    const dm = bench.questions['direct-map'];
    const c = bench.questions['cache'];
    const run = (policy: string, groupedCache: boolean) => dm.runCell({ policy, groupedCache, allocations: 600 }, { seed: 7 })[0];
    const g = run('pks', true);
    const u = run('pks', false);
    expect(g.allocations).toBeGreaterThanOrEqual(600);
    expect(g.splits2M as number).toBeLessThanOrEqual(u.splits2M as number);
    expect(g.entries4K as number).toBeLessThanOrEqual(u.entries4K as number);
    expect(run('none', false)).toMatchObject({ splits1G: 0, splits2M: 0, entries4K: 0 });
    expect(run('pks', true)).toEqual(g);
    const cg = c.runCell({ policy: 'pks', groupedCache: true, allocations: 600 }, { seed: 7 })[0];
    const cu = c.runCell({ policy: 'pks', groupedCache: false, allocations: 600 }, { seed: 7 })[0];
    expect(cg.refills).toBeGreaterThan(0);
    expect(cu.refills).toBe(0);
    expect(cg.kernelFlushesPer10k as number).toBeLessThan(cu.kernelFlushesPer10k as number);
    // RFC v2: ((size >> 30) + (size >> 21)) pages reserved, about 2 MiB per GiB
    expect(cg.reserveKiBPerGiB as number).toBeGreaterThan(1900);
    expect(cg.reserveKiBPerGiB as number).toBeLessThan(2200);
  });
});
