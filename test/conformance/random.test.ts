/**
 * Random sampling where the product explodes: raw entries with random P, R/W, U/S, XD, PS, keys, A/D and one
 * arbitrary extra bit (reserved, ignored, address or PAT bits alike), random control state (WP, NXE, SMEP,
 * SMAP, AC, PKE, PKS, PKRU, PKRS), random access kind and CPL, on machines with MAXPHYADDR 39, 46 and 52,
 * without 1-GByte pages, and with 5-level paging. Each sample is checked against the SDM oracle through the
 * probe path and through the real path (TLB miss, then the repeat). fast-check with a fixed seed.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACCESSES, accText, ctlText, linear, Rig, type LeafLevel } from './rig.js';
import { controlsArb } from './arbitraries.js';
import { A, D, KEY_SHIFT, P, PS, RW, US, XD, type Access } from './sdm-oracle.js';

const RIGS: Record<string, Rig> = {
  'MAXPHYADDR=39': new Rig({ maxPhysAddr: 39 }),
  'MAXPHYADDR=46': new Rig({ maxPhysAddr: 46 }),
  'MAXPHYADDR=52 LA57': new Rig({ maxPhysAddr: 52, la57: true }),
  'no 1G pages': new Rig({ gbpages: false }),
  'LA57 MAXPHYADDR=40': new Rig({ la57: true, maxPhysAddr: 40 }),
};
const RIG_NAMES = Object.keys(RIGS);

const weighted = (pTrue: number) => fc.integer({ min: 0, max: 99 }).map((x) => x < pTrue);
const entryArb = fc
  .record({
    p: weighted(98),
    rw: fc.boolean(),
    us: fc.boolean(),
    xd: weighted(8),
    ps: weighted(4),
    key: fc.integer({ min: 0, max: 15 }),
    a: fc.boolean(),
    d: fc.boolean(),
    extra: fc.oneof({ arbitrary: fc.constant(null), weight: 7 }, { arbitrary: fc.integer({ min: 1, max: 63 }), weight: 1 }),
  })
  .map((f) => {
    let e = 0n;
    if (f.p) e |= P;
    if (f.rw) e |= RW;
    if (f.us) e |= US;
    if (f.xd) e |= XD;
    if (f.ps) e |= PS;
    if (f.a) e |= A;
    if (f.d) e |= D;
    e |= BigInt(f.key) << KEY_SHIFT;
    if (f.extra !== null) e |= 1n << BigInt(f.extra);
    return e;
  });
const accArb: fc.Arbitrary<Access> = fc.constantFrom(...ACCESSES, { access: 'read', cpl: 1 } as Access, { access: 'fetch', cpl: 2 } as Access);

let k = 0;
const seen = { ok: 0, notPresent: 0, rsvd: 0, protection: 0, pk: 0 };

describe('random walks, controls and accesses', () => {
  it('match the SDM on the probe and real paths (fast-check, seed 0x5d3a)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...RIG_NAMES),
        fc.constantFrom(1 as LeafLevel, 2 as LeafLevel, 3 as LeafLevel),
        fc.array(entryArb, { minLength: 5, maxLength: 5 }),
        controlsArb,
        accArb,
        (rigName, leaf, es, ctl, acc) => {
          const rig = RIGS[rigName];
          const n = rig.top - leaf + 1;
          const i = k++ % 24;
          const va = linear([0x0c0 + i * 13, 0x101, 0x0f2, 0x1e3, 0x0d4].slice(0, n), 0xabcn, rig.arch.la57);
          const entries = es.slice(0, n); // the rig adds the addresses, and PS to a large-page leaf
          rig.setWalk(va, entries, leaf);
          rig.setControls(ctl);
          const exp = rig.expect(va, acc);
          if (exp.kind === 'ok') seen.ok++;
          else if (exp.kind === 'pf') {
            if ((exp.errorCode & 1) === 0) seen.notPresent++;
            else if (exp.errorCode & 8) seen.rsvd++;
            else seen.protection++;
            if (exp.errorCode & 32) seen.pk++;
          }
          const d = rig.checkProbe(va, acc, exp) ?? rig.checkReal(va, acc, exp);
          const tag = `${rigName} leaf level ${leaf} entries [${entries.map((e) => `0x${e.toString(16)}`).join(', ')}] ${accText(acc)} ${ctlText(ctl)}`;
          expect(d, tag).toBeNull();
        },
      ),
      { seed: 0x5d3a, numRuns: 6000 },
    );
    // The sample covers every outcome.
    expect(Object.values(seen).every((x) => x > 100), JSON.stringify(seen)).toBe(true);
  });
});
