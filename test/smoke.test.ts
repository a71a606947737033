import { describe, expect, it } from 'vitest';
import { Machine, enterLongMode, PageTableBuilder, PageFault, GeneralProtection, pkr, MSR } from '../src/index.js';

const CR4_PKS = 1n << 24n;
const CR4_PKE = 1n << 22n;

function setup() {
  const m = new Machine({ cpus: 2, memory: 2 ** 32 });
  const cpu = m.cpus[0];
  const b = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x200000 });
  enterLongMode(cpu, { cr3: b.root, cr4: CR4_PKS | CR4_PKE });
  return { m, cpu, b };
}

describe('smoke', () => {
  it('translates a 4 KiB, 2 MiB and 1 GiB page and sets A/D', () => {
    const { m, cpu, b } = setup();
    const e4 = b.map(0x400000n, 0x800000n, 4096, { write: true });
    b.map(0x40000000n, 0x40000000n, 2097152, { write: true });
    b.map(0xffff888000000000n, 0x0n, 1073741824, { write: true, pkey: 3 });
    const r = cpu.translate(0x400123n, { access: 'read' });
    expect(r).toEqual({ ok: true, pa: 0x800123n, pageSize: 4096, pkey: 0 });
    expect(m.memory.read64(e4) & 0x60n).toBe(0x20n); // A set, D clear
    cpu.write(0x400010n, 8, 0x1122334455667788n);
    expect(m.memory.read64(e4) & 0x60n).toBe(0x60n);
    expect(m.memory.read64(0x800010n)).toBe(0x1122334455667788n);
    expect(cpu.translate(0x40012345n, { access: 'write' })).toEqual({ ok: true, pa: 0x40012345n, pageSize: 2097152, pkey: 0 });
    expect(cpu.translate(0xffff888000001000n, { access: 'read' })).toEqual({ ok: true, pa: 0x1000n, pageSize: 1073741824, pkey: 3 });
  });

  it('PKRS write-disable faults supervisor writes with PK, without a TLB flush', () => {
    const { cpu, b } = setup();
    b.map(0xffff888000000000n, 0x0n, 1073741824, { write: true, pkey: 1 });
    cpu.write(0xffff888000002000n, 8, 1n);
    const hits = cpu.stats.tlbHits;
    cpu.wrmsr(MSR.IA32_PKRS, BigInt(pkr({ 1: 'wd' })));
    let f: unknown;
    try {
      cpu.write(0xffff888000002000n, 8, 2n);
    } catch (e) {
      f = e;
    }
    expect(f).toBeInstanceOf(PageFault);
    expect((f as PageFault).errorCode).toBe(0x23); // P W PK
    expect((f as PageFault).address).toBe(0xffff888000002000n);
    expect(cpu.cr2).toBe(0xffff888000002000n);
    expect(cpu.stats.tlbHits).toBe(hits + 1);
    expect(cpu.read(0xffff888000002000n, 8)).toBe(1n);
    expect(cpu.stats.pkrsWrites).toBe(1);
  });

  it('non-canonical gives #GP, bad MSR write gives #GP', () => {
    const { cpu } = setup();
    expect(() => cpu.read(0x0000800000000000n, 8)).toThrow(GeneralProtection);
    expect(() => cpu.wrmsr(MSR.IA32_PKRS, 1n << 32n)).toThrow(GeneralProtection);
    expect(() => cpu.wrmsr(0x12345678, 0n)).toThrow(GeneralProtection);
  });
});

describe('explain', () => {
  it('decodes the entries a walk reads and the outcome, without side effects', () => {
    const { m, cpu, b } = setup();
    const leaf = b.map(0xffff888000001000n, 0x5000n, 4096, { write: false, pkey: 7, xd: true });
    const x = cpu.explain(0xffff888000001008n, { access: 'write', cpl: 0 });
    expect(x.levels.map((l) => l.name)).toEqual(['PML4E', 'PDPTE', 'PDE', 'PTE']);
    expect(x.levels[3]).toMatchObject({ entryAddress: leaf, fields: { addr: 0x5000n, write: false, pkey: 7, xd: true, accessed: false } });
    expect(x.result.ok).toBe(false);
    if (!x.result.ok) expect(x.result.fault.errorCode).toBe(0x3);
    expect(m.memory.read64(leaf) & 0x20n).toBe(0n); // no A bit set
    expect(cpu.stats.walks).toBe(0);
    const np = cpu.explain(0x1234000n, { access: 'read' });
    expect(np.levels.length).toBe(1); // the PML4E slot is empty: the walk ends there
    expect(np.levels[0].fields.present).toBe(false);
  });
});
