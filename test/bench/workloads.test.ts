import { describe, expect, it } from 'vitest';
import { bench } from '../../src/index.js';

describe('bench workloads question', () => {
  it('gives each policy its overhead against none; none is 0%; deterministic per seed', () => {
    const q = bench.questions['workloads'];
    const cells = q.cells({ cpus: [2], quick: true }).filter((c) => (c as { workload: string }).workload === 'kbuild');
    const rows = q.finish(cells.flatMap((c) => q.runCell(c, { quick: true, seed: 3 })));
    const get = (p: string) => rows.find((r) => r.policy === p)!;
    expect(get('none').overheadPct).toBe(0);
    expect(get('pks').overheadPct).toBeGreaterThan(0);
    expect(get('pks-lock').overheadPct as number).toBeLessThanOrEqual(get('pks').overheadPct as number);
    expect(get('paging-ro').overheadPct as number).toBeGreaterThan(get('poke').overheadPct as number);
    expect(q.finish(cells.flatMap((c) => q.runCell(c, { quick: true, seed: 3 })))).toEqual(rows);
    // another seed draws other flush sizes
    expect(q.runCell(cells[0], { quick: true, seed: 4 })[0].cycles).not.toBe(get('none').cycles);
  });
});
