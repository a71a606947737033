import { describe, expect, it } from 'vitest';
import { bench, resolveProfile } from '../../src/index.js';

describe('bench.parseOverrides (--set)', () => {
  it('maps pkrsWrite to the IA32_PKRS WRMSR cost and dotted names to profile paths', () => {
    const o = bench.parseOverrides(['pkrsWrite=60', 'ipi.send=500', 'wrmsr.byMsr.0x10=7', 'ipi.shorthand=false'])!;
    const p = resolveProfile('sapphire-rapids', o);
    expect(p.wrmsr.byMsr[0x6e1]).toBe(60);
    expect(p.ipi.send).toBe(500);
    expect(p.wrmsr.byMsr[0x10]).toBe(7);
    expect(p.ipi.shorthand).toBe(false);
    expect(bench.parseOverrides([])).toBeUndefined();
  });

  it('rejects a setting without a value, and resolveProfile rejects unknown fields', () => {
    expect(() => bench.parseOverrides(['pkrsWrite'])).toThrow(/name=value/);
    expect(() => bench.parseOverrides(['pkrsWrite='])).toThrow(/empty value/);
    expect(() => resolveProfile('sapphire-rapids', bench.parseOverrides(['nosuch.field=1']))).toThrow();
  });

  it('a question run with the override sees it', () => {
    const at = (o: string[]) => bench.writeCost({ cpus: [1], quick: true, profileOverrides: bench.parseOverrides(o) }).rows.find((r) => r.policy === 'pks')!.cyclesPerWrite as number;
    expect(at(['pkrsWrite=100']) - at(['pkrsWrite=60'])).toBe(80);
  });
});
