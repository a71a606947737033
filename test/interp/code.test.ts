/**
 * Code as data: self-modifying code (the decoded cache drops a page when it is written, SDM Vol. 3A 11.6),
 * code reloaded between runs, instructions that straddle a page boundary (fetch faults with CR2 on the
 * second page), string instructions with REP (interrupted by the instruction budget and resumed; a fault
 * mid-way leaves the completed iterations), the 15-byte limit, and cycle accounting by class.
 */

import { describe, expect, it } from 'vitest';
import { Asm, Code, Register as R, mem, imm } from './asm.js';
import { rig, CODE } from './rig.js';
import { icacheOf } from '../../src/cpu/icache.js';

describe('self-modifying code', () => {
  it('a store into the next instruction of the same page takes effect', () => {
    const r = rig();
    // loop twice: execute "mov eax, imm32", then patch its immediate to 2 and go round again
    const a = new Asm();
    const top = a.label();
    const target = a.label();
    a.i(Code.Mov_r32_imm32, R.ECX, imm(2));
    a.bind(top).i(Code.Add_r64_rm64, R.RBX, R.RAX);
    a.bind(target).i(Code.Mov_r32_imm32, R.EAX, imm(1));
    a.i(Code.Mov_rm32_imm32, mem(R.None, 0), imm(0)); // placeholder, patched below to address the imm
    a.i(Code.Dec_rm32, R.ECX).br(Code.Jne_rel8_64, top).i(Code.Add_r64_rm64, R.RBX, R.RAX).i(Code.Hlt);
    const bytes = a.encode(CODE);
    // the MOV EAX, imm32 is at CODE + 5 + 3 = CODE + 8 (B8 imm32): its immediate at CODE + 9
    expect(bytes[8]).toBe(0xb8);
    // rebuild with the right address: mov dword [CODE + 9], 2
    const b = new Asm();
    const top2 = b.label();
    b.i(Code.Mov_r32_imm32, R.ECX, imm(2));
    b.bind(top2).i(Code.Add_r64_rm64, R.RBX, R.RAX);
    b.i(Code.Mov_r32_imm32, R.EAX, imm(1));
    b.i(Code.Mov_rm32_imm32, mem(R.None, Number(CODE) + 9), imm(2));
    b.i(Code.Dec_rm32, R.ECX).br(Code.Jne_rel8_64, top2).i(Code.Add_r64_rm64, R.RBX, R.RAX).i(Code.Hlt);
    r.m.load(CODE, b.encode(CODE));
    r.cpu.rip = CODE;
    const inv = icacheOf(r.m.memory).invalidations;
    expect(r.cpu.run({ maxInstructions: 100 }).reason).toBe('hlt');
    // iteration 1: rbx = 0 + 0, eax = 1; iteration 2: rbx = 1, eax = 2 (patched); end: rbx = 1 + 2 = 3
    expect(r.cpu.getReg('rbx')).toBe(3n);
    expect(icacheOf(r.m.memory).invalidations).toBeGreaterThan(inv);
  });

  it('code loaded again at the same address between runs runs as loaded', () => {
    const r = rig();
    r.m.load(CODE, new Asm().i(Code.Mov_r64_imm64, R.RAX, 1n).i(Code.Hlt).encode(CODE));
    r.cpu.run();
    expect(r.cpu.getReg('rax')).toBe(1n);
    r.m.load(CODE, new Asm().i(Code.Mov_r64_imm64, R.RAX, 2n).i(Code.Hlt).encode(CODE));
    r.cpu.rip = CODE;
    r.cpu.run();
    expect(r.cpu.getReg('rax')).toBe(2n);
    r.m.memory.write8(CODE + 2n, 3); // a single byte through the memory API
    r.cpu.rip = CODE;
    r.cpu.run();
    expect(r.cpu.getReg('rax')).toBe(3n);
  });
});

describe('fetch across a page boundary', () => {
  it('an instruction straddling two mapped pages runs; with the second page unmapped it faults with CR2 there', () => {
    const r = rig({ map: false });
    r.pt.map(0x400000n, 0x400000n, 4096, { write: true });
    r.pt.map(0x401000n, 0x401000n, 4096, { write: true });
    const at = 0x400ffcn;
    r.m.load(at, new Asm().i(Code.Mov_r64_imm64, R.RAX, 0x1122334455667788n).i(Code.Hlt).encode(at));
    r.cpu.rip = at;
    r.cpu.setReg('rsp', 0x401800n);
    expect(r.cpu.run().reason).toBe('hlt');
    expect(r.cpu.getReg('rax')).toBe(0x1122334455667788n);
    r.pt.setEntry(0x401000n, 1, 0n);
    r.cpu.invlpg(0x401000n);
    r.cpu.rip = at;
    r.cpu.setReg('rax', 0n);
    const res = r.cpu.run();
    expect(res.reason).toBe('exception');
    expect(res.vector).toBe(14);
    expect(res.errorCode).toBe(0x10); // instruction fetch, not present (EFER.NXE)
    expect(res.rip).toBe(at);
    expect(r.cpu.cr2).toBe(0x401000n);
    expect(r.cpu.getReg('rax')).toBe(0n);
  });

  it('a short instruction at the end of a page does not fault on the unmapped next page', () => {
    const r = rig({ map: false });
    r.pt.map(0x400000n, 0x400000n, 4096, { write: true });
    r.m.load(0x400ffen, Uint8Array.of(0x90, 0xf4));
    r.cpu.rip = 0x400ffen;
    expect(r.cpu.run().reason).toBe('hlt');
  });

  it('more than 15 bytes of prefixes is #GP(0); an unknown opcode #UD', () => {
    const r = rig();
    r.m.load(CODE, Uint8Array.of(...new Array(15).fill(0x66), 0x90));
    expect(r.cpu.run().vector).toBe(13);
    r.m.load(CODE, Uint8Array.of(0x0f, 0x3a, 0x0f));
    r.cpu.rip = CODE;
    expect(r.cpu.run().vector).toBe(6);
  });
});

describe('string instructions', () => {
  it('REP MOVSB/MOVSQ/STOSD copy and fill, forward and backward (DF)', () => {
    const r = rig();
    r.m.load(0x200000n, Uint8Array.from({ length: 64 }, (_, i) => i));
    const a = new Asm()
      .i(Code.Mov_r64_imm64, R.RSI, 0x200000n).i(Code.Mov_r64_imm64, R.RDI, 0x210000n).i(Code.Mov_r64_imm64, R.RCX, 64n).raw(0xf3, 0xa4)
      .i(Code.Mov_r64_imm64, R.RSI, 0x200000n).i(Code.Mov_r64_imm64, R.RDI, 0x220000n).i(Code.Mov_r64_imm64, R.RCX, 8n).raw(0xf3, 0x48, 0xa5)
      .i(Code.Mov_r64_imm64, R.RDI, 0x23000cn).i(Code.Mov_r32_imm32, R.EAX, imm(0xabcd)).i(Code.Mov_r64_imm64, R.RCX, 4n).i(Code.Std).raw(0xf3, 0xab).i(Code.Cld)
      .i(Code.Hlt);
    r.m.load(CODE, a.encode(CODE));
    expect(r.cpu.run().reason).toBe('hlt');
    expect(r.m.memory.readBytes(0x210000n, 64)).toEqual(Uint8Array.from({ length: 64 }, (_, i) => i));
    expect(r.m.memory.readBytes(0x220000n, 64)).toEqual(Uint8Array.from({ length: 64 }, (_, i) => i));
    for (let i = 0; i < 4; i++) expect(r.m.memory.read32(0x230000n + BigInt(4 * i))).toBe(0xabcd);
    expect(r.cpu.getReg('rdi')).toBe(0x22fffcn);
  });

  it('REPNE SCASB finds a byte; REPE CMPSB stops at the first difference', () => {
    const r = rig();
    r.m.load(0x200000n, new TextEncoder().encode('hello world\0'));
    r.m.load(0x201000n, new TextEncoder().encode('hello there'));
    const a = new Asm()
      .i(Code.Mov_r64_imm64, R.RDI, 0x200000n).i(Code.Xor_r32_rm32, R.EAX, R.EAX).i(Code.Mov_r64_imm64, R.RCX, 100n).raw(0xf2, 0xae).i(Code.Mov_r64_rm64, R.R8, R.RCX)
      .i(Code.Mov_r64_imm64, R.RSI, 0x200000n).i(Code.Mov_r64_imm64, R.RDI, 0x201000n).i(Code.Mov_r64_imm64, R.RCX, 11n).raw(0xf3, 0xa6)
      .i(Code.Hlt);
    r.m.load(CODE, a.encode(CODE));
    r.cpu.run();
    expect(r.cpu.getReg('r8')).toBe(100n - 12n); // found the NUL after 12 bytes
    expect(r.cpu.getReg('rsi')).toBe(0x200007n); // stopped after comparing 'w' with 't'
    expect(r.cpu.getReg('rcx')).toBe(4n);
  });

  it('a REP is interrupted by the instruction budget and resumes with the same result', () => {
    const r = rig();
    const a = new Asm().i(Code.Mov_r64_imm64, R.RDI, 0x200000n).i(Code.Mov_r32_imm32, R.EAX, imm(7)).i(Code.Mov_r64_imm64, R.RCX, 1000n).raw(0xf3, 0xaa).i(Code.Hlt);
    r.m.load(CODE, a.encode(CODE));
    const first = r.cpu.run({ maxInstructions: 103 });
    expect(first.reason).toBe('limit');
    expect(first.instructions).toBe(103);
    expect(first.rip).toBe(CODE + 25n); // still at the REP STOSB
    expect(r.cpu.getReg('rcx')).toBe(900n);
    const rest = r.cpu.run();
    expect(rest.reason).toBe('hlt');
    expect(rest.instructions).toBe(901);
    expect(r.m.memory.read8(0x2003e7n)).toBe(7);
    expect(r.m.memory.read8(0x2003e8n)).toBe(0);
  });

  it('a fault mid-way leaves the completed iterations (restartable); nothing of the faulting element is written', () => {
    const r = rig({ map: false });
    r.pt.map(0x100000n, 0x100000n, 4096, { write: true });
    r.pt.map(0x200000n, 0x200000n, 4096, { write: true });
    const a = new Asm().i(Code.Mov_r64_imm64, R.RDI, 0x200ff0n).i(Code.Mov_r64_imm64, R.RAX, -1n).i(Code.Mov_r64_imm64, R.RCX, 4n).raw(0xf3, 0x48, 0xab).i(Code.Hlt);
    r.m.load(CODE, a.encode(CODE));
    r.cpu.setReg('rsp', 0x100800n);
    const res = r.cpu.run();
    expect(res.reason).toBe('exception');
    expect(res.vector).toBe(14);
    expect(r.cpu.getReg('rcx')).toBe(2n);
    expect(r.cpu.getReg('rdi')).toBe(0x201000n);
    expect(r.cpu.cr2).toBe(0x201000n);
    r.pt.map(0x201000n, 0x201000n, 4096, { write: true });
    expect(r.cpu.run().reason).toBe('hlt');
    expect(r.m.memory.read64(0x201008n)).toBe((1n << 64n) - 1n);
    expect(r.cpu.getReg('rcx')).toBe(0n);
  });
});

describe('cycles and statistics', () => {
  it('instructions are counted in cpu.stats; cycles are deterministic and charged by class from the profile', () => {
    const run = (profile: string) => {
      const r = rig({ profile });
      const a = new Asm();
      const top = a.label();
      a.i(Code.Mov_r32_imm32, R.ECX, imm(100)).i(Code.Mov_r32_imm32, R.EBX, imm(3));
      a.bind(top).i(Code.Xor_r32_rm32, R.EDX, R.EDX).i(Code.Mov_r32_imm32, R.EAX, imm(1000)).i(Code.Div_rm32, R.EBX).i(Code.Dec_rm32, R.ECX).br(Code.Jne_rel8_64, top).i(Code.Hlt);
      r.m.load(CODE, a.encode(CODE));
      const c0 = r.cpu.cycles;
      const i0 = r.cpu.stats.instructions;
      const res = r.cpu.run();
      return { cycles: r.cpu.cycles - c0, n: r.cpu.stats.instructions - i0, res, p: r.cpu.profile };
    };
    const a = run('sapphire-rapids');
    const b = run('sapphire-rapids');
    const c = run('skylake-sp');
    expect(a.n).toBe(2 + 5 * 100 + 1);
    expect(a.res.instructions).toBe(a.n);
    expect(a.cycles).toBe(b.cycles);
    // the 100 DIVs and 99 taken branches are charged from each profile
    expect(a.cycles).toBeGreaterThan(100 * a.p.insn.div32 + 99 * a.p.insn.branch);
    expect(c.cycles).toBeGreaterThan(100 * c.p.insn.div32 + 99 * c.p.insn.branch);
    expect(c.cycles).not.toBe(a.cycles);
  });

  it('step() runs one instruction', () => {
    const r = rig();
    r.m.load(CODE, new Asm().i(Code.Mov_r64_imm64, R.RAX, 1n).i(Code.Mov_r64_imm64, R.RBX, 2n).i(Code.Hlt).encode(CODE));
    const s = r.cpu.step();
    expect(s).toMatchObject({ reason: 'limit', instructions: 1, rip: CODE + 10n });
    expect(r.cpu.getReg('rbx')).toBe(0n);
    expect(r.cpu.disassemble(CODE, 2)).toMatch(/mov rax, 0x1\n.*mov rbx, 0x2/);
  });

  it('run() validates its options', () => {
    const r = rig();
    expect(() => r.cpu.run({ maxInstructions: -1 })).toThrow(RangeError);
    expect(() => r.cpu.run({ maxInstructions: 1.5 })).toThrow(RangeError);
    expect(() => r.cpu.run({ hooks: { onHlt: 5 as never } })).toThrow(TypeError);
    expect(() => r.cpu.run({ hooks: { bogus: () => {} } as never })).toThrow(RangeError);
    expect(() => r.cpu.run({ foo: 1 } as never)).toThrow(RangeError);
  });
});
