import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { KernelError } from '../../src/pgtable/errors.js';
import type { AddressSpace } from '../../src/pgtable/mm.js';
import { boot, expectTranslations, hw, pageAccount, POLICY_LIST } from './helpers.js';
import { opInterpreter, type Op } from './ops.js';

/** Regions: two in one PMD range, one across a 2 MiB boundary, one across a 1 GiB boundary, one high. */
const REGIONS = [0x400000n, 0x420000n, 0x5fe000n, 0x3fffe000n, 0x7f0000000000n];
const SPAN = 48; // pages per region

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('map' as const), mm: fc.nat(3), r: fc.nat(REGIONS.length - 1), p: fc.nat(SPAN - 1), n: fc.integer({ min: 1, max: 40 }), write: fc.boolean(), exec: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('unmap' as const, 'protect' as const), mm: fc.nat(3), r: fc.nat(REGIONS.length - 1), p: fc.nat(SPAN - 1), n: fc.integer({ min: 1, max: 40 }), write: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('fork' as const, 'destroy' as const, 'create' as const), mm: fc.nat(3) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('switch' as const), cpu: fc.nat(2), mm: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('lazy' as const), cpu: fc.nat(2) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('touch' as const), cpu: fc.nat(2), r: fc.nat(REGIONS.length - 1), p: fc.nat(SPAN - 1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('cow' as const), mm: fc.nat(3), r: fc.nat(REGIONS.length - 1), p: fc.nat(SPAN - 1) }) },
);

const { va, apply } = opInterpreter({
  regions: REGIONS,
  span: SPAN,
  maxMms: 4,
  touch: (cpu, v, mm) => void hw(cpu, v, mm.translate(v)?.user ?? true),
});

const ALL_VAS = REGIONS.flatMap((_, r) => Array.from({ length: SPAN }, (_, p) => va(r, p)));

describe.each(POLICY_LIST)('kernel model properties under %s', (policy) => {
  it('translations match the model, tables stay protected, pages are conserved, no stale TLB entry', () => {
    fc.assert(
      fc.property(fc.array(arbOp, { minLength: 5, maxLength: 22 }), (ops) => {
        const { m, k } = boot(policy, { cpus: 3 });
        const total = pageAccount(k);
        const mms: AddressSpace[] = [k.createAddressSpace()];
        for (const o of ops) {
          apply(k, mms, o);
          expect(pageAccount(k)).toBe(total);
          expect(k.check({ tlb: true })).toEqual([]); // memory and every CPU's TLB
          for (const cpu of m.cpus) {
            const cur = k.tlb.loaded[cpu.index] as AddressSpace | null;
            if (cur !== null && !k.tlb.lazy[cpu.index]) expectTranslations(cpu, cur, ALL_VAS.filter((_, i) => i % 3 === 0));
          }
        }
        for (const mm of mms) mm.destroy();
        expect(pageAccount(k)).toBe(total);
        expect(k.cache.pagesInUse).toBe(policy === 'poke' ? 4 * m.cpus.length : 0);
        expect(k.dataPages).toBe(0);
      }),
      { seed: 0x5eed + POLICY_LIST.indexOf(policy), numRuns: 12 },
    );
  });

  it('the same sequence gives the same cycles on every CPU', () => {
    fc.assert(
      fc.property(fc.array(arbOp, { minLength: 5, maxLength: 15 }), (ops) => {
        const go = () => {
          const { k } = boot(policy, { cpus: 3 });
          const mms: AddressSpace[] = [k.createAddressSpace()];
          for (const o of ops) apply(k, mms, o);
          return k.stats();
        };
        expect(go()).toEqual(go());
      }),
      { seed: 77, numRuns: 4 },
    );
  });
});

describe('out of memory', () => {
  it.each(POLICY_LIST)('%s: map and fork fail with -ENOMEM, nothing half-made, pages conserved', (policy) => {
    const { m, k } = boot(policy, { memory: 64 * 2 ** 20 });
    const total = pageAccount(k);
    const mm = k.createAddressSpace();
    mm.switchTo(m.cpus[0]);
    let err: unknown;
    let mapped = 0;
    try {
      for (;;) {
        mm.map(BigInt(mapped) * 0x200000n + 0x400000n, 512, { write: true });
        mapped++;
      }
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(KernelError);
    expect((err as KernelError).errno).toBe(-12);
    expect(mm.size).toBe(mapped * 512);
    expect(pageAccount(k)).toBe(total);
    expect(k.check()).toEqual([]);
    expectTranslations(m.cpus[0], mm, [0x400000n, BigInt(mapped) * 0x200000n + 0x400000n]);
    // Use up every page (the cache's free pages too), then free 3: fork gets its PGD, PUD and PMD, then runs out.
    k.shrinkCache();
    const tail = BigInt(mapped) * 0x200000n + 0x400000n; // its page table exists (the failed chunk's)
    let extra = 0;
    try {
      for (; extra < 100000; extra++) mm.map(tail + BigInt(extra) * 0x1000n, 1, { write: true });
    } catch (e) {
      expect(e).toBeInstanceOf(KernelError);
    }
    expect(k.buddy.freePages).toBe(0);
    mm.unmap(tail, 3);
    let forkErr: unknown;
    try {
      mm.fork();
    } catch (e) {
      forkErr = e;
    }
    expect(forkErr).toBeInstanceOf(KernelError);
    expect((forkErr as KernelError).errno).toBe(-12);
    expect(k.addressSpaces()).toEqual([mm]);
    expect(pageAccount(k)).toBe(total);
    expect(k.check()).toEqual([]);
    expectTranslations(m.cpus[0], mm, [0x400000n, 0x401000n]);
    mm.destroy();
    expect(pageAccount(k)).toBe(total);
  });
});
