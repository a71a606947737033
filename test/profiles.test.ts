import { describe, it, expect } from 'vitest';
import { PROFILES, resolveProfile, sapphireRapids, skylakeSp, type ProfileOverrides } from '../src/cpu/profiles.js';
import type { CostProfile } from '../src/cpu/profile.js';

const IA32_PKRS = 0x6e1;
const IA32_EFER = 0xc0000080;
const BUILT_INS: readonly CostProfile[] = [sapphireRapids, skylakeSp];
const snapshot = () => BUILT_INS.map((p) => JSON.stringify(p));

describe('built-in profiles', () => {
  it('both validate and resolve to equal, fresh copies', () => {
    for (const p of BUILT_INS) {
      const byName = resolveProfile(p.name);
      const byObject = resolveProfile(p);
      expect(byName).toEqual(p);
      expect(byObject).toEqual(p);
      expect(byName).not.toBe(p);
      expect(byName.tlb).not.toBe(p.tlb);
      expect(byName.tlb.stlb).not.toBe(p.tlb.stlb);
      expect(byName.wrmsr.byMsr).not.toBe(p.wrmsr.byMsr);
      expect(byName.invpcid).not.toBe(p.invpcid);
    }
  });

  it('are listed in PROFILES under their names', () => {
    expect(Object.keys(PROFILES).sort()).toEqual(['sapphire-rapids', 'skylake-sp']);
    expect(PROFILES['sapphire-rapids']).toBe(sapphireRapids);
    expect(PROFILES['skylake-sp']).toBe(skylakeSp);
    expect(sapphireRapids.name).toBe('sapphire-rapids');
    expect(skylakeSp.name).toBe('skylake-sp');
  });

  it('default to sapphire-rapids', () => {
    const p = resolveProfile();
    expect(p.name).toBe('sapphire-rapids');
    expect(p).toEqual(sapphireRapids);
    expect(resolveProfile(undefined, { ghz: 2 }).name).toBe('sapphire-rapids');
  });

  it('charge IA32_PKRS WRMSR less than the default (serializing) WRMSR', () => {
    for (const p of BUILT_INS) {
      const pkrs = p.wrmsr.byMsr[IA32_PKRS];
      expect(pkrs).toBeTypeOf('number');
      expect(pkrs).toBeLessThan(p.wrmsr.default);
      // and near WRPKRU, as Intel describes its ordering
      expect(pkrs).toBeLessThan(2 * p.wrpkru + 10);
    }
  });

  it('keep the L1 TLB hit free and have sane orderings', () => {
    for (const p of BUILT_INS) {
      expect(p.mmu.l1TlbHit).toBe(0);
      expect(p.memory.l1d).toBeLessThan(p.memory.l2);
      expect(p.memory.l2).toBeLessThan(p.memory.llc);
      expect(p.memory.llc).toBeLessThan(p.memory.dram);
      expect(p.movCr3.noFlush).toBeLessThanOrEqual(p.movCr3.flush);
      expect(p.ghz).toBeGreaterThan(0);
    }
  });

  it('are frozen, so nothing can modify them by accident', () => {
    for (const p of BUILT_INS) {
      expect(Object.isFrozen(p)).toBe(true);
      expect(Object.isFrozen(p.tlb)).toBe(true);
      expect(Object.isFrozen(p.tlb.l1d4k)).toBe(true);
      expect(Object.isFrozen(p.wrmsr.byMsr)).toBe(true);
    }
    expect(Object.isFrozen(PROFILES)).toBe(true);
  });
});

describe('resolveProfile overrides', () => {
  it('merge nested objects deeply', () => {
    const before = snapshot();
    const p = resolveProfile('sapphire-rapids', { mmu: { stlbHit: 3 }, ipi: { ack: 0 }, memory: { dram: 500 } });
    expect(p.mmu.stlbHit).toBe(3);
    expect(p.mmu.walkBase).toBe(sapphireRapids.mmu.walkBase);
    expect(p.mmu.walkRef).toEqual(sapphireRapids.mmu.walkRef);
    expect(p.ipi.ack).toBe(0);
    expect(p.ipi.send).toBe(sapphireRapids.ipi.send);
    expect(p.memory.dram).toBe(500);
    expect(p.memory.l1d).toBe(sapphireRapids.memory.l1d);
    expect(p.tlb).toEqual(sapphireRapids.tlb);
    expect(snapshot()).toEqual(before);
  });

  it('replace TLB shapes and invpcid whole', () => {
    const p = resolveProfile('skylake-sp', { tlb: { stlb: [1024, 8] }, invpcid: [1, 2, 3, 4] });
    expect(p.tlb.stlb).toEqual([1024, 8]);
    expect(p.tlb.stlb1g).toEqual(skylakeSp.tlb.stlb1g);
    expect(p.invpcid).toEqual([1, 2, 3, 4]);
    expect(skylakeSp.tlb.stlb).toEqual([1536, 12]);
  });

  it('merge byMsr tables by MSR index', () => {
    const p = resolveProfile('sapphire-rapids', { wrmsr: { byMsr: { 0x10: 7, [IA32_PKRS]: 60 } }, rdmsr: { default: 5 } });
    expect(p.wrmsr.byMsr[0x10]).toBe(7);
    expect(p.wrmsr.byMsr[IA32_PKRS]).toBe(60);
    expect(p.wrmsr.byMsr[IA32_EFER]).toBe(sapphireRapids.wrmsr.byMsr[IA32_EFER]);
    expect(p.wrmsr.default).toBe(sapphireRapids.wrmsr.default);
    expect(p.rdmsr.default).toBe(5);
    expect(p.rdmsr.byMsr).toEqual(sapphireRapids.rdmsr.byMsr);
    expect(sapphireRapids.wrmsr.byMsr[IA32_PKRS]).not.toBe(60);
    expect(sapphireRapids.wrmsr.byMsr[0x10]).toBeUndefined();
  });

  it('never mutate the built-ins, and results are independent copies', () => {
    const before = snapshot();
    const a = resolveProfile('sapphire-rapids');
    a.mmu.stlbHit = 999;
    a.tlb.l1d4k = [0, 1];
    a.wrmsr.byMsr[IA32_PKRS] = 999;
    (a.invpcid as unknown as number[])[0] = 999;
    const b = resolveProfile('sapphire-rapids');
    expect(b).toEqual(sapphireRapids);
    expect(snapshot()).toEqual(before);
    // a custom profile passed in is copied too
    const custom = resolveProfile(skylakeSp, { name: 'custom' });
    expect(custom.name).toBe('custom');
    expect(skylakeSp.name).toBe('skylake-sp');
  });

  it('accept an override that leaves a field undefined', () => {
    expect(resolveProfile('sapphire-rapids', { mmu: { stlbHit: undefined } }).mmu.stlbHit).toBe(sapphireRapids.mmu.stlbHit);
  });
});

describe('resolveProfile errors', () => {
  const bad = (overrides: unknown) => () => resolveProfile('sapphire-rapids', overrides as ProfileOverrides);

  it('rejects an unknown name, naming it and the known names', () => {
    expect(() => resolveProfile('golden-cove')).toThrow(Error);
    expect(() => resolveProfile('golden-cove')).toThrow(/'golden-cove'.*sapphire-rapids.*skylake-sp/);
    expect(() => resolveProfile('toString')).toThrow(/unknown cost profile 'toString'/);
  });

  it('rejects a NaN or infinite cost, naming the field', () => {
    expect(bad({ mmu: { walkRef: { pte: NaN } } })).toThrow(/mmu\.walkRef\.pte/);
    expect(bad({ mmu: { walkRef: { pde: NaN } } })).toThrow(/NaN/);
    expect(bad({ ipi: { deliver: Infinity } })).toThrow(/ipi\.deliver/);
    expect(bad({ wrpkru: Number.NaN })).toThrow(/wrpkru/);
    expect(bad({ wrmsr: { byMsr: { [IA32_PKRS]: NaN } } })).toThrow(/wrmsr\.byMsr\[0x6e1\]/);
  });

  it('rejects a negative cost, naming the field', () => {
    expect(bad({ ipi: { send: -1 } })).toThrow(/ipi\.send/);
    expect(bad({ invpcid: [0, 0, -5, 0] })).toThrow(/invpcid\[2\]/);
    expect(bad({ movCr3: { noFlush: -0.5 } })).toThrow(/movCr3\.noFlush/);
    expect(bad({ rdmsr: { default: -1 } })).toThrow(/rdmsr\.default/);
  });

  it('rejects a non-number cost', () => {
    expect(bad({ insn: { div: '15' } })).toThrow(/insn\.div/);
  });

  it('rejects ways that do not divide entries, naming the shape', () => {
    expect(bad({ tlb: { l1d4k: [96, 5] } })).toThrow(/tlb\.l1d4k/);
    expect(bad({ tlb: { l1d4k: [96, 5] } })).toThrow(/ways \(5\) must divide entries \(96\)/);
    expect(bad({ tlb: { stlb: [2048, 0] } })).toThrow(/tlb\.stlb/);
  });

  it('rejects other bad shapes', () => {
    expect(bad({ tlb: { pscPd: [32.5, 4] } })).toThrow(/tlb\.pscPd/);
    expect(bad({ tlb: { pscPd: [-1, 1] } })).toThrow(/tlb\.pscPd/);
    expect(bad({ tlb: { stlb1g: [65537, 1] } })).toThrow(/tlb\.stlb1g/);
    expect(bad({ tlb: { l1i4k: [256, 2.5] } })).toThrow(/tlb\.l1i4k/);
    expect(bad({ tlb: { l1i4k: [256] } })).toThrow(/tlb\.l1i4k/);
    // a disabled structure and the largest allowed one are fine
    expect(resolveProfile('sapphire-rapids', { tlb: { pscPml5: [0, 1], stlb: [65536, 16] } }).tlb.stlb).toEqual([65536, 16]);
  });

  it('validates the optional store-only DTLB shape, and accepts a custom profile without one', () => {
    expect(bad({ tlb: { l1dStore: [16, 3] } })).toThrow(/tlb\.l1dStore/);
    expect(bad({ tlb: { l1dStore: 'none' } })).toThrow(TypeError);
    const { l1dStore: _s, ...tlb } = sapphireRapids.tlb;
    expect(resolveProfile({ ...sapphireRapids, tlb } as CostProfile).tlb.l1dStore).toBeUndefined();
  });

  it('rejects a clock that is not > 0', () => {
    expect(bad({ ghz: 0 })).toThrow(/ghz/);
    expect(bad({ ghz: -3 })).toThrow(/ghz/);
    expect(bad({ ghz: NaN })).toThrow(/ghz/);
  });

  it('rejects an invalid invpcid array or data access level', () => {
    expect(bad({ invpcid: [1, 2, 3] })).toThrow(/invpcid/);
    expect(bad({ dataAccessLevel: 'l4' })).toThrow(/dataAccessLevel/);
  });

  it('rejects an override field that a profile does not have', () => {
    expect(bad({ mmu: { stlbhit: 3 } })).toThrow(/mmu\.stlbhit/);
    expect(bad({ tlbs: {} })).toThrow(/tlbs/);
    expect(bad({ wrmsr: { byMsr: { PKRS: 1 } } })).toThrow(/wrmsr\.byMsr/);
    expect(bad({ wrmsr: { byMsr: { '-1': 1 } } })).toThrow(/wrmsr\.byMsr/);
  });

  it('rejects an incomplete custom profile, naming the missing field', () => {
    const { ipi: _ipi, ...noIpi } = sapphireRapids;
    expect(() => resolveProfile(noIpi as unknown as CostProfile)).toThrow(/ipi/);
    const broken = { ...sapphireRapids, mmu: { ...sapphireRapids.mmu, adUpdate: undefined } };
    expect(() => resolveProfile(broken as unknown as CostProfile)).toThrow(/mmu\.adUpdate/);
  });

  it('throws RangeError for a bad value and TypeError for a wrong type, naming the field and the value', () => {
    const caught = (f: () => unknown): Error => {
      try {
        f();
      } catch (e) {
        return e as Error;
      }
      throw new Error('did not throw');
    };
    const range: [unknown, RegExp][] = [
      [{ ipi: { send: -1 } }, /ipi\.send.*-1/],
      [{ mmu: { walkRef: { pte: NaN } } }, /mmu\.walkRef\.pte.*NaN/],
      [{ ghz: 0 }, /ghz.*got 0/],
      [{ tlb: { l1d4k: [96, 5] } }, /tlb\.l1d4k.*\[96,5\]/],
      [{ tlb: { l1d4k: [96] } }, /tlb\.l1d4k.*\[96\]/],
      [{ invpcid: [1, 2, 3] }, /invpcid.*\[1,2,3\]/],
      [{ dataAccessLevel: 'l4' }, /dataAccessLevel.*'l4'/],
      [{ ipi: { delivery: 'flat' } }, /ipi\.delivery.*'flat'/],
      [{ mmu: { stlbhit: 3 } }, /mmu\.stlbhit.*3/],
      [{ wrmsr: { byMsr: { PKRS: 1 } } }, /wrmsr\.byMsr.*'PKRS'/],
      [{ name: '' }, /name.*''/],
    ];
    for (const [o, msg] of range) {
      const e = caught(bad(o));
      expect(e, JSON.stringify(o)).toBeInstanceOf(RangeError);
      expect(e.message).toMatch(msg);
    }
    const type: [unknown, RegExp][] = [
      [{ insn: { div: '15' } }, /insn\.div.*'15'/],
      [{ ghz: '3' }, /ghz.*'3'/],
      [{ tlb: { stlb: 2048 } }, /tlb\.stlb.*2048/],
      [{ tlb: { stlb: ['2048', 16] } }, /tlb\.stlb.*"2048"/],
      [{ invpcid: 5 }, /invpcid.*5/],
      [{ ipi: { shorthand: 1 } }, /ipi\.shorthand.*1/],
      [{ ipi: { delivery: 16 } }, /ipi\.delivery.*16/],
      [{ mmu: null }, /mmu.*null/],
      [{ dataAccessLevel: 1 }, /dataAccessLevel.*1/],
    ];
    for (const [o, msg] of type) {
      const e = caught(bad(o));
      expect(e, JSON.stringify(o)).toBeInstanceOf(TypeError);
      expect(e.message).toMatch(msg);
    }
    expect(caught(() => resolveProfile('golden-cove'))).toBeInstanceOf(RangeError);
    expect(caught(() => resolveProfile(42 as unknown as string))).toBeInstanceOf(TypeError);
    expect(caught(() => resolveProfile('skylake-sp', 'x' as unknown as ProfileOverrides))).toBeInstanceOf(TypeError);
  });
});

describe('figures follow their cited sources', () => {
  const nsAt = (ns: number, p: CostProfile) => Math.round(ns * p.ghz);

  it('Skylake-SP STLB: 1536 entries, 12-way (AnandTech Skylake-X review, WikiChip)', () => {
    expect(skylakeSp.tlb.stlb).toEqual([1536, 12]);
  });

  it('A/D assist: TMA Avg_Assist_Cost in issue slots over the pipeline width', () => {
    expect(sapphireRapids.mmu.adUpdate).toBe(Math.round((99 * 3 + 63 + 30) / 5 / 6));
    expect(skylakeSp.mmu.adUpdate).toBe(Math.ceil(34 / 4));
  });

  it('INVLPG ~200 and INVPCID type 0 ~350 (Dave Hansen, 5 Dec 2017: INVLPG+INVPCID ~550)', () => {
    for (const p of BUILT_INS) {
      expect(p.invlpg).toBe(200);
      expect(p.invpcid[0] + p.invlpg).toBe(550);
    }
  });

  it('CR3 and CR4 writes from Dave Hansen, 9 Jun 2015 (Haswell Xeon: 124, global flush 960)', () => {
    for (const p of BUILT_INS) {
      expect(p.movCr3.flush).toBe(124);
      expect(2 * p.movCr4).toBe(960);
    }
  });

  it('Skylake-SP DRAM 90 ns (AnandTech: 89-91 ns)', () => {
    expect(skylakeSp.memory.dram).toBe(nsAt(90, skylakeSp));
  });

  it('IPI send and receive from Skyloft (437 and 1582 cycles at 2.0 GHz), the ICR WRMSR as the send', () => {
    for (const p of BUILT_INS) {
      expect(p.ipi.send).toBe(nsAt(437 / 2, p));
      expect(p.ipi.handle).toBe(nsAt(1582 / 2, p));
      expect(p.wrmsr.byMsr[0x830]).toBe(p.ipi.send);
    }
  });
});
