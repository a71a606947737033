/**
 * The TLB arrays themselves: set-associative with LRU replacement, deterministic; and accesses that straddle
 * a page boundary.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AssocCache, enterLongMode, Machine, PageFault, PageTableBuilder } from '../src/index.js';

describe('AssocCache: set-associative, LRU, PCID and global tags', () => {
  it('matches a reference LRU model for random lookups and inserts', () => {
    const SETS = 4;
    const WAYS = 3;
    fc.assert(
      fc.property(
        fc.array(fc.record({ insert: fc.boolean(), tag: fc.integer({ min: 0, max: 23 }), pcid: fc.integer({ min: 0, max: 2 }) }), { minLength: 1, maxLength: 200, size: 'max' }),
        (ops) => {
          const c = new AssocCache(SETS * WAYS, WAYS);
          // reference: per set, a list of `${tag}:${pcid}` with the most recently used last
          const sets: string[][] = Array.from({ length: SETS }, () => []);
          for (const o of ops) {
            const key = `${o.tag}:${o.pcid}`;
            const set = sets[o.tag % SETS];
            const at = set.indexOf(key);
            if (o.insert) {
              c.insert(o.tag, 7, o.pcid, false, o.tag * 4096, o.pcid);
              if (at >= 0) set.splice(at, 1);
              else if (set.length === WAYS) set.shift(); // evict the least recently used
              set.push(key);
            } else {
              const slot = c.lookup(o.tag, 7, o.pcid);
              expect(slot >= 0).toBe(at >= 0);
              if (at >= 0) {
                expect(c.base[slot]).toBe(o.tag * 4096);
                set.splice(at, 1);
                set.push(key);
              }
            }
          }
          expect(c.count()).toBe(sets.reduce((a, s) => a + s.length, 0));
        },
      ),
      { seed: 99, numRuns: 300 },
    );
  });

  it('a global entry matches every PCID; invalidation by PCID keeps it on request', () => {
    const c = new AssocCache(8, 2);
    c.insert(5, 0, 1, true, 0x5000, 0);
    c.insert(6, 0, 1, false, 0x6000, 0);
    expect(c.lookup(5, 0, 3)).toBeGreaterThanOrEqual(0);
    expect(c.lookup(6, 0, 3)).toBe(-1);
    expect(c.invalidatePcid(1, true)).toBe(1);
    expect(c.lookup(5, 0, 2)).toBeGreaterThanOrEqual(0);
    expect(c.invalidateTag(5, 0, 2, false)).toBe(1);
    expect(c.count()).toBe(0);
  });

  it('rejects bad geometry with a clear error', () => {
    expect(() => new AssocCache(10, 3)).toThrow(/divide/);
    expect(() => new AssocCache(-1, 1)).toThrow(RangeError);
    expect(new AssocCache(0, 1).lookup(1, 2, 0)).toBe(-1);
  });
});

describe('accesses that straddle a page boundary', () => {
  function setup() {
    const m = new Machine({ memory: 2 ** 30 });
    const cpu = m.cpus[0];
    const b = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x200000 });
    b.map(0x400000n, 0x800000n, 4096, { write: true });
    b.map(0x401000n, 0x300000n, 4096, { write: false }); // not contiguous physically, read-only
    enterLongMode(cpu, { cr3: b.root });
    return { m, cpu };
  }

  it('reads and writes bytes from both frames', () => {
    const { m, cpu } = setup();
    m.memory.write32(0x800ffcn, 0x44332211);
    m.memory.write32(0x300000n, 0x88776655);
    expect(cpu.read(0x400ffcn, 8)).toBe(0x8877665544332211n);
    expect(cpu.read(0x400ffen, 4)).toBe(0x66554433n);
    expect(cpu.read(0x400fffn, 2)).toBe(0x5544n);
  });

  it('a write faulting on the second page writes nothing and reports the second page in CR2', () => {
    const { m, cpu } = setup();
    m.memory.write64(0x800ff8n, 0x1111111111111111n);
    let f: unknown;
    try {
      cpu.write(0x400ffcn, 8, 0xffffffffffffffffn);
    } catch (e) {
      f = e;
    }
    expect(f).toBeInstanceOf(PageFault);
    expect((f as PageFault).errorCode).toBe(0x3);
    expect((f as PageFault).address).toBe(0x401000n);
    expect(cpu.cr2).toBe(0x401000n);
    expect(m.memory.read64(0x800ff8n)).toBe(0x1111111111111111n);
  });
});
