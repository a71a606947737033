import { describe, expect, it } from 'vitest';
import { bench } from '../../src/index.js';

describe('bench.lockBatching', () => {
  it('counts the flips: pks two per entry, pks-lock two per lock hold; deterministic', () => {
    const q = bench.questions['lock-batching'];
    const cells = q.cells({ quick: true }).filter((c) => (c as { op: string }).op === 'munmap' || (c as { op: string }).op === 'page-fault');
    const rows = cells.flatMap((c) => q.runCell(c, { quick: true }));
    const get = (op: string, pages: number, policy: string) => rows.find((r) => r.operation === op && r.pages === pages && r.policy === policy)!;
    const p = get('munmap', 512, 'pks');
    // 512 PTEs cleared, then the PMD, PUD and PGD entries of the PTE, PMD and PUD pages the munmap left empty
    // (free_pgtables)
    expect(p.entryWrites).toBe(512 + 3);
    expect(p.wrmsr).toBe(2 * (512 + 3));
    const l = get('munmap', 512, 'pks-lock');
    expect(l.wrmsr).toBe(2 * (l.windows as number));
    expect(l.wrmsr).toBeLessThan(p.wrmsr as number);
    expect(get('munmap', 512, 'none').wrmsr).toBe(0);
    expect(get('munmap', 512, 'paging-ro').cycles).toBeGreaterThan(get('munmap', 512, 'poke').cycles as number);
    // a page fault writes one entry in one lock hold: pks-lock flips as often as pks, not more
    const fault = rows.filter((r) => r.operation === 'page-fault');
    expect(fault.find((r) => r.policy === 'pks-lock')!.wrmsr).toBe(fault.find((r) => r.policy === 'pks')!.wrmsr);
    expect(cells.flatMap((c) => q.runCell(c, { quick: true }))).toEqual(rows);
  });
});
