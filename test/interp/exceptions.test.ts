/**
 * Exception delivery through the guest's IDT (SDM Vol. 3A 6.12, 6.14, 6.15): #PF at CPL 3 with the stack
 * switch to TSS.RSP0, IST, #DF when delivering the #PF fails, triple fault, IRETQ back to user mode, INT n
 * gate DPL, and run()'s 'exception' result without an IDT.
 */

import { describe, expect, it } from 'vitest';
import { interpState } from '../../src/cpu/run.js';
import { Asm, Code, R, mem, gate, setGate, sysRig, enterUser, HANDLERS, KSTACK, ISTACK, KCODE, UCODE, USER_CS, USER_DS } from './sysrig.js';
import { rig } from './rig.js';

const UNMAPPED = 0x5000000; // beyond the rig's 64 MiB identity map

describe('IDT delivery', () => {
  it('LGDT/LIDT/LTR load the descriptor-table registers and TR (busy bit set)', () => {
    const r = sysRig();
    const s = interpState(r.cpu);
    expect(s.idtrLimit).toBe(4095);
    expect(s.gdtrLimit).toBe(0x4f);
    expect(s.trSel).toBe(0x40);
    expect(s.trBase).toBe(0x202000n);
    expect((r.m.memory.read64(0x200040n) >> 40n) & 0xfn).toBe(0xbn); // busy 64-bit TSS
  });

  it('#PF at CPL 3 switches to TSS.RSP0 and pushes SS, RSP, RFLAGS, CS, RIP, error code; CR2 holds the address', () => {
    const r = sysRig();
    // #PF handler: error code -> RCX, CR2 -> RBX, RSP -> RDX, HLT
    const h = KCODE;
    const ha = new Asm().i(Code.Mov_r64_rm64, R.RCX, mem(R.RSP)).i(Code.Mov_r64_cr, R.RBX, R.CR2).i(Code.Mov_r64_rm64, R.RDX, R.RSP).i(Code.Hlt);
    r.m.load(h, ha.encode(h));
    setGate(r, 14, gate(h));
    const u = new Asm().i(Code.Mov_r64_imm64, R.RSI, 0x1234n).i(Code.Mov_r64_rm64, R.RAX, mem(R.None, UNMAPPED)).i(Code.Hlt);
    enterUser(r, u);
    const res = r.cpu.run({ maxInstructions: 100 });
    expect(res.reason).toBe('hlt');
    expect(r.cpu.cpl).toBe(0);
    expect(r.cpu.getReg('rcx')).toBe(4n); // U, read, not present
    expect(r.cpu.getReg('rbx')).toBe(BigInt(UNMAPPED));
    expect(r.cpu.getReg('rdx')).toBe(KSTACK - 48n);
    const frame = (i: number) => r.m.memory.read64(KSTACK - 48n + BigInt(8 * i));
    expect(frame(1)).toBe(UCODE + 10n); // RIP of the faulting MOV (after the 10-byte MOVABS)
    expect(frame(2)).toBe(BigInt(USER_CS));
    expect(frame(4)).toBe(0x700000n); // user RSP
    expect(frame(5)).toBe(BigInt(USER_DS));
    expect(r.cpu.getReg('r15')).toBe(0n); // the default stub did not run
  });

  it('an IST gate switches to TSS.IST1 even without a CPL change', () => {
    const r = sysRig();
    setGate(r, 14, gate(HANDLERS + 14n * 0x100n, { ist: 1 }));
    const a = new Asm().i(Code.Mov_r64_rm64, R.RAX, mem(R.None, UNMAPPED)).i(Code.Hlt);
    r.m.load(KCODE, a.encode(KCODE));
    r.cpu.rip = KCODE;
    const res = r.cpu.run({ maxInstructions: 100 });
    expect(res.reason).toBe('hlt');
    expect(r.cpu.getReg('r15')).toBe(14n);
    expect(r.cpu.getReg('rsp')).toBe(ISTACK - 48n);
  });

  it('#PF whose gate is not present escalates to #DF (Table 6-5), delivered with error code 0', () => {
    const r = sysRig();
    setGate(r, 14, gate(HANDLERS + 14n * 0x100n, { present: false }));
    const a = new Asm().i(Code.Mov_r64_rm64, R.RAX, mem(R.None, UNMAPPED)).i(Code.Hlt);
    r.m.load(KCODE, a.encode(KCODE));
    r.cpu.rip = KCODE;
    const res = r.cpu.run({ maxInstructions: 100 });
    expect(res.reason).toBe('hlt');
    expect(r.cpu.getReg('r15')).toBe(8n);
    expect(r.m.memory.read64(0x800000n - 48n)).toBe(0n); // error code of #DF
  });

  it('a benign exception whose gate is not present is followed by the #NP alone (no #DF)', () => {
    const r = sysRig();
    setGate(r, 6, gate(HANDLERS + 6n * 0x100n, { present: false }));
    const a = new Asm().i(Code.Ud2);
    r.m.load(KCODE, a.encode(KCODE));
    r.cpu.rip = KCODE;
    expect(r.cpu.run({ maxInstructions: 100 }).reason).toBe('hlt');
    expect(r.cpu.getReg('r15')).toBe(11n); // #NP with the IDT error code
    expect(r.m.memory.read64(0x800000n - 48n)).toBe(BigInt(6 * 8 + 2 + 1));
  });

  it('a fault while delivering #DF is a triple fault', () => {
    const r = sysRig();
    setGate(r, 14, gate(HANDLERS, { present: false }));
    setGate(r, 8, gate(HANDLERS, { present: false }));
    const a = new Asm().i(Code.Mov_r64_rm64, R.RAX, mem(R.None, UNMAPPED)).i(Code.Hlt);
    r.m.load(KCODE, a.encode(KCODE));
    r.cpu.rip = KCODE;
    const res = r.cpu.run({ maxInstructions: 100 });
    expect(res.reason).toBe('triple-fault');
    expect(res.rip).toBe(KCODE);
  });

  it('a kernel stack that is not mapped makes the #PF a #DF, then a triple fault when the #DF cannot push either', () => {
    const r = sysRig();
    r.m.memory.write64(0x202004n, BigInt(UNMAPPED + 0x1000)); // TSS.RSP0 unmapped
    const u = new Asm().i(Code.Mov_r64_rm64, R.RAX, mem(R.None, UNMAPPED)).i(Code.Hlt);
    enterUser(r, u);
    expect(r.cpu.run({ maxInstructions: 100 }).reason).toBe('triple-fault');
  });

  it('INT3 (gate DPL 3) from user mode, IRETQ back to CPL 3', () => {
    const r = sysRig();
    const h = KCODE;
    const ha = new Asm().i(Code.Mov_r64_imm64, R.R14, 0x77n).i(Code.Iretq);
    r.m.load(h, ha.encode(h));
    setGate(r, 3, gate(h, { dpl: 3, trap: true }));
    const u = new Asm().i(Code.Int3).i(Code.Mov_r64_imm64, R.RAX, 5n).i(Code.Mov_r64_rm64, R.RBX, mem(R.None, UNMAPPED));
    enterUser(r, u);
    setGate(r, 14, gate(HANDLERS + 14n * 0x100n));
    const res = r.cpu.run({ maxInstructions: 100 });
    expect(res.reason).toBe('hlt');
    expect(r.cpu.getReg('r14')).toBe(0x77n);
    expect(r.cpu.getReg('rax')).toBe(5n); // ran at user level after IRETQ, then faulted into #PF
    expect(r.cpu.getReg('r15')).toBe(14n);
  });

  it('INT n through a gate with DPL 0 from CPL 3 raises #GP(vector * 8 + 2)', () => {
    const r = sysRig();
    enterUser(r, new Asm().imm(Code.Int_imm8, 0x80));
    expect(r.cpu.run({ maxInstructions: 100 }).reason).toBe('hlt');
    expect(r.cpu.getReg('r15')).toBe(13n);
    expect(r.m.memory.read64(KSTACK - 48n)).toBe(BigInt(0x80 * 8 + 2));
  });

  it('privileged instructions at CPL 3 raise #GP(0)', () => {
    for (const a of [new Asm().i(Code.Hlt), new Asm().i(Code.Mov_cr_r64, R.CR3, R.RAX), new Asm().i(Code.Wrmsr), new Asm().i(Code.Swapgs), new Asm().i(Code.Cli)]) {
      const r = sysRig();
      enterUser(r, a);
      expect(r.cpu.run({ maxInstructions: 10 }).reason).toBe('hlt');
      expect(r.cpu.getReg('r15')).toBe(13n);
      expect(r.m.memory.read64(KSTACK - 48n)).toBe(0n);
      expect(r.m.memory.read64(KSTACK - 40n)).toBe(UCODE);
    }
  });

  it('without an IDT run() returns the fault: vector, error code, RIP of the faulting instruction, typed PageFault', () => {
    const r = rig();
    const a = new Asm().i(Code.Mov_r64_imm64, R.RAX, 1n).i(Code.Mov_rm64_r64, mem(R.None, UNMAPPED), R.RAX).i(Code.Hlt);
    r.m.load(0x100000n, a.encode(0x100000n));
    r.cpu.rip = 0x100000n;
    const res = r.cpu.run();
    expect(res.reason).toBe('exception');
    expect(res.vector).toBe(14);
    expect(res.errorCode).toBe(2);
    expect(res.rip).toBe(0x10000an);
    expect(res.instructions).toBe(1);
    expect(res.fault?.constructor.name).toBe('PageFault');
    expect((res.fault as unknown as { address: bigint }).address).toBe(BigInt(UNMAPPED));
    expect(r.cpu.cr2).toBe(BigInt(UNMAPPED));
    // mapping the page and running again continues at the faulting instruction
    r.pt.map(BigInt(UNMAPPED), 0x3000000n, 4096, { write: true });
    expect(r.cpu.run().reason).toBe('hlt');
    expect(r.m.memory.read64(0x3000000n)).toBe(1n);
  });

  it('the onException hook can handle a fault and resume', () => {
    const r = rig();
    const a = new Asm().i(Code.Ud2).i(Code.Mov_r64_imm64, R.RAX, 9n).i(Code.Hlt);
    r.m.load(0x100000n, a.encode(0x100000n));
    r.cpu.rip = 0x100000n;
    const seen: number[] = [];
    const res = r.cpu.run({
      hooks: {
        onException: (cpu, ev) => {
          seen.push(ev.vector);
          cpu.rip = ev.rip + 2n;
          return 'handled';
        },
      },
    });
    expect(res.reason).toBe('hlt');
    expect(seen).toEqual([6]);
    expect(r.cpu.getReg('rax')).toBe(9n);
  });
});
