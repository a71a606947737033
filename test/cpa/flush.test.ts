import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/cpu/machine.js';
import { flush_tlb_kernel_range, TLB_SINGLE_PAGE_FLUSH_CEILING } from '../../src/cpa/flush.js';
import { directMapVa } from '../../src/cpa/writer.js';
import { bootKernel } from '../../src/pgtable/boot.js';
import { boot, expectNoStale, GiB, MiB, PFEC_P, PFEC_W, seen } from './helpers.js';

describe('flush_tlb_kernel_range', () => {
  it('without the flush another CPU keeps a stale writable translation; the flush removes it', () => {
    const { m, dm } = boot({ cpus: 2, memory: GiB }, { directMap: '4K' });
    const pa = 100 * MiB;
    const [c0, c1] = m.cpus;
    expect(seen(c1, pa, 'write', false)).toMatch(/^ok/); // CPU 1 caches the translation
    expect(dm.set_memory_ro(c0, directMapVa(pa), 1, { flush: false })).toBe(0);
    // The table says read-only, but CPU 1's TLB still allows the write: stale, as on hardware.
    expect(seen(c1, pa, 'write', true)).toBe(`#PF ${PFEC_P | PFEC_W}`);
    expect(seen(c1, pa, 'write', false)).toMatch(/^ok/);
    dm.flush_tlb_kernel_range(c0, directMapVa(pa), directMapVa(pa + 4096));
    expect(seen(c1, pa, 'write', false)).toBe(`#PF ${PFEC_P | PFEC_W}`);
    expectNoStale(m, [pa]);
  });

  it('the calling CPU is flushed too (its own stale entry goes)', () => {
    const { m, dm } = boot({ cpus: 1, memory: GiB }, { directMap: '4K' });
    const c = m.cpus[0];
    const pa = 200 * MiB;
    seen(c, pa, 'write', false);
    dm.set_memory_ro(c, directMapVa(pa), 1, { flush: false });
    expect(seen(c, pa, 'write', false)).toMatch(/^ok/);
    dm.flush_tlb_kernel_range(c, directMapVa(pa), directMapVa(pa + 1));
    expect(seen(c, pa, 'write', false)).toBe(`#PF ${PFEC_P | PFEC_W}`);
  });

  it(`uses INVLPG per page up to ${TLB_SINGLE_PAGE_FLUSH_CEILING} pages, a full flush beyond, with an IPI to every other CPU`, () => {
    const { m, dm } = boot({ cpus: 4, memory: GiB }, { directMap: '4K' });
    const c = m.cpus[2];
    const inv0 = m.cpus.map((x) => x.stats.invlpg);
    dm.set_memory_ro(c, directMapVa(64 * MiB), 33);
    expect(dm.stats.flushes).toEqual({ single: 1, full: 0 });
    expect(dm.stats.invlpg).toBe(33 * 4);
    expect(dm.stats.ipis).toBe(3);
    m.cpus.forEach((x, i) => expect(x.stats.invlpg - inv0[i]).toBe(33));
    expect(c.stats.ipisSent).toBe(3);
    for (const x of m.cpus) if (x !== c) expect(x.stats.ipisReceived).toBe(1);
    // 34 pages: full flush, global entries included (the direct map is global).
    for (const x of m.cpus) seen(x, 80 * MiB, 'write', false);
    dm.set_memory_ro(c, directMapVa(80 * MiB), 34, { flush: false });
    dm.flush_tlb_kernel_range(c, directMapVa(80 * MiB), directMapVa(80 * MiB + 34 * 4096));
    expect(dm.stats.flushes).toEqual({ single: 1, full: 1 });
    expect(dm.stats.invlpg).toBe(33 * 4);
    expect(dm.stats.ipis).toBe(6);
    expectNoStale(m, [80 * MiB, 80 * MiB + 33 * 4096]);
    // Nothing changed: no flush at all.
    dm.set_memory_ro(c, directMapVa(80 * MiB), 34);
    expect(dm.stats.flushes).toEqual({ single: 1, full: 1 });
  });

  it('charges the initiator the longer of its local flush and the remote wait, not their sum', () => {
    const pages = 20;
    const mk = () => {
      const m = new Machine({ cpus: 3, memory: GiB });
      bootKernel(m, { directMap: '4K' });
      return m;
    };
    // The parts, measured on their own.
    const a = mk();
    const t0 = a.cpus[0].cycles;
    for (let i = 0; i < pages; i++) a.cpus[0].invlpg(directMapVa(i * 4096));
    const local = a.cpus[0].cycles - t0;
    const b = mk();
    const t1 = b.cpus[0].cycles;
    b.sendIpi(b.cpus[0], [1, 2], { handler: (t) => { for (let i = 0; i < pages; i++) t.invlpg(directMapVa(i * 4096)); } });
    const remote = b.cpus[0].cycles - t1;
    // The flush.
    const c = mk();
    const t2 = c.cpus[0].cycles;
    flush_tlb_kernel_range(c, c.cpus[0], directMapVa(0), directMapVa(pages * 4096));
    expect(c.cpus[0].cycles - t2).toBe(Math.max(local, remote));
    expect(Math.min(local, remote)).toBeGreaterThan(0);
    // The targets did the work on their own clocks.
    expect(c.cpus[1].stats.invlpg).toBe(pages);
  });

  it('rounds the range out to pages and treats end = -1 as a full flush', () => {
    const { m, dm } = boot({ cpus: 2, memory: GiB }, { directMap: '2M' });
    dm.flush_tlb_kernel_range(m.cpus[0], directMapVa(4095), directMapVa(4097)); // pages 0 and 1
    expect(dm.stats.invlpg).toBe(2 * 2);
    dm.flush_tlb_kernel_range(m.cpus[0], 0n, -1n);
    expect(dm.stats.flushes.full).toBe(1);
    dm.flush_tlb_kernel_range(m.cpus[0], directMapVa(0), directMapVa(0));
    expect(dm.stats.flushes).toEqual({ single: 1, full: 1 });
    expect(() => dm.flush_tlb_kernel_range(m.cpus[0], directMapVa(8192), directMapVa(0))).toThrow(/below start/);
  });

  it('a split flushes every CPU (SDM 4.10.4.2): no CPU keeps the old 1 GiB translation', () => {
    const { m, dm } = boot({ cpus: 3, memory: 2 * GiB }, { directMap: '1G' });
    const pas = [GiB, GiB + 4096, GiB + 3 * MiB, 2 * GiB - 4096];
    for (const c of m.cpus) for (const pa of pas) seen(c, pa, 'write', false);
    dm.set_memory_ro(m.cpus[0], directMapVa(GiB + 4096), 1, { flush: false });
    // Even without the range flush the split's own full flush left no old large-page entry behind.
    for (const c of m.cpus) expect(seen(c, GiB + 3 * MiB, 'read', false)).toMatch(/ 2097152 /);
    expect(dm.stats.flushes.full).toBe(2);
    expectNoStale(m, pas.filter((p) => p !== GiB + 4096));
  });
});
