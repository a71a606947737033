/** PokeWriter.pokingMm: the read-only view of each CPU's poking mm (what guest code switching to it must load). */
import { describe, expect, it } from 'vitest';
import { PokeWriter } from '../../src/pgtable/policies.js';
import { POKE_PCID } from '../../src/pgtable/poke.js';
import { boot } from './helpers.js';

describe('PokeWriter.pokingMm', () => {
  it('gives each CPU its own poking mm, with the poking PCID, the CR3 the writer loads', () => {
    const { m, k } = boot('poke', { cpus: 3, zeroPages: false });
    const w = k.writer;
    expect(w).toBeInstanceOf(PokeWriter);
    if (!(w instanceof PokeWriter)) return;
    const mms = m.cpus.map((c) => w.pokingMm(c));
    const roots = new Set<bigint>();
    for (const mm of mms) {
      expect(mm).toBeDefined();
      if (mm === undefined) continue;
      expect(mm.cr3 & 0xfffn).toBe(BigInt(POKE_PCID));
      expect(BigInt(mm.cr3Lo >>> 0) | (BigInt(mm.cr3Hi >>> 0) << 32n)).toBe(mm.cr3);
      roots.add(mm.cr3 & ~0xfffn);
    }
    expect(roots.size).toBe(3);
    // While the writer pokes a table, the CPU runs on exactly that CR3.
    const mm = k.createAddressSpace();
    mm.switchTo(m.cpus[1]);
    const seen: bigint[] = [];
    const cpu = m.cpus[1];
    const orig = cpu.store.bind(cpu);
    cpu.store = (...a: Parameters<typeof cpu.store>) => {
      seen.push(cpu.cr3);
      return orig(...a);
    };
    mm.map(0x400000n, 1, { write: true }, { cpu });
    cpu.store = orig;
    expect(seen.map((v) => v & ~(1n << 63n))).toContain(mms[1]?.cr3);
  });
});
