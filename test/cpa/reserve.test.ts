import { describe, expect, it } from 'vitest';
import { rfcReservePages, TableReserve } from '../../src/cpa/reserve.js';
import { ENOMEM } from '../../src/cpa/types.js';
import { directMapVa } from '../../src/cpa/writer.js';
import { boot, GiB, MiB, PFEC_P, PFEC_PK, PFEC_W } from './helpers.js';

describe('the reserve of direct-map tables', () => {
  it('is sized as RFC v2: one PMD page per GiB and one PTE page per 2 MiB (about 2 MiB per GiB)', () => {
    expect(rfcReservePages(GiB)).toBe(1 + 512);
    expect(rfcReservePages(64 * GiB)).toBe(64 + 32768);
    expect(rfcReservePages(2 ** 40) * 4096).toBe(2 ** 40 / 512 + 4 * MiB);
  });

  it('hands out pages in address order, reuses freed ones first, and refuses double frees', () => {
    const r = new TableReserve([
      { start: 0x10000, end: 0x12000 },
      { start: 0x40000, end: 0x41000 },
    ]);
    expect(r.totalPages).toBe(3);
    expect([r.alloc(), r.alloc(), r.alloc(), r.alloc()]).toEqual([0x10000, 0x11000, 0x40000, -1]);
    expect(r.pagesInUse).toBe(3);
    r.free(undefined, 0x11000);
    expect(() => r.free(undefined, 0x11000)).toThrow(/double free/);
    expect(() => r.free(undefined, 0x20000)).toThrow(/not a page of the direct-map table reserve/);
    expect(r.alloc()).toBe(0x11000);
    expect(r.pagesFree).toBe(0);
    const fresh = new TableReserve([{ start: 0, end: 0x2000 }]);
    expect(() => fresh.free(undefined, 0x1000)).toThrow(/not in use/);
    expect(() => new TableReserve([{ start: 5, end: 4096 }])).toThrow(RangeError);
  });

  it('is reported: pages and bytes held, pages used by splits', () => {
    const { m, k, dm } = boot({ cpus: 2, memory: 4 * GiB }, { directMap: '1G', protect: 'pkey' });
    const held = k.reserve!.totalPages;
    // The pool holds boot's own tables and the reserve proper, which is at least the RFC sizing.
    expect(dm.stats.reservePages).toBe(held - k.bootTables.length);
    expect(dm.stats.reservePages).toBeGreaterThanOrEqual(rfcReservePages(4 * GiB));
    expect(dm.stats.reserveBytes).toBe(dm.stats.reservePages * 4096);
    // Its memory is taken from the allocator.
    expect(k.buddy.freePages).toBeLessThanOrEqual(k.buddy.totalPages - held);
    dm.set_memory_ro(m.cpus[0], directMapVa(2 * GiB + 4096), 1);
    expect(dm.stats.reserveUsed).toBe(2);
  });

  it("under 'pkey', split tables come from the reserve already keyed, written through PKRS flips", () => {
    const { m, k, dm } = boot({ cpus: 2, memory: 2 * GiB }, { directMap: '1G', protect: 'pkey' });
    const c = m.cpus[1];
    const before = new Set(dm.tables());
    const w0 = c.stats.pkrsWrites;
    expect(dm.set_memory_ro(c, directMapVa(GiB + 4096), 1)).toBe(0);
    const added = dm.tables().filter((t) => !before.has(t));
    expect(added.length).toBe(2);
    for (const t of added) {
      expect(k.reserve!.contains(t)).toBe(true);
      expect(dm.lookup(t)!.pkey).toBe(k.options.ptKey);
      // A stray write to the new table faults with PK on either CPU.
      for (const x of m.cpus) {
        const r = x.translate(directMapVa(t), { access: 'write', probe: true });
        expect(r.ok ? 0 : (r.fault as { errorCode: number }).errorCode).toBe(PFEC_P | PFEC_W | PFEC_PK);
      }
    }
    // Each of the 2 * 513 + 1 entry writes opened and closed the key.
    expect(c.stats.pkrsWrites - w0).toBe(2 * (2 * 513 + 1));
    expect(c.pkrs).toBe(k.initialPkrs);
  });

  it("under 'readonly', split tables are read-only in the direct map and written with CR0.WP cleared", () => {
    const { m, k, dm } = boot({ cpus: 1, memory: 2 * GiB }, { directMap: '2M', protect: 'readonly' });
    const c = m.cpus[0];
    const before = new Set(dm.tables());
    expect(dm.set_memory_nx(c, directMapVa(GiB + 4096), 1)).toBe(0); // already NX: nothing to do
    expect(dm.set_memory_x(c, directMapVa(GiB + 4096), 1)).toBe(0);
    const added = dm.tables().filter((t) => !before.has(t));
    expect(added.length).toBe(1);
    expect(dm.lookup(added[0])!.write).toBe(false);
    expect(c.cr0 & (1n << 16n)).toBe(1n << 16n);
    expect(k.reserve!.contains(added[0])).toBe(true);
  });

  it('is large enough to shatter the whole direct map to 4 KiB pages', () => {
    const { m, k, dm } = boot({ cpus: 2, memory: GiB }, { directMap: '1G', protect: 'pkey' });
    expect(dm.set_memory_4k(m.cpus[0], directMapVa(0), GiB / 4096)).toBe(0);
    expect(dm.stats.directPages).toEqual({ '1G': 0, '2M': 0, '4K': GiB / 4096 });
    // Boot already mapped the pool's edges with smaller pages; the rest took one table per split, all from the
    // reserve, and never more than the RFC sizing.
    const splits = dm.stats.splits['1G'] + dm.stats.splits['2M'];
    expect(splits).toBeGreaterThan(500);
    expect(dm.stats.reserveUsed).toBe(splits);
    expect(splits).toBeLessThanOrEqual(rfcReservePages(GiB));
    expect(k.reserve!.pagesFree).toBe(dm.stats.reservePages - splits);
    for (const t of dm.tables()) expect(dm.lookup(t)!.pkey).toBe(1);
  });

  it('an exhausted reserve gives ENOMEM and leaves the map consistent', () => {
    const { m, k, dm } = boot({ cpus: 1, memory: GiB }, { directMap: '2M', protect: 'pkey', reserve: 0 });
    const c = m.cpus[0];
    // Boot's own tables took part of the pool; use up the rest.
    while (k.reserve!.alloc() !== -1);
    expect(dm.set_memory_ro(c, directMapVa(256 * MiB + 4096), 1)).toBe(ENOMEM);
    expect(dm.lookup(256 * MiB + 4096)).toMatchObject({ pageSize: 2 * MiB, write: true });
    expect(dm.stats.enomem).toBe(1);
  });
});
