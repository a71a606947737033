/**
 * Protection keys (SDM Vol. 3A 4.6.2; PK flag in 4.7):
 * - the key is bits 62:59 of the leaf entry only; non-leaf entries carry different keys here, which must be
 *   ignored (the other keys' AD/WD bits are set in PKRU/PKRS in half the cases to catch a wrong key);
 * - a user-mode address (U/S = 1 in every entry, the leaf included: 4.6.1) uses PKRU when CR4.PKE = 1, a
 *   supervisor-mode address uses IA32_PKRS when CR4.PKS = 1, whatever the CPL of the access;
 * - AD denies every data access; WD denies user-mode writes, and supervisor-mode writes iff CR0.WP = 1;
 * - fetches are never checked against keys;
 * - PK is set whenever the key denies the data access, together with any other violation (R/W, U/S, SMAP).
 */

import { describe, expect, it } from 'vitest';
import { ACCESSES, accText, ctlText, flags, linear, Rig, SIZE_NAME, type LeafLevel } from './rig.js';
import { NO_CONTROLS, type Controls } from './sdm-oracle.js';

const rig = new Rig();

type Rights = 'rw' | 'wd' | 'ad' | 'ad+wd';
const RIGHTS: Rights[] = ['rw', 'wd', 'ad', 'ad+wd'];
function bitsFor(k: number, r: Rights): number {
  const ad = r === 'ad' || r === 'ad+wd' ? 2 ** (2 * k) : 0;
  const wd = r === 'wd' || r === 'ad+wd' ? 2 ** (2 * k + 1) : 0;
  return ad + wd;
}
/** Every AD/WD bit except those of key k. */
function noiseFor(k: number): number {
  return 0xffffffff - bitsFor(k, 'ad+wd');
}

interface KeyCfg {
  leafKey: number;
  upperKeys: number[]; // keys of the non-leaf entries, top first
}
const KEYCFGS: KeyCfg[] = [
  { leafKey: 5, upperKeys: [9, 3, 12] },
  { leafKey: 0, upperKeys: [15, 15, 15] },
  { leafKey: 15, upperKeys: [0, 1, 2] },
];

type AddrMode = 'user' | 'supervisor: U/S=0 in the leaf only' | 'supervisor: U/S=0 in the top entry only' | 'supervisor: U/S=0 everywhere';
const MODES: AddrMode[] = ['user', 'supervisor: U/S=0 in the leaf only', 'supervisor: U/S=0 in the top entry only', 'supervisor: U/S=0 everywhere'];

function usAt(mode: AddrMode, i: number, n: number): boolean {
  switch (mode) {
    case 'user':
      return true;
    case 'supervisor: U/S=0 in the leaf only':
      return i !== n - 1;
    case 'supervisor: U/S=0 in the top entry only':
      return i !== 0;
    default:
      return false;
  }
}

const SMAP_STATES: Partial<Controls>[] = [{ smap: false }, { smap: true, ac: false }, { smap: true, ac: true }];

interface KeyCase {
  name: string;
  leaf: LeafLevel;
  cfg: KeyCfg;
  mode: AddrMode;
  pke: boolean;
  pks: boolean;
}

const CASES: KeyCase[] = [];
for (const leaf of [1, 2, 3] as LeafLevel[]) {
  for (const cfg of leaf === 1 ? KEYCFGS : [KEYCFGS[0]]) {
    for (const mode of MODES) {
      for (const [pke, pks] of [[false, false], [true, false], [false, true], [true, true]] as const) {
        CASES.push({ name: `${SIZE_NAME[leaf]} leaf key ${cfg.leafKey} (upper ${cfg.upperKeys.slice(0, 4 - leaf).join('/')}), ${mode}, PKE=${+pke} PKS=${+pks}`, leaf, cfg, mode, pke, pks });
      }
    }
  }
}

let counter = 0;

describe('protection keys: PKRU for user-mode addresses, PKRS for supervisor-mode addresses', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const n = 4 - c.leaf + 1;
    const k = c.cfg.leafKey;
    const failures: string[] = [];
    for (const leafRw of [true, false]) {
      const va = linear([0x080 + (counter++ % 0x100), 0x0aa, 0x0bb, 0x0cc].slice(0, n), 0x40n);
      const entries = Array.from({ length: n }, (_, i) =>
        flags({ us: usAt(c.mode, i, n), rw: i === n - 1 ? leafRw : true, key: i === n - 1 ? k : c.cfg.upperKeys[i] }),
      );
      rig.setWalk(va, entries, c.leaf);
      let j = 0;
      for (const ru of RIGHTS) {
        for (const rs of RIGHTS) {
          for (const noise of [false, true]) {
            for (const wp of [false, true]) {
              for (const sm of SMAP_STATES) {
                const ctl: Controls = {
                  ...NO_CONTROLS,
                  ...sm,
                  wp,
                  nxe: true,
                  pke: c.pke,
                  pks: c.pks,
                  pkru: (bitsFor(k, ru) + (noise ? noiseFor(k) : 0)) >>> 0,
                  pkrs: (bitsFor(k, rs) + (noise ? noiseFor(k) : 0)) >>> 0,
                };
                rig.setControls(ctl);
                for (const a of ACCESSES) {
                  const exp = rig.expect(va, a);
                  const d = rig.checkProbe(va, a, exp) ?? (j++ % 8 === 0 ? rig.checkReal(va, a, exp) : null);
                  if (d !== null) failures.push(`leaf R/W=${+leafRw} PKRU[${k}]=${ru} PKRS[${k}]=${rs}${noise ? ' (other keys AD+WD)' : ''} ${accText(a)} ${ctlText(ctl)}: ${d}`);
                }
              }
            }
          }
        }
      }
    }
    expect(failures.slice(0, 20)).toEqual([]);
  });
});
