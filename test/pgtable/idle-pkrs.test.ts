/**
 * Every CPU's idle thread runs with PKS_INIT_VALUE (the page-table key read-only, readable): a kernel thread
 * (lazy TLB) can read page tables and change the direct map. The idle threads were created before the page-table
 * key was allocated; boot must give them the final value.
 */
import { describe, expect, it } from 'vitest';
import { directMapVa } from '../../src/cpa/writer.js';
import { boot } from './helpers.js';

describe.each(['pks', 'pks-lock'] as const)('idle threads under %s', (policy) => {
  it('carry PKS_INIT_VALUE, so kernel work on a lazy CPU reads page tables without faulting', () => {
    const { m, k } = boot(policy, { cpus: 3 });
    for (const c of m.cpus) expect(k.pks.current(c).pkrs).toBe(k.pks.initValue());
    const mm = k.createAddressSpace();
    for (const c of m.cpus) mm.switchTo(c);
    mm.map(0x400000n, 4, { write: true });
    const c1 = m.cpus[1];
    k.enterLazy(c1); // a kernel thread runs on CPU 1: its idle thread's PKRS is loaded
    expect(c1.pkrs).toBe(k.pks.initValue());
    const wrmsr = k.stats().wrmsr;
    // Kernel work made on CPU 1: CPA reads the direct map's tables, the unmap reads and writes the PTEs.
    const pa = k.buddy.alloc(0);
    expect(k.setMemoryRo(directMapVa(pa), 1, c1)).toBe(0);
    expect(k.setMemoryRw(directMapVa(pa), 1, c1)).toBe(0);
    mm.unmap(0x400000n, 2, { cpu: c1 });
    expect(k.oopses).toEqual([]);
    expect(k.stats().wrmsr).toBeGreaterThan(wrmsr); // the writes opened windows as usual
    expect(c1.pkrs).toBe(k.pks.initValue());
    expect(k.check({ tlb: true })).toEqual([]);
  });

  it('adoptBootPkrs refuses a CPU whose PKRS is not PKS_INIT_VALUE', () => {
    const { m, k } = boot(policy, { cpus: 2 });
    k.pks.pks_set_readwrite(m.cpus[0], k.ptKey);
    expect(() => k.pks.adoptBootPkrs(m.cpus[0])).toThrow(RangeError);
    k.pks.pks_set_readonly(m.cpus[0], k.ptKey);
    expect(() => k.pks.adoptBootPkrs(m.cpus[0])).not.toThrow();
  });
});
