import { describe, expect, it } from 'vitest';
import { KernelError } from '../../src/pgtable/errors.js';
import type { AddressSpace } from '../../src/pgtable/mm.js';
import { boot, expectTranslations, MB2, pageAccount } from './helpers.js';

/** Map one page in each successive 2 MiB range (one new page table each) until the kernel says -ENOMEM. */
function mapUntilEnomem(mm: AddressSpace, max: number): { mapped: number; err: unknown } {
  let mapped = 0;
  try {
    for (; mapped < max; mapped++) mm.map(0x40000000 + mapped * MB2, 1, { write: true });
  } catch (e) {
    return { mapped, err: e };
  }
  return { mapped, err: null };
}

describe('paging-ro runs out of the direct-map table reserve', () => {
  it('Kernel.boot passes `reserve` through to the direct map', () => {
    // The protected pool is boot's tables (an upper bound of them) plus the reserve: what is left grows by 3.
    const base = boot('paging-ro', { reserve: 0 }).k.stats().reservePages;
    expect(boot('paging-ro', { reserve: 3 }).k.stats().reservePages).toBe(base + 3);
  });

  it.each([true, false])('groupedCache %s: a table write that must split the direct map fails with -ENOMEM; the model stays consistent', (grouped) => {
    const { m, k } = boot('paging-ro', { reserve: 1, groupedCache: grouped });
    const total = pageAccount(k);
    const mm = k.createAddressSpace();
    mm.switchTo(m.cpus[0]);
    mm.map(0x40000000 - 4096, 1, { write: true });
    // Use up the reserve: split 2 MiB pages of the direct map elsewhere (high memory) until cpa says -ENOMEM.
    let splits = 0;
    while (k.setMemory4k(768 * 2 ** 20 + splits * MB2, 1) === 0) splits++;
    expect(k.setMemory4k(768 * 2 ** 20 + splits * MB2, 1)).toBe(-12);
    expect(splits).toBeGreaterThan(0);
    const enomem = k.stats().cpa.enomem;
    const { mapped, err } = mapUntilEnomem(mm, 4000);
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).errno).toBe(-12);
    expect(k.stats().cpa.enomem).toBeGreaterThan(enomem); // the table's split found the reserve empty
    // Nothing half-made: the failed map mapped nothing, the pages and tables are all accounted for.
    expect(mm.size).toBe(mapped + 1);
    expect(mm.translate(0x40000000 + mapped * MB2)).toBeNull();
    expect(pageAccount(k)).toBe(total);
    expect(k.cache.pagesInUse).toBe(mm.pageTables().length);
    expect(k.check({ tlb: true })).toEqual([]);
    expectTranslations(m.cpus[0], mm, [0x40000000n, BigInt(0x40000000 + (mapped - 1) * MB2), BigInt(0x40000000 + mapped * MB2)]);
    // The tables that exist can still be written: unmap and remap within them, then tear down.
    mm.unmap(0x40000000 - 4096, 1);
    mm.map(0x40000000 + 4096, 1, { write: true });
    expectTranslations(m.cpus[0], mm, [0x40000000n - 4096n, 0x40000000n, 0x40001000n]);
    expect(k.check({ tlb: true })).toEqual([]);
    mm.destroy();
    expect(pageAccount(k)).toBe(total);
    expect(k.dataPages).toBe(0);
  });
});
