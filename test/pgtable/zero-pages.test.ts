import { describe, expect, it } from 'vitest';
import { boot, pageAccount, POLICY_LIST } from './helpers.js';

describe.each(POLICY_LIST)('data pages are zeroed on map under %s', (policy) => {
  it('a page freed with data in it comes back zeroed, by the mapping CPU (clear_page, no page-table write)', () => {
    const { m, k } = boot(policy);
    const cpu = m.cpus[0];
    const total = pageAccount(k);
    const a = k.createAddressSpace();
    a.switchTo(cpu);
    a.map(0x400000n, 1, { write: true });
    const pa = Number(a.translate(0x400000n)!.pa);
    // The process writes secrets into its page, then unmaps it: the buddy allocator gets it back as is.
    m.memory.write64(pa + 0x800, 0xfeedfacen);
    a.unmap(0x400000n, 1);
    expect(m.memory.read64(pa + 0x800)).toBe(0xfeedfacen);
    const b = k.createAddressSpace();
    b.switchTo(cpu);
    const before = k.stats();
    const stores = cpu.stats.cycles;
    const writes = k.writer.stats.entryWrites;
    // LIFO: the order-0 page freed last is handed out first.
    b.map(0x400000n, 1, { write: true });
    expect(Number(b.translate(0x400000n)!.pa)).toBe(pa);
    for (let off = 0; off < 4096; off += 8) expect(m.memory.read64(pa + off)).toBe(0n);
    const after = k.stats();
    expect(after.pagesZeroed - before.pagesZeroed).toBe(1);
    expect(cpu.stats.cycles - stores).toBeGreaterThanOrEqual(m.profile.clearPage); // one bulk clear_page, from the profile
    // The zeroing is no page-table write: only the PTE (and the table levels) went through the writer.
    expect(k.writer.stats.entryWrites - writes).toBeLessThan(2000);
    expect(k.check({ tlb: true })).toEqual([]);
    a.destroy();
    b.destroy();
    expect(pageAccount(k)).toBe(total);
    expect(k.dataPages).toBe(0);
  });

  it('zeroPages: false leaves the page as it was (and costs nothing)', () => {
    const { m, k } = boot(policy, { zeroPages: false });
    const a = k.createAddressSpace();
    a.switchTo(m.cpus[0]);
    a.map(0x400000n, 1, { write: true });
    const pa = Number(a.translate(0x400000n)!.pa);
    m.memory.write64(pa + 0x800, 0xfeedfacen);
    a.unmap(0x400000n, 1);
    a.map(0x400000n, 1, { write: true });
    expect(Number(a.translate(0x400000n)!.pa)).toBe(pa);
    expect(m.memory.read64(pa + 0x800)).toBe(0xfeedfacen);
    expect(k.stats().pagesZeroed).toBe(0);
    expect(() => boot(policy, { zeroPages: 1 as unknown as boolean })).toThrow(TypeError);
  });
});
