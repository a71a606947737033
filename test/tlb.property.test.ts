/**
 * TLB properties (Intel SDM Vol. 3A 4.10): a TLB hit gives what a fresh walk gives; PKRS/PKRU changes act
 * without a flush; INVLPG, INVPCID and MOV to CR3/CR4 drop exactly the entries the SDM says, observed the
 * way software observes a TLB: through stale translations after a PTE is changed in memory.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { enterLongMode, Machine, MSR, PageTableBuilder, type Cpu } from '../src/index.js';

const CR4_PGE = 1n << 7n;
const CR4_PCIDE = 1n << 17n;
const CR4_SMAP = 1n << 21n;
const CR4_SMEP = 1n << 20n;
const CR4_PKE = 1n << 22n;
const CR4_PKS = 1n << 24n;
const NOFLUSH = 1n << 63n;

function outcome(cpu: Cpu, va: bigint, access: 'read' | 'write' | 'fetch', cpl: 0 | 3, implicit: boolean, probe: boolean) {
  const r = cpu.translate(va, { access, cpl, implicit, probe });
  return r.ok ? { ok: true, pa: r.pa, pageSize: r.pageSize, pkey: r.pkey } : { ok: false, vector: r.fault.vector, errorCode: r.fault.errorCode };
}

describe('a TLB hit gives the same result as a fresh walk', () => {
  // Random leaf flags on a handful of pages of each size; random control state; random access sequences.
  const leaf = fc.record({ write: fc.boolean(), user: fc.boolean(), xd: fc.boolean(), pkey: fc.integer({ min: 0, max: 15 }), global: fc.boolean() });
  const table = fc.record({ write: fc.boolean(), user: fc.boolean(), xd: fc.boolean() });
  const control = fc.record({
    wp: fc.boolean(),
    smep: fc.boolean(),
    smap: fc.boolean(),
    ac: fc.boolean(),
    pkru: fc.integer({ min: 0, max: 0xffffffff }),
    pkrs: fc.integer({ min: 0, max: 0xffffffff }),
  });
  const access = fc.record({
    page: fc.integer({ min: 0, max: 5 }),
    offset: fc.integer({ min: 0, max: 4095 }),
    access: fc.constantFrom('read' as const, 'write' as const, 'fetch' as const),
    cpl: fc.constantFrom(0 as const, 3 as const),
    implicit: fc.boolean(),
    newControl: fc.option(control, { nil: undefined }),
  });

  it('for every access, walk and TLB hit agree with a side-effect-free probe; control changes need no flush', () => {
    fc.assert(
      fc.property(fc.array(leaf, { minLength: 6, maxLength: 6 }), fc.array(table, { minLength: 6, maxLength: 6 }), control, fc.array(access, { minLength: 5, maxLength: 40, size: 'max' }), (leaves, tables, ctl0, seq) => {
        const m = new Machine({ memory: 2 ** 31 });
        const cpu = m.cpus[0];
        const b = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x400000 });
        const vas = [0x400000n, 0x7f0000001000n, 0x40000000n, 0xffff888000000000n, 0xffffc90000200000n, 0x80000000n];
        const sizes = [4096, 4096, 2097152, 1073741824, 2097152, 4096] as const;
        vas.forEach((va, i) => b.map(va, BigInt(i + 1) * 0x40000000n, sizes[i], { ...leaves[i], tables: tables[i] }));
        enterLongMode(cpu, { cr3: b.root, cr4: CR4_PGE | CR4_SMEP | CR4_SMAP | CR4_PKE | CR4_PKS, wp: true });
        const apply = (c: typeof ctl0) => {
          cpu.writeCr(0, c.wp ? cpu.cr0 | (1n << 16n) : cpu.cr0 & ~(1n << 16n));
          // SMEP/SMAP on or off (turning SMEP on flushes; both directions must keep walk == TLB)
          let cr4 = cpu.cr4 & ~(CR4_SMEP | CR4_SMAP);
          if (c.smep) cr4 |= CR4_SMEP;
          if (c.smap) cr4 |= CR4_SMAP;
          cpu.writeCr(4, cr4);
          cpu.rflags = c.ac ? 0x40002n : 0x2n;
          cpu.pkru = c.pkru;
          cpu.wrmsr(MSR.IA32_PKRS, BigInt(c.pkrs));
        };
        apply(ctl0);
        for (const a of seq) {
          if (a.newControl) apply(a.newControl);
          const va = vas[a.page] + BigInt(a.offset);
          const expected = outcome(cpu, va, a.access, a.cpl, a.implicit, true);
          expect(outcome(cpu, va, a.access, a.cpl, a.implicit, false)).toEqual(expected);
          expect(outcome(cpu, va, a.access, a.cpl, a.implicit, false)).toEqual(expected);
        }
      }),
      { numRuns: 150, seed: 0x5eed },
    );
  });
});

describe('stale translations survive until the SDM says they go', () => {
  function setup(cr4 = CR4_PGE) {
    const m = new Machine({ memory: 2 ** 31 });
    const cpu = m.cpus[0];
    const b = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x400000 });
    enterLongMode(cpu, { cr3: b.root, cr4 });
    return { m, cpu, b };
  }

  it('a PTE changed without INVLPG keeps its stale translation; INVLPG drops it', () => {
    const { cpu, b } = setup();
    b.map(0x400000n, 0x1000000n, 4096, { write: true });
    expect(cpu.read(0x400008n, 8)).toBe(0n);
    b.map(0x400000n, 0x2000000n, 4096, { write: true });
    expect(cpu.translate(0x400008n, { access: 'read' })).toMatchObject({ ok: true, pa: 0x1000008n });
    expect(cpu.translate(0x400008n, { access: 'read', probe: true })).toMatchObject({ ok: true, pa: 0x2000008n });
    cpu.invlpg(0x400fffn);
    expect(cpu.translate(0x400008n, { access: 'read' })).toMatchObject({ ok: true, pa: 0x2000008n });
  });

  it('a stale read-only entry faults a write (spurious fault) and the fault drops the entry', () => {
    const { cpu, b } = setup();
    b.map(0x400000n, 0x1000000n, 4096, { write: false });
    cpu.read(0x400000n, 8, { cpl: 0 });
    b.map(0x400000n, 0x1000000n, 4096, { write: true });
    const r = cpu.translate(0x400000n, { access: 'write' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.fault.errorCode).toBe(0x3);
    expect(cpu.translate(0x400000n, { access: 'write' }).ok).toBe(true);
  });

  it('a stale entry for a 2 MiB page is dropped by INVLPG of any address in it', () => {
    const { cpu, b } = setup();
    b.map(0x40000000n, 0x40000000n, 2097152, { write: true });
    cpu.read(0x40000000n, 8);
    b.map(0x40000000n, 0x80000000n, 2097152, { write: true });
    expect(cpu.translate(0x40100000n, { access: 'read' })).toMatchObject({ pa: 0x40100000n });
    cpu.invlpg(0x401ff000n);
    expect(cpu.translate(0x40100000n, { access: 'read' })).toMatchObject({ pa: 0x80100000n });
  });

  it('MOV to CR3 drops non-global entries, keeps global ones; toggling CR4.PGE drops those', () => {
    const { cpu, b } = setup();
    b.map(0x400000n, 0x1000000n, 4096, { write: true });
    b.map(0xffffffff81000000n, 0x3000000n, 4096, { write: true, global: true });
    cpu.read(0x400000n, 8);
    cpu.read(0xffffffff81000000n, 8);
    b.map(0x400000n, 0x2000000n, 4096, { write: true });
    b.map(0xffffffff81000000n, 0x4000000n, 4096, { write: true, global: true });
    cpu.writeCr(3, cpu.cr3);
    expect(cpu.translate(0x400000n, { access: 'read' })).toMatchObject({ pa: 0x2000000n });
    expect(cpu.translate(0xffffffff81000000n, { access: 'read' })).toMatchObject({ pa: 0x3000000n });
    cpu.writeCr(4, cpu.cr4 & ~CR4_PGE);
    cpu.writeCr(4, cpu.cr4 | CR4_PGE);
    expect(cpu.translate(0xffffffff81000000n, { access: 'read' })).toMatchObject({ pa: 0x4000000n });
  });

  it('the G bit counts only with CR4.PGE = 1', () => {
    const { cpu, b } = setup(0n);
    b.map(0xffffffff81000000n, 0x3000000n, 4096, { write: true, global: true });
    cpu.read(0xffffffff81000000n, 8);
    b.map(0xffffffff81000000n, 0x4000000n, 4096, { write: true, global: true });
    cpu.writeCr(3, cpu.cr3);
    expect(cpu.translate(0xffffffff81000000n, { access: 'read' })).toMatchObject({ pa: 0x4000000n });
  });

  it('a write through a clean TLB entry walks again to set D', () => {
    const { m, cpu, b } = setup();
    const ea = b.map(0x400000n, 0x1000000n, 4096, { write: true });
    cpu.read(0x400000n, 8);
    expect(m.memory.read64(ea) & 0x40n).toBe(0n);
    const walks = cpu.stats.walks;
    cpu.write(0x400000n, 8, 5n);
    expect(cpu.stats.walks).toBe(walks + 1);
    expect(cpu.stats.dirtyAssists).toBe(1);
    expect(m.memory.read64(ea) & 0x40n).toBe(0x40n);
    cpu.write(0x400000n, 8, 6n);
    expect(cpu.stats.walks).toBe(walks + 1);
  });
});

describe('PCIDs, MOV to CR3 with bit 63 and INVPCID drop exactly what the SDM says (model-checked)', () => {
  // Reference model of what may be cached (SDM 4.10.2.2, 4.10.4.1), with few pages so nothing is evicted.
  type Op =
    | { op: 'switch'; pcid: number; noFlush: boolean }
    | { op: 'access'; page: number }
    | { op: 'remap'; page: number; frame: number }
    | { op: 'invlpg'; page: number }
    | { op: 'invpcid'; type: 0 | 1 | 2 | 3; pcid: number; page: number }
    | { op: 'pge' };
  const PAGES = 6;
  const GLOBAL = (p: number) => p >= 4; // pages 4 and 5 are global
  const vaOf = (p: number) => (GLOBAL(p) ? 0xffffffff80000000n : 0x10000000n) + BigInt(p) * 0x1000n;
  const op: fc.Arbitrary<Op> = fc.oneof(
    fc.record({ op: fc.constant('switch' as const), pcid: fc.integer({ min: 0, max: 3 }), noFlush: fc.boolean() }),
    fc.record({ op: fc.constant('access' as const), page: fc.integer({ min: 0, max: PAGES - 1 }) }),
    fc.record({ op: fc.constant('access' as const), page: fc.integer({ min: 0, max: PAGES - 1 }) }),
    fc.record({ op: fc.constant('remap' as const), page: fc.integer({ min: 0, max: PAGES - 1 }), frame: fc.integer({ min: 1, max: 50 }) }),
    fc.record({ op: fc.constant('invlpg' as const), page: fc.integer({ min: 0, max: PAGES - 1 }) }),
    fc.record({ op: fc.constant('invpcid' as const), type: fc.constantFrom(0 as const, 1 as const, 2 as const, 3 as const), pcid: fc.integer({ min: 0, max: 3 }), page: fc.integer({ min: 0, max: PAGES - 1 }) }),
    fc.record({ op: fc.constant('pge' as const) }),
  );

  it('holds for random operation sequences', () => {
    fc.assert(
      fc.property(fc.array(op, { minLength: 20, maxLength: 80, size: 'max' }), (ops) => {
        const m = new Machine({ memory: 2 ** 31 });
        const cpu = m.cpus[0];
        const b = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x400000 });
        const frame = new Array<number>(PAGES).fill(0).map((_, i) => 100 + i);
        const mapPage = (p: number) => b.map(vaOf(p), BigInt(frame[p]) * 0x1000n, 4096, { write: true, global: GLOBAL(p) });
        for (let p = 0; p < PAGES; p++) mapPage(p);
        enterLongMode(cpu, { cr3: b.root, cr4: CR4_PGE | CR4_PCIDE });
        // model
        const local = new Map<string, number>(); // `${pcid}:${page}` -> frame
        const global = new Map<number, number>(); // page -> frame
        let cur = 0;
        for (const o of ops) {
          switch (o.op) {
            case 'switch':
              cpu.writeCr(3, b.root | BigInt(o.pcid) | (o.noFlush ? NOFLUSH : 0n));
              cur = o.pcid;
              if (!o.noFlush) for (const k of [...local.keys()]) if (k.startsWith(`${cur}:`)) local.delete(k);
              break;
            case 'access': {
              const cached = global.get(o.page) ?? local.get(`${cur}:${o.page}`);
              const expectFrame = cached ?? frame[o.page];
              const r = cpu.translate(vaOf(o.page), { access: 'read' });
              expect(r).toMatchObject({ ok: true, pa: BigInt(expectFrame) * 0x1000n });
              if (cached === undefined) {
                if (GLOBAL(o.page)) global.set(o.page, frame[o.page]);
                else local.set(`${cur}:${o.page}`, frame[o.page]);
              }
              break;
            }
            case 'remap':
              frame[o.page] = o.frame;
              mapPage(o.page);
              break;
            case 'invlpg':
              cpu.invlpg(vaOf(o.page));
              local.delete(`${cur}:${o.page}`);
              global.delete(o.page);
              break;
            case 'invpcid':
              cpu.invpcid(o.type, { pcid: o.pcid, va: vaOf(o.page) });
              if (o.type === 0) local.delete(`${o.pcid}:${o.page}`);
              else if (o.type === 1) {
                for (const k of [...local.keys()]) if (k.startsWith(`${o.pcid}:`)) local.delete(k);
              } else {
                local.clear();
                if (o.type === 2) global.clear();
              }
              break;
            case 'pge':
              cpu.writeCr(4, cpu.cr4 & ~CR4_PGE);
              cpu.writeCr(4, cpu.cr4 | CR4_PGE);
              local.clear();
              global.clear();
              break;
          }
        }
      }),
      { numRuns: 300, seed: 42 },
    );
  });
});

describe('translation statistics add up', () => {
  it('translations = L1 hits + STLB hits + misses; walks = misses + dirty assists', () => {
    fc.assert(
      fc.property(fc.array(fc.record({ page: fc.integer({ min: 0, max: 300 }), write: fc.boolean(), flush: fc.boolean() }), { minLength: 1, maxLength: 200 }), (ops) => {
        const m = new Machine({ memory: 2 ** 31 });
        const cpu = m.cpus[0];
        const b = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x400000 });
        for (let p = 0; p <= 300; p++) b.map(0x10000000n + BigInt(p) * 4096n, 0x1000000n + BigInt(p) * 4096n, 4096, { write: true });
        enterLongMode(cpu, { cr3: b.root });
        for (const o of ops) {
          if (o.flush) cpu.invlpg(0x10000000n + BigInt(o.page) * 4096n);
          if (o.write) cpu.write(0x10000000n + BigInt(o.page) * 4096n, 8, 1n);
          else cpu.read(0x10000000n + BigInt(o.page) * 4096n, 8);
        }
        const s = cpu.stats;
        expect(s.translations).toBe(s.tlbHits + s.stlbHits + s.tlbMisses);
        expect(s.walks).toBe(s.tlbMisses + s.dirtyAssists);
        expect(s.reads + s.writes).toBe(ops.length);
      }),
      { seed: 3, numRuns: 100 },
    );
  });
});
