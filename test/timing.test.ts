/**
 * Timing apart from function: every cycle a CPU's clock advances comes from the cost profile. These tests
 * take the figures from the profile itself, so they hold for any profile.
 */
import { describe, expect, it } from 'vitest';
import { enterLongMode, Machine, MSR, PageTableBuilder, type Cpu } from '../src/index.js';

const VA = 0xffff888000400000n;

function setup(overrides = {}): { m: Machine; cpu: Cpu; b: PageTableBuilder } {
  const m = new Machine({ cpus: 2, memory: 2 ** 31, profileOverrides: overrides });
  const cpu = m.cpus[0];
  const b = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x200000 });
  b.map(VA, 0x400000n, 4096, { write: true, accessed: true, dirty: true });
  b.map(VA + 0x1000n, 0x401000n, 4096, { write: true, accessed: true, dirty: true });
  // mark the non-leaf entries accessed too, so that walks write no A/D flag
  for (const level of [4, 3, 2] as const) b.setEntry(VA, level, b.getEntry(VA, level) | 0x20n);
  enterLongMode(cpu, { cr3: b.root });
  return { m, cpu, b };
}

function cost(cpu: Cpu, f: () => void): number {
  const c0 = cpu.cycles;
  f();
  return cpu.cycles - c0;
}

describe('cycle accounting follows the profile', () => {
  it('a full 4-level walk, a walk from the PDE cache, an STLB hit, an L1 hit', () => {
    const { m, cpu } = setup();
    const p = m.profile;
    const data = p.memory[p.dataAccessLevel];
    const r = p.mmu.walkRef;
    const full = p.mmu.walkBase + r.pml4e + r.pdpte + r.pde + r.pte;
    expect(cost(cpu, () => cpu.read(VA, 8))).toBe(data + full);
    expect(cost(cpu, () => cpu.read(VA, 8))).toBe(data + p.mmu.l1TlbHit);
    // the neighbouring page: TLB miss, but its PDE is in the paging-structure cache
    expect(cost(cpu, () => cpu.read(VA + 0x1000n, 8))).toBe(data + p.mmu.walkBase + r.pte);
    expect(cpu.stats.pscHits).toBe(1);
    // evict from the L1 DTLB only: an STLB hit
    cpu.mmu.l1d4k.clear();
    expect(cost(cpu, () => cpu.read(VA, 8))).toBe(data + p.mmu.stlbHit);
  });

  it('a walk that sets A/D pays adUpdate once', () => {
    const { m, cpu, b } = setup();
    b.map(VA + 0x2000n, 0x402000n, 4096, { write: true });
    cpu.read(VA, 8); // fills the PSCs
    const p = m.profile;
    expect(cost(cpu, () => cpu.write(VA + 0x2000n, 8, 1n))).toBe(p.memory[p.dataAccessLevel] + p.mmu.walkBase + p.mmu.walkRef.pte + p.mmu.adUpdate);
  });

  it('WRMSR to IA32_PKRS, WRMSR to EFER, INVLPG, MOV to CR3 with and without bit 63, INVPCID', () => {
    const { m, cpu } = setup();
    const p = m.profile;
    expect(cost(cpu, () => cpu.wrmsr(MSR.IA32_PKRS, 4n))).toBe(p.wrmsr.byMsr[MSR.IA32_PKRS]);
    expect(cost(cpu, () => cpu.wrmsr(MSR.IA32_EFER, cpu.efer))).toBe(p.wrmsr.byMsr[MSR.IA32_EFER] ?? p.wrmsr.default);
    expect(cost(cpu, () => cpu.wrmsr(MSR.IA32_STAR, 0n))).toBe(p.wrmsr.byMsr[MSR.IA32_STAR] ?? p.wrmsr.default);
    expect(cost(cpu, () => cpu.invlpg(VA))).toBe(p.invlpg);
    expect(cost(cpu, () => cpu.writeCr(3, cpu.cr3))).toBe(p.movCr3.flush);
    cpu.writeCr(4, cpu.cr4 | (1n << 17n));
    expect(cost(cpu, () => cpu.writeCr(3, cpu.cr3 | (1n << 63n)))).toBe(p.movCr3.noFlush);
    for (const t of [0, 1, 2, 3] as const) expect(cost(cpu, () => cpu.invpcid(t, { pcid: 0, va: VA }))).toBe(p.invpcid[t]);
    expect(cost(cpu, () => (cpu.pkru = 0))).toBe(p.wrpkru);
  });

  it('overriding a figure changes exactly that cost', () => {
    const { cpu } = setup({ wrmsr: { byMsr: { [MSR.IA32_PKRS]: 77 } }, mmu: { walkRef: { pte: 1000 } } });
    expect(cost(cpu, () => cpu.wrmsr(MSR.IA32_PKRS, 4n))).toBe(77);
    const p = cpu.profile;
    expect(cost(cpu, () => cpu.read(VA, 8))).toBe(p.memory[p.dataAccessLevel] + p.mmu.walkBase + p.mmu.walkRef.pml4e + p.mmu.walkRef.pdpte + p.mmu.walkRef.pde + 1000);
  });

  it('is deterministic: the same workload gives the same cycles and stats', () => {
    const run = () => {
      const { m, cpu, b } = setup();
      cpu.writeCr(4, cpu.cr4 | (1n << 24n)); // CR4.PKS
      for (let i = 0; i < 64; i++) b.map(VA + BigInt(i + 8) * 0x1000n, BigInt(0x500000 + i * 0x1000), 4096, { write: true, pkey: i & 3 });
      for (let r = 0; r < 5; r++) {
        for (let i = 0; i < 64; i++) {
          cpu.wrmsr(MSR.IA32_PKRS, BigInt(r & 1 ? 0 : 0b1000));
          try {
            cpu.write(VA + BigInt(i + 8) * 0x1000n + BigInt(i * 8), 8, BigInt(i));
          } catch {
            /* PK faults on key 1 are part of the workload */
          }
        }
        m.sendIpi(0, [1], { handler: (t) => t.invlpg(VA) });
        cpu.invlpg(VA + 0x9000n);
      }
      return m.cpus.map((c) => ({ ...c.stats }));
    };
    const a = run();
    expect(a[0].faults).toBeGreaterThan(0);
    expect(run()).toEqual(a);
  });
});
