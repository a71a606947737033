import { describe, expect, it } from 'vitest';
import { Kernel, Machine, PageFault } from '../../src/index.js';
import { POKE_VA } from '../../src/pgtable/policies.js';
import { boot, expectTranslations, hw, pageAccount, POLICY_LIST } from './helpers.js';

const VA = 0x400000n;

describe.each(POLICY_LIST)('kernel model under %s', (policy) => {
  it('maps, translates, protects, unmaps on two CPUs, with no table left writable', () => {
    const { m, k } = boot(policy);
    const [c0, c1] = m.cpus;
    const before = pageAccount(k);
    const mm = k.createAddressSpace();
    mm.switchTo(c0);
    mm.switchTo(c1);
    mm.map(VA, 40, { write: true });
    const vas = mm.mappedPages();
    expectTranslations(c0, mm, vas);
    expectTranslations(c1, mm, vas);
    mm.protect(VA, 40, { write: false });
    expectTranslations(c0, mm, vas);
    expectTranslations(c1, mm, vas); // the flush reached CPU 1
    mm.unmap(VA, 40);
    expectTranslations(c0, mm, vas);
    expectTranslations(c1, mm, vas);
    expect(k.check()).toEqual([]);
    expect(pageAccount(k)).toBe(before);
    mm.destroy();
    expect(pageAccount(k)).toBe(before);
    expect(k.check()).toEqual([]);
  });

  it('fork shares pages copy-on-write; the first write copies', () => {
    const { m, k } = boot(policy);
    const c0 = m.cpus[0];
    const mm = k.createAddressSpace();
    mm.switchTo(c0);
    mm.map(VA, 3, { write: true });
    c0.write(VA, 8, 0x1234n, { cpl: 3 });
    const child = mm.fork();
    expect(mm.translate(VA)).toMatchObject({ write: false, cow: true });
    expect(child.translate(VA)?.pa).toBe(mm.translate(VA)?.pa);
    expectTranslations(c0, mm, mm.mappedPages()); // the parent's flush dropped its writable entries
    expect(() => c0.write(VA, 8, 1n, { cpl: 3 })).toThrow(PageFault);
    child.switchTo(c0);
    expectTranslations(c0, child, child.mappedPages());
    child.writeFault(VA);
    expect(child.translate(VA)).toMatchObject({ write: true, cow: false });
    expect(child.translate(VA)?.pa).not.toBe(mm.translate(VA)?.pa);
    expect(c0.read(VA, 8, { cpl: 3 })).toBe(0x1234n);
    c0.write(VA, 8, 0x99n, { cpl: 3 });
    mm.switchTo(c0);
    expect(c0.read(VA, 8, { cpl: 3 })).toBe(0x1234n);
    mm.writeFault(VA); // no longer shared: reused in place
    expect(mm.translate(VA)).toMatchObject({ write: true, cow: false });
    expectTranslations(c0, mm, mm.mappedPages());
    expect(k.check()).toEqual([]);
    child.destroy();
    mm.destroy();
  });

  it('a lazy CPU is skipped by the flush and catches up when it switches back', () => {
    const { m, k } = boot(policy);
    const [c0, c1] = m.cpus;
    const mm = k.createAddressSpace();
    mm.switchTo(c0);
    mm.switchTo(c1);
    mm.map(VA, 2, { write: true });
    hw(c1, VA, true); // CPU 1 caches the translation
    k.enterLazy(c1);
    const ipis = k.stats().tlb.ipis;
    mm.unmap(VA, 1, { cpu: c0 });
    expect(k.stats().tlb.ipis).toBe(ipis);
    expect(k.stats().tlb.lazySkipped).toBeGreaterThan(0);
    mm.switchTo(c1);
    expectTranslations(c1, mm, [VA, VA + 0x1000n]);
  });

  it('page aging clears the Accessed bit the walker set, and the next access sets it again', () => {
    const { m, k } = boot(policy);
    const c0 = m.cpus[0];
    const mm = k.createAddressSpace();
    mm.switchTo(c0);
    mm.map(VA, 1, { write: true });
    const ptep = Number(mm.pageTables()[3]) + 8 * ((Number(VA) / 4096) % 512);
    m.memory.write64(ptep, m.memory.read64(ptep) & ~0x20n); // as if never accessed
    expect(mm.clearYoung(VA)).toBe(false);
    c0.read(VA, 8, { cpl: 3 });
    expect(m.memory.read64(ptep) & 0x20n).toBe(0x20n);
    expect(mm.clearYoung(VA)).toBe(true);
    expect(m.memory.read64(ptep) & 0x20n).toBe(0n);
    c0.read(VA, 8, { cpl: 3 }); // the flush made the CPU walk again
    expect(m.memory.read64(ptep) & 0x20n).toBe(0x20n);
    expect(k.check()).toEqual([]);
  });

  it('is deterministic: the same operations give the same cycles and stats', () => {
    const run = () => {
      const { m, k } = boot(policy);
      const mm = k.createAddressSpace();
      mm.switchTo(m.cpus[0]);
      mm.map(VA, 100, { write: true });
      const ch = mm.fork();
      mm.unmap(VA, 50);
      ch.destroy();
      return k.stats();
    };
    expect(run()).toEqual(run());
  });
});

describe('policy mechanics', () => {
  it('pks flips PKRS around every entry write; pks-lock once per lock hold', () => {
    const flips = (p: 'pks' | 'pks-lock') => {
      const { m, k } = boot(p);
      const mm = k.createAddressSpace();
      mm.switchTo(m.cpus[0]);
      mm.map(VA, 8, { write: true }); // warm: tables exist
      const w0 = k.stats().wrmsr;
      mm.protect(VA, 8, { write: false });
      return k.stats().wrmsr - w0;
    };
    expect(flips('pks')).toBe(16); // 8 writes, two flips each
    expect(flips('pks-lock')).toBe(2);
  });

  it('flush_tlb_mm_range: INVLPG up to 33 pages on each CPU running the mm, a full flush beyond; one IPI per other CPU', () => {
    const { m, k } = boot('none', { cpus: 3 });
    const mm = k.createAddressSpace();
    mm.switchTo(m.cpus[0]);
    mm.switchTo(m.cpus[1]); // CPU 2 never runs it: not in the cpumask
    mm.map(VA, 100, { write: true });
    const t0 = { ...k.stats().tlb };
    mm.unmap(VA, 33, { cpu: m.cpus[0] });
    const t1 = { ...k.stats().tlb };
    expect(t1.invlpg - t0.invlpg).toBe(66);
    expect(t1.fullFlushes - t0.fullFlushes).toBe(0);
    expect(t1.ipis - t0.ipis).toBe(1);
    mm.unmap(VA + 33n * 4096n, 34, { cpu: m.cpus[0] });
    const t2 = { ...k.stats().tlb };
    expect(t2.invlpg - t1.invlpg).toBe(0);
    expect(t2.fullFlushes - t1.fullFlushes).toBe(2);
    expect(m.cpus[2].stats.ipisReceived).toBe(0);
  });

  it('poke writes through the per-CPU alias with CR3 switches and no IPI', () => {
    const { m, k } = boot('poke', { cpus: 4 });
    const c0 = m.cpus[0];
    const mm = k.createAddressSpace();
    mm.switchTo(c0);
    mm.map(VA, 1, { write: true });
    const ipis = k.stats().ipis;
    const cr3 = c0.stats.cr3Writes;
    mm.map(VA + 0x1000n, 1, { write: true }); // one PTE write, tables exist
    expect(k.stats().ipis).toBe(ipis);
    expect(c0.stats.cr3Writes - cr3).toBe(2);
    // the alias is gone afterwards: nothing maps POKE_VA in the poking mm's PT
    expect(c0.translate(POKE_VA, { access: 'read', cpl: 0, probe: true }).ok).toBe(false);
  });

  it('paging-ro makes the table writable through CPA for each write, flushing every CPU', () => {
    const { m, k } = boot('paging-ro', { cpus: 3 });
    const mm = k.createAddressSpace();
    mm.switchTo(m.cpus[0]);
    mm.map(VA, 1, { write: true });
    const s0 = k.stats();
    mm.map(VA + 0x1000n, 1, { write: true });
    const s1 = k.stats();
    expect(s1.ipis - s0.ipis).toBe(4); // set_memory_rw and set_memory_ro each flush the 2 other CPUs
    expect(k.check()).toEqual([]);
  });

  it('the group cache refills with one 2 MiB block; ungrouped protects each page on its own', () => {
    const grouped = boot('pks', { groupedCache: true }).k;
    const single = boot('pks', { groupedCache: false }).k;
    for (const k of [grouped, single]) {
      const mm = k.createAddressSpace();
      mm.map(VA, 1, { write: true });
      mm.map(0x40000000n, 1, { write: true });
    }
    const flushes = (k: typeof grouped) => k.stats().cpa.flushes.single + k.stats().cpa.flushes.full;
    expect(grouped.stats().cacheRefills).toBe(1);
    expect(single.stats().cacheRefills).toBe(0);
    expect(grouped.stats().tablePages).toBe(6); // PGD, PUD, 2 PMDs (two GiB ranges), 2 PTs
    expect(flushes(grouped)).toBe(1); // one kernel range flush for the whole block
    expect(flushes(single)).toBe(single.stats().tablePages); // one per page
  });

  it('NUMA: each node has its own list; a CPU takes table pages from its node', () => {
    const { m, k } = boot('pks', { nodes: 2, cpus: 2 });
    const mm = k.createAddressSpace();
    mm.map(VA, 1, { write: true }, { cpu: m.cpus[1] });
    const [pgd, ...rest] = mm.pageTables().map(Number);
    const buddy = k.buddy as unknown as { nodeOf(pa: number): number };
    expect(buddy.nodeOf(pgd)).toBe(0); // made on CPU 0
    for (const t of rest) expect(buddy.nodeOf(t)).toBe(1);
    expect(k.stats().cacheRefills).toBe(2);
    expect(k.check()).toEqual([]);
  });

  it('the shrinker gives cache pages back with key 0 again', () => {
    const { m, k } = boot('pks');
    const mm = k.createAddressSpace();
    mm.map(VA, 1, { write: true });
    mm.destroy();
    const free = k.buddy.freePages;
    const n = k.shrinkCache();
    expect(n).toBeGreaterThan(500);
    expect(k.buddy.freePages).toBe(free + n);
    expect(k.cache.freePages).toBe(0);
    void m;
  });
});

describe('machine and boot variants', () => {
  const variants = [
    { name: '1 GiB direct map', directMap: '1G' as const, features: {} },
    { name: '4 KiB direct map', directMap: '4K' as const, features: {} },
    { name: 'no PCID', directMap: '2M' as const, features: { pcid: false } },
  ];
  for (const v of variants) {
    it.each(POLICY_LIST)(`${v.name}, %s: map, fork, unmap on two CPUs stay coherent and protected`, (policy) => {
      const m = new Machine({ cpus: 2, memory: 2 ** 30, features: v.features });
      const k = Kernel.boot(m, { protection: policy, directMap: v.directMap });
      const [c0, c1] = m.cpus;
      const mm = k.createAddressSpace();
      mm.switchTo(c0);
      mm.switchTo(c1);
      mm.map(VA, 5, { write: true, exec: true });
      expectTranslations(c1, mm, mm.mappedPages());
      const child = mm.fork({ cpu: c0 });
      expectTranslations(c1, mm, mm.mappedPages());
      child.switchTo(c0);
      mm.unmap(VA, 2, { cpu: c1 });
      expectTranslations(c1, mm, [VA, VA + 0x1000n, VA + 0x2000n]);
      expectTranslations(c0, child, child.mappedPages());
      mm.switchTo(c0);
      expectTranslations(c0, mm, [VA, VA + 0x1000n, VA + 0x2000n]);
      expect(k.check({ tlb: true })).toEqual([]);
      child.destroy();
      mm.destroy();
    });
  }
});
