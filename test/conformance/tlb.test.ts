/**
 * The real path through the TLBs must give the SDM's answer too:
 * - the TLB caches the translation (frame, accumulated U/S, R/W, XD, the key), not rights derived from
 *   CR0.WP, CR4.SMAP/PKE/PKS, RFLAGS.AC, PKRU or PKRS, or the CPL: after a permissive access fills the TLB, an
 *   access under other controls, served from the TLB, must match the oracle (SDM Vol. 3A 4.10.2.2: the TLB
 *   holds the page's access rights and protection key; 4.6.2: PKRU/PKRS writes need no invalidation);
 * - a page fault invalidates the TLB entries for the faulting address (4.10.4.1), so a stale, more
 *   restrictive entry gives one fault and the retry walks the updated entry.
 * fast-check with a fixed seed picks the walks, controls and accesses.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ACCESSES, accText, ctlText, flags, linear, Rig, type LeafLevel } from './rig.js';
import { controlsArb } from './arbitraries.js';
import { walkOf } from './notation.js';
import { NO_CONTROLS, type Access, type Controls } from './sdm-oracle.js';

const RIGS = { 4: new Rig(), 5: new Rig({ la57: true }) } as const;

const entryArb = fc.record({ rw: fc.boolean(), us: fc.boolean(), xd: fc.boolean(), key: fc.integer({ min: 0, max: 15 }) });
const accArb: fc.Arbitrary<Access> = fc.constantFrom(...ACCESSES, { access: 'read', cpl: 2 } as Access, { access: 'write', cpl: 1 } as Access);

let counter = 0;
let served = 0;
let total = 0;

describe('TLB hits under changed controls', () => {
  it('match the SDM (fast-check, seed 20240601)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(4 as const, 5 as const),
        fc.constantFrom(1 as LeafLevel, 2 as LeafLevel, 3 as LeafLevel),
        fc.array(entryArb, { minLength: 5, maxLength: 5 }),
        controlsArb,
        accArb,
        fc.constantFrom<Access>({ access: 'read', cpl: 0 }, { access: 'fetch', cpl: 0 }),
        (levels, leaf, es, ctl, acc, fill) => {
          const rig = RIGS[levels];
          const n = levels - leaf + 1;
          const k = counter++;
          const va = linear([(k % 16) * 31, 0x031, 0x032, 0x033, 0x034].slice(0, n), 0x99n, levels === 5); // the TLB is flushed below
          rig.setWalk(va, es.slice(0, n).map((e) => flags(e)), leaf);
          // Fill: the same WP/NXE/SMEP (SMEP 0->1 would flush), no SMAP, no keys; a fetch fill needs no SMEP on a user page.
          const fillCtl: Controls = { ...ctl, smap: false, pke: false, pks: false, ...(fill.access === 'fetch' ? { smep: ctl.smep } : {}) };
          rig.setControls(fillCtl);
          rig.cpu.flushTlb({ global: true });
          const fillExp = rig.expect(va, fill);
          const fillAct = rig.real(va, fill);
          expect(fillAct.kind, `fill ${accText(fill)} ${ctlText(fillCtl)}`).toBe(fillExp.kind);
          rig.setControls(ctl);
          const exp = rig.expect(va, acc);
          const walks = rig.cpu.stats.walks;
          const act = rig.real(va, acc);
          if (fillExp.kind === 'ok') {
            total++;
            if (rig.cpu.stats.walks === walks) served++;
          }
          const tag = `fill ${accText(fill)} -> ${fillExp.kind}; then ${accText(acc)} ${ctlText(ctl)}`;
          expect(act.kind === exp.kind && (act.kind !== 'pf' || (exp.kind === 'pf' && act.errorCode === exp.errorCode)), `${tag}: got ${JSON.stringify(act, (_k, v) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))}, expected ${exp.kind}${exp.kind === 'pf' ? ` 0x${exp.errorCode.toString(16)} (${exp.why})` : ''}`).toBe(true);
          if (act.kind === 'ok' && exp.kind === 'ok') expect([act.pa, act.pageSize, act.pkey]).toEqual([exp.pa, exp.pageSize, exp.pkey]);
        },
      ),
      { seed: 20240601, numRuns: 4000 },
    );
    // Most cases after a successful fill must really have been served by the TLB (not by a new walk).
    expect(served / total).toBeGreaterThan(0.5);
  });

  it('a PKRS or PKRU change takes effect on the next TLB hit, without a flush', () => {
    const rig = RIGS[4];
    const va = linear([0x1a1, 0x002, 0x003, 0x004], 0x10n);
    const walkSpec = ['SW SW SW SW:7', 'UW UW UW UW:7'];
    for (const spec of walkSpec) {
      const user = spec.startsWith('U');
      rig.setWalk(va, walkOf(spec));
      const base: Controls = { ...NO_CONTROLS, wp: true, pke: true, pks: true };
      rig.setControls(base);
      rig.cpu.flushTlb({ global: true });
      expect(rig.real(va, { access: 'write', cpl: 0 }).kind).toBe('ok'); // fills the TLB with D set
      const steps: [string, number, Access, number | 'ok'][] = [
        ['AD7', 1 << 14, { access: 'read', cpl: 0 }, 0x21],
        ['WD7', 2 << 14, { access: 'read', cpl: 0 }, 'ok'],
        ['WD7', 2 << 14, { access: 'write', cpl: 0 }, 0x23],
        ['none', 0, { access: 'write', cpl: 0 }, 'ok'],
        ['AD7', 1 << 14, { access: 'fetch', cpl: 0 }, 'ok'],
      ];
      for (const [what, bits, acc, want] of steps) {
        rig.setControls({ ...base, pkru: user ? bits : 0, pkrs: user ? 0 : bits });
        const r = rig.real(va, acc);
        const tag = `${user ? 'PKRU' : 'PKRS'}=${what} ${accText(acc)}`;
        if (want === 'ok') expect(r.kind, tag).toBe('ok');
        else expect(r, tag).toEqual({ kind: 'pf', errorCode: want, address: va });
      }
    }
  });

  it('a page fault drops the stale TLB entry: the retry sees the updated PTE', () => {
    const rig = RIGS[4];
    for (const leaf of [1, 2, 3] as LeafLevel[]) {
      const n = 5 - leaf;
      const va = linear([0x1b0 + leaf, 0x002, 0x003, 0x004].slice(0, n), 0x10n);
      rig.setControls({ ...NO_CONTROLS, wp: true });
      rig.setWalk(va, walkOf(['SW', 'SW', 'SW', 'SW'].slice(0, n - 1).concat('SR').join(' ')), leaf);
      rig.cpu.flushTlb({ global: true });
      expect(rig.real(va, { access: 'read', cpl: 0 }).kind).toBe('ok');
      // Make the leaf writable in memory, without INVLPG: the TLB still holds R/W = 0 (a stale entry is allowed).
      rig.setWalk(va, walkOf(['SW', 'SW', 'SW', 'SW'].slice(0, n).join(' ')), leaf);
      expect(rig.real(va, { access: 'write', cpl: 0 })).toEqual({ kind: 'pf', errorCode: 0x3, address: va });
      // The fault invalidated the entry: the retry walks and succeeds.
      expect(rig.real(va, { access: 'write', cpl: 0 }).kind).toBe('ok');
    }
  });

  it('a probe neither uses, fills nor invalidates the TLB', () => {
    const rig = RIGS[4];
    const va = linear([0x1c7, 0x002, 0x003, 0x004], 0x10n);
    rig.setControls({ ...NO_CONTROLS, wp: true });
    rig.setWalk(va, walkOf('SW SW SW SR'));
    rig.cpu.flushTlb({ global: true });
    // A probe does not fill: the real access after it walks.
    expect(rig.probe(va, { access: 'read', cpl: 0 }).kind).toBe('ok');
    let walks = rig.cpu.stats.walks;
    expect(rig.real(va, { access: 'read', cpl: 0 }).kind).toBe('ok');
    expect(rig.cpu.stats.walks).toBe(walks + 1);
    // A probe does not use the TLB: it sees the PTE in memory, made writable without INVLPG...
    rig.setWalk(va, walkOf('SW SW SW SW'));
    expect(rig.probe(va, { access: 'write', cpl: 0 }).kind).toBe('ok');
    // ...while the real path still has the stale read-only entry (and its fault drops it).
    expect(rig.real(va, { access: 'write', cpl: 0 })).toEqual({ kind: 'pf', errorCode: 0x3, address: va });
    expect(rig.real(va, { access: 'write', cpl: 0 }).kind).toBe('ok');
    // A probe that faults does not invalidate: the PTE is made not present, the probe faults, the TLB still hits.
    rig.setWalk(va, walkOf('SW SW SW N'));
    expect(rig.probe(va, { access: 'read', cpl: 0 })).toEqual({ kind: 'pf', errorCode: 0x0, address: va });
    walks = rig.cpu.stats.walks;
    expect(rig.real(va, { access: 'read', cpl: 0 }).kind).toBe('ok');
    expect(rig.cpu.stats.walks).toBe(walks);
  });
});
