/**
 * Hand-written expectations, each read off one rule of Intel SDM Vol. 3A (4.5.4 reserved bits, 4.6.1 access
 * rights, 4.6.2 protection keys, 4.7 error codes). They check pksim and also the oracle the other files rely on.
 * Walks are written top level first in the notation of notation.ts (4-level paging, MAXPHYADDR 46).
 * Error codes: P=0x1 W=0x2 U=0x4 RSVD=0x8 I=0x10 PK=0x20.
 */

import { describe, expect, it } from 'vitest';
import { PageFault } from '../../src/index.js';
import { accText, linear, outcomeText, Rig, type LeafLevel } from './rig.js';
import { walkOf } from './notation.js';
import { NO_CONTROLS, type Access, type Controls } from './sdm-oracle.js';

interface Golden {
  name: string;
  walk: string;
  leaf?: LeafLevel;
  ctl?: Partial<Controls>;
  acc: Access;
  /** 'ok' or the #PF error code. */
  want: 'ok' | number;
}

const r = (cpl: 0 | 1 | 2 | 3, implicit = false): Access => ({ access: 'read', cpl, implicit });
const w = (cpl: 0 | 1 | 2 | 3, implicit = false): Access => ({ access: 'write', cpl, implicit });
const x = (cpl: 0 | 1 | 2 | 3): Access => ({ access: 'fetch', cpl });
const AD = (k: number) => 1 << (2 * k);
const WD = (k: number) => 2 ** (2 * k + 1);
const KEYS = { pke: true, pks: true };

const TABLE: Golden[] = [
  // 4.6.1 user-mode access rights
  { name: 'CPL3 read of a user page with R/W=0 everywhere', walk: 'UR UR UR UR', acc: r(3), want: 'ok' },
  { name: 'CPL3 write, R/W=0 in the PDPTE only', walk: 'UW UR UW UW', acc: w(3), want: 0x7 },
  { name: 'CPL3 write, WP=0 does not help a user-mode write', walk: 'UW UW UW UR', ctl: { wp: false }, acc: w(3), want: 0x7 },
  { name: 'CPL3 read, U/S=0 in the PML4E only', walk: 'SW UW UW UW', acc: r(3), want: 0x5 },
  { name: 'CPL3 read, U/S=0 in the PTE only', walk: 'UW UW UW SW', acc: r(3), want: 0x5 },
  { name: 'CPL3 fetch of a supervisor page, NXE=0 SMEP=0: no I bit', walk: 'UW UW SW UW', acc: x(3), want: 0x5 },
  { name: 'CPL3 fetch, XD in the PDPTE, NXE=1', walk: 'UW UWX UW UW', ctl: { nxe: true }, acc: x(3), want: 0x15 },
  { name: 'CPL3 fetch of a user page, NXE=1, XD=0, SMEP=1', walk: 'UW UW UW UW', ctl: { nxe: true, smep: true }, acc: x(3), want: 'ok' },
  // 4.6.1 supervisor-mode access rights
  { name: 'CPL0 write, R/W=0 in the PTE, WP=0', walk: 'SW SW SW SR', acc: w(0), want: 'ok' },
  { name: 'CPL0 write, R/W=0 in the PML4E, WP=1', walk: 'SR SW SW SW', ctl: { wp: true }, acc: w(0), want: 0x3 },
  { name: 'CPL0 write to a user page with R/W=0, WP=0, SMAP=0', walk: 'UR UW UW UW', acc: w(0), want: 'ok' },
  { name: 'CPL0 read of a user page, SMAP=1 AC=0', walk: 'UW UW UW UW', ctl: { smap: true }, acc: r(0), want: 0x1 },
  { name: 'CPL0 read of a user page, SMAP=1 AC=1', walk: 'UW UW UW UW', ctl: { smap: true, ac: true }, acc: r(0), want: 'ok' },
  { name: 'CPL0 write to a user page, SMAP=1 AC=1, WP=1, R/W=0 in the PDE', walk: 'UW UW UR UW', ctl: { smap: true, ac: true, wp: true }, acc: w(0), want: 0x3 },
  { name: 'CPL0 read of a supervisor page (U/S=0 in the PTE), SMAP=1 AC=0', walk: 'UW UW UW SW', ctl: { smap: true }, acc: r(0), want: 'ok' },
  { name: 'implicit read at CPL0 of a user page, SMAP=1 AC=1', walk: 'UW UW UW UW', ctl: { smap: true, ac: true }, acc: r(0, true), want: 0x1 },
  { name: 'implicit read at CPL3 of a user page, SMAP=1 AC=1: supervisor access, U clear', walk: 'UW UW UW UW', ctl: { smap: true, ac: true }, acc: r(3, true), want: 0x1 },
  { name: 'implicit read at CPL3 of a supervisor page', walk: 'SW SW SW SW', acc: r(3, true), want: 'ok' },
  { name: 'implicit write at CPL3, R/W=0 in the PDE, WP=1', walk: 'UW UW UR UW', ctl: { wp: true }, acc: w(3, true), want: 0x3 },
  { name: 'implicit write at CPL3, R/W=0 in the PDE, WP=0', walk: 'UW UW UR UW', acc: w(3, true), want: 'ok' },
  { name: 'CPL0 fetch of a user page, SMEP=1, NXE=0: I set by SMEP', walk: 'UW UW UW UW', ctl: { smep: true }, acc: x(0), want: 0x11 },
  { name: 'CPL0 fetch of a user page, SMEP=0', walk: 'UW UW UW UW', acc: x(0), want: 'ok' },
  { name: 'CPL0 fetch of a supervisor page (U/S=0 in the PDPTE), SMEP=1', walk: 'UW SW UW UW', ctl: { smep: true, nxe: true }, acc: x(0), want: 'ok' },
  { name: 'CPL0 fetch, XD in the PTE, NXE=1', walk: 'SW SW SW SWX', ctl: { nxe: true }, acc: x(0), want: 0x11 },
  { name: 'CPL0 fetch of a user page, SMAP=1 AC=0 (SMAP is for data only)', walk: 'UW UW UW UW', ctl: { smap: true }, acc: x(0), want: 'ok' },
  { name: 'CPL1 read of a supervisor page (CPL<3 is supervisor)', walk: 'SW SW SW SW', acc: r(1), want: 'ok' },
  { name: 'CPL2 write to a user page with R/W=0, WP=0', walk: 'UW UW UW UR', acc: w(2), want: 'ok' },
  // 4.5.4 / 4.7: XD with NXE=0 is a reserved bit
  { name: 'CPL0 fetch, XD in the PML4E, NXE=0: RSVD, no I', walk: 'SWX SW SW SW', acc: x(0), want: 0x9 },
  { name: 'CPL0 fetch, XD in the PTE, NXE=0, SMEP=1: RSVD with I', walk: 'SW SW SW SWX', ctl: { smep: true }, acc: x(0), want: 0x19 },
  { name: 'CPL3 write, XD in the PTE, NXE=0: RSVD', walk: 'UW UW UW UWX', acc: w(3), want: 0xf },
  { name: 'CPL0 read, XD in the PDE, NXE=0: RSVD even for a read', walk: 'SW SW SWX SW', acc: r(0), want: 0x9 },
  // 4.6.2 protection keys: leaf key 5, non-leaf entries key 9 (ignored)
  { name: 'PKRU.AD5, CPL3 read of a user page', walk: 'UW:9 UW:9 UW:9 UW:5', ctl: { ...KEYS, pkru: AD(5) }, acc: r(3), want: 0x25 },
  { name: 'PKRU.AD9 (the non-leaf key only), CPL3 read', walk: 'UW:9 UW:9 UW:9 UW:5', ctl: { ...KEYS, pkru: AD(9) | WD(9) }, acc: r(3), want: 'ok' },
  { name: 'PKRU.AD5, CPL0 read of a user page (PKRU whatever the CPL)', walk: 'UW:9 UW:9 UW:9 UW:5', ctl: { ...KEYS, pkru: AD(5) }, acc: r(0), want: 0x21 },
  { name: 'PKRU.WD5, CPL0 write to a user page, WP=0', walk: 'UW:9 UW:9 UW:9 UW:5', ctl: { ...KEYS, pkru: WD(5) }, acc: w(0), want: 'ok' },
  { name: 'PKRU.WD5, CPL0 write to a user page, WP=1', walk: 'UW:9 UW:9 UW:9 UW:5', ctl: { ...KEYS, pkru: WD(5), wp: true }, acc: w(0), want: 0x23 },
  { name: 'PKRU.WD5, CPL3 write, WP=0 (user-mode writes always)', walk: 'UW:9 UW:9 UW:9 UW:5', ctl: { ...KEYS, pkru: WD(5) }, acc: w(3), want: 0x27 },
  { name: 'PKRU.WD5, CPL3 write with R/W=0 in the PTE: PK with the R/W violation', walk: 'UW:9 UW:9 UW:9 UR:5', ctl: { ...KEYS, pkru: WD(5) }, acc: w(3), want: 0x27 },
  { name: 'PKRU.AD5, CPL3 fetch: keys never apply to fetches', walk: 'UW:9 UW:9 UW:9 UW:5', ctl: { ...KEYS, pkru: AD(5), nxe: true }, acc: x(3), want: 'ok' },
  { name: 'PKRU.AD5 with CR4.PKE=0', walk: 'UW:9 UW:9 UW:9 UW:5', ctl: { pks: true, pkru: AD(5) }, acc: r(3), want: 'ok' },
  { name: 'PKRU.AD5 + SMAP AC=0, CPL0 read: PK with the SMAP violation', walk: 'UW:9 UW:9 UW:9 UW:5', ctl: { ...KEYS, pkru: AD(5), smap: true }, acc: r(0), want: 0x21 },
  { name: 'PKRS.AD5, CPL0 read of a supervisor page', walk: 'SW:9 SW:9 SW:9 SW:5', ctl: { ...KEYS, pkrs: AD(5) }, acc: r(0), want: 0x21 },
  { name: 'U/S=0 only in the leaf picks PKRS: PKRS.AD5, CPL0 read', walk: 'UW:9 UW:9 UW:9 SW:5', ctl: { ...KEYS, pkrs: AD(5) }, acc: r(0), want: 0x21 },
  { name: 'U/S=0 only in the leaf picks PKRS, not PKRU: PKRU.AD5, CPL0 read', walk: 'UW:9 UW:9 UW:9 SW:5', ctl: { ...KEYS, pkru: AD(5) }, acc: r(0), want: 'ok' },
  { name: 'U/S=0 only in the PML4E picks PKRS: PKRS.AD5, CPL0 read', walk: 'SW:9 UW:9 UW:9 UW:5', ctl: { ...KEYS, pkrs: AD(5) }, acc: r(0), want: 0x21 },
  { name: 'PKRS.AD5, CPL3 read of a supervisor page: PK with the U/S violation', walk: 'SW:9 SW:9 SW:9 SW:5', ctl: { ...KEYS, pkrs: AD(5) }, acc: r(3), want: 0x25 },
  { name: 'PKRS=0, CPL3 read of a supervisor page', walk: 'SW:9 SW:9 SW:9 SW:5', ctl: { ...KEYS }, acc: r(3), want: 0x5 },
  { name: 'PKRS.WD5, CPL3 write to a supervisor page, WP=0: PK (user-mode write)', walk: 'SW:9 SW:9 SW:9 SW:5', ctl: { ...KEYS, pkrs: WD(5) }, acc: w(3), want: 0x27 },
  { name: 'PKRS.WD5, CPL0 write to a supervisor page, WP=0', walk: 'SW:9 SW:9 SW:9 SW:5', ctl: { ...KEYS, pkrs: WD(5) }, acc: w(0), want: 'ok' },
  { name: 'PKRS.WD5, CPL0 write to a supervisor page, WP=1', walk: 'SW:9 SW:9 SW:9 SW:5', ctl: { ...KEYS, pkrs: WD(5), wp: true }, acc: w(0), want: 0x23 },
  { name: 'PKRS.WD5 and R/W=0 in the PDE, CPL0 write, WP=1: PK with the R/W violation', walk: 'SW:9 SW:9 SR:9 SW:5', ctl: { ...KEYS, pkrs: WD(5), wp: true }, acc: w(0), want: 0x23 },
  { name: 'PKRS.AD5, implicit read at CPL3: no U bit', walk: 'SW:9 SW:9 SW:9 SW:5', ctl: { ...KEYS, pkrs: AD(5) }, acc: r(3, true), want: 0x21 },
  { name: 'PKRS.AD5, CPL0 fetch: keys never apply to fetches', walk: 'SW:9 SW:9 SW:9 SW:5', ctl: { ...KEYS, pkrs: AD(5), nxe: true }, acc: x(0), want: 'ok' },
  { name: 'PKRS.AD5 with CR4.PKS=0', walk: 'SW:9 SW:9 SW:9 SW:5', ctl: { pke: true, pkrs: AD(5) }, acc: r(0), want: 'ok' },
  { name: 'PKRS.AD9 (the non-leaf key only), CPL0 read', walk: 'SW:9 SW:9 SW:9 SW:5', ctl: { ...KEYS, pkrs: AD(9) }, acc: r(0), want: 'ok' },
  { name: 'PKRS.AD5 on a 2 MiB page', walk: 'SW:9 SW:9 SW:5', leaf: 2, ctl: { ...KEYS, pkrs: AD(5) }, acc: r(0), want: 0x21 },
  { name: 'PKRS.WD15 on a 1 GiB page, WP=1', walk: 'SW:9 SW:15', leaf: 3, ctl: { ...KEYS, pkrs: WD(15), wp: true }, acc: w(0), want: 0x23 },
  // 4.7: not present; reserved bits (MAXPHYADDR 46)
  { name: 'PDE not present, CPL3 write', walk: 'UW UW N UW', acc: w(3), want: 0x6 },
  { name: 'PML4E not present, CPL0 fetch, NXE=1', walk: 'N SW SW SW', ctl: { nxe: true }, acc: x(0), want: 0x10 },
  { name: 'PTE not present with bit 51 set: P=0 first', walk: 'SW SW SW N+51', acc: r(0), want: 0x0 },
  { name: 'bit 51 in the PDPTE, PTE not present: RSVD first', walk: 'SW SW+51 SW N', acc: r(0), want: 0x9 },
  { name: 'bit 46 (= MAXPHYADDR) in the PTE', walk: 'SW SW SW SW+46', acc: r(0), want: 0x9 },
  { name: 'PS=1 in the PML4E', walk: 'SW+7 SW SW SW', acc: r(0), want: 0x9 },
  { name: 'PAT (bit 7) in a PTE is not reserved', walk: 'SW SW SW SW+7', acc: r(0), want: 'ok' },
  { name: 'ignored bits 11:9 and 58:52 in every entry', walk: 'SW+9+10+11+52+58 SW+9+52+58 SW+11+55 SW+9+10+11+52+58', acc: r(0), want: 'ok' },
  { name: '2 MiB page with bit 13 set', walk: 'SW SW SW+13', leaf: 2, acc: r(0), want: 0x9 },
  { name: '2 MiB page with PAT (bit 12)', walk: 'SW SW SW+12', leaf: 2, acc: r(0), want: 'ok' },
  { name: '1 GiB page with bit 29 set, CPL3 write', walk: 'UW UW+29', leaf: 3, acc: w(3), want: 0xf },
  { name: '1 GiB page with PAT (bit 12)', walk: 'UW UW+12', leaf: 3, acc: w(3), want: 'ok' },
];

const rig = new Rig();

describe('hand-written SDM cases', () => {
  it.each(TABLE.map((g, i) => [g.name, g, i] as const))('%s', (_n, g, i) => {
    const leaf = g.leaf ?? 1;
    const va = linear([0x100 + i, 0x1c3, 0x0d2, 0x1e1].slice(0, 4 - leaf + 1), leaf === 1 ? 0x567n : leaf === 2 ? 0x1e1567n : 0x0d21e1567n);
    rig.setWalk(va, walkOf(g.walk), leaf);
    rig.setControls({ ...NO_CONTROLS, ...g.ctl });
    const exp = rig.expect(va, g.acc);
    // The oracle agrees with the hand-written value...
    const want = g.want === 'ok' ? 'ok' : `#PF 0x${g.want.toString(16)}`;
    const got = exp.kind === 'ok' ? 'ok' : exp.kind === 'pf' ? `#PF 0x${exp.errorCode.toString(16)}` : exp.kind;
    expect(got, `oracle: ${outcomeText(exp)}`).toBe(want);
    // ...and so does pksim, on the probe path and the real path.
    expect(rig.checkProbe(va, g.acc, exp), accText(g.acc)).toBeNull();
    expect(rig.checkReal(va, g.acc, exp), accText(g.acc)).toBeNull();
    // The fault object itself: a PageFault with vector 14, this error code and address.
    const res = rig.cpu.translate(va, { access: g.acc.access, cpl: g.acc.cpl, implicit: g.acc.implicit === true, probe: true });
    if (g.want === 'ok') expect(res.ok).toBe(true);
    else {
      expect(res.ok).toBe(false);
      const f = (res as { fault: unknown }).fault;
      expect(f).toBeInstanceOf(PageFault);
      expect([(f as PageFault).vector, (f as PageFault).errorCode, (f as PageFault).address]).toEqual([14, g.want, va]);
    }
  });
});
