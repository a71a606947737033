/** Cpu.writeCrHalves: MOV to CR with the value as halves, the same rules as writeCr (one implementation). */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { enterLongMode, GeneralProtection, Machine, PageTableBuilder } from '../src/index.js';

function fresh(maxPhysAddr = 46) {
  const m = new Machine({ cpus: 2, maxPhysAddr, memory: 2 ** 24 });
  const b = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x200000 });
  for (const c of m.cpus) enterLongMode(c, { cr3: b.root, cr4: 0x20 | 0x80 | 0x20000, wp: true, cpl: 0 });
  return m;
}

/** Values around the interesting bits of CR0, CR3 (PCID, bits 51..63) and CR4. */
const arbValue = fc.oneof(
  fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
  fc.constantFrom(0n, 1n << 63n, (1n << 63n) | 0x2000n, 0x2001n, 0x80050033n, 0x80040033n, 0x80000011n, 1n << 32n, 0x3000n | (1n << 45n), 1n << 46n, 0x1000n | (1n << 62n), 0x200a0n, 0x10n, 0xfn),
);

describe('writeCrHalves', () => {
  it('agrees with writeCr on every value: same #GP, same registers, same cycles and TLB effects', () => {
    fc.assert(
      fc.property(fc.constantFrom(0, 2, 3, 4, 8), arbValue, fc.boolean(), (n, v, pcide) => {
        const a = fresh().cpus[0];
        const b = fresh().cpus[0];
        if (!pcide) for (const c of [a, b]) c.writeCr(4, c.cr4 & ~(1n << 17n));
        let gpA = false;
        try {
          a.writeCr(n, v);
        } catch (e) {
          expect(e).toBeInstanceOf(GeneralProtection);
          gpA = true;
        }
        const ok = b.writeCrHalves(n, Number(v & 0xffffffffn), Number(v >> 32n));
        expect(ok).toBe(!gpA);
        if (!ok) {
          expect(b.xv).toBe(13);
          expect(b.xec).toBe(0);
          expect(b.takeException()).toBeInstanceOf(GeneralProtection);
        }
        expect(b.snapshot()).toEqual(a.snapshot());
        expect(b.stats.cycles).toBe(a.stats.cycles);
        expect(b.stats.cr3Writes).toBe(a.stats.cr3Writes);
        expect([b.cr0Low, b.cr3Low, b.cr3High]).toEqual([Number(a.cr0), Number(a.cr3 & 0xffffffffn), Number(a.cr3 >> 32n)]);
      }),
      { seed: 0xc3, numRuns: 400 },
    );
  });

  it('flushes as MOV to CR3 does: the no-flush bit keeps the PCID\'s entries, a flushing load drops them', () => {
    const m = fresh();
    const cpu = m.cpus[0];
    const root = Number(cpu.cr3);
        expect(cpu.writeCrHalves(3, root | 1, 0x80000000)).toBe(true); // PCID 1, no flush
    expect(cpu.cr3).toBe(BigInt(root | 1));
    expect(cpu.writeCrHalves(3, root, 0)).toBe(true); // PCID 0, flush
    expect(cpu.cr3).toBe(BigInt(root));
    expect(cpu.writeCrHalves(3, root, 0x80000000 | (1 << 20))).toBe(false); // bit 52: above MAXPHYADDR
    expect(cpu.takeException()).toBeInstanceOf(GeneralProtection);
    expect(cpu.cr3).toBe(BigInt(root));
    expect(() => cpu.writeCrHalves(5, 0, 0)).toThrow(RangeError);
  });
});
