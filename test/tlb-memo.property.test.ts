/**
 * The MMU's hit memo (Mmu.translate: recent reads and writes taken on the L1 4 KiB path, direct-mapped by page
 * number, found again without the set scan and the rights check) must be invisible: the same results, faults, statistics and TLB
 * replacement as with the memo forgotten before every access. Two machines run the same random sequence of
 * hot-path loads and stores (Cpu.loadSigned / Cpu.store), PKRS/PKRU/AC/CR0.WP/SMAP changes, PTE edits in memory
 * without an invalidation (stale entries must stay as stale as the TLB keeps them), INVLPG and CR3 reloads;
 * the reference machine forgets the memo before each access.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { enterLongMode, Machine, MSR, PageTableBuilder, type Cpu } from '../src/index.js';
import { ACC_USER, ACC_WRITE } from '../src/mmu/rights.js';

const CR4_PKE = 1n << 22n;
const CR4_PKS = 1n << 24n;
const CR4_SMAP = 1n << 21n;
const CR4_PGE = 1n << 7n;
const PAGES = 10;
// Pages 64 KiB apart share an L1 DTLB set (16 sets on every profile) and the store TLB holds 16 entries or
// fewer: fills evict, so the memo's array changes under it; few pages, so that accesses repeat.
const STRIDE = 16 * 4096;
// and pages in other sets, whose memo entries are apart (or collide with the first ones'), so that the memo holds
// several pages at once and an access finds an entry made long before
const MORE = 6;
const pageVa = (p: number): number => 0x40000000 + (p < PAGES ? p * STRIDE : (160 + (p - PAGES) * 5) * 4096);

type Op =
  | { k: 'load'; page: number; off: number; size: 1 | 2 | 4 | 8; user: boolean }
  | { k: 'store'; page: number; off: number; size: 1 | 2 | 4 | 8; user: boolean; v: number }
  | { k: 'pkrs' | 'pkru'; v: number }
  | { k: 'ac' | 'wp' | 'smap'; on: boolean }
  | { k: 'pte'; page: number; write: boolean; user: boolean; pkey: number }
  | { k: 'invlpg'; page: number }
  | { k: 'cr3' }
  | { k: 'again' };

const page = fc.integer({ min: 0, max: PAGES + MORE - 1 });
const size = fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const);
// PKRS/PKRU values that deny one of the two keys in use at most, so that most accesses pass and the memo has something to keep
const keyBits = fc.oneof(fc.constant(0), fc.tuple(fc.integer({ min: 0, max: 1 }), fc.integer({ min: 1, max: 3 })).map(([k, b]) => b << (2 * k)));
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 12, arbitrary: fc.record({ k: fc.constant('load' as const), page, off: fc.integer({ min: 0, max: 4095 }), size, user: fc.boolean() }) },
  { weight: 8, arbitrary: fc.record({ k: fc.constant('store' as const), page, off: fc.integer({ min: 0, max: 4095 }), size, user: fc.boolean(), v: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }) }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constantFrom('pkrs' as const, 'pkru' as const), v: keyBits }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constantFrom('ac' as const, 'wp' as const, 'smap' as const), on: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('pte' as const), page, write: fc.boolean(), user: fc.boolean(), pkey: fc.integer({ min: 0, max: 15 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('invlpg' as const), page }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('cr3' as const) }) },
  // the last load or store again (the memo's case), often right after a change of its inputs
  { weight: 10, arbitrary: fc.record({ k: fc.constant('again' as const) }) },
);

function machine(): { m: Machine; cpu: Cpu; b: PageTableBuilder } {
  const m = new Machine({ memory: 2 ** 30 });
  const cpu = m.cpu(0);
  const b = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x200000 });
  for (let i = 0; i < PAGES + MORE; i++) b.map(BigInt(pageVa(i)), 0x400000n + BigInt(i) * 4096n, 4096, { write: true, user: i % 3 === 1, pkey: i % 2 });
  enterLongMode(cpu, { cr3: b.root, cr4: CR4_PKE | CR4_PKS | CR4_SMAP | CR4_PGE, wp: true });
  return { m, cpu, b };
}

/** The reference forgets the memo by its fields, not through keysChanged (whose callers are under test). */
function forgetMemo(cpu: Cpu): void {
  const mmu = cpu.mmu as unknown as { memoAccR: Int32Array; memoAccW: Int32Array };
  expect(mmu.memoAccR).toBeInstanceOf(Int32Array);
  mmu.memoAccR.fill(-1);
  mmu.memoAccW.fill(-1);
}

function apply(x: { m: Machine; cpu: Cpu; b: PageTableBuilder }, o: Op, forget: boolean): unknown {
  const { cpu, b } = x;
  const va = o.k === 'load' || o.k === 'store' || o.k === 'pte' || o.k === 'invlpg' ? pageVa(o.page) : 0x40000000;
  switch (o.k) {
    case 'load':
    case 'store': {
      if (forget) forgetMemo(cpu);
      const acc = (o.k === 'store' ? ACC_WRITE : 0) | (o.user ? ACC_USER : 0);
      cpu.xv = -1;
      if (o.k === 'load') {
        const v = cpu.loadSigned(va + o.off, 0, o.size, acc);
        return { v, hi: o.size === 8 ? cpu.loadHi : 0, xv: cpu.xv, xec: cpu.xec };
      }
      return { ok: cpu.store(va + o.off, 0, o.size, o.v, ~o.v, acc), xv: cpu.xv, xec: cpu.xec };
    }
    case 'pkrs':
      cpu.wrmsr(MSR.IA32_PKRS, BigInt(o.v));
      return null;
    case 'pkru':
      cpu.pkru = o.v;
      return null;
    case 'ac':
      cpu.rflags = o.on ? 0x40002n : 0x2n;
      return null;
    case 'wp':
      cpu.writeCr(0, o.on ? cpu.cr0 | (1n << 16n) : cpu.cr0 & ~(1n << 16n));
      return null;
    case 'smap':
      cpu.writeCr(4, o.on ? cpu.cr4 | CR4_SMAP : cpu.cr4 & ~CR4_SMAP);
      return null;
    case 'pte':
      // The PTE changes in memory only: the TLB keeps what it has until an invalidation (SDM 4.10.4.3).
      b.map(BigInt(va), 0x400000n + BigInt(o.page) * 4096n, 4096, { write: o.write, user: o.user, pkey: o.pkey });
      return null;
    case 'invlpg':
      cpu.invlpg(va);
      return null;
    case 'cr3':
      cpu.writeCr(3, cpu.cr3);
      return null;
    default:
      throw new Error(`op ${o.k}`);
  }
}

describe('the MMU hit memo is exact', () => {
  it('gives the results, faults, statistics and TLB contents of translation without it', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 150, size: 'max' }), (ops) => {
        const a = machine();
        const r = machine();
        let last: Op | null = null;
        for (const o of ops) {
          const x: Op | null = o.k === 'again' ? last : o;
          if (x === null) continue;
          if (x.k === 'load' || x.k === 'store') {
            last = x;
            // the second access takes the L1 path and is memo'd, the third finds the memo
            for (let i = 0; i < 2; i++) expect(apply(a, x, false)).toEqual(apply(r, x, true));
          }
          expect(apply(a, x, false)).toEqual(apply(r, x, true));
        }
        expect({ ...a.cpu.stats }).toEqual({ ...r.cpu.stats });
        const tlbs = (x: Cpu) => [x.mmu.l1d4k, x.mmu.l1dStore, x.mmu.stlb].map((c) => Array.from({ length: c.entries }, (_, i) => c.slot(i)));
        expect(tlbs(a.cpu)).toEqual(tlbs(r.cpu));
      }),
      { numRuns: 100, seed: 0x3e30 },
    );
  });
});

describe('the memo follows its TLB array', () => {
  it('an entry evicted under the memo is not used: the next access to its page walks again', () => {
    const a = machine();
    const r = machine();
    const load = (page: number): Op => ({ k: 'load', page, off: 16, size: 8, user: false });
    // page 0 memo'd (walk, L1 hit, memo hit), then the six other supervisor pages of its set, once each: each misses the
    // L1 (a walk, then an insert), and the last ones evict page 0's L1 entry while the memo still names its slot
    const seq = [load(0), load(0), load(0), load(2), load(3), load(5), load(6), load(8), load(9), load(0)];
    for (const o of seq) expect(apply(a, o, false)).toEqual(apply(r, o, true));
    expect({ ...a.cpu.stats }).toEqual({ ...r.cpu.stats });
    expect(a.cpu.stats.walks).toBe(7); // page 0 came back from the STLB: its L1 entry was gone
    expect(a.cpu.stats.stlbHits).toBe(1);
  });
});
