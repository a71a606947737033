/**
 * 5-level paging (CR4.LA57; SDM Vol. 3A 4.5): a sample of the 4-level checks with a PML5E on top.
 * - U/S and R/W: every U/S combination over the 5 levels with R/W = 1, every R/W combination with U/S = 1,
 *   and 48 pseudo-random full combinations, for 4 KiB leaves; all 2 MiB and 1 GiB U/S x R/W combinations
 *   restricted to the PML5E/leaf pair; each under WP/NXE/SMEP/SMAP/AC and every access kind;
 * - the PML5E's own rules: XD (NXE on: forbids fetches; off: reserved), PS = 1 reserved (Table 4-14),
 *   bits 51:MAXPHYADDR reserved, not present, its key bits ignored (4.6.2: only the leaf's key counts).
 */

import { describe, expect, it } from 'vitest';
import { ACCESSES, accText, controlProduct, ctlText, flags, linear, Rig, SIZE_NAME, type LeafLevel } from './rig.js';
import { LEVEL_NAME, NO_CONTROLS, type Controls } from './sdm-oracle.js';

const rig = new Rig({ la57: true, maxPhysAddr: 46 });
const CONTROLS = controlProduct(['wp', 'nxe', 'smep', 'smap', 'ac']);
const top = 5;

interface Case {
  name: string;
  leaf: LeafLevel;
  entries: bigint[];
  ctls?: Controls[];
}

function levelNames(leaf: LeafLevel): string[] {
  return Array.from({ length: top - leaf + 1 }, (_, i) => LEVEL_NAME[top - i]);
}

function usRwCase(leaf: LeafLevel, us: number, rw: number): Case {
  const names = levelNames(leaf);
  const n = names.length;
  const b = (m: number, i: number) => (m >> i) & 1;
  return {
    name: `${SIZE_NAME[leaf]} ` + names.map((l, i) => `${l}(U/S=${b(us, i)},R/W=${b(rw, i)})`).join(' '),
    leaf,
    entries: Array.from({ length: n }, (_, i) => flags({ us: b(us, i) === 1, rw: b(rw, i) === 1 })),
  };
}

const CASES: Case[] = [];
for (let us = 0; us < 32; us++) CASES.push(usRwCase(1, us, 31));
for (let rw = 0; rw < 31; rw++) CASES.push(usRwCase(1, 31, rw));
let seed = 0x2545f491;
const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 16) & 31;
for (let i = 0; i < 48; i++) CASES.push(usRwCase(1, rnd(), rnd()));
// Large pages: vary the PML5E and the leaf, the entries between them permissive.
for (const leaf of [2, 3] as LeafLevel[]) {
  const n = top - leaf + 1;
  const mid = (1 << (n - 1)) - 2; // bits 1..n-2 set
  for (const usTop of [0, 1]) for (const usLeaf of [0, 1]) for (const rwTop of [0, 1]) for (const rwLeaf of [0, 1]) {
    CASES.push(usRwCase(leaf, usTop | mid | (usLeaf << (n - 1)), rwTop | mid | (rwLeaf << (n - 1))));
  }
}
// PML5E rules.
const ok5 = (leaf: LeafLevel) => Array.from({ length: top - leaf + 1 }, () => flags({ us: true, rw: true }));
for (const leaf of [1, 2, 3] as LeafLevel[]) {
  const withXd = ok5(leaf);
  withXd[0] |= 1n << 63n;
  CASES.push({ name: `${SIZE_NAME[leaf]} XD in the PML5E`, leaf, entries: withXd });
  const withPs = ok5(leaf);
  withPs[0] |= 1n << 7n;
  CASES.push({ name: `${SIZE_NAME[leaf]} PS=1 in the PML5E (reserved)`, leaf, entries: withPs });
  for (const b of [46, 51]) {
    const hi = ok5(leaf);
    hi[0] |= 1n << BigInt(b);
    CASES.push({ name: `${SIZE_NAME[leaf]} bit ${b} in the PML5E (MAXPHYADDR 46)`, leaf, entries: hi });
  }
  const np = ok5(leaf);
  np[0] = 0n;
  CASES.push({ name: `${SIZE_NAME[leaf]} PML5E not present`, leaf, entries: np });
  const ign = ok5(leaf);
  ign[0] |= (0xfn << 59n) | (1n << 52n) | (1n << 58n) | (7n << 9n);
  CASES.push({ name: `${SIZE_NAME[leaf]} ignored bits 11:9, 58:52, 62:59 in the PML5E`, leaf, entries: ign });
}
// Keys: the PML5E (and the other non-leaf entries) carry key 11, the leaf key 4; PKRU/PKRS deny key 11 entirely.
const keyCtls: Controls[] = [];
for (const pkrs of [0, 1 << 8, 2 << 8]) for (const pkru of [0, 1 << 8, 2 << 8]) for (const wp of [false, true]) {
  keyCtls.push({ ...NO_CONTROLS, wp, pke: true, pks: true, pkru: pkru | (3 << 22), pkrs: pkrs | (3 << 22) });
}
for (const leaf of [1, 2, 3] as LeafLevel[]) {
  for (const where of ['user', 'supervisor: U/S=0 in the PML5E only', 'supervisor: U/S=0 in the leaf only']) {
    const n = top - leaf + 1;
    const entries = Array.from({ length: n }, (_, i) =>
      flags({ rw: true, us: where === 'user' || (where.includes('PML5E') ? i !== 0 : i !== n - 1), key: i === n - 1 ? 4 : 11 }),
    );
    CASES.push({ name: `${SIZE_NAME[leaf]} keys, ${where}, leaf key 4, non-leaf key 11`, leaf, entries, ctls: keyCtls });
  }
}

let counter = 0;

describe('5-level paging', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const n = top - c.leaf + 1;
    const k = counter++;
    // PML5 index >= 256: a high-half address; bits 56:48 nonzero, so a 4-level walker would differ.
    const va = linear([0x100 + (k % 200), 0x0a1, 0x0b2, 0x0c3, 0x0d4].slice(0, n), 0x321n, true);
    rig.setWalk(va, c.entries, c.leaf);
    const failures: string[] = [];
    (c.ctls ?? CONTROLS).forEach((ctl, ci) => {
      rig.setControls(ctl);
      for (const a of ACCESSES) {
        const exp = rig.expect(va, a);
        const d = rig.checkProbe(va, a, exp) ?? ((ci + k) % 4 === 0 ? rig.checkReal(va, a, exp) : null);
        if (d !== null) failures.push(`${accText(a)} ${ctlText(ctl)}: ${d}`);
      }
    });
    expect(failures).toEqual([]);
  });

  it('a 5-level walk reads five entries and the PML5 index comes from bits 56:48', () => {
    const va = linear([0x1ff, 0x000, 0x001, 0x002, 0x003], 0x10n, true);
    rig.setWalk(va, ok5(1));
    rig.setControls(NO_CONTROLS);
    const exp = rig.expect(va, { access: 'read', cpl: 0 });
    expect(exp.kind === 'ok' && exp.walk.map((s) => s.level)).toEqual([5, 4, 3, 2, 1]);
    expect(rig.checkProbe(va, { access: 'read', cpl: 0 }, exp)).toBeNull();
    // Same low 48 bits, different PML5 index: not mapped.
    const other = linear([0x1fe, 0x000, 0x001, 0x002, 0x003], 0x10n, true);
    const e2 = rig.expect(other, { access: 'read', cpl: 0 });
    expect(e2.kind).toBe('pf');
    expect(rig.checkProbe(other, { access: 'read', cpl: 0 }, e2)).toBeNull();
  });
});
