/**
 * Instruction fetch under a changing translation: the run loop keeps the code page's translation while it
 * executes in that page, so every guest action that may change it must make the next fetch re-translate
 * (SDM Vol. 3A 4.10.4.1: INVLPG, MOV CR3, MOV CR4 (SMEP) invalidate; 4.6.1 XD and SMEP on fetches; 4.6.2:
 * keys never apply to fetches, so a PKRS write changes nothing for them). And the fetch count: one per
 * 16-byte fetch block entered (run.ts).
 */

import { describe, expect, it } from 'vitest';
import { Asm, Code, Register as R, mem, imm } from './asm.js';
import { rig } from './rig.js';
import { CR4_PKS, CR4_SMEP } from '../../src/cpu/regs.js';
import { MSR } from '../../src/cpu/msr.js';

const CODE = 0x400000n;
const PT_LO = 0x4000000n; // the page-table builder's pool (rig): mapped so that guest code can write PTEs
const XD_HI = 0x80000000; // bit 63 of a PTE, as the high dword

/** Code page at CODE (4 KiB, supervisor unless `user`), stack, the page-table pool mapped writable. */
function env(o: { user?: boolean } = {}) {
  const r = rig({ map: false });
  r.pt.map(CODE, CODE, 4096, { write: true, user: o.user ?? false });
  r.pt.map(CODE + 0x1000n, CODE + 0x1000n, 4096, { write: true, user: o.user ?? false });
  r.pt.map(0x7ff000n, 0x7ff000n, 4096, { write: true });
  r.cpu.setReg('rsp', 0x800000n);
  // the PTE of CODE must exist before the pool is mapped over itself
  const pte = r.pt.entryAddress(CODE, 1);
  for (let a = PT_LO; a < PT_LO + 0x40000n; a += 4096n) r.pt.map(a, a, 4096, { write: true });
  return { ...r, pte };
}

function run(r: ReturnType<typeof env>, a: Asm) {
  r.m.load(CODE, a.encode(CODE));
  r.cpu.rip = CODE;
  return r.cpu.run({ maxInstructions: 1000 });
}

/** Set XD in the PTE of the code page (guest store to the PTE's high dword). */
const setXd = (a: Asm, pte: bigint) => a.i(Code.Mov_r32_imm32, R.EAX, imm(XD_HI)).i(Code.Or_rm32_r32, mem(R.None, Number(pte + 4n)), R.EAX);

describe('fetch re-translation when the guest changes its own code page', () => {
  it('PTE made non-executable: stale iTLB entry keeps running until INVLPG, then #PF (I/D) at the next instruction', () => {
    const r = env();
    const a = new Asm();
    setXd(a, r.pte);
    a.i(Code.Nopd).i(Code.Mov_r32_imm32, R.EBX, imm(1)); // still runs: the translation was not invalidated
    a.i(Code.Invlpg_m, mem(R.None, Number(CODE)));
    a.i(Code.Mov_r32_imm32, R.ECX, imm(2)).i(Code.Hlt);
    const res = run(r, a);
    expect(res.reason).toBe('exception');
    expect(res.vector).toBe(14);
    expect(res.errorCode).toBe(0x11); // present, instruction fetch
    expect(r.cpu.cr2).toBe(res.rip);
    expect(r.cpu.getReg('rbx')).toBe(1n);
    expect(r.cpu.getReg('rcx')).toBe(0n);
    expect(res.instructions).toBe(5);
  });

  it('PTE made non-executable, then MOV CR3 (flush): #PF at the instruction after the CR3 write', () => {
    const r = env();
    const a = new Asm();
    setXd(a, r.pte);
    a.i(Code.Mov_r64_cr, R.RDX, R.CR3).i(Code.Mov_cr_r64, R.CR3, R.RDX);
    a.i(Code.Mov_r32_imm32, R.ECX, imm(2)).i(Code.Hlt);
    const res = run(r, a);
    expect(res.vector).toBe(14);
    expect(res.errorCode).toBe(0x11);
    expect(res.instructions).toBe(4);
    expect(r.cpu.getReg('rcx')).toBe(0n);
  });

  it('a PTE change without any invalidation is not seen while the code stays in the page (TLB semantics)', () => {
    const r = env();
    const a = new Asm();
    setXd(a, r.pte);
    a.i(Code.Mov_r32_imm32, R.ECX, imm(2)).i(Code.Hlt);
    const res = run(r, a);
    expect(res.reason).toBe('hlt');
    expect(r.cpu.getReg('rcx')).toBe(2n);
  });

  it('CR4.SMEP set by supervisor code running from a user page: the next fetch faults', () => {
    const r = env({ user: true });
    if (!r.cpu.features.smep) return expect.fail('the default profile models SMEP');
    const a = new Asm()
      .i(Code.Mov_r64_cr, R.RAX, R.CR4)
      .i(Code.Or_rm64_imm32, R.RAX, imm(CR4_SMEP))
      .i(Code.Mov_cr_r64, R.CR4, R.RAX)
      .i(Code.Mov_r32_imm32, R.ECX, imm(2))
      .i(Code.Hlt);
    const res = run(r, a);
    expect(res.reason).toBe('exception');
    expect(res.vector).toBe(14);
    expect(res.errorCode).toBe(0x11);
    expect(res.rip).toBe(CODE + 3n + 7n + 3n);
    expect(r.cpu.getReg('rcx')).toBe(0n);
  });

  it('PKRS access-disable on the code page key: fetches go on (keys never apply to fetches), a load faults with PK', () => {
    const r = env();
    r.pt.map(CODE, CODE, 4096, { write: true, pkey: 1 });
    r.cpu.invlpg(CODE);
    r.cpu.writeCr(4, r.cpu.cr4 | BigInt(CR4_PKS));
    const a = new Asm()
      .i(Code.Mov_r32_imm32, R.ECX, imm(MSR.IA32_PKRS))
      .i(Code.Mov_r32_imm32, R.EAX, imm(0b0100)) // AD for key 1
      .i(Code.Xor_r32_rm32, R.EDX, R.EDX)
      .i(Code.Wrmsr)
      .i(Code.Mov_r32_imm32, R.EBX, imm(7))
      .i(Code.Mov_r64_rm64, R.RSI, mem(R.None, Number(CODE)))
      .i(Code.Hlt);
    const res = run(r, a);
    expect(r.cpu.getReg('rbx')).toBe(7n);
    expect(res.vector).toBe(14);
    expect((res.errorCode ?? 0) & 0x20).toBe(0x20); // PK
    expect((res.errorCode ?? 0) & 0x10).toBe(0); // a data access
  });
});

describe('fetch accounting: one fetch per 16-byte block entered', () => {
  it('straight-line code: the blocks its bytes cover', () => {
    const r = env();
    const bytes = new Uint8Array(41).fill(0x90); // NOP x40, HLT at 40: blocks 0, 1, 2
    bytes[40] = 0xf4;
    r.m.load(CODE, bytes);
    r.cpu.rip = CODE;
    const f0 = r.cpu.stats.fetches;
    expect(r.cpu.run().reason).toBe('hlt');
    expect(r.cpu.stats.fetches - f0).toBe(3);
  });

  it('an instruction crossing into the next block fetches it; a taken branch re-fetches its target block', () => {
    const r = env();
    // 0: mov ecx, 4 (5 bytes); 5: top: dec ecx (2); 7: jnz top (2); 9: nop x5; 14: mov rax, imm64 (10, crosses to block 1); 24: hlt
    const a = new Asm().i(Code.Mov_r32_imm32, R.ECX, imm(4));
    const top = a.label();
    a.bind(top).i(Code.Dec_rm32, R.ECX).br(Code.Jne_rel8_64, top);
    for (let i = 0; i < 5; i++) a.i(Code.Nopd); // 1-byte 90 (NOP)
    a.i(Code.Mov_r64_imm64, R.RAX, 0x1122334455667788n).i(Code.Hlt);
    const f0 = r.cpu.stats.fetches;
    const res = run(r, a);
    expect(res.reason).toBe('hlt');
    expect(res.instructions).toBe(1 + 8 + 5 + 2);
    // block 0 at entry, 3 taken branches back into it, then block 1 when MOV's bytes cross into it
    expect(r.cpu.stats.fetches - f0).toBe(1 + 3 + 1);
  });

  it('a faulting fetch counts as a fetch', () => {
    const r = env();
    r.cpu.rip = 0x900000n; // unmapped
    const f0 = r.cpu.stats.fetches;
    expect(r.cpu.run({ maxInstructions: 10 }).vector).toBe(14);
    expect(r.cpu.stats.fetches - f0).toBe(1);
  });
});
