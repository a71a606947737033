/**
 * Not-present and reserved-bit faults (SDM Vol. 3A 4.5.4, Tables 4-15..4-20 "Reserved (must be 0)"; 4.7 P and
 * RSVD flags):
 * - physical-address bits 51:MAXPHYADDR at every level (machines with MAXPHYADDR 39 and 46);
 * - PS = 1 in a PML4E; PS = 1 in a PDPTE without 1-GByte page support;
 * - bits 20:13 of a 2-MByte page entry and 29:13 of a 1-GByte page entry (bit 12 is PAT, allowed);
 * - P = 0 at each level: a not-present fault (P = 0, RSVD = 0) whatever the other bits of that entry or of
 *   the entries below it, while a reserved bit above it wins;
 * - ignored bits (11:9, 58:52, the key bits of non-leaf entries, G/D of non-leaf entries, PAT of a PTE) fault never.
 * (XD with NXE = 0 is in xd.test.ts; PS in a PML5E in la57.test.ts.)
 * Each case runs every access kind with NXE and SMEP on and off (for the W/U/I bits that come with RSVD).
 */

import { describe, expect, it } from 'vitest';
import { ACCESSES, accText, controlProduct, ctlText, flags, linear, Rig, SIZE_NAME, type LeafLevel } from './rig.js';
import { LEVEL_NAME } from './sdm-oracle.js';

const RIGS: Record<string, Rig> = {
  'MAXPHYADDR=39': new Rig({ maxPhysAddr: 39 }),
  'MAXPHYADDR=46': new Rig({ maxPhysAddr: 46 }),
  'no 1G pages': new Rig({ gbpages: false }),
};
const CONTROLS = controlProduct(['nxe', 'smep']);

interface RsvdCase {
  name: string;
  rig: string;
  leaf: LeafLevel;
  /** Entries top first (flags only; the rig adds addresses). */
  entries: bigint[];
  /** What the SDM says in words, checked against the oracle: 'ok', 'rsvd' or 'not-present'. */
  want: 'ok' | 'rsvd' | 'not-present';
}

const bit = (b: number) => 1n << BigInt(b);
const good = (n: number) => Array.from({ length: n }, () => flags({ rw: true, us: true }));
const CASES: RsvdCase[] = [];

// Address bits at and above MAXPHYADDR, per level and page size. Bit M-1 is an address bit: allowed in a leaf
// (the page lies above installed memory); in a non-leaf entry it moves the next table above installed memory,
// where reads return all ones, so the next entry has reserved bits (the oracle reads the same memory).
for (const [rigName, M] of [['MAXPHYADDR=39', 39], ['MAXPHYADDR=46', 46]] as const) {
  for (const leaf of [1, 2, 3] as LeafLevel[]) {
    const n = 4 - leaf + 1;
    for (let i = 0; i < n; i++) {
      for (let b = M - 1; b <= 51; b++) {
        const entries = good(n);
        entries[i] |= bit(b);
        const isLeaf = i === n - 1;
        CASES.push({ name: `${rigName} ${SIZE_NAME[leaf]} ${LEVEL_NAME[4 - i]} bit ${b}`, rig: rigName, leaf, entries, want: b >= M ? 'rsvd' : isLeaf ? 'ok' : 'rsvd' });
      }
    }
  }
}

// PS = 1 in a PML4E (Table 4-15: bit 7 reserved).
for (const leaf of [1, 2, 3] as LeafLevel[]) {
  const entries = good(4 - leaf + 1);
  entries[0] |= bit(7);
  CASES.push({ name: `PS=1 in the PML4E (walk to a ${SIZE_NAME[leaf]} leaf)`, rig: 'MAXPHYADDR=46', leaf, entries, want: 'rsvd' });
}
// PS = 1 in a PDPTE: a 1-GByte page, or reserved without 1-GByte page support (4.5.4; CPUID.80000001H:EDX[26]).
CASES.push({ name: 'PS=1 in a PDPTE with 1G pages', rig: 'MAXPHYADDR=46', leaf: 3, entries: good(2), want: 'ok' });
CASES.push({ name: 'PS=1 in a PDPTE without 1G pages (features.gbpages=false)', rig: 'no 1G pages', leaf: 3, entries: good(2), want: 'rsvd' });
CASES.push({ name: '2M page without 1G pages support', rig: 'no 1G pages', leaf: 2, entries: good(3), want: 'ok' });
CASES.push({ name: '4K page without 1G pages support', rig: 'no 1G pages', leaf: 1, entries: good(4), want: 'ok' });

// Large-page address bits below the page size: reserved except bit 12 (PAT).
for (const rigName of ['MAXPHYADDR=39', 'MAXPHYADDR=46']) {
  for (let b = 12; b <= 20; b++) {
    const entries = good(3);
    entries[2] |= bit(b);
    CASES.push({ name: `${rigName} 2M page entry bit ${b}${b === 12 ? ' (PAT)' : ''}`, rig: rigName, leaf: 2, entries, want: b === 12 ? 'ok' : 'rsvd' });
  }
  for (let b = 12; b <= 29; b++) {
    const entries = good(2);
    entries[1] |= bit(b);
    CASES.push({ name: `${rigName} 1G page entry bit ${b}${b === 12 ? ' (PAT)' : ''}`, rig: rigName, leaf: 3, entries, want: b === 12 ? 'ok' : 'rsvd' });
  }
}

// Not present at each level.
for (const leaf of [1, 2, 3] as LeafLevel[]) {
  const n = 4 - leaf + 1;
  for (let i = 0; i < n; i++) {
    const L = LEVEL_NAME[4 - i];
    const plain = good(n);
    plain[i] = 0n;
    CASES.push({ name: `${SIZE_NAME[leaf]} ${L} not present (all zero)`, rig: 'MAXPHYADDR=39', leaf, entries: plain, want: 'not-present' });
    const noisy = good(n);
    noisy[i] = ((1n << 64n) - 1n) & ~1n & ~((1n << 40n) - 1n) | 0xffen; // every bit but P (and address bits 39:12)
    CASES.push({ name: `${SIZE_NAME[leaf]} ${L} not present with every other bit set`, rig: 'MAXPHYADDR=39', leaf, entries: noisy, want: 'not-present' });
    if (i < n - 1) {
      const below = good(n);
      below[i] = 0n;
      for (let j = i + 1; j < n; j++) below[j] |= bit(51);
      CASES.push({ name: `${SIZE_NAME[leaf]} ${L} not present, reserved bits in the entries below it`, rig: 'MAXPHYADDR=39', leaf, entries: below, want: 'not-present' });
    }
    if (i > 0) {
      const above = good(n);
      above[i] = 0n;
      above[i - 1] |= bit(45);
      CASES.push({ name: `${SIZE_NAME[leaf]} ${L} not present, reserved bit 45 in the ${LEVEL_NAME[4 - i + 1]} above it`, rig: 'MAXPHYADDR=39', leaf, entries: above, want: 'rsvd' });
    }
  }
}

// Ignored bits are not reserved.
for (const leaf of [1, 2, 3] as LeafLevel[]) {
  const n = 4 - leaf + 1;
  const entries = good(n).map((e, i) => {
    let v = e | bit(9) | bit(10) | bit(11) | bit(52) | bit(55) | bit(58);
    if (i < n - 1) v |= bit(6) | bit(8) | (0xfn << 59n); // D, G and key bits of a non-leaf entry are ignored
    else if (leaf === 1) v |= bit(7); // PAT of a PTE
    return v;
  });
  CASES.push({ name: `${SIZE_NAME[leaf]} ignored bits in every entry`, rig: 'MAXPHYADDR=39', leaf, entries, want: 'ok' });
}

let counter = 0;

describe('reserved bits and not-present entries', () => {
  it.each(CASES.map((c) => [c.name, c] as const))('%s', (_n, c) => {
    const rig = RIGS[c.rig];
    const n = 4 - c.leaf + 1;
    const k = counter++;
    const va = linear([0x100 + (k % 256), (k >> 8) & 511, 0x0dd, 0x0ee].slice(0, n), 0x88n);
    rig.setWalk(va, c.entries, c.leaf);
    const failures: string[] = [];
    CONTROLS.forEach((ctl, ci) => {
      rig.setControls(ctl);
      for (const a of ACCESSES) {
        const exp = rig.expect(va, a);
        // The oracle classifies the case as the table says (a read at CPL0 of a supervisor/user page is otherwise allowed).
        const kind = exp.kind === 'ok' ? 'ok' : exp.kind === 'pf' ? ((exp.errorCode & 8) !== 0 ? 'rsvd' : (exp.errorCode & 1) === 0 ? 'not-present' : 'protection') : exp.kind;
        if (a.access === 'read' && a.cpl === 0 && !a.implicit && kind !== c.want) failures.push(`oracle says ${kind}, table says ${c.want}`);
        const d = rig.checkProbe(va, a, exp) ?? ((ci + k) % 2 === 0 ? rig.checkReal(va, a, exp) : null);
        if (d !== null) failures.push(`${accText(a)} ${ctlText(ctl)}: ${d}`);
      }
    });
    expect(failures).toEqual([]);
  });
});
