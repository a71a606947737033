import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/cpu/machine.js';
import { directMapVa } from '../../src/cpa/writer.js';
import { ENOMEM, PAGE_OFFSET, type EntryWriter } from '../../src/cpa/types.js';
import { plainWriter } from '../../src/cpa/writer.js';
import { boot, expectNoStale, GiB, MiB, PFEC_I, PFEC_P, PFEC_PK, PFEC_W, scanDirectPages, seen } from './helpers.js';

describe('set_memory_* on the direct map', () => {
  it('ro / rw: writes fault on every CPU after set_memory_ro, work again after set_memory_rw', () => {
    const { m, dm } = boot({ cpus: 3, memory: 2 * GiB }, { directMap: '2M' });
    const pa = 64 * MiB + 5 * 4096;
    for (const c of m.cpus) expect(seen(c, pa, 'write', false)).toMatch(/^ok/); // fills every TLB
    expect(dm.set_memory_ro(m.cpus[1], directMapVa(pa), 2)).toBe(0);
    for (const c of m.cpus) {
      expect(seen(c, pa, 'write', false)).toBe(`#PF ${PFEC_P | PFEC_W}`);
      expect(seen(c, pa + 4096, 'write', false)).toBe(`#PF ${PFEC_P | PFEC_W}`);
      expect(seen(c, pa + 8192, 'write', false)).toMatch(/^ok .* 4096 k0/);
      expect(seen(c, pa, 'read', false)).toMatch(/^ok/);
    }
    expect(dm.set_memory_rw(m.cpus[0], directMapVa(pa), 2)).toBe(0);
    for (const c of m.cpus) expect(seen(c, pa, 'write', false)).toMatch(/^ok .* 4096 k0/);
    // Linux does not merge back: the 2 MiB page stays split.
    expect(dm.lookup(pa)!.pageSize).toBe(4096);
    expect(dm.stats.splits).toEqual({ '1G': 0, '2M': 1 });
  });

  it('nx / x, np / p and pks change what every CPU sees', () => {
    const { m, dm } = boot({ cpus: 2, memory: GiB }, { directMap: '4K' });
    const pa = 300 * MiB;
    const va = directMapVa(pa);
    expect(seen(m.cpus[1], pa, 'fetch', false)).toBe(`#PF ${PFEC_P | PFEC_I}`);
    dm.set_memory_x(m.cpus[0], va, 1);
    expect(seen(m.cpus[1], pa, 'fetch', false)).toMatch(/^ok/);
    dm.set_memory_nx(m.cpus[0], va, 1);
    expect(seen(m.cpus[1], pa, 'fetch', false)).toBe(`#PF ${PFEC_P | PFEC_I}`);
    expect(seen(m.cpus[1], pa, 'read', false)).toMatch(/^ok/);
    dm.set_memory_np(m.cpus[0], va, 1);
    expect(seen(m.cpus[1], pa, 'read', false)).toBe('#PF 0');
    expect(dm.lookup(pa)!.present).toBe(false);
    dm.set_memory_p(m.cpus[0], va, 1);
    expect(seen(m.cpus[1], pa, 'read', false)).toMatch(/^ok/);
    // Key 1 is the page-table key: write-disabled in the initial PKRS.
    dm.set_memory_pks(m.cpus[0], va, 1, 1);
    expect(seen(m.cpus[1], pa, 'read', false)).toMatch(/ k1$/);
    expect(seen(m.cpus[1], pa, 'write', false)).toBe(`#PF ${PFEC_P | PFEC_W | PFEC_PK}`);
    dm.set_memory_pks(m.cpus[0], va, 1, 0);
    expect(seen(m.cpus[1], pa, 'write', false)).toMatch(/ k0$/);
    expect(dm.stats.splits).toEqual({ '1G': 0, '2M': 0 });
  });

  it('splits 1G into 2M into 4K, counts the splits and direct-map pages, and never merges back', () => {
    const { m, k, dm } = boot({ cpus: 2, memory: 4 * GiB }, { directMap: '1G' });
    const c = m.cpus[0];
    expect(dm.stats.directPages).toEqual({ '1G': 4, '2M': 0, '4K': 0 });
    dm.set_memory_ro(c, directMapVa(GiB + 2 * MiB + 4096), 1);
    expect(dm.stats.splits).toEqual({ '1G': 1, '2M': 1 });
    expect(dm.stats.directPages).toEqual({ '1G': 3, '2M': 511, '4K': 512 });
    expect(scanDirectPages(k)).toEqual(dm.stats.directPages);
    // A whole, aligned 2 MiB page changes in place: no split.
    dm.set_memory_ro(c, directMapVa(GiB + 10 * MiB), 512);
    expect(dm.stats.splits).toEqual({ '1G': 1, '2M': 1 });
    expect(dm.lookup(GiB + 10 * MiB)).toMatchObject({ pageSize: 2 * MiB, write: false });
    // A whole, aligned 1 GiB page too.
    dm.set_memory_nx(c, directMapVa(2 * GiB), 1); // already NX: preserved, nothing written
    expect(dm.preserved['1G']).toBe(1);
    dm.set_memory_ro(c, directMapVa(3 * GiB), 262144);
    expect(dm.lookup(3 * GiB + 12345 * 4096)).toMatchObject({ pageSize: GiB, write: false });
    expect(dm.stats.splits).toEqual({ '1G': 1, '2M': 1 });
    // Undoing the change leaves the pages shattered.
    dm.set_memory_rw(c, directMapVa(GiB + 2 * MiB + 4096), 1);
    expect(dm.lookup(GiB + 2 * MiB)!.pageSize).toBe(4096);
    // A range crossing large pages changes each part.
    dm.set_memory_ro(c, directMapVa(GiB - 4096), 3);
    expect(dm.lookup(GiB - 4096)).toMatchObject({ pageSize: 4096, write: false });
    expect(dm.lookup(GiB + 4096)).toMatchObject({ pageSize: 4096, write: false });
    expect(dm.lookup(GiB + 8192)).toMatchObject({ pageSize: 4096, write: true });
    expect(dm.stats.splits).toEqual({ '1G': 2, '2M': 3 });
    expect(scanDirectPages(k)).toEqual(dm.stats.directPages);
    expectNoStale(m, [GiB - 8192, GiB - 4096, GiB, GiB + 4096, GiB + 8192, 3 * GiB]);
  });

  it('a range that starts in a large page already as asked goes on into the next one (the step ends with the page)', () => {
    const { m, dm } = boot({ cpus: 1, memory: GiB }, { directMap: '2M' });
    const c = m.cpus[0];
    dm.set_memory_ro(c, directMapVa(64 * MiB), 512);
    dm.set_memory_ro(c, directMapVa(64 * MiB), 1024);
    expect(dm.preserved['2M']).toBe(1);
    expect(dm.lookup(66 * MiB)).toMatchObject({ pageSize: 2 * MiB, write: false });
    expect(dm.lookup(68 * MiB)!.write).toBe(true);
    dm.set_memory_ro(c, directMapVa(70 * MiB - 4096), 3);
    expect(dm.lookup(70 * MiB + 4096)).toMatchObject({ pageSize: 4096, write: false });
    expect(dm.lookup(70 * MiB + 8192)).toMatchObject({ pageSize: 4096, write: true });
  });

  it('set_memory_4k splits down to 4 KiB without changing any attribute', () => {
    const { m, k, dm } = boot({ cpus: 2, memory: 2 * GiB }, { directMap: '1G' });
    const before = dm.lookup(GiB + 77 * 4096)!;
    expect(dm.set_memory_4k(m.cpus[0], directMapVa(GiB + 77 * 4096), 1)).toBe(0);
    const after = dm.lookup(GiB + 77 * 4096)!;
    expect(after.pageSize).toBe(4096);
    expect([after.present, after.write, after.nx, after.global, after.pkey]).toEqual([before.present, before.write, before.nx, before.global, before.pkey]);
    expect(dm.stats.splits).toEqual({ '1G': 1, '2M': 1 });
    expect(dm.stats.entriesChanged).toBe(0);
    expect(scanDirectPages(k)).toEqual(dm.stats.directPages);
  });

  it('writes every entry through the EntryWriter inside one begin/end, with the calling CPU', () => {
    const { m, dm } = boot({ cpus: 2, memory: 2 * GiB }, { directMap: '1G' });
    const log: string[] = [];
    let open = false;
    const w: EntryWriter = {
      begin: (c) => {
        log.push(`begin ${c.index}`);
        open = true;
      },
      write: (c, pa, lo, hi) => {
        expect(open).toBe(true);
        expect(c).toBe(m.cpus[1]);
        plainWriter.write(c, pa, lo, hi);
        log.push('w');
      },
      end: (c) => {
        log.push(`end ${c.index}`);
        open = false;
      },
    };
    dm.setWriter(w);
    const stores = m.cpus[1].stats.writes;
    dm.set_memory_ro(m.cpus[1], directMapVa(GiB + 4096), 1);
    // Two splits of 512 entries + the table pointer each, then the PTE.
    expect(log.length).toBe(2 + 2 * 513 + 1);
    expect(log[0]).toBe('begin 1');
    expect(log[log.length - 1]).toBe('end 1');
    // Every write was a store made by the CPU through the direct map.
    expect(m.cpus[1].stats.writes - stores).toBe(2 * 513 + 1);
    expect(() => dm.setWriter(null as never)).toThrow(TypeError);
  });

  it('is re-entrant: a writer may itself call set_memory_* (as a paging-ro policy does)', () => {
    const { m, dm } = boot({ cpus: 2, memory: 2 * GiB }, { directMap: '2M' });
    let nested = 0;
    dm.setWriter({
      begin: () => {},
      write: (c, pa, lo, hi) => {
        if (nested++ === 0) expect(dm.set_memory_nx(c, directMapVa(GiB + 4096), 1)).toBe(0); // already NX
        if (nested === 2) expect(dm.set_memory_x(c, directMapVa(GiB + 8192), 1)).toBe(0);
        plainWriter.write(c, pa, lo, hi);
      },
      end: () => {},
    });
    expect(dm.set_memory_ro(m.cpus[0], directMapVa(512 * MiB + 4096), 3)).toBe(0);
    for (let i = 1; i <= 3; i++) expect(dm.lookup(512 * MiB + i * 4096)).toMatchObject({ write: false, nx: true });
    expect(dm.lookup(512 * MiB + 4 * 4096)).toMatchObject({ write: true });
    expect(dm.lookup(GiB + 8192)).toMatchObject({ pageSize: 4096, nx: false, write: true });
    expect(dm.lookup(GiB + 4096)).toMatchObject({ nx: true, write: true });
    expectNoStale(m, [512 * MiB + 4096, GiB + 8192]);
  });

  it('returns ENOMEM when no table page is left, and stays consistent', () => {
    const { m, k, dm } = boot({ cpus: 2, memory: 2 * GiB }, { directMap: '1G' });
    let left = 1;
    dm.setTableSource({ alloc: () => (left-- > 0 ? k.buddy.alloc(0) : -1), free: (_c, pa) => k.buddy.free(pa, 0) });
    for (const c of m.cpus) seen(c, GiB + 4096, 'write', false);
    expect(dm.set_memory_ro(m.cpus[0], directMapVa(GiB + 4096), 1)).toBe(ENOMEM);
    expect(dm.stats.enomem).toBe(1);
    // The 1G split happened (and was flushed), the 2M split could not: nothing is read-only.
    expect(dm.lookup(GiB + 4096)).toMatchObject({ pageSize: 2 * MiB, write: true });
    expect(scanDirectPages(k)).toEqual(dm.stats.directPages);
    expectNoStale(m, [GiB, GiB + 4096]);
    // A change that needs no table still works.
    expect(dm.set_memory_ro(m.cpus[0], directMapVa(GiB + 4 * MiB), 512)).toBe(0);
  });

  it('rejects bad use with RangeError / TypeError naming the value', () => {
    const { m, dm } = boot({ cpus: 1, memory: GiB }, { directMap: '2M' });
    const c = m.cpus[0];
    expect(() => dm.set_memory_ro(c, PAGE_OFFSET + 5n, 1)).toThrow(/not page aligned/);
    expect(() => dm.set_memory_ro(c, 0xffff800000000000n, 1)).toThrow(/not in the direct map/);
    expect(() => dm.set_memory_ro(c, directMapVa(GiB - 4096), 2)).toThrow(/runs past installed memory/);
    expect(() => dm.set_memory_ro(c, PAGE_OFFSET, 1.5)).toThrow(/numpages must be a non-negative integer, got 1.5/);
    expect(() => dm.set_memory_pks(c, PAGE_OFFSET, 1, 16)).toThrow(/key must be an integer 0..15, got 16/);
    expect(() => dm.set_memory_ro(c, 'x' as never, 1)).toThrow(TypeError);
    expect(() => dm.set_memory_ro(new Machine({ memory: GiB }).cpus[0], PAGE_OFFSET, 1)).toThrow(/CPU of this machine/);
    expect(dm.set_memory_ro(c, PAGE_OFFSET, 0)).toBe(0);
    // A number is a physical address.
    expect(dm.set_memory_ro(c, 2 * MiB, 1)).toBe(0);
    expect(dm.lookup(2 * MiB)!.write).toBe(false);
  });
});
