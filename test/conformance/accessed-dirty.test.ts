/**
 * Accessed and dirty flags (SDM Vol. 3A 4.8): a successful access sets A in every paging-structure entry used
 * for the translation and, for a write, D in the entry that maps the page (the leaf) only; bit 6 of a non-leaf
 * entry is ignored and stays as it was. A faulting access sets neither (pksim's chosen behaviour, like QEMU
 * and Bochs; the SDM allows either): not present, reserved bits, rights or keys. A probe never writes entries.
 * Also: a write through a TLB entry whose D is clear (filled by a read) still sets D (4.8: D is set on the first
 * write to the page), and a write that faults on the TLB-hit path leaves D clear.
 */

import { describe, expect, it } from 'vitest';
import { ACCESSES, accText, flags, linear, Rig, SIZE_NAME, type LeafLevel } from './rig.js';
import { A, D, LEVEL_NAME, NO_CONTROLS, type Access, type Controls } from './sdm-oracle.js';

const RIGS = { 4: new Rig(), 5: new Rig({ la57: true }) } as const;
// every explicit access kind, and one implicit supervisor write made at CPL 3
const ACCS: Access[] = ACCESSES.filter((a) => !a.implicit || (a.cpl === 3 && a.access === 'write'));
const CTL: Controls = { ...NO_CONTROLS, wp: true, nxe: true, pks: true, pke: true, pkrs: 0 };

type Kind = 'allowed' | 'R/W=0 in the leaf' | 'U/S=0 in the top entry' | 'XD in the top entry' | 'not present' | 'reserved bit 51' | 'key AD';

interface AdCase {
  name: string;
  levels: 4 | 5;
  leaf: LeafLevel;
  kind: Kind;
  /** For 'not present' / 'reserved bit 51': the index (from the top) of the entry. */
  at?: number;
  preset: boolean; // entries start with A = D = 1
}

const CASES: AdCase[] = [];
for (const levels of [4, 5] as const) {
  for (const leaf of [1, 2, 3] as LeafLevel[]) {
    const n = levels - leaf + 1;
    const base = `${levels}-level ${SIZE_NAME[leaf]}`;
    for (const kind of ['allowed', 'R/W=0 in the leaf', 'U/S=0 in the top entry', 'XD in the top entry', 'key AD'] as Kind[]) {
      CASES.push({ name: `${base} ${kind}`, levels, leaf, kind, preset: false });
    }
    CASES.push({ name: `${base} allowed, A and D already set`, levels, leaf, kind: 'allowed', preset: true });
    for (let at = 0; at < n; at++) {
      CASES.push({ name: `${base} ${LEVEL_NAME[levels - at]} not present`, levels, leaf, kind: 'not present', at, preset: false });
      CASES.push({ name: `${base} ${LEVEL_NAME[levels - at]} reserved bit 51`, levels, leaf, kind: 'reserved bit 51', at, preset: false });
    }
  }
}

function entriesFor(c: AdCase): bigint[] {
  const n = c.levels - c.leaf + 1;
  return Array.from({ length: n }, (_, i) => {
    const leaf = i === n - 1;
    let e = flags({
      us: !(c.kind === 'U/S=0 in the top entry' && i === 0),
      rw: !(c.kind === 'R/W=0 in the leaf' && leaf),
      xd: c.kind === 'XD in the top entry' && i === 0,
      key: leaf && c.kind === 'key AD' ? 6 : 0,
      raw: c.preset ? A | D : 0n,
    });
    if (c.kind === 'not present' && c.at === i) e = 0n;
    if (c.kind === 'reserved bit 51' && c.at === i) e |= 1n << 51n;
    return e;
  });
}

let counter = 0;

describe('A/D flags after real accesses', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const rig = RIGS[c.levels];
    const n = c.levels - c.leaf + 1;
    const failures: string[] = [];
    for (const a of ACCS) {
      const k = counter++;
      const va = linear([0x010 + (k % 400), 0x055, 0x066, 0x077, 0x088].slice(0, n), 0x18n, c.levels === 5);
      const pas = rig.setWalk(va, entriesFor(c), c.leaf);
      rig.setControls({ ...CTL, pkru: c.kind === 'key AD' ? 1 << 12 : 0, pkrs: c.kind === 'key AD' ? 1 << 12 : 0 });
      rig.cpu.flushTlb({ global: true });
      const before = pas.map((p) => rig.readEntry(p));
      const exp = rig.expect(va, a);
      const d = rig.checkProbe(va, a, exp);
      if (d !== null) failures.push(`${accText(a)}: ${d}`);
      const res = rig.real(va, a);
      if (res.kind !== exp.kind) failures.push(`${accText(a)}: expected ${exp.kind}, got ${res.kind}`);
      if (c.kind === 'allowed' && exp.kind !== 'ok') {
        // 'allowed' walks are permissive for every access here (U/S = R/W = 1, XD = 0, keys open).
        failures.push(`${accText(a)}: the oracle says ${exp.kind} for a permissive walk`);
      }
      pas.forEach((p, i) => {
        const now = rig.readEntry(p);
        const leaf = i === n - 1;
        let want = before[i];
        if (exp.kind === 'ok') {
          want |= A;
          if (leaf && a.access === 'write') want |= D;
        }
        if (now !== want) failures.push(`${accText(a)} (${exp.kind}): ${LEVEL_NAME[c.levels - i]} = 0x${now.toString(16)}, expected 0x${want.toString(16)}`);
      });
    }
    expect(failures).toEqual([]);
  });

  it('a write through a TLB entry filled by a read sets D (a TLB hit with D clear)', () => {
    const rig = RIGS[4];
    for (const leaf of [1, 2, 3] as LeafLevel[]) {
      const va = linear([0x1f0 + leaf, 0x011, 0x012, 0x013].slice(0, 5 - leaf), 0x40n);
      const pas = rig.setWalk(va, Array.from({ length: 5 - leaf }, () => flags({ rw: true })), leaf);
      rig.setControls({ ...NO_CONTROLS, wp: true });
      rig.cpu.flushTlb({ global: true });
      expect(rig.real(va, { access: 'read', cpl: 0 }).kind).toBe('ok');
      const leafPa = pas[pas.length - 1];
      expect(rig.readEntry(leafPa) & (A | D)).toBe(A);
      expect(rig.real(va, { access: 'write', cpl: 0 }).kind).toBe('ok');
      expect(rig.readEntry(leafPa) & (A | D), `${SIZE_NAME[leaf]} leaf after the write`).toBe(A | D);
      for (const p of pas.slice(0, -1)) expect(rig.readEntry(p) & (A | D)).toBe(A);
    }
  });

  it('a write that faults on the TLB-hit path (PKRS.WD set after a read) leaves D clear', () => {
    const rig = RIGS[4];
    const va = linear([0x1e0, 0x011, 0x012, 0x013], 0x40n);
    const pas = rig.setWalk(va, Array.from({ length: 4 }, () => flags({ rw: true, key: 0 })).map((e, i) => (i === 3 ? e | (2n << 59n) : e)));
    rig.setControls({ ...NO_CONTROLS, wp: true, pks: true, pkrs: 0 });
    rig.cpu.flushTlb({ global: true });
    expect(rig.real(va, { access: 'read', cpl: 0 }).kind).toBe('ok');
    rig.setControls({ ...NO_CONTROLS, wp: true, pks: true, pkrs: 1 << 5 });
    const walks = rig.cpu.stats.walks;
    const r = rig.real(va, { access: 'write', cpl: 0 });
    expect(r).toEqual({ kind: 'pf', errorCode: 0x23, address: va });
    expect(rig.cpu.stats.walks - walks).toBeLessThanOrEqual(1);
    expect(rig.readEntry(pas[3]) & (A | D)).toBe(A);
  });

  it('cpu.read sets A only, cpu.write sets D in the leaf', () => {
    const rig = RIGS[5];
    const va = linear([0x1d0, 0x011, 0x012, 0x013, 0x014], 0x40n, true);
    const pas = rig.setWalk(va, Array.from({ length: 5 }, () => flags({ rw: true, us: true })));
    rig.setControls(NO_CONTROLS);
    rig.cpu.flushTlb({ global: true });
    rig.cpu.read(va, 8, { cpl: 3 });
    expect(pas.map((p) => rig.readEntry(p) & (A | D))).toEqual([A, A, A, A, A]);
    rig.cpu.write(va, 8, 5n, { cpl: 3 });
    expect(pas.map((p) => rig.readEntry(p) & (A | D))).toEqual([A, A, A, A, A | D]);
  });
});
