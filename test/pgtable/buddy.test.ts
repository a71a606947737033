import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { allocPages, BuddyAllocator, MAX_ORDER, NodeAllocator } from '../../src/pgtable/buddy.js';

const MiB = 2 ** 20;

/** Sum of free pages over the free lists, from freeCount. */
function listedFree(b: { freeCount(o: number): number }): number {
  let s = 0;
  for (let o = 0; o <= MAX_ORDER; o++) s += b.freeCount(o) << o;
  return s;
}

describe('BuddyAllocator', () => {
  it('starts with the whole range free as MAX_ORDER blocks plus aligned edge blocks', () => {
    const b = new BuddyAllocator(0, 64 * MiB);
    expect(b.totalPages).toBe(16384);
    expect(b.freePages).toBe(16384);
    expect(b.freeCount(10)).toBe(16);
    for (let o = 0; o < 10; o++) expect(b.freeCount(o)).toBe(0);
    // Unaligned: [12 KiB, 4 MiB + 8 KiB): edges split into the largest aligned blocks.
    const u = new BuddyAllocator(3 * 4096, 4 * MiB + 2 * 4096);
    expect(u.freePages).toBe(1024 - 3 + 2);
    expect(listedFree(u)).toBe(u.freePages);
    expect(u.freeCount(0)).toBe(1); // pfn 3
    expect(u.freeCount(2)).toBe(1); // pfn 4..7
    expect(u.freeCount(1)).toBe(1); // pfn 1024..1025 (the tail)
    for (let o = 3; o <= 9; o++) expect(u.freeCount(o)).toBe(1); // pfn 8..15, 16..31, ..., 512..1023
    expect(u.freeCount(10)).toBe(0);
  });

  it('splits the smallest block that fits and gives the upper halves back (expand)', () => {
    const b = new BuddyAllocator(0, 4 * MiB);
    const pa = b.alloc(0);
    expect(pa).toBe(0);
    for (let o = 0; o < 10; o++) expect(b.freeCount(o)).toBe(1);
    expect(b.freeCount(10)).toBe(0);
    expect(b.freeBlocks(9)).toEqual([2 * MiB]);
    // The next order-0 allocation takes the order-0 buddy (pfn 1).
    expect(b.alloc(0)).toBe(4096);
    b.free(0, 0);
    b.free(4096, 0);
    // Everything merged back into the single 4 MiB block.
    expect(b.freeCount(10)).toBe(1);
    for (let o = 0; o < 10; o++) expect(b.freeCount(o)).toBe(0);
  });

  it('takes the most recently freed block first (LIFO)', () => {
    const b = new BuddyAllocator(0, 4 * MiB);
    const a = [b.alloc(0), b.alloc(0), b.alloc(0), b.alloc(0)];
    b.free(a[0], 0); // merges nothing: its buddy a[1] is allocated
    b.free(a[2], 0);
    expect(b.alloc(0)).toBe(a[2]);
    expect(b.alloc(0)).toBe(a[0]);
  });

  it('returns NO_PAGE (-1) when out of memory, and stays consistent', () => {
    const b = new BuddyAllocator(0, 8 * MiB);
    expect(b.alloc(10)).toBe(0);
    expect(b.alloc(10)).toBe(4 * MiB);
    expect(b.alloc(10)).toBe(-1);
    expect(b.alloc(0)).toBe(-1);
    expect(b.freePages).toBe(0);
    b.free(4 * MiB, 10);
    expect(b.alloc(0)).toBe(4 * MiB);
    expect(b.freePages).toBe(1023);
  });

  it('allocPages gives a typed result: the block, or ENOMEM', () => {
    const b = new BuddyAllocator(0, 4 * MiB);
    expect(allocPages(b, 10)).toEqual({ ok: true, pa: 0, order: 10 });
    expect(allocPages(b, 0)).toEqual({ ok: false, errno: -12, order: 0 });
    b.free(0, 10);
    expect(allocPages(b, 3)).toEqual({ ok: true, pa: 0, order: 3 });
  });

  it('rejects misuse with RangeErrors naming the value', () => {
    const b = new BuddyAllocator(0, 4 * MiB);
    expect(() => b.alloc(11)).toThrow(/order must be an integer 0..10, got 11/);
    expect(() => b.alloc(-1)).toThrow(RangeError);
    expect(() => b.alloc(1.5)).toThrow(RangeError);
    const pa = b.alloc(2);
    expect(() => b.free(pa, 1)).toThrow(/allocated with order 2/);
    b.free(pa, 2);
    expect(() => b.free(pa, 2)).toThrow(/double free/);
    expect(() => b.free(123, 0)).toThrow(/aligned/);
    expect(() => new BuddyAllocator(5, 4096)).toThrow(/start/);
    expect(() => new BuddyAllocator(8192, 4096)).toThrow(/end/);
  });

  it('split_page: an order-9 block freed page by page merges back', () => {
    const b = new BuddyAllocator(0, 4 * MiB);
    const pa = b.alloc(9);
    b.splitAllocated(pa, 9);
    expect(() => b.free(pa, 9)).toThrow(RangeError);
    for (let i = 511; i >= 0; i--) b.free(pa + i * 4096, 0);
    expect(b.freeCount(10)).toBe(1);
    expect(b.freePages).toBe(1024);
  });

  it('keeps host memory bounded for a 1 TiB range (nothing per page, untouched blocks lazy)', () => {
    const b = new BuddyAllocator(0, 2 ** 40);
    expect(b.freeCount(10)).toBe(2 ** 18);
    const pa = b.alloc(0);
    expect(pa).toBe(0);
    expect(b.freePages).toBe(2 ** 28 - 1);
    expect(b.allocatedBlocks).toBe(1);
    b.free(pa, 0);
    expect(b.freeCount(10)).toBe(2 ** 18);
  });

  // An operation: allocate at an order, or free the i-th held block.
  const op = fc.oneof(
    fc.record({ kind: fc.constant('alloc' as const), order: fc.integer({ min: 0, max: MAX_ORDER }) }),
    fc.record({ kind: fc.constant('free' as const), index: fc.nat() }),
    fc.record({ kind: fc.constant('split' as const), index: fc.nat() }),
  );

  it('property: split and merge conserve pages, no page is handed out twice, counts per order add up', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40 }),
        fc.integer({ min: 1, max: 3000 }),
        fc.array(op, { maxLength: 120 }),
        (startPages, lenPages, ops) => {
          const start = startPages * 4096;
          const b = new BuddyAllocator(start, start + lenPages * 4096);
          const held: { pa: number; order: number }[] = [];
          const owner = new Map<number, number>(); // pfn -> id of the holding block
          let id = 0;
          for (const o of ops) {
            if (o.kind === 'alloc') {
              const before = b.freePages;
              const pa = b.alloc(o.order);
              if (pa === -1) {
                expect(b.freePages).toBe(before);
                // No free block of this order or above.
                for (let k = o.order; k <= MAX_ORDER; k++) expect(b.freeCount(k)).toBe(0);
                continue;
              }
              const n = 1 << o.order;
              expect(pa % (n * 4096)).toBe(0);
              expect(pa).toBeGreaterThanOrEqual(start);
              expect(pa + n * 4096).toBeLessThanOrEqual(start + lenPages * 4096);
              id++;
              for (let i = 0; i < n; i++) {
                expect(owner.has(pa / 4096 + i)).toBe(false);
                owner.set(pa / 4096 + i, id);
              }
              held.push({ pa, order: o.order });
            } else if (held.length > 0) {
              const [h] = held.splice(o.index % held.length, 1);
              if (o.kind === 'split') {
                b.splitAllocated(h.pa, h.order);
                for (let i = 0; i < 1 << h.order; i++) held.push({ pa: h.pa + i * 4096, order: 0 });
              } else {
                b.free(h.pa, h.order);
                for (let i = 0; i < 1 << h.order; i++) owner.delete(h.pa / 4096 + i);
              }
            }
            const used = held.reduce((s, h) => s + (1 << h.order), 0);
            expect(b.freePages + used).toBe(lenPages);
            expect(listedFree(b)).toBe(b.freePages);
          }
          // Free everything: all merges happen, the free lists equal those of a fresh allocator.
          for (const h of held) b.free(h.pa, h.order);
          const fresh = new BuddyAllocator(start, start + lenPages * 4096);
          for (let k = 0; k <= MAX_ORDER; k++) expect(b.freeBlocks(k)).toEqual(fresh.freeBlocks(k));
        },
      ),
      { numRuns: 200, seed: 0xb0dd1 },
    );
  });
});

describe('NodeAllocator', () => {
  it('prefers the given node and falls back to the others in order', () => {
    const n = new NodeAllocator([new BuddyAllocator(0, 4 * MiB), new BuddyAllocator(4 * MiB, 8 * MiB)]);
    expect(n.alloc(0, 1)).toBe(4 * MiB);
    expect(n.alloc(10, 1)).toBe(0); // node 1 has no 4 MiB block left: falls back to node 0
    expect(n.alloc(10, 0)).toBe(-1);
    expect(n.nodeOf(5 * MiB)).toBe(1);
    n.free(4 * MiB, 0);
    n.free(0, 10);
    expect(n.freePages).toBe(2048);
    expect(n.freeCount(10)).toBe(2);
    expect(() => n.alloc(0, 2)).toThrow(/node must be an integer 0..1, got 2/);
    expect(() => n.free(9 * MiB, 0)).toThrow(/not in any node/);
  });
});
