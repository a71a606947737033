/**
 * CPU state: control registers, EFER, MSRs and features (Intel SDM Vol. 3A 2.5, 10.8.5, Vol. 4 Table 2-2,
 * MOV to CR / WRMSR in Vol. 2). Each #GP case names the rule.
 */
import { describe, expect, it } from 'vitest';
import { ArchFault, enterLongMode, GeneralProtection, Machine, MSR, PageTableBuilder } from '../src/index.js';

const CR0_PE = 1n, CR0_WP = 1n << 16n, CR0_PG = 1n << 31n;
const CR4_PAE = 1n << 5n, CR4_PGE = 1n << 7n, CR4_LA57 = 1n << 12n, CR4_PCIDE = 1n << 17n, CR4_PKE = 1n << 22n, CR4_PKS = 1n << 24n, CR4_SMEP = 1n << 20n;
const EFER_LME = 1n << 8n, EFER_LMA = 1n << 10n, EFER_NXE = 1n << 11n;

function gp(fn: () => void): GeneralProtection {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(GeneralProtection);
    expect((e as GeneralProtection).vector).toBe(13);
    expect((e as GeneralProtection).errorCode).toBe(0);
    return e as GeneralProtection;
  }
  throw new Error('expected #GP');
}

describe('MOV to CR0/CR4 and EFER', () => {
  it('enables IA-32e paging through the architectural sequence; LMA is the processor\'s', () => {
    const m = new Machine();
    const cpu = m.cpus[0];
    cpu.wrmsr(MSR.IA32_EFER, EFER_LME | EFER_NXE | EFER_LMA); // LMA ignored by WRMSR
    expect(cpu.efer).toBe(EFER_LME | EFER_NXE);
    gp(() => cpu.writeCr(0, CR0_PE | CR0_PG)); // IA-32e needs CR4.PAE
    cpu.writeCr(4, CR4_PAE);
    cpu.writeCr(3, 0x1000n);
    cpu.writeCr(0, CR0_PE | CR0_PG | CR0_WP);
    expect(cpu.efer & EFER_LMA).toBe(EFER_LMA);
    gp(() => cpu.writeCr(0, CR0_PE)); // clearing PG in 64-bit mode
    gp(() => cpu.writeCr(4, 0n)); // clearing PAE in IA-32e mode
    gp(() => cpu.writeCr(4, CR4_PAE | CR4_LA57)); // LA57 cannot change in IA-32e mode
    gp(() => cpu.wrmsr(MSR.IA32_EFER, EFER_NXE)); // LME cannot change with paging on
  });

  it('rejects reserved bits and combinations', () => {
    const cpu = new Machine().cpus[0];
    gp(() => cpu.writeCr(0, 1n << 32n));
    gp(() => cpu.writeCr(0, 1n << 7n));
    gp(() => cpu.writeCr(0, CR0_PG)); // PG without PE
    gp(() => cpu.writeCr(0, CR0_PE | (1n << 29n))); // NW without CD
    gp(() => cpu.writeCr(4, 1n << 15n));
    gp(() => cpu.writeCr(4, 1n << 32n));
    gp(() => cpu.writeCr(8, 16n));
    gp(() => cpu.wrmsr(MSR.IA32_EFER, 1n << 1n));
    gp(() => cpu.writeCr(4, CR4_PAE | CR4_PCIDE)); // PCIDE outside IA-32e mode
    expect(() => cpu.writeCr(5, 0n)).toThrow(RangeError);
  });

  it('feature bits a CPU lacks are reserved: CR4.PKS without PKS, CR4.PKE without PKU, NXE without NX', () => {
    const m = new Machine({ features: { pks: false, pku: false, nx: false, la57: false, smep: false } });
    const cpu = m.cpus[0];
    expect(gp(() => cpu.writeCr(4, CR4_PAE | CR4_PKS)).message).toMatch(/CR4/);
    gp(() => cpu.writeCr(4, CR4_PAE | CR4_PKE));
    gp(() => cpu.writeCr(4, CR4_PAE | CR4_LA57));
    gp(() => cpu.writeCr(4, CR4_PAE | CR4_SMEP));
    gp(() => cpu.wrmsr(MSR.IA32_EFER, EFER_NXE));
    gp(() => cpu.wrmsr(MSR.IA32_PKRS, 0n));
    gp(() => cpu.rdmsr(MSR.IA32_PKRS));
    expect(cpu.cpuid(7).ecx >>> 31).toBe(0);
    expect(new Machine().cpus[0].cpuid(7).ecx >>> 31).toBe(1);
  });

  it('PCIDE needs CR3[11:0] = 0; MOV to CR3 rejects bits above MAXPHYADDR', () => {
    const m = new Machine({ maxPhysAddr: 40 });
    const cpu = m.cpus[0];
    const b = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x200000 });
    enterLongMode(cpu, { cr3: b.root });
    cpu.writeCr(3, b.root | 5n); // PCID bits are PWT/PCD/ignored while PCIDE = 0
    gp(() => cpu.writeCr(4, cpu.cr4 | CR4_PCIDE));
    cpu.writeCr(3, b.root);
    cpu.writeCr(4, cpu.cr4 | CR4_PCIDE | CR4_PGE);
    cpu.writeCr(3, b.root | 7n | (1n << 63n)); // bit 63: no flush, not stored
    expect(cpu.cr3).toBe(b.root | 7n);
    gp(() => cpu.writeCr(3, 1n << 40n));
  });
});

describe('MSRs', () => {
  it('IA32_PKRS: bits 63:32 reserved, reads back, counts, costs the profile\'s PKRS figure', () => {
    const cpu = new Machine().cpus[0];
    cpu.wrmsr(MSR.IA32_PKRS, 0xfffffffcn);
    expect(cpu.rdmsr(MSR.IA32_PKRS)).toBe(0xfffffffcn);
    expect(cpu.pkrs).toBe(0xfffffffc);
    gp(() => cpu.wrmsr(MSR.IA32_PKRS, 1n << 32n));
    expect(cpu.stats.pkrsWrites).toBe(1);
    const c0 = cpu.cycles;
    cpu.wrmsr(MSR.IA32_PKRS, 0n);
    expect(cpu.cycles - c0).toBe(cpu.profile.wrmsr.byMsr[MSR.IA32_PKRS]);
  });

  it('unknown, read-only and write-only MSRs raise #GP(0)', () => {
    const cpu = new Machine().cpus[0];
    gp(() => cpu.wrmsr(0x1234, 0n));
    gp(() => cpu.rdmsr(0x1234));
    gp(() => cpu.wrmsr(MSR.IA32_MTRRCAP, 0n));
    gp(() => cpu.rdmsr(MSR.IA32_PRED_CMD));
    cpu.wrmsr(MSR.IA32_PRED_CMD, 1n);
  });

  it('canonical checks, PAT memory types, reserved bits', () => {
    const cpu = new Machine({ features: { la57: false } }).cpus[0];
    cpu.wrmsr(MSR.IA32_LSTAR, 0xffffffff81000000n);
    gp(() => cpu.wrmsr(MSR.IA32_LSTAR, 0x0000800000000000n));
    gp(() => cpu.wrmsr(MSR.IA32_FS_BASE, 0x8000000000000000n));
    cpu.wrmsr(MSR.IA32_KERNEL_GS_BASE, 0xffff888000000000n);
    expect(cpu.rdmsr(MSR.IA32_KERNEL_GS_BASE)).toBe(0xffff888000000000n);
    const la57 = new Machine().cpus[0];
    la57.wrmsr(MSR.IA32_FS_BASE, 0x0080000000000000n - 1n); // canonical with 57-bit support
    expect(la57.rdmsr(MSR.IA32_PAT)).toBe(0x0007040600070406n);
    la57.wrmsr(MSR.IA32_PAT, 0x0007010600070406n);
    gp(() => la57.wrmsr(MSR.IA32_PAT, 0x0007040600070402n));
    gp(() => la57.wrmsr(MSR.IA32_TSC_AUX, 1n << 32n));
    gp(() => la57.wrmsr(MSR.IA32_FMASK, 1n << 40n));
  });

  it('segment bases are the FS/GS/KERNEL_GS_BASE MSRs', () => {
    const cpu = new Machine({ features: { la57: false } }).cpus[0];
    cpu.gsBase = 0xffff888000010000n;
    expect(cpu.rdmsr(MSR.IA32_GS_BASE)).toBe(0xffff888000010000n);
    cpu.wrmsr(MSR.IA32_KERNEL_GS_BASE, 0x7fff0000n);
    expect(cpu.kernelGsBase).toBe(0x7fff0000n);
    cpu.fsBase = 0x1000n;
    expect(cpu.fsBase).toBe(0x1000n);
    gp(() => (cpu.fsBase = 0x0000800000000000n));
    expect(cpu.fsBase).toBe(0x1000n);
  });

  it('the TSC follows the cycle clock and can be written', () => {
    const cpu = new Machine().cpus[0];
    cpu.charge(1000);
    const t = cpu.rdmsr(MSR.IA32_TSC);
    expect(t).toBeGreaterThanOrEqual(1000n);
    cpu.wrmsr(MSR.IA32_TSC, 5n);
    const t2 = cpu.rdmsr(MSR.IA32_TSC);
    expect(t2).toBeGreaterThanOrEqual(5n);
    expect(t2).toBeLessThan(5n + 10000n);
  });
});

describe('API misuse throws clear Errors; architectural events are typed faults', () => {
  it('Machine options', () => {
    expect(() => new Machine({ cpus: 0 })).toThrow(/cpus/);
    expect(() => new Machine({ cpus: 257 })).toThrow(/257/);
    expect(() => new Machine({ memory: 123 })).toThrow(/123/);
    expect(() => new Machine({ profile: 'pentium' })).toThrow(/pentium/);
    expect(() => new Machine({ features: { bogus: true } as never })).toThrow(/bogus/);
    expect(() => new Machine({ cpu: 2 } as never)).toThrow(/cpu/);
  });

  it('register access', () => {
    const cpu = new Machine().cpus[0];
    cpu.setReg('r15', -1n);
    expect(cpu.getReg('r15')).toBe(0xffffffffffffffffn);
    cpu.setReg('rax', 0x1234n);
    expect(cpu.regs.rax).toBe(0x1234n);
    expect(() => cpu.setReg('eax' as never, 0n)).toThrow(/eax/);
    expect(() => cpu.setReg('rax', 1n << 64n)).toThrow(RangeError);
    expect(() => (cpu.rflags = 1n << 3n)).toThrow(/reserved/);
    expect(() => (cpu.cpl = 4 as never)).toThrow(/cpl/);
    expect(() => cpu.read(0n, 3 as never)).toThrow(/size/);
    const f = (() => {
      try {
        cpu.wrmsr(0x1234, 0n);
      } catch (e) {
        return e;
      }
    })();
    expect(f).toBeInstanceOf(ArchFault);
    expect(f).not.toBeInstanceOf(RangeError);
  });
});

describe('IPIs', () => {
  it('charge the sender per ICR write and its wait, and every target, as the profile says (more in ipi.test.ts)', () => {
    const m = new Machine({ cpus: 4 });
    const p = m.profile.ipi;
    const r = m.sendIpi(0, [1, 2, 3, 0], { handler: (c) => c.invlpg(0x1000n) });
    expect(r.targetCycles).toEqual([p.handle + m.profile.invlpg, p.handle + m.profile.invlpg, p.handle + m.profile.invlpg]);
    // every other CPU: one ICR write (all-but-self); the wait covers the slowest target's work and each further target
    expect(r.icrWrites).toBe(1);
    expect(r.senderCycles).toBe(p.send + p.deliver + m.profile.invlpg + p.ack + 2 * p.perTarget);
    expect(m.cpus[0].cycles).toBe(r.senderCycles);
    expect(m.cpus[2].stats.ipisReceived).toBe(1);
    expect(m.cpus[2].stats.invlpg).toBe(1);
    expect(m.cpus[0].stats.ipisSent).toBe(3);
    expect(m.cpus[0].stats.icrWrites).toBe(1);
    const nowait = m.sendIpi(1, [2], { wait: false });
    expect(nowait.senderCycles).toBe(p.send);
    expect(() => m.sendIpi(0, [9])).toThrow(/9/);
  });

  it('are deterministic', () => {
    const run = () => {
      const m = new Machine({ cpus: 8 });
      for (let i = 0; i < 20; i++) m.sendIpi(i % 8, [0, 1, 2, 3, 4, 5, 6, 7]);
      return m.cpus.map((c) => c.cycles);
    };
    expect(run()).toEqual(run());
  });
});
