import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Machine } from '../../src/index.js';
import { BuddyAllocator } from '../../src/pgtable/buddy.js';
import { GroupCache, type GroupProtection } from '../../src/pgtable/group-cache.js';

const MB2 = 2 ** 21;

function setup(memPages: number, grouped = true, failProtect = false) {
  const m = new Machine({ cpus: 1, memory: 2 ** 30 });
  const buddy = new BuddyAllocator(0, memPages * 4096);
  const calls: string[] = [];
  const protectedPages = new Set<number>();
  const prot: GroupProtection = {
    protect(_cpu, pa, pages) {
      calls.push(`protect ${pa / 4096} ${pages}`);
      if (failProtect) return false;
      for (let i = 0; i < pages; i++) protectedPages.add(pa + i * 4096);
      return true;
    },
    unprotect(_cpu, pa, pages) {
      calls.push(`unprotect ${pa / 4096} ${pages}`);
      for (let i = 0; i < pages; i++) protectedPages.delete(pa + i * 4096);
    },
  };
  const cache = new GroupCache(buddy, prot, grouped);
  return { cpu: m.cpus[0], buddy, cache, calls, protectedPages };
}

describe('grouped page cache', () => {
  it('refills with one order-9 block protected at once, then hands out its pages without new protection', () => {
    const { cpu, cache, calls, protectedPages, buddy } = setup(4096);
    const first = cache.get_grouped_page(cpu);
    expect(first % MB2).toBe(0);
    expect(calls).toEqual([`protect ${first / 4096} 512`]);
    const next = cache.get_grouped_page(cpu);
    expect(next).toBe(first + 4096);
    expect(calls.length).toBe(1);
    expect(cache.stats.refills).toBe(1);
    expect(cache.freePages).toBe(510);
    expect(protectedPages.has(next)).toBe(true);
    expect(buddy.freePages).toBe(4096 - 512);
  });

  it('hands out the most recently freed page first', () => {
    const { cpu, cache } = setup(4096);
    const a = cache.get_grouped_page(cpu);
    const b = cache.get_grouped_page(cpu);
    cache.free_grouped_page(cpu, a);
    cache.free_grouped_page(cpu, b);
    expect(cache.get_grouped_page(cpu)).toBe(b);
    expect(cache.get_grouped_page(cpu)).toBe(a);
  });

  it('falls back to one order-0 page when no 2 MiB block is free, and reports -1 when nothing is', () => {
    const { cpu, cache, calls } = setup(3); // 3 pages: no order-9 block
    const p = cache.get_grouped_page(cpu);
    expect(p).toBeGreaterThanOrEqual(0);
    expect(calls).toEqual([`protect ${p / 4096} 1`]);
    expect(cache.stats.fallbacks).toBe(1);
    cache.get_grouped_page(cpu);
    cache.get_grouped_page(cpu);
    expect(cache.get_grouped_page(cpu)).toBe(-1);
    expect(cache.stats.failures).toBe(1);
  });

  it('returns the block when protection fails (no page leaks)', () => {
    const { cpu, cache, buddy } = setup(1024, true, true);
    expect(cache.get_grouped_page(cpu)).toBe(-1);
    expect(buddy.freePages).toBe(1024);
  });

  it('the shrinker unprotects contiguous runs with one call each and returns the pages to the buddy allocator', () => {
    const { cpu, cache, calls, buddy, protectedPages } = setup(2048);
    const got = Array.from({ length: 4 }, () => cache.get_grouped_page(cpu));
    for (const p of got) cache.free_grouped_page(cpu, p);
    expect(cache.shrink(cpu)).toBe(512);
    expect(calls.slice(1)).toEqual([`unprotect ${got[0] / 4096} 512`]);
    expect(buddy.freePages).toBe(2048);
    expect(protectedPages.size).toBe(0);
    expect(buddy.freeCount(9) + buddy.freeCount(10)).toBeGreaterThan(0); // merged back
  });

  it('ungrouped: each page protected on its own and unprotected when freed', () => {
    const { cpu, cache, calls, buddy } = setup(1024, false);
    const a = cache.get_grouped_page(cpu);
    const b = cache.get_grouped_page(cpu);
    expect(calls).toEqual([`protect ${a / 4096} 1`, `protect ${b / 4096} 1`]);
    cache.free_grouped_page(cpu, a);
    expect(calls[2]).toBe(`unprotect ${a / 4096} 1`);
    expect(buddy.freePages).toBe(1023);
    expect(cache.stats.refills).toBe(0);
  });

  it('rejects a double free', () => {
    const { cpu, cache } = setup(1024);
    const a = cache.get_grouped_page(cpu);
    cache.free_grouped_page(cpu, a);
    expect(() => cache.free_grouped_page(cpu, a)).toThrow(RangeError);
  });

  it('conserves pages over random get/free/shrink sequences', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constant('get'), fc.nat(50), fc.constant('shrink')), { maxLength: 200 }), fc.boolean(), (ops, grouped) => {
        const { cpu, cache, buddy, protectedPages } = setup(1500, grouped);
        const held: number[] = [];
        for (const op of ops) {
          if (op === 'get') {
            const p = cache.get_grouped_page(cpu);
            if (p >= 0) {
              expect(held.includes(p)).toBe(false);
              expect(protectedPages.has(p)).toBe(true);
              held.push(p);
            }
          } else if (op === 'shrink') cache.shrink(cpu, 100);
          else if (held.length > 0) cache.free_grouped_page(cpu, held.splice(op % held.length, 1)[0]);
          expect(buddy.freePages + cache.freePages + cache.pagesInUse).toBe(1500);
          expect(cache.pagesInUse).toBe(held.length);
        }
      }),
      { seed: 9, numRuns: 60 },
    );
  });
});
