/**
 * clear_page's cost comes from the profile (`clearPage`, one bulk operation per page), while the write stays the
 * emulated CPU's: translated as a supervisor write through the direct map, so a page the CPU may not write faults.
 */
import { describe, expect, it } from 'vitest';
import { PageFault } from '../../src/cpu/faults.js';
import { directMapVa } from '../../src/cpa/writer.js';
import { clearPageVia } from '../../src/pgtable/clear-page.js';
import { Machine } from '../../src/index.js';
import { Kernel } from '../../src/pgtable/kernel.js';
import type { ProtectionPolicy } from '../../src/pgtable/policies.js';
import { boot } from './helpers.js';

const PFEC_P = 1;
const PFEC_W = 2;
const PFEC_PK = 1 << 5;

/** A 2-CPU machine (optionally with a clearPage override) and the kernel model on it. */
function bootWith(policy: ProtectionPolicy, clearPage?: number, zeroPages = true): { m: Machine; k: Kernel } {
  const m = new Machine({ cpus: 2, memory: 2 ** 30, ...(clearPage === undefined ? {} : { profileOverrides: { clearPage } }) });
  return { m, k: Kernel.boot(m, { protection: policy, directMap: '2M', zeroPages }) };
}

describe('clear_page cost', () => {
  it('is the profile figure: changing clearPage changes the charge by exactly the difference', () => {
    const charge = (over: number | undefined, zeroPages = true): number => {
      const { m, k } = bootWith('none', over, zeroPages);
      const cpu = m.cpus[0];
      const mm = k.createAddressSpace();
      mm.switchTo(cpu);
      mm.map(0x400000n, 1, { write: true });
      const t0 = cpu.cycles;
      mm.map(0x401000n, 1, { write: true });
      return cpu.cycles - t0;
    };
    const base = charge(undefined);
    const none = charge(undefined, false);
    expect(charge(10_000) - charge(0)).toBe(10_000);
    expect(charge(5000) - charge(1000)).toBe(4000);
    // With the shipped figure, zeroing adds the figure plus the page's translation, and nothing per store.
    const { m } = boot('none');
    expect(base - none).toBeGreaterThanOrEqual(m.profile.clearPage);
    expect(base - none).toBeLessThan(m.profile.clearPage + 200);
  });

  it('the built-in profiles carry a sourced figure, and a bad override is rejected', () => {
    const { m } = boot('none');
    expect(m.profile.clearPage).toBe(Math.round((4096 / 9.21) * m.profile.ghz));
    expect(() => bootWith('none', -1)).toThrow(/clearPage must be a finite number >= 0/);
    expect(() => bootWith('none', 'x' as unknown as number)).toThrow(TypeError);
    expect(new Machine({ profile: 'skylake-sp' }).profile.clearPage).toBe(Math.round((4096 / 9.21) * 2.7));
  });
});

describe('clear_page function', () => {
  it('zeroes every byte of the page and no byte outside it', () => {
    const { m, k } = boot('none');
    const cpu = m.cpus[0];
    const pa = k.buddy.alloc(1); // two pages: clear the first
    for (let off = 0; off < 8192; off += 8) m.memory.write64(pa + off, 0x1122334455667788n);
    clearPageVia(cpu, pa);
    for (let off = 0; off < 4096; off += 8) expect(m.memory.read64(pa + off)).toBe(0n);
    for (let off = 4096; off < 8192; off += 8) expect(m.memory.read64(pa + off)).toBe(0x1122334455667788n);
    expect(() => clearPageVia(cpu, pa + 8)).toThrow(RangeError);
  });

  it('a PKS-protected page (the page-table key, no write window) faults with P|W|PK, nothing zeroed', () => {
    const { m, k } = boot('pks');
    const cpu = m.cpus[0];
    const pa = k.buddy.alloc(0);
    m.memory.write64(pa, 0xabcdn);
    expect(k.setMemoryPks(directMapVa(pa), 1, k.ptKey, cpu)).toBe(0);
    const c0 = cpu.cycles;
    let err: unknown;
    try {
      clearPageVia(cpu, pa);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PageFault);
    expect((err as PageFault).errorCode).toBe(PFEC_P | PFEC_W | PFEC_PK);
    expect((err as PageFault).address).toBe(directMapVa(pa));
    expect(m.memory.read64(pa)).toBe(0xabcdn);
    expect(cpu.cycles - c0).toBeLessThan(m.profile.clearPage); // the bulk cost is not charged for a faulting write
    // With the key writable (a write window), the same clear succeeds.
    k.pks.pks_set_readwrite(cpu, k.ptKey);
    clearPageVia(cpu, pa);
    k.pks.pks_set_readonly(cpu, k.ptKey);
    expect(m.memory.read64(pa)).toBe(0n);
  });

  it('a read-only page (paging-ro: a page table in the direct map) faults with P|W', () => {
    const { m, k } = boot('paging-ro');
    const cpu = m.cpus[0];
    const mm = k.createAddressSpace();
    const pgd = mm.pgdPa;
    let err: unknown;
    try {
      k.clearPage(cpu, pgd);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(PageFault);
    expect((err as PageFault).errorCode & (PFEC_P | PFEC_W)).toBe(PFEC_P | PFEC_W);
    expect(k.stats().pagesZeroed).toBe(0);
    expect(k.check()).toEqual([]);
  });
});
