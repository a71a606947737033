import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { directMapVa } from '../../src/cpa/writer.js';
import type { DirectMapSize, TableProtection } from '../../src/cpa/types.js';
import { boot, expectNoStale, GiB, scanDirectPages, seen } from './helpers.js';

// The window the operations touch: 1 GiB - 8 MiB .. 1 GiB + 8 MiB of a 2 GiB machine, across a 1 GiB boundary.
const WINDOW_START = GiB / 4096 - 2048;
const WINDOW_PAGES = 4096;

type Kind = 'ro' | 'rw' | 'nx' | 'x' | 'np' | 'p' | '4k' | 'pks';
interface Change {
  kind: Kind;
  cpu: number;
  page: number;
  count: number;
  key: number;
  flush: boolean;
}
interface Touch {
  touch: true;
  cpu: number;
  page: number;
  write: boolean;
}

const change: fc.Arbitrary<Change> = fc.record({
  kind: fc.constantFrom<Kind>('ro', 'rw', 'nx', 'x', 'np', 'p', '4k', 'pks'),
  cpu: fc.nat({ max: 2 }),
  page: fc.oneof(fc.nat({ max: WINDOW_PAGES - 1 }), fc.nat({ max: WINDOW_PAGES / 512 - 1 }).map((i) => i * 512)),
  count: fc.oneof(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 1100 }), fc.integer({ min: 1, max: 3 }).map((i) => i * 512)),
  key: fc.nat({ max: 15 }),
  flush: fc.boolean(),
});
const touch: fc.Arbitrary<Touch> = fc.record({ touch: fc.constant(true as const), cpu: fc.nat({ max: 2 }), page: fc.nat({ max: WINDOW_PAGES - 1 }), write: fc.boolean() });

/** The attributes the sequence of changes gives page p (the model: what the tables must say). */
function expected(changes: Change[], p: number): { present: boolean; write: boolean; nx: boolean; pkey: number } {
  const a = { present: true, write: true, nx: true, pkey: 0 };
  for (const c of changes) {
    if (p < c.page || p >= c.page + c.count) continue;
    if (c.kind === 'ro') a.write = false;
    else if (c.kind === 'rw') a.write = true;
    else if (c.kind === 'nx') a.nx = true;
    else if (c.kind === 'x') a.nx = false;
    else if (c.kind === 'np') a.present = false;
    else if (c.kind === 'p') a.present = true;
    else if (c.kind === 'pks') a.pkey = c.key;
  }
  return a;
}

function run(mode: DirectMapSize, protect: TableProtection, ops: (Change | Touch)[]): void {
  const { m, k, dm } = boot({ cpus: 3, memory: 2 * GiB }, { directMap: mode, protect });
  const atBoot = { ...dm.stats.directPages };
  const done: Change[] = [];
  const sizes = new Map<number, number>();
  let pendingFlush: Change[] = [];
  for (const op of ops) {
    const c = m.cpus[op.cpu];
    const page = WINDOW_START + op.page;
    if ('touch' in op) {
      seen(c, page * 4096, op.write ? 'write' : 'read', false);
      continue;
    }
    const count = Math.min(op.count, WINDOW_START + WINDOW_PAGES - page);
    const va = directMapVa(page * 4096);
    const ch = { ...op, page, count };
    const ipis = dm.stats.ipis;
    const r =
      op.kind === 'pks'
        ? dm.set_memory_pks(c, va, count, op.key, { flush: op.flush })
        : dm[`set_memory_${op.kind}` as const](c, va, count, { flush: op.flush });
    expect(r).toBe(0);
    done.push(ch);
    // Every flush interrupts the two other CPUs.
    expect((dm.stats.ipis - ipis) % 2).toBe(0);
    if (!op.flush) {
      pendingFlush.push(ch);
      continue;
    }
    // After the documented flush (and those owed by earlier batched calls), no CPU holds a stale translation.
    for (const p of pendingFlush) dm.flush_tlb_kernel_range(c, directMapVa(p.page * 4096), directMapVa((p.page + p.count) * 4096));
    pendingFlush = [];
    const sample = [page - 1, page, page + count - 1, page + count, WINDOW_START + ((page * 7919) % WINDOW_PAGES)].filter((p) => p >= 0);
    expectNoStale(m, sample.map((p) => p * 4096));
    for (const p of sample) {
      const l = dm.lookup(p * 4096)!;
      if (p >= WINDOW_START && p < WINDOW_START + WINDOW_PAGES) expect({ present: l.present, write: l.write, nx: l.nx, pkey: l.pkey }).toEqual(expected(done, p));
      // Pages never merge back: the page size mapping a page never grows.
      const before = sizes.get(p);
      if (before !== undefined) expect(l.pageSize).toBeLessThanOrEqual(before);
      sizes.set(p, l.pageSize);
    }
  }
  expect(scanDirectPages(k)).toEqual(dm.stats.directPages);
  const dp = dm.stats.directPages;
  expect(dp['1G'] * GiB + dp['2M'] * 2 ** 21 + dp['4K'] * 4096).toBe(2 * GiB);
  // Splits and what stays shattered agree: each 1G split made 512 2M pages, each 2M split 512 4K pages.
  const sp = dm.stats.splits;
  expect(dp['1G']).toBe(atBoot['1G'] - sp['1G']);
  expect(dp['2M']).toBe(atBoot['2M'] + 512 * sp['1G'] - sp['2M']);
  expect(dp['4K']).toBe(atBoot['4K'] + 512 * sp['2M']);
  if (protect !== 'none') {
    // Split tables came from the reserve, which is protected: every direct-map table is still keyed / read-only.
    for (const t of dm.tables()) {
      const l = dm.lookup(t)!;
      if (protect === 'pkey') expect(l.pkey).toBe(1);
      else expect(l.write).toBe(false);
    }
    expect(dm.stats.reserveUsed).toBe(dm.stats.splits['1G'] + dm.stats.splits['2M']);
  }
}

describe('cpa properties', () => {
  for (const [mode, protect, seed] of [
    ['1G', 'none', 11],
    ['2M', 'pkey', 12],
    ['4K', 'readonly', 13],
    ['1G', 'pkey', 14],
  ] as const) {
    it(`random set_memory_* sequences (${mode} direct map, protect ${protect}): tables match the model, no stale TLB entry after each flush, no merge-back, counts add up`, () => {
      fc.assert(
        fc.property(fc.array(fc.oneof({ weight: 3, arbitrary: change }, { weight: 2, arbitrary: touch }), { minLength: 1, maxLength: 14 }), (ops) => run(mode, protect, ops)),
        { numRuns: mode === '4K' ? 8 : 25, seed },
      );
    });
  }

  it('the same operations give the same cycles on every CPU (determinism)', () => {
    const go = () => {
      const { m, dm } = boot({ cpus: 3, memory: 2 * GiB }, { directMap: '1G', protect: 'pkey' });
      dm.set_memory_ro(m.cpus[1], directMapVa(GiB + 4096), 40);
      dm.set_memory_pks(m.cpus[2], directMapVa(GiB - 8192), 3, 5);
      return m.cpus.map((c) => c.cycles);
    };
    expect(go()).toEqual(go());
  });
});
