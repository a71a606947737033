import { describe, expect, it } from 'vitest';
import { decodeEntry, keyDenies, makeEntry, pde2M, pdpte1G, pkr, pkrRights, pkrWith, pte, tableEntry } from '../src/index.js';

describe('entry builders and decoders (SDM Vol. 3A 4.5, Tables 4-15..4-20)', () => {
  it('places every bit where the SDM says', () => {
    expect(pte(0x1234000n, { write: true, user: true, accessed: true, dirty: true, global: true, xd: true, pkey: 9, pat: true, pwt: true, pcd: true })).toBe(
      (1n << 63n) | (9n << 59n) | 0x1234000n | 0x100n | 0x80n | 0x40n | 0x20n | 0x10n | 0x8n | 0x4n | 0x2n | 0x1n,
    );
    expect(pde2M(0x40000000n, { pat: true })).toBe(0x40000000n | 0x1000n | 0x80n | 1n);
    expect(pdpte1G(0x40000000n)).toBe(0x40000000n | 0x80n | 1n);
    expect(tableEntry(0x5000n)).toBe(0x5007n);
    expect(makeEntry({ addr: 0, present: false })).toBe(0n);
  });

  it('round-trips through decodeEntry', () => {
    const e = pte(0xfffffffff000n, { write: true, pkey: 15, xd: true, dirty: true });
    expect(decodeEntry(e, 1)).toMatchObject({ addr: 0xfffffffff000n, write: true, user: false, pkey: 15, xd: true, dirty: true, present: true, ps: false });
    const l = pdpte1G(0xc0000000n, { pat: true, global: true, pkey: 2 });
    expect(decodeEntry(l, 3)).toMatchObject({ addr: 0xc0000000n, ps: true, pat: true, global: true, pkey: 2 });
  });

  it('rejects misaligned or oversized addresses and bad keys', () => {
    expect(() => pte(0x1001n)).toThrow(/aligned/);
    expect(() => pde2M(0x1000n)).toThrow(/2 MiB/);
    expect(() => pdpte1G(0x200000n)).toThrow(/1 GiB/);
    expect(() => pte(1n << 52n)).toThrow(RangeError);
    expect(() => pte(0n, { pkey: 16 })).toThrow(/16/);
  });
});

describe('PKRU/PKRS encoding (SDM 4.6.2: AD = bit 2k, WD = bit 2k+1)', () => {
  it('builds register values', () => {
    expect(pkr({ 1: 'wd', 2: 'ad' })).toBe((1 << 3) | (1 << 4));
    expect(pkr({ 15: 'wd' })).toBe(0x80000000);
    expect(pkr({ 0: 'ad', 15: 'ad' })).toBe(0x40000001);
    expect(pkrRights(pkr({ 4: 'ro' }), 4)).toBe('wd');
    expect(pkrWith(pkr({ 4: 'ad' }), 4, 'rw')).toBe(0);
    expect(() => pkr({ 16: 'ad' })).toThrow(/16/);
    expect(() => pkr({ 1: 'bogus' as never })).toThrow(/bogus/);
  });

  it('keyDenies follows AD, and WD for user-mode accesses or CR0.WP = 1', () => {
    const ad = pkr({ 3: 'ad' });
    const wd = pkr({ 3: 'wd' });
    for (const write of [false, true]) for (const user of [false, true]) for (const wp of [false, true]) {
      expect(keyDenies(ad, 3, write, user, wp)).toBe(true);
      expect(keyDenies(ad, 2, write, user, wp)).toBe(false);
      expect(keyDenies(wd, 3, write, user, wp)).toBe(write && (user || wp));
    }
  });
});
