/**
 * XD per level (SDM Vol. 3A 4.6.1 instruction fetches; 4.5.4: XD is reserved when IA32_EFER.NXE = 0):
 * every subset of entries with XD = 1, for 4 KiB, 2 MiB and 1 GiB leaves, on user-mode and supervisor-mode
 * addresses, with NXE and SMEP on and off, for every access kind. With NXE = 0 any XD = 1 is a reserved-bit
 * fault (RSVD = 1, P = 1) for data accesses too; with NXE = 1 it forbids fetches only.
 */

import { describe, expect, it } from 'vitest';
import { ACCESSES, accText, controlProduct, ctlText, flags, linear, Rig, SIZE_NAME, type LeafLevel } from './rig.js';
import { LEVEL_NAME } from './sdm-oracle.js';

const rig = new Rig();
const CONTROLS = controlProduct(['nxe', 'smep', 'wp']);

interface XdCase {
  name: string;
  leaf: LeafLevel;
  xd: number; // bit i: XD in the i-th entry from the top
  supervisorLeaf: boolean; // U/S = 0 in the leaf only (a supervisor-mode address), else U/S = 1 everywhere
}

const CASES: XdCase[] = [];
for (const leaf of [1, 2, 3] as LeafLevel[]) {
  const n = 4 - leaf + 1;
  for (let xd = 0; xd < 1 << n; xd++) {
    for (const supervisorLeaf of [false, true]) {
      const where = Array.from({ length: n }, (_, i) => i).filter((i) => (xd >> i) & 1).map((i) => LEVEL_NAME[4 - i]);
      CASES.push({ name: `${SIZE_NAME[leaf]} XD in {${where.join(',')}} ${supervisorLeaf ? 'supervisor' : 'user'}-mode address`, leaf, xd, supervisorLeaf });
    }
  }
}

describe('XD at every level with EFER.NXE on and off', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const n = 4 - c.leaf + 1;
    const va = linear([0x1a0 + c.xd, 0x011, 0x022, 0x033].slice(0, n), c.supervisorLeaf ? 0x10n : 0x20n);
    rig.setWalk(va, Array.from({ length: n }, (_, i) => flags({ rw: true, us: !(c.supervisorLeaf && i === n - 1), xd: ((c.xd >> i) & 1) === 1 })), c.leaf);
    const failures: string[] = [];
    CONTROLS.forEach((ctl, ci) => {
      rig.setControls(ctl);
      for (const a of ACCESSES) {
        const exp = rig.expect(va, a);
        const d = rig.checkProbe(va, a, exp) ?? (ci % 3 === 0 ? rig.checkReal(va, a, exp) : null);
        if (d !== null) failures.push(`${accText(a)} ${ctlText(ctl)}: ${d}`);
      }
    });
    expect(failures).toEqual([]);
  });
});
