/**
 * U/S and R/W at every level (SDM Vol. 3A 4.6.1): all 2^n x 2^n combinations over the n entries of a walk for
 * 4 KiB (n = 4), 2 MiB (n = 3) and 1 GiB (n = 2) pages, each under every combination of CR0.WP, EFER.NXE,
 * CR4.SMEP, CR4.SMAP and RFLAGS.AC, for reads, writes and fetches at CPL 0 and 3 and implicit supervisor
 * accesses. Expectations come from the SDM oracle; a sample of the cases also runs through the real path.
 */

import { describe, expect, it } from 'vitest';
import { ACCESSES, accText, controlProduct, ctlText, flags, linear, Rig, SIZE_NAME, type LeafLevel } from './rig.js';
import { LEVEL_NAME } from './sdm-oracle.js';

const rig = new Rig();
const CONTROLS = controlProduct(['wp', 'nxe', 'smep', 'smap', 'ac']);

interface Combo {
  name: string;
  leaf: LeafLevel;
  us: number; // bit i = U/S of the i-th entry from the top
  rw: number;
}

function combos(leaf: LeafLevel): Combo[] {
  const n = 4 - leaf + 1;
  const levels = Array.from({ length: n }, (_, i) => LEVEL_NAME[4 - i]);
  const out: Combo[] = [];
  for (let us = 0; us < 1 << n; us++) {
    for (let rw = 0; rw < 1 << n; rw++) {
      const bit = (m: number, i: number) => (m >> i) & 1;
      const name = `${SIZE_NAME[leaf]} ` + levels.map((l, i) => `${l}(U/S=${bit(us, i)},R/W=${bit(rw, i)})`).join(' ');
      out.push({ name, leaf, us, rw });
    }
  }
  return out;
}

// One address per page size, with a distinct nonzero index at each level.
const VA: Record<LeafLevel, bigint> = {
  1: linear([0x0b5, 0x1c3, 0x0d2, 0x1e1], 0x567n),
  2: linear([0x0b5, 0x1c3, 0x0d3], 0x1e1567n),
  3: linear([0x0b5, 0x1c4], 0x0d21e1567n),
};

function run(c: Combo, real: boolean): string[] {
  const n = 4 - c.leaf + 1;
  const entries = Array.from({ length: n }, (_, i) => flags({ us: ((c.us >> i) & 1) === 1, rw: ((c.rw >> i) & 1) === 1 }));
  const va = VA[c.leaf];
  rig.setWalk(va, entries, c.leaf);
  const failures: string[] = [];
  CONTROLS.forEach((ctl, ci) => {
    rig.setControls(ctl);
    for (const a of ACCESSES) {
      const exp = rig.expect(va, a);
      const d = rig.checkProbe(va, a, exp);
      if (d !== null) failures.push(`${accText(a)} ${ctlText(ctl)}: ${d}`);
      // Real path for a deterministic quarter of the control sets (different ones for each combo).
      if (real && (ci + c.us + c.rw) % 4 === 0) {
        const r = rig.checkReal(va, a, exp);
        if (r !== null) failures.push(`${accText(a)} ${ctlText(ctl)}: ${r}`);
      }
    }
  });
  return failures;
}

describe.each([1, 2, 3] as LeafLevel[])('U/S x R/W at every level, %s-level leaf', (leaf) => {
  it.each(combos(leaf).map((c) => [c.name, c] as const))('%s', (_name, c) => {
    expect(run(c, true)).toEqual([]);
  });
});
