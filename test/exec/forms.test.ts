/**
 * The remaining integer forms, each against values worked out from its SDM page: XADD, CMPXCHG,
 * CMPXCHG8B/16B, ADCX/ADOX, SHLD/SHRD, BSWAP, MOVBE, XLAT, LOOP/JRCXZ, LAHF/SAHF, CBW..CQO, PUSHF/POPF,
 * ENTER/LEAVE, XCHG with memory, LOCK forms, RET imm16, MOVABS moffs, RIP-relative addressing.
 */

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Asm, Code, Register as R, mem, imm } from '../interp/asm.js';
import { rig, CODE } from '../interp/rig.js';

function run(build: (a: Asm) => void, regs: Record<string, bigint> = {}, setup?: (r: ReturnType<typeof rig>) => void) {
  const r = rig();
  const a = new Asm();
  build(a);
  a.i(Code.Hlt);
  r.m.load(CODE, a.encode(CODE));
  for (const [k, v] of Object.entries(regs)) r.cpu.setReg(k as 'rax', v);
  setup?.(r);
  const res = r.cpu.run({ maxInstructions: 10000 });
  return { r, res, g: (n: string) => r.cpu.getReg(n as 'rax') };
}
const M64 = (1n << 64n) - 1n;
const D = 0x200000;

describe('exchange and compare', () => {
  it('LOCK XADD [mem], r and XCHG r, [mem]', () => {
    const { r, g } = run((a) => a.i(Code.Xadd_rm64_r64, mem(R.None, D), R.RBX).i(Code.Xchg_rm64_r64, mem(R.None, D + 8), R.RCX), { rbx: 5n, rcx: 7n }, (r) => {
      r.m.memory.write64(BigInt(D), 10n);
      r.m.memory.write64(BigInt(D + 8), 99n);
    });
    expect(g('rbx')).toBe(10n);
    expect(r.m.memory.read64(BigInt(D))).toBe(15n);
    expect(g('rcx')).toBe(99n);
    expect(r.m.memory.read64(BigInt(D + 8))).toBe(7n);
  });

  it('CMPXCHG: equal stores the source and sets ZF; different loads the accumulator', () => {
    const eq = run((a) => a.i(Code.Cmpxchg_rm64_r64, mem(R.None, D), R.RBX).i(Code.Setb_rm8, R.CL).i(Code.Sete_rm8, R.DL), { rax: 3n, rbx: 9n }, (r) => r.m.memory.write64(BigInt(D), 3n));
    expect(eq.r.m.memory.read64(BigInt(D))).toBe(9n);
    expect(eq.g('rdx') & 1n).toBe(1n);
    const ne = run((a) => a.i(Code.Cmpxchg_rm32_r32, R.ESI, R.EBX), { rax: 0xffffffff00000004n, rbx: 9n, rsi: 5n });
    expect(ne.g('rax')).toBe(5n); // 32-bit accumulator write zero-extends
    expect(ne.g('rsi')).toBe(5n);
  });

  it('CMPXCHG16B (aligned) and its #GP(0) on a misaligned operand; CMPXCHG8B', () => {
    const ok = run((a) => a.i(Code.Cmpxchg16b_m128, mem(R.None, D)), { rax: 1n, rdx: 2n, rbx: 3n, rcx: 4n }, (r) => {
      r.m.memory.write64(BigInt(D), 1n);
      r.m.memory.write64(BigInt(D + 8), 2n);
    });
    expect(ok.r.m.memory.read64(BigInt(D))).toBe(3n);
    expect(ok.r.m.memory.read64(BigInt(D + 8))).toBe(4n);
    expect(ok.r.cpu.rflags & 0x40n).toBe(0x40n);
    const bad = run((a) => a.i(Code.Cmpxchg16b_m128, mem(R.None, D + 8)));
    expect(bad.res.vector).toBe(13);
    const b8 = run((a) => a.i(Code.Cmpxchg8b_m64, mem(R.None, D)), { rax: 7n, rdx: 0n }, (r) => r.m.memory.write64(BigInt(D), 0x500000006n));
    expect(b8.g('rax')).toBe(6n);
    expect(b8.g('rdx')).toBe(5n);
    expect(b8.r.cpu.rflags & 0x40n).toBe(0n);
  });

  it('LOCK on a register destination is #UD; LOCK ADD to memory works', () => {
    expect(run((a) => a.raw(0xf0, 0x01, 0xc0)).res.vector).toBe(6);
    const r = run((a) => a.raw(0xf0, 0x48, 0x01, 0x1c, 0x25, 0x00, 0x00, 0x20, 0x00), { rbx: 5n }, (r) => r.m.memory.write64(BigInt(D), 1n));
    expect(r.r.m.memory.read64(BigInt(D))).toBe(6n);
  });
});

describe('carry chains, double shifts, byte order', () => {
  it('ADCX uses and sets only CF, ADOX only OF', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: M64 }), fc.bigInt({ min: 0n, max: M64 }), fc.boolean(), fc.boolean(), (x, y, cf, of) => {
        const f = (cf ? 1n : 0n) | (of ? 0x800n : 0n) | 0x40n;
        const { g, r } = run((a) => a.i(Code.Adcx_r64_rm64, R.RAX, R.RBX).i(Code.Adox_r64_rm64, R.RCX, R.RDX), { rax: x, rbx: y, rcx: x, rdx: y }, (r) => (r.cpu.rflags = f | 2n));
        const s1 = x + y + (cf ? 1n : 0n);
        const s2 = x + y + (of ? 1n : 0n);
        expect(g('rax')).toBe(s1 & M64);
        expect(g('rcx')).toBe(s2 & M64);
        const fl = r.cpu.rflags;
        expect(fl & 1n).toBe(s1 > M64 ? 1n : 0n);
        expect(fl & 0x800n).toBe(s2 > M64 ? 0x800n : 0n);
        expect(fl & 0x40n).toBe(0x40n); // ZF untouched
      }),
      { seed: 201, numRuns: 100 },
    );
  });

  it('SHLD / SHRD by CL, 64 and 32 bits', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: M64 }), fc.bigInt({ min: 0n, max: M64 }), fc.integer({ min: 1, max: 63 }), (x, y, c) => {
        const { g } = run((a) => a.i(Code.Shld_rm64_r64_CL, R.RAX, R.RBX, R.CL).i(Code.Shrd_rm64_r64_CL, R.RDX, R.RBX, R.CL).i(Code.Shld_rm32_r32_CL, R.ESI, R.EBX, R.CL), { rax: x, rbx: y, rdx: x, rsi: x, rcx: BigInt(c) });
        const C = BigInt(c);
        expect(g('rax')).toBe(((x << C) | (y >> (64n - C))) & M64);
        expect(g('rdx')).toBe(((x >> C) | (y << (64n - C))) & M64);
        const c32 = C & 31n;
        const x32 = x & 0xffffffffn, y32 = y & 0xffffffffn;
        expect(g('rsi')).toBe(c32 === 0n ? x32 : ((x32 << c32) | (y32 >> (32n - c32))) & 0xffffffffn); // count 0: zero-extended
      }),
      { seed: 202, numRuns: 150 },
    );
  });

  it('BSWAP and MOVBE', () => {
    const { g, r } = run((a) => a.i(Code.Bswap_r64, R.RAX).i(Code.Bswap_r32, R.EBX).i(Code.Movbe_m64_r64, mem(R.None, D), R.RCX).i(Code.Movbe_r32_m32, R.EDX, mem(R.None, D)), { rax: 0x0102030405060708n, rbx: 0xaabbccdd11223344n, rcx: 0x1122334455667788n });
    expect(g('rax')).toBe(0x0807060504030201n);
    expect(g('rbx')).toBe(0x44332211n);
    expect(r.m.memory.read64(BigInt(D))).toBe(0x8877665544332211n);
    expect(g('rdx')).toBe(0x11223344n);
  });
});

describe('small forms', () => {
  it('CBW CWDE CDQE CWD CDQ CQO', () => {
    const { g } = run((a) => a.i(Code.Cdqe).i(Code.Mov_r64_rm64, R.R8, R.RAX).i(Code.Cqo).i(Code.Mov_r64_rm64, R.R9, R.RDX).i(Code.Mov_r32_imm32, R.EAX, imm(0x80)).i(Code.Cbw).i(Code.Cwde), { rax: 0x80000000n });
    expect(g('r8')).toBe(0xffffffff80000000n);
    expect(g('r9')).toBe(M64);
    expect(g('rax')).toBe(0xffffff80n);
  });

  it('LAHF / SAHF and PUSHF / POPF', () => {
    const { g, r } = run((a) => a.i(Code.Stc).i(Code.Lahf).i(Code.Mov_r64_rm64, R.R8, R.RAX).i(Code.Mov_r32_imm32, R.EAX, imm(0xc000)).i(Code.Sahf).i(Code.Pushfq).i(Code.Pop_r64, R.R9).i(Code.Pushq_imm32, imm(0x801)).i(Code.Popfq));
    expect((g('r8') >> 8n) & 0xffn).toBe(0x03n); // CF and bit 1
    expect(g('r9') & 0xffn).toBe(0xc2n); // SF ZF from AH, bit 1
    expect(r.cpu.rflags & 0xfffn).toBe(0x803n);
  });

  it('XLAT, LOOP, JRCXZ, ENTER/LEAVE, RET imm16, MOV moffs, RIP-relative', () => {
    const { g, r } = run(
      (a) => {
        const l = a.label();
        const f = a.label();
        const after = a.label();
        a.i(Code.Mov_r64_imm64, R.RBX, BigInt(D)).i(Code.Mov_r32_imm32, R.EAX, imm(3)).raw(0xd7).i(Code.Mov_r64_rm64, R.R8, R.RAX);
        a.i(Code.Mov_r32_imm32, R.ECX, imm(5)).i(Code.Xor_r32_rm32, R.EDX, R.EDX);
        a.bind(l).i(Code.Inc_rm32, R.EDX).br(Code.Loop_rel8_64_RCX, l);
        a.br(Code.Jrcxz_rel8_64, after).i(Code.Ud2);
        a.bind(after).i(Code.Pushq_imm32, imm(1)).br(Code.Call_rel32_64, f).i(Code.Mov_r64_rm64, R.R10, R.RSP).i(Code.Mov_r64_imm64, R.R11, 0x55n).raw(0x4c, 0x89, 0xd8).raw(0x48, 0xa3, 0x00, 0x01, 0x20, 0, 0, 0, 0, 0); // mov rax, r11; mov [moffs 0x200100], rax
        a.i(Code.Mov_r64_rm64, R.R12, mem(R.RIP, Number(CODE) + 0)).i(Code.Hlt);
        a.bind(f).i(Code.Enterq_imm16_imm8, imm(32), imm(0)).i(Code.Mov_r64_rm64, R.R9, R.RSP).i(Code.Leaveq).i(Code.Retnq_imm16, imm(8));
      },
      { rsp: 0x800000n },
      (r) => r.m.load(BigInt(D), Uint8Array.of(10, 11, 12, 13)),
    );
    expect(g('r8') & 0xffn).toBe(13n);
    expect(g('rdx')).toBe(5n);
    expect(g('r9')).toBe(0x800000n - 8n - 8n - 8n - 32n); // push 1, return address, saved RBP, 32 bytes
    expect(g('r10')).toBe(0x800000n); // RET 8 released the pushed 1
    expect(g('r12') & 0xffffn).toBe(BigInt(r.m.memory.read16(CODE)));
    expect(r.m.memory.read64(BigInt(D + 0x100))).toBe(0x55n);
  });
});


describe('memory-operand corner cases', () => {
  it('BT/BTS with a register bit offset address the bit string beyond the operand (negative offsets too)', () => {
    const { r, g } = run((a) => a.i(Code.Bts_rm64_r64, mem(R.None, D + 64), R.RBX).i(Code.Setb_rm8, R.CL).i(Code.Bts_rm32_r32, mem(R.None, D + 64), R.EDX).i(Code.Setb_rm8, R.CH), { rbx: 130n, rdx: 0xfffffff8n }, (r) => r.m.memory.write64(BigInt(D + 80), 0n));
    expect(r.m.memory.read64(BigInt(D + 80))).toBe(4n); // bit 130 = byte 16, bit 2
    expect(g('rcx') & 0xffffn).toBe(0n);
    expect(r.m.memory.read8(BigInt(D + 63))).toBe(1); // bit -8 = byte -1, bit 0
  });

  it('CMOVcc reads its memory source even when the condition is false (and faults)', () => {
    const { res } = run((a) => a.i(Code.Xor_r32_rm32, R.EAX, R.EAX).i(Code.Cmovne_r64_rm64, R.RBX, mem(R.None, 0x5000000)));
    expect(res.vector).toBe(14);
  });

  it('a non-canonical stack address is #SS(0); a non-canonical data address #GP(0)', () => {
    expect(run((a) => a.i(Code.Push_r64, R.RAX), { rsp: 0x8000000000000008n }).res.vector).toBe(12);
    expect(run((a) => a.i(Code.Mov_r64_rm64, R.RAX, mem(R.RBX)), { rbx: 0x8000000000000000n }).res.vector).toBe(13);
  });

  it('SGDT/SIDT store what LGDT/LIDT loaded; INVPCID type 2 and its #GP on a bad type', () => {
    const desc = BigInt(D);
    const { r } = run(
      (a) => a.i(Code.Lgdt_m1664, mem(R.None, D)).i(Code.Sgdt_m1664, mem(R.None, D + 32)).i(Code.Mov_r32_imm32, R.EAX, imm(2)).i(Code.Invpcid_r64_m128, R.RAX, mem(R.None, D + 64)),
      {},
      (r) => {
        r.m.memory.write16(desc, 0x1234);
        r.m.memory.write64(desc + 2n, 0xffff888000001000n);
      },
    );
    expect(r.m.memory.read16(desc + 32n)).toBe(0x1234);
    expect(r.m.memory.read64(desc + 34n)).toBe(0xffff888000001000n);
    expect(run((a) => a.i(Code.Mov_r32_imm32, R.EAX, imm(4)).i(Code.Invpcid_r64_m128, R.RAX, mem(R.None, D))).res.vector).toBe(13);
  });
});
