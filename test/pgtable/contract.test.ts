/** DESIGN.md's kernel-model contract, name by name and shape by shape, through the main entry. */
import { describe, expect, it } from 'vitest';
import { Kernel, Machine, PageFault } from '../../src/index.js';

const POLICIES = ['none', 'pks', 'pks-lock', 'paging-ro', 'poke'] as const;
const DIRECT_MAP = 0xffff888000000000n;

describe.each(POLICIES)("DESIGN.md's kernel-model contract under %s", (protection) => {
  it('Kernel.boot, address spaces, the direct map, strayWrite and stats work as written', () => {
    const m = new Machine({ cpus: 2, memory: 2 ** 30 });
    const k = Kernel.boot(m, { protection, directMap: '2M', groupedCache: true, soft: false });
    const mm = k.createAddressSpace();
    mm.switchTo(m.cpus[0]);

    // mm.map(va: bigint, pages, prot) / translate -> { pa, write, user, exec } | null
    mm.map(0x400000n, 4, { write: true, exec: false, user: true });
    const t = mm.translate(0x401000n);
    expect(t).not.toBeNull();
    expect(t).toMatchObject({ write: true, user: true, exec: false });
    expect(typeof t!.pa).toBe('bigint');
    expect(m.cpus[0].translate(0x401000n, { access: 'write', cpl: 3 })).toMatchObject({ ok: true, pa: t!.pa });
    expect(mm.translate(0x500000n)).toBeNull();

    // mm.protect(va, pages, prot), mm.unmap(va, pages)
    mm.protect(0x400000n, 2, { write: false });
    expect(mm.translate(0x400000n)).toMatchObject({ write: false });
    mm.unmap(0x402000n, 2);
    expect(mm.translate(0x402000n)).toBeNull();

    // mm.pageTables(): bigint[], PGD first; k.directMapTables(): bigint[]
    const tables = mm.pageTables();
    expect(tables.length).toBe(4);
    for (const p of tables) expect(typeof p).toBe('bigint');
    expect(BigInt(m.cpus[0].cr3 & ~0xfffn & ((1n << 52n) - 1n))).toBe(tables[0]);
    const dmTables = k.directMapTables();
    expect(dmTables.length).toBeGreaterThan(0);
    for (const p of dmTables) expect(typeof p).toBe('bigint');

    // const child = mm.fork(); child.destroy()
    const child = mm.fork();
    expect(child.translate(0x400000n)?.pa).toBe(mm.translate(0x400000n)?.pa);
    child.destroy();
    expect(() => child.destroy()).toThrow(RangeError);

    // k.setMemory*(va, pages[, key]) on direct-map addresses: 0 on success
    const va = DIRECT_MAP + 0x30000000n;
    expect(k.setMemoryRo(va, 1)).toBe(0);
    expect(m.cpus[1].translate(va, { access: 'write', cpl: 0 }).ok).toBe(false);
    expect(k.setMemoryRw(va, 1)).toBe(0);
    expect(m.cpus[1].translate(va, { access: 'write', cpl: 0 }).ok).toBe(true);
    expect(k.setMemoryNx(va, 1)).toBe(0);
    expect(k.setMemoryX(va, 1)).toBe(0);
    expect(k.setMemoryNp(va, 1)).toBe(0);
    expect(m.cpus[1].translate(va, { access: 'read', cpl: 0 }).ok).toBe(false);
    expect(k.setMemoryP(va, 1)).toBe(0);
    expect(k.setMemory4k(va + 0x200000n, 1)).toBe(0);
    expect(k.setMemoryPks(va, 1, 0)).toBe(0);

    // k.strayWrite(pa: bigint, value: bigint) -> { landed: true } | { landed: false, fault: PageFault }
    const data = mm.translate(0x401000n)!.pa;
    expect(k.strayWrite(data, 0x1234n)).toEqual({ landed: true });
    const hit = k.strayWrite(tables[tables.length - 1], 0xdeadn);
    if (protection === 'none') expect(hit).toEqual({ landed: true });
    else {
      expect(hit.landed).toBe(false);
      if (!hit.landed) expect(hit.fault).toBeInstanceOf(PageFault);
    }

    // k.stats(): the named counters
    const s = k.stats();
    for (const name of ['wrmsr', 'wrmsrSkipped', 'ipis', 'shootdowns', 'invlpg', 'fullFlushes', 'splits', 'cacheRefills', 'cachePages', 'reservePages'] as const) {
      expect(s, name).toHaveProperty(name);
    }
    for (const n of [s.wrmsr, s.wrmsrSkipped, s.ipis, s.shootdowns, s.invlpg, s.fullFlushes, s.cacheRefills, s.cachePages, s.reservePages]) expect(Number.isInteger(n)).toBe(true);
    expect(Object.keys(s.directMap).sort()).toEqual(['1G', '2M', '4K']);
    expect(s.splits['2M']).toBeGreaterThanOrEqual(1); // setMemory4k split a 2 MiB page
    expect(s.cycles).toHaveLength(2);
    for (const c of s.cycles) expect(c).toBeGreaterThan(0);
    if (protection === 'pks' || protection === 'pks-lock') expect(s.wrmsr).toBeGreaterThan(0);

    mm.destroy();
  });
});
