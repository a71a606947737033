import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Kernel } from '../../src/pgtable/kernel.js';
import type { AddressSpace } from '../../src/pgtable/mm.js';
import type { Cpu } from '../../src/index.js';
import { boot, pageAccount, POLICY_LIST } from './helpers.js';
import { opInterpreter, type Op } from './ops.js';

/** Regions: one in a PT range of its own, one across a 2 MiB boundary, one across 1 GiB, one in a PGD slot of its own. */
const REGIONS = [0x400000n, 0x5fe000n, 0x3fffe000n, 0x7f0000000000n];
const SPAN = 24;
/** Garbage written into freed tables: large-page / 4 KiB entries to 7 GiB, beyond installed memory (1 GiB). */
const GARBAGE_PA = 7n * 2n ** 30n;
const GARBAGE_LO = 0xe7; // P | RW | U | A | D | PS
const GARBAGE_HI = 1; // 7 GiB = 0x1_c000_0000
const GARBAGE_LO_ADDR = 0xc0000000;

const arbOp: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constantFrom('map' as const, 'unmap' as const), mm: fc.nat(2), r: fc.nat(REGIONS.length - 1), p: fc.nat(SPAN - 1), n: fc.integer({ min: 1, max: SPAN }) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('clear' as const), mm: fc.nat(2), r: fc.nat(REGIONS.length - 1) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constantFrom('fork' as const, 'destroy' as const, 'create' as const), mm: fc.nat(2) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('switch' as const), cpu: fc.nat(2), mm: fc.nat(2) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constantFrom('lazy' as const, 'touch' as const), cpu: fc.nat(2), r: fc.nat(REGIONS.length - 1), p: fc.nat(SPAN - 1) }) },
);

const { va, apply } = opInterpreter({ regions: REGIONS, span: SPAN, maxMms: 3, touch: (cpu, v) => void readPa(cpu, v) });
const ALL_VAS = REGIONS.flatMap((_, r) => Array.from({ length: SPAN }, (_, p) => va(r, p)));

/** A user read of va through `cpu`'s TLB and paging-structure caches (a read never faults on a mapped page,
 * so it never invalidates what it is meant to observe). */
function readPa(cpu: Cpu, v: bigint): bigint | null {
  const r = cpu.translate(v, { access: 'read', cpl: 3 });
  return r.ok ? r.pa : null;
}

/** Every table reachable from the PGD's user half, read from physical memory (PGD first). */
function reachable(k: Kernel, pgd: number): number[] {
  const mem = k.machine.memory;
  const out = [pgd];
  const walk = (table: number, level: number, entries: number): void => {
    for (let i = 0; i < entries; i++) {
      const lo = mem.rd32(table + 8 * i);
      if ((lo & 1) === 0) continue;
      const next = (mem.rd32(table + 8 * i + 4) & 0xfffff) * 2 ** 32 + ((lo & 0xfffff000) >>> 0);
      out.push(next);
      if (level > 2) walk(next, level - 1, 512);
    }
  };
  walk(pgd, 4, 256);
  return out;
}

describe.each(POLICY_LIST)('page tables freed on unmap under %s', (policy) => {
  it('tables are those reachable from the PGD, pages conserved, no CPU translates through a freed table', () => {
    let freedSeen = 0;
    fc.assert(
      fc.property(fc.array(arbOp, { minLength: 8, maxLength: 30 }), (ops) => {
        const { m, k } = boot(policy, { cpus: 3 });
        const total = pageAccount(k);
        const mms: AddressSpace[] = [k.createAddressSpace()];
        for (const cpu of m.cpus) mms[0].switchTo(cpu);
        const pokeTables = policy === 'poke' ? 4 * m.cpus.length : 0;
        for (const o of ops) {
          const before = new Set(mms.flatMap((x) => x.pageTables().map(Number)));
          const freedBefore = k.stats().tablesFreed;
          apply(k, mms, o);
          expect(pageAccount(k)).toBe(total);
          let inUse = pokeTables;
          for (const x of mms) {
            const tables = x.pageTables().map(Number);
            expect(tables[0]).toBe(x.pgdPa);
            expect([...tables].sort()).toEqual(reachable(k, x.pgdPa).sort());
            inUse += tables.length;
          }
          expect(k.cache.pagesInUse).toBe(inUse);
          // Pages that stopped being tables and that nobody took since: fill them with garbage (as a reuse would).
          const now = new Set(mms.flatMap((x) => x.pageTables().map(Number)));
          const gone = [...before].filter((t) => !now.has(t) && !k.cache.isHandedOut(t));
          if (o.op === 'unmap' || o.op === 'clear') {
            freedSeen += k.stats().tablesFreed - freedBefore;
            expect(k.stats().tablesFreed - freedBefore).toBe(gone.length);
          }
          for (const t of gone) for (let i = 0; i < 512; i++) m.memory.wr64(t + 8 * i, (GARBAGE_LO_ADDR | GARBAGE_LO) >>> 0, GARBAGE_HI);
          for (const cpu of m.cpus) {
            const cur = k.tlb.loaded[cpu.index] as AddressSpace | null;
            if (cur === null) continue;
            for (const v of ALL_VAS) {
              const got = readPa(cpu, v);
              // A lazy CPU may keep stale translations of its mm (flushes skip it), never one through a freed table.
              if (k.tlb.lazy[cpu.index]) expect(got ?? 0n, `lazy CPU ${cpu.index} va 0x${v.toString(16)}`).toBeLessThan(GARBAGE_PA);
              else expect(got, `CPU ${cpu.index} va 0x${v.toString(16)}`).toBe(cur.translate(v)?.pa ?? null);
            }
          }
          expect(k.check({ tlb: true })).toEqual([]);
        }
        for (const x of mms) x.destroy();
        expect(pageAccount(k)).toBe(total);
        expect(k.cache.pagesInUse).toBe(pokeTables);
      }),
      { seed: 0xf4ee + POLICY_LIST.indexOf(policy), numRuns: 10 },
    );
    expect(freedSeen).toBeGreaterThan(0);
  });
});

describe.each(POLICY_LIST)('free_pgtables scenarios under %s', (policy) => {
  it('a lazy CPU is flushed when tables are freed: it cannot walk a freed PT through its PDE cache', () => {
    const { m, k } = boot(policy, { cpus: 2 });
    const [c0, c1] = m.cpus;
    const mm = k.createAddressSpace();
    mm.switchTo(c0);
    mm.switchTo(c1);
    mm.map(0x400000n, 2, { write: true });
    expect(readPa(c1, 0x400000n)).toBe(mm.translate(0x400000n)?.pa);
    const pt = Number(mm.pageTables()[3]);
    k.enterLazy(c1);
    const before = k.stats();
    mm.unmap(0x400000n, 2, { cpu: c0 });
    const after = k.stats();
    expect(after.tablesFreed - before.tablesFreed).toBe(3); // PT, PMD, PUD
    expect(mm.pageTables()).toEqual([BigInt(mm.pgdPa)]);
    expect(after.tlb.lazySkipped).toBe(before.tlb.lazySkipped); // freed tables: lazy CPUs are not skipped
    expect(k.cache.isHandedOut(pt)).toBe(false);
    for (let i = 0; i < 512; i++) m.memory.wr64(pt + 8 * i, (GARBAGE_LO_ADDR | GARBAGE_LO) >>> 0, GARBAGE_HI);
    expect(readPa(c1, 0x402000n)).toBeNull();
    expect(readPa(c0, 0x402000n)).toBeNull();
    // The PGD entry is clear: a new map allocates the levels again, zeroed (the garbage does not show).
    mm.switchTo(c1);
    mm.map(0x403000n, 1, { write: true });
    expect(readPa(c1, 0x402000n)).toBeNull();
    expect(readPa(c1, 0x403000n)).toBe(mm.translate(0x403000n)?.pa);
    expect(k.check({ tlb: true })).toEqual([]);
  });

  it('a partial unmap keeps the table; only the unmap that empties it frees it', () => {
    const { m, k } = boot(policy, { cpus: 2 });
    const mm = k.createAddressSpace();
    mm.switchTo(m.cpus[0]);
    mm.map(0x1ff000n, 2, { write: true }); // across a 2 MiB boundary: two PTs under one PMD
    expect(mm.pageTables()).toHaveLength(5);
    const f0 = k.stats().tablesFreed;
    mm.unmap(0x200000n, 1);
    expect(k.stats().tablesFreed - f0).toBe(1); // the upper PT only
    expect(mm.pageTables()).toHaveLength(4);
    expect(readPa(m.cpus[0], 0x1ff000n)).toBe(mm.translate(0x1ff000n)?.pa);
    mm.unmap(0x1ff000n, 1);
    expect(k.stats().tablesFreed - f0).toBe(4);
    mm.destroy();
    expect(k.stats().tablesFreed - f0).toBe(5); // the PGD
  });
});
