import { describe, expect, it } from 'vitest';
import { Machine, pkrRights } from '../../src/index.js';
import { directMapVa } from '../../src/cpa/writer.js';
import { rfcReservePages } from '../../src/cpa/reserve.js';
import { bootKernel, TEXT_PA, TEXT_VA } from '../../src/pgtable/boot.js';
import { CR4_PCIDE, CR4_PGE, CR4_PKE, CR4_PKS, CR4_SMAP, CR4_SMEP } from '../../src/cpu/regs.js';

const GiB = 2 ** 30;
const MiB = 2 ** 20;
const PFEC_P = 1;
const PFEC_W = 2;
const PFEC_I = 16;
const PFEC_PK = 32;

function fault(r: ReturnType<Machine['cpus'][0]['translate']>): number {
  if (r.ok) throw new Error('expected a fault');
  return (r.fault as { errorCode: number }).errorCode;
}

describe('bootKernel', () => {
  for (const mode of ['1G', '2M', '4K'] as const) {
    it(`maps all installed memory at PAGE_OFFSET with ${mode} pages, global, NX, writable, on every CPU`, () => {
      const size = mode === '4K' ? 96 * MiB : 3 * GiB + 6 * MiB; // a tail that is not 1 GiB (or 2 MiB) aligned
      const m = new Machine({ cpus: 3, memory: size });
      const k = bootKernel(m, { directMap: mode });
      const want = mode === '1G' ? GiB : mode === '2M' ? 2 * MiB : 4096;
      for (const c of m.cpus) {
        expect(c.cr3).toBe(BigInt(k.pgdPa) | 0n);
        for (const pa of [0, 0x5000, 64 * MiB + 0x3000, size - 4096]) {
          const r = c.translate(directMapVa(pa), { access: 'write' });
          expect(r.ok).toBe(true);
          if (!r.ok) continue;
          expect(r.pa).toBe(BigInt(pa));
          // In 1G mode the 6 MiB tail past 3 GiB is mapped with 2 MiB pages.
          expect(r.pageSize).toBe(mode === '1G' && pa >= 3 * GiB ? 2 * MiB : want);
          // NX: a fetch from the direct map faults.
          expect(fault(c.translate(directMapVa(pa), { access: 'fetch', probe: true })) & PFEC_I).toBe(PFEC_I);
        }
        // Past installed memory nothing is mapped.
        expect(fault(c.translate(directMapVa(size), { access: 'read', probe: true })) & PFEC_P).toBe(0);
      }
      const dp = k.directMap.stats.directPages;
      expect(dp['1G'] * GiB + dp['2M'] * 2 * MiB + dp['4K'] * 4096).toBe(size);
      const e = k.directMap.lookup(0x3000)!;
      expect(e.global && e.nx && e.write && e.present).toBe(true);
      expect(e.pageSize).toBe(want);
    });
  }

  it('maps the kernel text read-only, executable, global at 0xffffffff81000000', () => {
    const m = new Machine({ cpus: 2, memory: 256 * MiB });
    const k = bootKernel(m, { textPages: 600 });
    expect(k.textVa).toBe(TEXT_VA);
    for (const c of m.cpus) {
      const r = c.translate(TEXT_VA + 599n * 4096n, { access: 'fetch' });
      expect(r).toMatchObject({ ok: true, pa: BigInt(TEXT_PA + 599 * 4096), pageSize: 4096 });
      expect(fault(c.translate(TEXT_VA, { access: 'write', probe: true }))).toBe(PFEC_P | PFEC_W);
      expect(fault(c.translate(TEXT_VA + 600n * 4096n, { access: 'read', probe: true })) & PFEC_P).toBe(0);
    }
    // The kernel image is not handed out by the allocator.
    expect(k.buddy.nodes[0].startPfn * 4096).toBe(k.reservedEnd);
    expect(k.reservedEnd).toBeGreaterThanOrEqual(TEXT_PA + 600 * 4096);
  });

  it('turns on the CR4 features the machine has, EFER.NXE, CR0.WP, and loads PKRS as Linux does', () => {
    const m = new Machine({ cpus: 4, memory: 128 * MiB });
    const k = bootKernel(m, { ptKey: 3 });
    for (const c of m.cpus) {
      const cr4 = Number(c.cr4);
      for (const bit of [CR4_PGE, CR4_SMEP, CR4_SMAP, CR4_PCIDE, CR4_PKS, CR4_PKE]) expect(cr4 & bit).toBe(bit);
      expect(c.efer & (1n << 11n)).toBe(1n << 11n);
      expect(c.cr0 & (1n << 16n)).toBe(1n << 16n);
      expect(c.pkrs).toBe(k.initialPkrs);
      expect(pkrRights(c.pkrs, 0)).toBe('rw');
      expect(pkrRights(c.pkrs, 3)).toBe('wd');
      for (const key of [1, 2, 4, 15]) expect(pkrRights(c.pkrs, key)).toBe('ad');
      expect(c.cpl).toBe(0);
    }
  });

  it('leaves off what the machine lacks, and refuses 1G pages without gbpages and pkey without PKS', () => {
    const m = new Machine({ cpus: 2, memory: 128 * MiB, features: { pks: false, pcid: false, gbpages: false, smap: false } });
    expect(() => bootKernel(m, { directMap: '1G' })).toThrow(/gbpages/);
    expect(() => bootKernel(m, { protect: 'pkey' })).toThrow(/PKS/);
    const k = bootKernel(m);
    expect(k.options.directMap).toBe('2M');
    for (const c of m.cpus) {
      const cr4 = Number(c.cr4);
      expect(cr4 & (CR4_PKS | CR4_PCIDE | CR4_SMAP)).toBe(0);
      expect(cr4 & (CR4_PGE | CR4_SMEP)).toBe(CR4_PGE | CR4_SMEP);
      expect(c.pkrs).toBe(0);
    }
    expect(() => bootKernel(m)).toThrow(/already has paging/);
  });

  it('rejects bad options with errors naming them', () => {
    const m = () => new Machine({ memory: 128 * MiB });
    expect(() => bootKernel(m(), { directMap: '3M' as never })).toThrow(/directMap must be/);
    expect(() => bootKernel(m(), { protect: 'x' as never })).toThrow(/protect must be/);
    expect(() => bootKernel(m(), { ptKey: 0 })).toThrow(/ptKey must be an integer 1..15, got 0/);
    expect(() => bootKernel(m(), { nodes: 0 })).toThrow(/nodes/);
    expect(() => bootKernel(m(), { reserve: -1 })).toThrow(/reserve/);
    expect(() => bootKernel(m(), { bogus: 1 } as never)).toThrow(/unknown boot option 'bogus'/);
    expect(() => bootKernel(new Machine({ memory: 16 * MiB }))).toThrow(/too small/);
  });

  it('boots a 1 TiB machine with a 1 GiB direct map touching only a few frames', () => {
    const m = new Machine({ cpus: 2, memory: 2 ** 40 });
    const k = bootKernel(m, { directMap: '1G' });
    // PGD, two PUD pages for the direct map, PUD + PMD + one PTE page for the text.
    expect(k.bootTables.length).toBe(6);
    expect(m.memory.stats.framesAllocated).toBeLessThanOrEqual(8);
    expect(k.directMap.stats.directPages['1G']).toBe(1024);
    const r = m.cpus[1].translate(directMapVa(2 ** 40 - 4096), { access: 'read' });
    expect(r).toMatchObject({ ok: true, pa: BigInt(2 ** 40 - 4096), pageSize: GiB });
    expect(k.buddy.freePages).toBe(k.buddy.totalPages - 6);
  });

  it('boots a 1 TiB machine with protected tables: the RFC v2 reserve is held, not touched', () => {
    const m = new Machine({ cpus: 2, memory: 2 ** 40 });
    const k = bootKernel(m, { directMap: '1G', protect: 'pkey' });
    expect(rfcReservePages(2 ** 40)).toBe(1024 + 524288);
    const st = k.directMap.stats;
    expect(st.reservePages).toBeGreaterThanOrEqual(1024 + 524288);
    expect(st.reserveBytes).toBe(st.reservePages * 4096);
    expect(m.memory.stats.framesAllocated).toBeLessThan(40);
    // The reserve's pages and boot's tables are keyed in the direct map; the memory around them is not.
    const pool = k.reserve!.ranges;
    expect(k.directMap.lookup(pool[0].start)!.pkey).toBe(1);
    expect(k.directMap.lookup(pool[pool.length - 1].end - 4096)!.pkey).toBe(1);
    expect(k.directMap.lookup(pool[pool.length - 1].end)!.pkey).toBe(0);
    for (const t of k.bootTables) expect(k.directMap.lookup(t)!.pkey).toBe(1);
  });

  it('on 1 TiB, keying scattered 2 MiB blocks (as a page-table cache refill does) costs host memory per table only', () => {
    const m = new Machine({ cpus: 2, memory: 2 ** 40 });
    const k = bootKernel(m, { directMap: '1G', protect: 'pkey' });
    const frames0 = m.memory.stats.framesAllocated;
    for (let i = 0; i < 40; i++) {
      const pa = (37 + i * 25) * GiB + ((i * 97) % 512) * 2 * MiB;
      expect(k.directMap.set_memory_pks(m.cpus[i % 2], directMapVa(pa), 512, 1)).toBe(0);
      expect(k.directMap.lookup(pa)).toMatchObject({ pageSize: 2 * MiB, pkey: 1 });
    }
    // Each block split its 1 GiB page once (one new PMD page) and changed one PDE in place.
    expect(k.directMap.stats.splits).toEqual({ '1G': 40, '2M': 0 });
    expect(m.memory.stats.framesAllocated - frames0).toBe(40);
  });

  it("protect 'pkey': a supervisor write to any boot table through the direct map raises #PF with PK", () => {
    const m = new Machine({ cpus: 2, memory: 512 * MiB });
    const k = bootKernel(m, { directMap: '2M', protect: 'pkey', ptKey: 2 });
    for (const t of [...k.bootTables, ...k.directMap.tables()]) {
      expect(fault(m.cpus[1].translate(directMapVa(t), { access: 'write', probe: true }))).toBe(PFEC_P | PFEC_W | PFEC_PK);
      expect(m.cpus[1].translate(directMapVa(t), { access: 'read', probe: true }).ok).toBe(true);
    }
    expect(m.cpus[0].translate(directMapVa(k.reservedEnd + 8 * MiB), { access: 'write', probe: true }).ok).toBe(true);
  });

  it("protect 'readonly': the tables and the reserve are read-only in the direct map (#PF P|W, no PK)", () => {
    const m = new Machine({ cpus: 1, memory: 512 * MiB });
    const k = bootKernel(m, { directMap: '4K', protect: 'readonly' });
    // Boot's 4 KiB tables came out of the protected pool; what is left is at least the RFC v2 reserve.
    expect(k.directMap.stats.reservePages).toBe(k.reserve!.totalPages - k.bootTables.length);
    expect(k.directMap.stats.reservePages).toBeGreaterThanOrEqual(rfcReservePages(512 * MiB));
    for (const t of k.bootTables) expect(fault(m.cpus[0].translate(directMapVa(t), { access: 'write', probe: true }))).toBe(PFEC_P | PFEC_W);
    const last = k.reserve!.ranges[k.reserve!.ranges.length - 1];
    expect(k.directMap.lookup(last.end - 4096)!.write).toBe(false);
  });

  it('splits memory over NUMA nodes and CPUs over them', () => {
    const m = new Machine({ cpus: 4, memory: 1 * GiB });
    const k = bootKernel(m, { nodes: 2 });
    expect(k.buddy.nodes.length).toBe(2);
    expect(k.buddy.nodes[1].startPfn * 4096).toBe(512 * MiB);
    expect(k.buddy.nodes[1].endPfn * 4096).toBe(GiB);
    expect([0, 1, 2, 3].map((i) => k.nodeOfCpu(i))).toEqual([0, 0, 1, 1]);
    expect(k.buddy.alloc(0, 1)).toBeGreaterThanOrEqual(512 * MiB);
  });

  it("splits the direct map with tables from the calling CPU's node (no protection)", () => {
    const m = new Machine({ cpus: 4, memory: 1 * GiB });
    const k = bootKernel(m, { nodes: 2, directMap: '2M' });
    const before = new Set(k.directMap.tables());
    expect(k.directMap.set_memory_ro(m.cpus[3], directMapVa(100 * MiB + 4096), 1)).toBe(0);
    const added = k.directMap.tables().filter((t) => !before.has(t));
    expect(added.length).toBe(1);
    expect(k.buddy.nodeOf(added[0])).toBe(1);
    expect(k.directMap.set_memory_ro(m.cpus[0], directMapVa(600 * MiB + 4096), 1)).toBe(0);
    expect(k.buddy.nodeOf(k.directMap.lookup(600 * MiB)!.tablePa)).toBe(0);
  });

  it('is deterministic: the same boot gives the same tables and cycles', () => {
    const run = () => {
      const m = new Machine({ cpus: 2, memory: GiB });
      const k = bootKernel(m, { directMap: '2M', protect: 'pkey' });
      return { t: k.bootTables, c: m.cpus.map((c) => c.cycles), r: k.reserve!.ranges };
    };
    expect(run()).toEqual(run());
  });
});
