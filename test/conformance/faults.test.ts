/**
 * How faults are delivered at the API edge:
 * - #PF (SDM Vol. 3A 4.7, 6.15 "Interrupt 14"): a PageFault with vector 14, the error code, `address` = the
 *   linear address; CR2 receives it on the real path (translate without probe, cpu.read, cpu.write), never on
 *   a probe; cpu.read/cpu.write throw the same fault the translation gives;
 * - non-canonical addresses (Vol. 1 3.3.7.1; Vol. 3A 6.15 "Interrupt 13", "Interrupt 12"): #GP(0), or #SS(0)
 *   for a stack reference, in 48-bit and 57-bit modes, before any paging-structure access and without CR2.
 */

import { describe, expect, it } from 'vitest';
import { GeneralProtection, PageFault, StackFault } from '../../src/index.js';
import { ACCESSES, accText, ctlText, flags, linear, Rig } from './rig.js';
import { walkOf } from './notation.js';
import { isCanonicalAddr, NO_CONTROLS, type Access, type Controls } from './sdm-oracle.js';

const CR2_SENTINEL = 0x1234567n;

function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('cpu.read / cpu.write raise the #PF the SDM gives, with CR2', () => {
  const rig = new Rig();
  const WALKS = ['UW UW UW UW', 'UW UW UW UR', 'UW UR UW UW', 'SW UW UW UW', 'UW UW UW SW', 'UWX UW UW UW', 'UW UW N UW', 'UW UW UW UW+51', 'UW:3 UW UW SW:7', 'UW UW UW:2 UR:7'];
  const CTLS: Controls[] = [
    { ...NO_CONTROLS },
    { ...NO_CONTROLS, wp: true, nxe: true, smep: true, smap: true },
    { ...NO_CONTROLS, wp: true, nxe: true, smap: true, ac: true, pke: true, pks: true, pkru: 0x3 << 14, pkrs: 0x1 << 14 },
    { ...NO_CONTROLS, pke: true, pks: true, pkru: 0x2 << 14, pkrs: 0x2 << 14, wp: true },
  ];
  it.each(WALKS.map((w, i) => [w, i] as const))('walk %s', (w, i) => {
    const va = linear([0x0f0 + i, 0x1c3, 0x0d2, 0x1e1], 0x560n);
    const failures: string[] = [];
    for (const ctl of CTLS) {
      rig.setControls(ctl);
      for (const a of ACCESSES) {
        rig.setWalk(va, walkOf(w)); // fresh A/D and no stale TLB entry for this page (flushed below)
        rig.cpu.flushTlb({ global: true });
        const exp = rig.expect(va, a);
        rig.cpu.writeCr(2, CR2_SENTINEL);
        const opts = { cpl: a.cpl, implicit: a.implicit === true };
        const e = thrown(() => (a.access === 'write' ? rig.cpu.write(va, 8, 0xabcdn, opts) : rig.cpu.read(va, 8, { ...opts, fetch: a.access === 'fetch' })));
        const tag = `${accText(a)} ${ctlText(ctl)}`;
        if (exp.kind === 'ok') {
          if (e !== undefined) failures.push(`${tag}: expected success, got ${String(e)}`);
          else if (rig.cpu.cr2 !== CR2_SENTINEL) failures.push(`${tag}: CR2 changed by a successful access`);
        } else if (exp.kind === 'pf') {
          if (!(e instanceof PageFault)) failures.push(`${tag}: expected #PF 0x${exp.errorCode.toString(16)}, got ${String(e)}`);
          else if (e.vector !== 14 || e.errorCode !== exp.errorCode || e.address !== va || rig.cpu.cr2 !== va)
            failures.push(`${tag}: PageFault vector ${e.vector} ec 0x${e.errorCode.toString(16)} address 0x${e.address.toString(16)} CR2 0x${rig.cpu.cr2.toString(16)}; expected ec 0x${exp.errorCode.toString(16)} at 0x${va.toString(16)}`);
        }
      }
    }
    expect(failures).toEqual([]);
  });

  it('without a cpl option, accesses use the CPU\'s CPL (4.6: CPL 3 = user-mode access)', () => {
    const va = linear([0x0e1, 0x1c3, 0x0d2, 0x1e1], 0x560n);
    rig.setControls({ ...NO_CONTROLS });
    rig.setWalk(va, walkOf('SW SW SW SW'));
    rig.cpu.flushTlb({ global: true });
    try {
      rig.cpu.cpl = 3;
      const r = rig.cpu.translate(va, { access: 'read', probe: true });
      expect(r.ok === false && r.fault instanceof PageFault && r.fault.errorCode).toBe(0x5);
      const e = thrown(() => rig.cpu.write(va, 4, 1n));
      expect(e instanceof PageFault && e.errorCode).toBe(0x7);
      rig.cpu.cpl = 0;
      expect(rig.cpu.translate(va, { access: 'read' }).ok).toBe(true);
      rig.m.memory.write32(rig.frameFor(va, 1) + 0x560n, 0xfeedf00d);
      expect(rig.cpu.read(va, 4)).toBe(0xfeedf00dn);
    } finally {
      rig.cpu.cpl = 0;
    }
  });

  it('a write that faults stores nothing; one that succeeds stores the value', () => {
    const va = linear([0x0e0, 0x1c3, 0x0d2, 0x1e1], 0x560n);
    rig.setControls({ ...NO_CONTROLS, wp: true });
    rig.setWalk(va, walkOf('SW SW SW SR'));
    rig.cpu.flushTlb({ global: true });
    const pa = rig.frameFor(va, 1) + 0x560n;
    rig.m.memory.write64(pa, 0x1111n);
    expect(thrown(() => rig.cpu.write(va, 8, 0x2222n))).toBeInstanceOf(PageFault);
    expect(rig.m.memory.read64(pa)).toBe(0x1111n);
    rig.setWalk(va, walkOf('SW SW SW SW'));
    rig.cpu.write(va, 8, 0x3333n);
    expect(rig.m.memory.read64(pa)).toBe(0x3333n);
    expect(rig.cpu.read(va, 8)).toBe(0x3333n);
  });
});

// Canonical addresses: bits 63:47 (48-bit) or 63:56 (57-bit, LA57) all equal (Vol. 1 3.3.7.1).
const ADDRS: bigint[] = [
  0x0000000000001000n,
  0x00007ffffffff000n,
  0x0000800000000000n,
  0x0000fffffffff000n,
  0x0001000000000000n,
  0x00fffffffffff000n,
  0x0100000000000000n,
  0x7ffffffffffff000n,
  0x8000000000000000n,
  0xfe00000000000000n,
  0xfeffffffffff0000n,
  0xff00000000000000n,
  0xffff000000000000n,
  0xffff7ffffffff000n,
  0xffff800000000000n,
  0xfffffffffffff000n,
];

describe.each([false, true])('canonical addresses, LA57=%s', (la57) => {
  const rig = new Rig({ la57 });
  // Map every canonical address of the list with a permissive walk so the canonical ones succeed.
  for (const va of ADDRS) if (isCanonicalAddr(va, la57)) rig.setWalk(va, Array.from({ length: rig.top }, () => flags({ rw: true, us: true })));
  rig.setControls({ ...NO_CONTROLS, nxe: true });
  const cases: [string, bigint, Access][] = [];
  for (const va of ADDRS) {
    for (const a of [...ACCESSES, { access: 'read', cpl: 0, stack: true }, { access: 'write', cpl: 3, stack: true }, { access: 'read', cpl: 3, stack: true }] as Access[]) {
      cases.push([`0x${va.toString(16).padStart(16, '0')} ${accText(a)}`, va, a]);
    }
  }
  it.each(cases)('%s', (_n, va, a) => {
    const exp = rig.expect(va, a);
    const canonical = isCanonicalAddr(va, la57);
    expect(exp.kind).toBe(canonical ? 'ok' : a.stack ? 'ss' : 'gp');
    expect(rig.checkProbe(va, a, exp)).toBeNull();
    expect(rig.checkReal(va, a, exp)).toBeNull();
    if (!canonical && !a.stack) {
      // The typed fault through cpu.read / cpu.write, no CR2 update (stack references: see below).
      rig.cpu.writeCr(2, CR2_SENTINEL);
      const opts = { cpl: a.cpl, implicit: a.implicit === true };
      const e = thrown(() => (a.access === 'write' ? rig.cpu.write(va, 4, 1n, opts) : rig.cpu.read(va, 4, { ...opts, fetch: a.access === 'fetch' })));
      expect(e).toBeInstanceOf(GeneralProtection);
      expect((e as GeneralProtection).vector).toBe(13);
      expect((e as GeneralProtection).errorCode).toBe(0);
      expect(rig.cpu.cr2).toBe(CR2_SENTINEL);
    }
  });

  // AccessOptions.stack on cpu.read / cpu.write: "a non-canonical address raises #SS(0) instead of #GP(0)"
  // (SDM Vol. 3A 6.15, Interrupt 12: a stack reference with a non-canonical address in 64-bit mode).
  const stackCases: [string, bigint, 'read' | 'write'][] = [];
  for (const va of ADDRS.filter((v) => !isCanonicalAddr(v, la57)).slice(0, 1)) {
    for (const op of ['read', 'write'] as const) stackCases.push([`cpu.${op}(0x${va.toString(16)}, { stack: true }) raises #SS(0)`, va, op]);
  }
  it.each(stackCases)('%s', (_n, va, op) => {
    rig.cpu.writeCr(2, CR2_SENTINEL);
    const e = thrown(() => (op === 'write' ? rig.cpu.write(va, 8, 1n, { cpl: 0, stack: true }) : rig.cpu.read(va, 8, { cpl: 0, stack: true })));
    expect(e).toBeInstanceOf(StackFault);
    expect([(e as StackFault).vector, (e as StackFault).errorCode]).toEqual([12, 0]);
    expect(rig.cpu.cr2).toBe(CR2_SENTINEL);
  });
});
