/**
 * System instructions in guest code: SYSCALL/SYSRET round trip, SWAPGS, SMAP with STAC/CLAC, the PKS
 * page-table write demonstration (with and without a PKRS flip), WRPKRU/RDPKRU, CPUID, RDTSC, FS/GS base
 * instructions, port I/O and the other hooks.
 */

import { describe, expect, it } from 'vitest';
import { MSR } from '../../src/cpu/msr.js';
import { Asm, Code, R, mem, imm, gate, setGate, sysRig, enterUser, KCODE, UCODE, KSTACK } from './sysrig.js';
import { rig, CODE } from './rig.js';

const CR4_PKS = 1n << 24n;
const CR4_PKE = 1n << 22n;
const CR4_SMAP = 1n << 21n;
const CR4_FSGSBASE = 1n << 16n;

describe('SYSCALL / SYSRET and SWAPGS', () => {
  it('round trip: user -> LSTAR at CPL 0 (RCX, R11 saved, FMASK applied), SWAPGS to a per-CPU area, SYSRETQ back', () => {
    const r = sysRig();
    const percpu = 0x500000n;
    r.m.memory.write64(percpu + 8n, 0xabcdn);
    r.cpu.kernelGsBase = percpu;
    r.cpu.gsBase = 0x1000n; // the user's GS base
    r.cpu.wrmsr(MSR.IA32_LSTAR, KCODE);
    r.cpu.wrmsr(MSR.IA32_FMASK, 0x200n | 0x100n); // IF, TF
    const k = new Asm()
      .i(Code.Swapgs)
      .i(Code.Mov_r64_rm64, R.RBX, mem(R.None, 8, R.None, 1, R.GS))
      .i(Code.Mov_r64_rm64, R.R12, R.RCX)
      .i(Code.Mov_r64_rm64, R.R13, R.R11)
      .i(Code.Swapgs)
      .i(Code.Sysretq);
    r.m.load(KCODE, k.encode(KCODE));
    const u = new Asm().i(Code.Mov_r32_imm32, R.EAX, imm(39)).i(Code.Syscall).i(Code.Mov_r64_imm64, R.RDX, 1n).i(Code.Int3);
    enterUser(r, u);
    r.cpu.rflags = 0x202n; // IF set
    setGate(r, 3, gate(0x120000n + 3n * 0x100n, { dpl: 3 }));
    const res = r.cpu.run({ maxInstructions: 100 });
    expect(res.reason).toBe('hlt');
    expect(r.cpu.getReg('rbx')).toBe(0xabcdn); // read through the kernel GS base
    expect(r.cpu.getReg('r12')).toBe(UCODE + 7n); // RCX = the instruction after SYSCALL
    expect(r.cpu.getReg('r13') & 0x200n).toBe(0x200n); // R11 = user RFLAGS (IF set)
    expect(r.cpu.getReg('rdx')).toBe(1n); // back in user mode after SYSRET
    expect(r.cpu.getReg('r15')).toBe(3n); // INT3 delivered from CPL 3
    expect(r.m.memory.read64(KSTACK - 40n + 8n)).toBe(0x33n); // pushed CS of the INT3: user
    expect(r.cpu.gsBase).toBe(0x1000n); // swapped twice
    expect(r.cpu.kernelGsBase).toBe(percpu);
  });

  it('the onSyscall hook emulates a system call (a syscall shim)', () => {
    const r = rig({ cpl: 3 });
    const a = new Asm().i(Code.Mov_r32_imm32, R.EAX, imm(60)).i(Code.Syscall).i(Code.Mov_r64_imm64, R.RBX, 2n).i(Code.Syscall);
    r.m.load(CODE, a.encode(CODE));
    const calls: bigint[] = [];
    const res = r.cpu.run({
      hooks: {
        onSyscall: (cpu) => {
          calls.push(cpu.getReg('rax'));
          if (cpu.getReg('rbx') === 2n) return 'stop';
          cpu.setReg('rax', 0n);
          return 'handled';
        },
      },
    });
    expect(res.reason).toBe('stopped');
    expect(calls).toEqual([60n, 0n]);
    expect(res.rip).toBe(CODE + 19n);
    expect(res.instructions).toBe(4);
  });
});

describe('SMAP', () => {
  it('a supervisor read of a user page faults with CR4.SMAP unless STAC sets AC; CLAC clears it', () => {
    const r = rig();
    r.cpu.writeCr(4, r.cpu.cr4 | CR4_SMAP);
    const a = new Asm().i(Code.Mov_r64_rm64, R.RAX, mem(R.None, 0x300000)).i(Code.Hlt);
    r.m.load(CODE, a.encode(CODE));
    const res = r.cpu.run();
    expect(res.reason).toBe('exception');
    expect(res.vector).toBe(14);
    expect(res.errorCode).toBe(1); // present, read, supervisor
    const b = new Asm().i(Code.Stac).i(Code.Mov_r64_rm64, R.RAX, mem(R.None, 0x300000)).i(Code.Clac).i(Code.Mov_r64_rm64, R.RBX, mem(R.None, 0x300000)).i(Code.Hlt);
    r.m.load(0x300000n, Uint8Array.of(0x11, 0x22));
    r.m.load(CODE, b.encode(CODE));
    r.cpu.rip = CODE;
    const res2 = r.cpu.run();
    expect(r.cpu.getReg('rax') & 0xffffn).toBe(0x2211n); // the copy with AC = 1 worked
    expect(res2.reason).toBe('exception'); // the access after CLAC faulted
    expect(res2.rip).toBe(CODE + 3n + 8n + 3n);
    expect(r.cpu.rflags & (1n << 18n)).toBe(0n);
  });

  it('STAC at CPL 3 is #UD', () => {
    const r = rig({ cpl: 3 });
    r.m.load(CODE, new Asm().i(Code.Stac).encode(CODE));
    const res = r.cpu.run();
    expect(res.vector).toBe(6);
  });
});

describe('PKS: a CPL-0 routine writing a page-table entry', () => {
  // The page-table page is mapped in the kernel's address space with protection key 1; PKRS makes key 1
  // write-disabled. Without a PKRS flip the write faults (#PF with PK, through the guest IDT); with the flip
  // (WRMSR IA32_PKRS before and after, as the RFC's pks_set_readwrite/readonly do) it lands.
  const PTE_VA = 0xffff888000400000n;
  const PTE_PA = 0x400000n;
  const WD1 = 1 << 3; // WD for key 1 (bit 2k + 1)

  function setup() {
    const r = sysRig();
    r.pt.map(PTE_VA, PTE_PA, 4096, { write: true, pkey: 1 });
    r.cpu.writeCr(4, r.cpu.cr4 | CR4_PKS);
    r.cpu.wrmsr(MSR.IA32_PKRS, BigInt(WD1));
    return r;
  }
  const pkrs = (a: Asm, v: number) => a.i(Code.Mov_r32_imm32, R.ECX, imm(MSR.IA32_PKRS)).i(Code.Mov_r32_imm32, R.EAX, imm(v)).i(Code.Xor_r32_rm32, R.EDX, R.EDX).i(Code.Wrmsr);

  it('without a flip: #PF with PK | W | P delivered to the guest #PF handler, nothing written', () => {
    const r = setup();
    const a = new Asm().i(Code.Mov_r64_imm64, R.RDI, PTE_VA).i(Code.Mov_r64_imm64, R.RSI, 0x1234063n).i(Code.Mov_rm64_r64, mem(R.RDI, 8), R.RSI).i(Code.Hlt);
    r.m.load(KCODE, a.encode(KCODE));
    r.cpu.rip = KCODE;
    const c0 = r.cpu.cycles;
    expect(r.cpu.run().reason).toBe('hlt');
    const cycles = r.cpu.cycles - c0;
    expect(r.cpu.getReg('r15')).toBe(14n);
    expect(r.m.memory.read64(0x800000n - 48n)).toBe(0x23n); // error code: P | W | PK
    expect(r.cpu.cr2).toBe(PTE_VA + 8n);
    expect(r.m.memory.read64(PTE_PA + 8n)).toBe(0n);
    expect(cycles).toBeGreaterThan(r.cpu.profile.interrupt.entry);
  });

  it('with WRMSR IA32_PKRS around it: the write lands; two PKRS writes are charged', () => {
    const r = setup();
    const a = new Asm();
    pkrs(a, 0);
    a.i(Code.Mov_r64_imm64, R.RDI, PTE_VA).i(Code.Mov_r64_imm64, R.RSI, 0x1234063n).i(Code.Mov_rm64_r64, mem(R.RDI, 8), R.RSI);
    pkrs(a, WD1);
    a.i(Code.Hlt);
    r.m.load(KCODE, a.encode(KCODE));
    r.cpu.rip = KCODE;
    const w0 = r.cpu.stats.pkrsWrites;
    expect(r.cpu.run().reason).toBe('hlt');
    expect(r.m.memory.read64(PTE_PA + 8n)).toBe(0x1234063n);
    expect(r.cpu.stats.pkrsWrites - w0).toBe(2);
    expect(r.cpu.pkrs).toBe(WD1);
    expect(r.cpu.getReg('r15')).toBe(0n);
  });
});

describe('other system instructions', () => {
  it('WRPKRU / RDPKRU (CR4.PKE), #GP when ECX != 0', () => {
    const r = rig({ cpl: 3 });
    r.cpu.writeCr(4, r.cpu.cr4 | CR4_PKE);
    const a = new Asm().i(Code.Xor_r32_rm32, R.ECX, R.ECX).i(Code.Xor_r32_rm32, R.EDX, R.EDX).i(Code.Mov_r32_imm32, R.EAX, imm(0xc)).i(Code.Wrpkru).i(Code.Xor_r32_rm32, R.EAX, R.EAX).i(Code.Rdpkru).i(Code.Mov_r32_imm32, R.ECX, imm(1)).i(Code.Rdpkru);
    r.m.load(CODE, a.encode(CODE));
    const res = r.cpu.run();
    expect(r.cpu.pkru).toBe(0xc);
    expect(r.cpu.getReg('rax')).toBe(0xcn);
    expect(res.vector).toBe(13);
  });

  it('CPUID reports PKU/PKS, ADX, LZCNT/POPCNT/MOVBE/CX16 and no SYSENTER', () => {
    const r = rig();
    const a = new Asm().i(Code.Mov_r32_imm32, R.EAX, imm(7)).i(Code.Xor_r32_rm32, R.ECX, R.ECX).i(Code.Cpuid).i(Code.Mov_r64_rm64, R.R8, R.RBX).i(Code.Mov_r64_rm64, R.R9, R.RCX).i(Code.Mov_r32_imm32, R.EAX, imm(1)).i(Code.Cpuid).i(Code.Hlt);
    r.m.load(CODE, a.encode(CODE));
    r.cpu.run();
    expect(r.cpu.getReg('r8') & (1n << 19n)).not.toBe(0n); // ADX
    expect(r.cpu.getReg('r9') & (1n << 31n)).not.toBe(0n); // PKS
    expect(r.cpu.getReg('rcx') & ((1n << 13n) | (1n << 22n) | (1n << 23n))).toBe((1n << 13n) | (1n << 22n) | (1n << 23n));
    expect(r.cpu.getReg('rdx') & (1n << 11n)).toBe(0n);
  });

  it('RDTSC follows the cycle clock; MOV CR3 / INVLPG are accepted at CPL 0; RD/WRFSBASE', () => {
    const r = rig();
    r.cpu.writeCr(4, r.cpu.cr4 | CR4_FSGSBASE);
    const a = new Asm()
      .i(Code.Rdtsc)
      .i(Code.Mov_r64_rm64, R.R8, R.RAX)
      .i(Code.Mov_r64_cr, R.RAX, R.CR3)
      .i(Code.Mov_cr_r64, R.CR3, R.RAX)
      .i(Code.Invlpg_m, mem(R.None, 0x100000))
      .i(Code.Mov_r64_imm64, R.RAX, 0x7000n)
      .i(Code.Wrfsbase_r64, R.RAX)
      .i(Code.Mov_r64_rm64, R.RBX, mem(R.None, 0x10, R.None, 1, R.FS))
      .i(Code.Rdfsbase_r64, R.RCX)
      .i(Code.Rdtsc)
      .i(Code.Hlt);
    r.m.load(CODE, a.encode(CODE));
    r.m.memory.write64(0x7010n, 0x55n);
    const cr3w = r.cpu.stats.cr3Writes;
    expect(r.cpu.run().reason).toBe('hlt');
    expect(r.cpu.getReg('rax')).toBeGreaterThan(r.cpu.getReg('r8'));
    expect(r.cpu.stats.cr3Writes).toBe(cr3w + 1);
    expect(r.cpu.fsBase).toBe(0x7000n);
    expect(r.cpu.getReg('rbx')).toBe(0x55n);
    expect(r.cpu.getReg('rcx')).toBe(0x7000n);
  });

  it('port I/O goes to the hooks (a guest prints through port 0xE9); IN without a hook reads all-ones', () => {
    const r = rig();
    const msg = [...'hi\n'].map((c) => c.charCodeAt(0));
    const a = new Asm();
    for (const c of msg) a.i(Code.Mov_r8_imm8, R.AL, imm(c)).i(Code.Out_imm8_AL, imm(0xe9), R.AL);
    a.i(Code.Mov_r32_imm32, R.EDX, imm(0x60)).i(Code.In_EAX_DX, R.EAX, R.DX).i(Code.Hlt);
    r.m.load(CODE, a.encode(CODE));
    const out: number[] = [];
    const res = r.cpu.run({ hooks: { onPortWrite: (_c, port, size, v) => void (port === 0xe9 && size === 1 && out.push(v)) } });
    expect(res.reason).toBe('hlt');
    expect(out).toEqual(msg);
    expect(r.cpu.getReg('rax')).toBe(0xffffffffn);
  });

  it('onCode and onMemory hooks see execution and accesses in their ranges and can stop the run', () => {
    const r = rig();
    const a = new Asm().i(Code.Mov_r64_imm64, R.RAX, 5n).i(Code.Mov_rm64_r64, mem(R.None, 0x200000), R.RAX).i(Code.Mov_r64_rm64, R.RBX, mem(R.None, 0x200000)).i(Code.Hlt);
    r.m.load(CODE, a.encode(CODE));
    const acc: string[] = [];
    const res = r.cpu.run({
      hooks: {
        onMemory: { start: 0x200000n, end: 0x200008n, hook: (_c, ev) => void acc.push(`${ev.access}:${ev.size}:${ev.value ?? ''}`) },
        onCode: { start: CODE + 10n, end: CODE + 100n, hook: (_c, rip) => (rip === CODE + 26n ? 'stop' : undefined) },
      },
    });
    expect(acc).toEqual(['write:8:5', 'read:8:']);
    expect(res.reason).toBe('stopped');
    expect(res.rip).toBe(CODE + 26n);
  });
});

export { UCODE };

describe('HLT and port reads', () => {
  it('onHlt may resume the run; onPortRead supplies IN values (truncated to the size)', () => {
    const r = rig();
    const a = new Asm().i(Code.Hlt).i(Code.In_AL_imm8, R.AL, imm(0x71)).i(Code.Mov_r32_imm32, R.EDX, imm(0x60)).i(Code.In_EAX_DX, R.EAX, R.DX).i(Code.Hlt);
    r.m.load(CODE, a.encode(CODE));
    let halts = 0;
    const reads: number[] = [];
    const res = r.cpu.run({
      hooks: {
        onHlt: () => (++halts === 1 ? 'resume' : undefined),
        onPortRead: (_c, port, size) => {
          reads.push(port, size);
          return 0x12345678;
        },
      },
    });
    expect(res.reason).toBe('hlt');
    expect(halts).toBe(2);
    expect(reads).toEqual([0x71, 1, 0x60, 4]);
    expect(r.cpu.getReg('rax')).toBe(0x12345678n);
    expect(res.rip).toBe(CODE + 10n);
  });
});
