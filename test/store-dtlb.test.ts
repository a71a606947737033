/**
 * The store-only L1 DTLB (Sapphire Rapids: CPUID leaf 18H subleaf 3, 16 entries, fully associative, every page
 * size). Stores look it up and fill it; loads use the load DTLBs; both share the STLB; every invalidation reaches
 * it. It changes when a translation is a hit, never what a translation gives.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { enterLongMode, Machine, PageFault, PageTableBuilder, type Cpu } from '../src/index.js';
import type { ProfileOverrides } from '../src/cpu/profiles.js';

const VA = 0xffff888000400000n;
const PAGES = 24;

function setup(profile = 'sapphire-rapids', overrides: ProfileOverrides = {}): { m: Machine; cpu: Cpu; b: PageTableBuilder } {
  const m = new Machine({ cpus: 1, memory: 2 ** 31, profile, profileOverrides: overrides });
  const cpu = m.cpus[0];
  const b = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x300000 });
  for (let i = 0; i < PAGES; i++) {
    b.map(VA + BigInt(i) * 0x1000n, 0x400000n + BigInt(i) * 0x1000n, 4096, { write: i !== PAGES - 1, accessed: true, dirty: true });
  }
  b.map(0xffff888040000000n, 0x40000000n, 2097152, { write: true, accessed: true, dirty: true }); // a 2 MiB page
  b.map(0xffff888080000000n, 0x0n, 1073741824, { write: true, accessed: true, dirty: true }); // a 1 GiB page
  enterLongMode(cpu, { cr3: b.root, cr4: 1n << 7n }); // CR4.PGE
  return { m, cpu, b };
}

const page = (i: number) => VA + BigInt(i) * 0x1000n;

function delta(cpu: Cpu, f: () => void): { tlbHits: number; stlbHits: number; tlbMisses: number; cycles: number } {
  const s = cpu.stats;
  const before = { tlbHits: s.tlbHits, stlbHits: s.stlbHits, tlbMisses: s.tlbMisses, cycles: s.cycles };
  f();
  return { tlbHits: s.tlbHits - before.tlbHits, stlbHits: s.stlbHits - before.stlbHits, tlbMisses: s.tlbMisses - before.tlbMisses, cycles: s.cycles - before.cycles };
}

describe('store-only DTLB (Sapphire Rapids)', () => {
  it('is in the profile as CPUID leaf 18H subleaf 3 reports it; Skylake-SP has none', () => {
    const { cpu } = setup();
    expect(cpu.profile.tlb.l1dStore).toEqual([16, 16]);
    expect(cpu.mmu.l1dStore.entries).toBe(16);
    expect(cpu.mmu.l1dStore.sets).toBe(1);
    expect(setup('skylake-sp').cpu.mmu.l1dStore.entries).toBe(0);
  });

  it('stores fill and hit it; loads neither use nor fill it', () => {
    const { cpu } = setup();
    const p = cpu.profile;
    expect(delta(cpu, () => cpu.write(page(0), 8, 1n)).tlbMisses).toBe(1);
    expect(cpu.mmu.occupancy()).toMatchObject({ l1dStore: 1, l1d4k: 0, stlb: 1 });
    expect(delta(cpu, () => cpu.write(page(0), 8, 2n))).toEqual({ tlbHits: 1, stlbHits: 0, tlbMisses: 0, cycles: p.memory[p.dataAccessLevel] + p.mmu.l1TlbHit });
    // the load finds the translation in the STLB (the store filled it), then in the load DTLB
    expect(delta(cpu, () => expect(cpu.read(page(0), 8)).toBe(2n))).toMatchObject({ stlbHits: 1, tlbHits: 0 });
    expect(delta(cpu, () => cpu.read(page(0), 8))).toMatchObject({ tlbHits: 1 });
    expect(cpu.mmu.occupancy()).toMatchObject({ l1dStore: 1, l1d4k: 1 });
    // a store after loads only: not in the store DTLB, an STLB hit
    cpu.read(page(1), 8);
    expect(delta(cpu, () => cpu.write(page(1), 8, 3n))).toMatchObject({ stlbHits: 1, tlbHits: 0 });
  });

  it('holds 16 translations, least recently used out', () => {
    const { cpu } = setup();
    for (let i = 0; i < 17; i++) cpu.write(page(i), 8, BigInt(i));
    expect(cpu.mmu.occupancy().l1dStore).toBe(16);
    expect(delta(cpu, () => cpu.write(page(0), 8, 0n))).toMatchObject({ stlbHits: 1 }); // evicted by page 16
    expect(delta(cpu, () => cpu.write(page(16), 8, 0n))).toMatchObject({ tlbHits: 1 });
  });

  it('holds every page size', () => {
    const { cpu } = setup();
    cpu.write(0xffff888040000000n + 0x1234n, 8, 5n);
    expect(cpu.mmu.lastPageShift).toBe(21);
    cpu.write(0xffff888080000000n + 0x30001000n, 8, 6n);
    expect(cpu.mmu.lastPageShift).toBe(30);
    expect(cpu.mmu.occupancy()).toMatchObject({ l1dStore: 2, l1d2m: 0, l1d1g: 0 });
    expect(delta(cpu, () => cpu.write(0xffff888040000000n + 0x1ff000n, 8, 7n))).toMatchObject({ tlbHits: 1 });
    expect(delta(cpu, () => cpu.write(0xffff888080000000n + 0x8n, 8, 8n))).toMatchObject({ tlbHits: 1 });
    expect(cpu.read(0xffff888040000000n + 0x1234n, 8)).toBe(5n);
  });

  it('is invalidated by INVLPG, INVPCID, CR3 writes, the global flush and page faults (SDM 4.10.4.1)', () => {
    const { cpu } = setup();
    cpu.write(page(0), 8, 1n);
    cpu.invlpg(page(0));
    expect(cpu.mmu.occupancy().l1dStore).toBe(0);
    expect(delta(cpu, () => cpu.write(page(0), 8, 1n)).tlbMisses).toBe(1);
    cpu.writeCr(3, cpu.cr3); // non-global entries of the PCID
    expect(cpu.mmu.occupancy().l1dStore).toBe(0);
    cpu.write(page(0), 8, 1n);
    cpu.writeCr(4, cpu.cr4 | (1n << 17n)); // PCIDE
    cpu.write(page(1), 8, 1n);
    cpu.invpcid(0, { pcid: 0, va: page(1) });
    expect(delta(cpu, () => cpu.write(page(1), 8, 1n)).tlbMisses).toBe(1);
    cpu.flushTlb({ global: true });
    expect(cpu.mmu.occupancy().l1dStore).toBe(0);
    // a store to the read-only page faults; the fault drops what the TLBs held for it
    cpu.read(page(PAGES - 1), 8);
    expect(() => cpu.write(page(PAGES - 1), 8, 1n)).toThrow(PageFault);
    expect(cpu.mmu.occupancy().l1dStore).toBe(0);
  });

  it('a store needs a dirty translation: a clean STLB entry walks again (dirty assist) and fills the store DTLB', () => {
    const { cpu, b } = setup();
    const va = page(3);
    b.map(va, 0x403000n, 4096, { write: true, accessed: true, dirty: false });
    cpu.read(va, 8); // STLB and load DTLB: clean entry
    const before = cpu.stats.dirtyAssists;
    cpu.write(va, 8, 9n);
    expect(cpu.stats.dirtyAssists).toBe(before + 1);
    expect((b.getEntry(va, 1) & 0x40n) !== 0n).toBe(true);
    expect(delta(cpu, () => cpu.write(va, 8, 10n))).toMatchObject({ tlbHits: 1 });
  });

  it('changes timing, never function: the same random accesses give the same values and faults without it', () => {
    const op = fc.record({ write: fc.boolean(), page: fc.integer({ min: 0, max: PAGES - 1 }), value: fc.integer({ min: 0, max: 0xffff }), flush: fc.constantFrom('none', 'none', 'none', 'invlpg', 'cr3') });
    fc.assert(
      fc.property(fc.array(op, { minLength: 1, maxLength: 120 }), (ops) => {
        const run = (overrides: ProfileOverrides) => {
          const { cpu } = setup('sapphire-rapids', overrides);
          return ops.map((o) => {
            if (o.flush === 'invlpg') cpu.invlpg(page(o.page));
            if (o.flush === 'cr3') cpu.writeCr(3, cpu.cr3);
            try {
              if (o.write) {
                cpu.write(page(o.page), 4, o.value);
                return 'ok';
              }
              return cpu.read(page(o.page), 4);
            } catch (e) {
              return e instanceof PageFault ? `#PF ${e.errorCode}` : String(e);
            }
          });
        };
        const split = run({});
        const unified = run({ tlb: { l1dStore: [0, 1] } });
        expect(split).toEqual(unified);
      }),
      { seed: 1811, numRuns: 60 },
    );
  });
});
