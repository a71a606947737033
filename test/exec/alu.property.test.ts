/**
 * Integer semantics against a BigInt reference model written from the SDM's instruction pages (Vol. 2),
 * for every operand size: results, and every flag the SDM defines for the instruction (undefined flags are
 * masked out). Operands and flags are random (fast-check, fixed seeds); one instruction runs per case.
 */

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Code, encode, exec, Instruction, Register } from './harness.js';

const CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
const ARITH = CF | PF | AF | ZF | SF | OF;
const SIZES = [8, 16, 32, 64] as const;
type Bits = (typeof SIZES)[number];
const A: Record<Bits, Register> = { 8: Register.AL, 16: Register.AX, 32: Register.EAX, 64: Register.RAX };
const B: Record<Bits, Register> = { 8: Register.BL, 16: Register.BX, 32: Register.EBX, 64: Register.RBX };

function mask(n: Bits): bigint {
  return (1n << BigInt(n)) - 1n;
}
function parity(v: bigint): number {
  let x = Number(v & 0xffn);
  let c = 0;
  while (x) {
    c += x & 1;
    x >>= 1;
  }
  return c % 2 === 0 ? PF : 0;
}
function szp(r: bigint, n: Bits): number {
  return (r === 0n ? ZF : 0) | ((r >> BigInt(n - 1)) & 1n ? SF : 0) | parity(r);
}
/** Write v at size n into a 64-bit register value (8/16 keep the rest; 32 zero-extends). */
function put(old: bigint, v: bigint, n: Bits): bigint {
  if (n === 32 || n === 64) return v & mask(n);
  return (old & ~mask(n)) | (v & mask(n));
}
function signed(v: bigint, n: Bits): bigint {
  return BigInt.asIntN(n, v);
}

const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const edgy = fc.oneof(u64, fc.constantFrom(0n, 1n, 0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn, 0x7fffffffn, 0x80000000n, 0xffffffffn, (1n << 63n) - 1n, 1n << 63n, (1n << 64n) - 1n));
const size = fc.constantFrom(...SIZES);
const flagsIn = fc.integer({ min: 0, max: ARITH }).map((f) => f & ARITH);

const ALU = ['Add', 'Or', 'Adc', 'Sbb', 'And', 'Sub', 'Xor', 'Cmp'] as const;

function aluRef(op: string, a: bigint, b: bigint, cin: number, n: Bits): { r: bigint; f: number; write: boolean; defined: number } {
  const m = mask(n);
  a &= m;
  b &= m;
  const sa = (a >> BigInt(n - 1)) & 1n, sb = (b >> BigInt(n - 1)) & 1n;
  let r: bigint;
  let f = 0;
  if (op === 'Add' || op === 'Adc') {
    const c = op === 'Adc' ? BigInt(cin) : 0n;
    const full = a + b + c;
    r = full & m;
    const sr = (r >> BigInt(n - 1)) & 1n;
    f = (full > m ? CF : 0) | (sa === sb && sr !== sa ? OF : 0) | (Number((a ^ b ^ r) & 0x10n) ? AF : 0);
  } else if (op === 'Sub' || op === 'Sbb' || op === 'Cmp') {
    const c = op === 'Sbb' ? BigInt(cin) : 0n;
    r = (a - b - c) & m;
    const sr = (r >> BigInt(n - 1)) & 1n;
    f = (a < b + c ? CF : 0) | (sa !== sb && sr !== sa ? OF : 0) | (Number((a ^ b ^ r) & 0x10n) ? AF : 0);
  } else {
    r = op === 'And' ? a & b : op === 'Or' ? a | b : a ^ b;
    return { r, f: szp(r, n), write: true, defined: ARITH & ~AF };
  }
  return { r, f: f | szp(r, n), write: op !== 'Cmp', defined: ARITH };
}

describe('ALU group (ADD OR ADC SBB AND SUB XOR CMP) r/m, r at every size', () => {
  it('matches the reference', () => {
    fc.assert(
      fc.property(fc.constantFrom(...ALU), size, edgy, edgy, flagsIn, (op, n, a, b, fl) => {
        const code = (Code as unknown as Record<string, Code>)[`${op}_rm${n}_r${n}`];
        const x = exec(encode(Instruction.createRegReg(code, A[n], B[n])), { rax: a, rbx: b }, fl);
        const ref = aluRef(op, a, b, fl & CF, n);
        expect(x.res.reason).toBe('hlt');
        expect(x.regs.rax).toBe(ref.write ? put(a, ref.r, n) : a);
        expect(x.flags & ref.defined).toBe(ref.f & ref.defined);
      }),
      { seed: 101, numRuns: 3000 },
    );
  });
});

describe('INC DEC NEG NOT', () => {
  it('match the reference (INC/DEC keep CF)', () => {
    fc.assert(
      fc.property(fc.constantFrom('Inc', 'Dec', 'Neg', 'Not'), size, edgy, flagsIn, (op, n, a, fl) => {
        const code = (Code as unknown as Record<string, Code>)[`${op}_rm${n}`];
        const x = exec(encode(Instruction.createReg(code, A[n])), { rax: a }, fl);
        const m = mask(n);
        const av = a & m;
        let r: bigint;
        let f: number;
        let defined = ARITH;
        if (op === 'Not') {
          r = ~av & m;
          f = fl;
        } else if (op === 'Neg') {
          const ref = aluRef('Sub', 0n, av, 0, n);
          r = ref.r;
          f = ref.f;
        } else {
          const ref = aluRef(op === 'Inc' ? 'Add' : 'Sub', av, 1n, 0, n);
          r = ref.r;
          f = (ref.f & ~CF) | (fl & CF);
        }
        if (op === 'Not') defined = ARITH;
        expect(x.regs.rax).toBe(put(a, r, n));
        expect(x.flags & defined).toBe(f & defined);
      }),
      { seed: 102, numRuns: 1500 },
    );
  });
});

function shiftRef(op: string, a: bigint, cnt: number, cfIn: number, n: Bits): { r: bigint; f: number; defined: number } | null {
  const m = mask(n);
  a &= m;
  const c = cnt & (n === 64 ? 63 : 31);
  if (c === 0) return null; // nothing changes
  const N = BigInt(n);
  const msb = (v: bigint) => Number((v >> (N - 1n)) & 1n);
  let r: bigint;
  let cf: number;
  let of = 0;
  switch (op) {
    case 'Shl':
      if (c > n) return { r: 0n, f: szp(0n, n), defined: SF | ZF | PF };
      r = (a << BigInt(c)) & m;
      cf = Number((a >> BigInt(n - c)) & 1n);
      of = msb(r) ^ cf;
      return { r, f: szp(r, n) | cf | (of ? OF : 0), defined: (c === 1 ? OF : 0) | CF | SF | ZF | PF };
    case 'Shr':
      if (c > n) return { r: 0n, f: szp(0n, n), defined: SF | ZF | PF };
      r = a >> BigInt(c);
      cf = Number((a >> BigInt(c - 1)) & 1n);
      return { r, f: szp(r, n) | cf | (msb(a) ? OF : 0), defined: (c === 1 ? OF : 0) | CF | SF | ZF | PF };
    case 'Sar': {
      const sa = signed(a, n);
      r = BigInt.asUintN(n, sa >> BigInt(Math.min(c, n - 1 + 1)));
      cf = Number((sa >> BigInt(Math.min(c - 1, n - 1))) & 1n);
      return { r: r & m, f: szp(r & m, n) | (cf ? CF : 0), defined: (c === 1 ? OF : 0) | (c <= n ? CF : 0) | SF | ZF | PF };
    }
    case 'Rol': {
      const k = BigInt(c % n);
      r = ((a << k) | (a >> (N - k))) & m;
      cf = Number(r & 1n);
      of = msb(r) ^ cf;
      return { r, f: cf | (of ? OF : 0), defined: CF | (c === 1 ? OF : 0) };
    }
    case 'Ror': {
      const k = BigInt(c % n);
      r = ((a >> k) | (a << (N - k))) & m;
      cf = msb(r);
      of = msb(r) ^ Number((r >> (N - 2n)) & 1n);
      return { r, f: cf | (of ? OF : 0), defined: CF | (c === 1 ? OF : 0) };
    }
    case 'Rcl':
    case 'Rcr': {
      const k = n <= 16 ? c % (n + 1) : c;
      let v = a;
      let cy = BigInt(cfIn);
      for (let i = 0; i < k; i++) {
        if (op === 'Rcl') {
          const out = (v >> (N - 1n)) & 1n;
          v = ((v << 1n) | cy) & m;
          cy = out;
        } else {
          const out = v & 1n;
          v = (v >> 1n) | (cy << (N - 1n));
          cy = out;
        }
      }
      const o = op === 'Rcl' ? msb(v) ^ Number(cy) : msb(v) ^ Number((v >> (N - 2n)) & 1n);
      return { r: v, f: Number(cy) | (o ? OF : 0), defined: CF | (c === 1 ? OF : 0) };
    }
  }
  return null;
}

describe('shifts and rotates by CL', () => {
  it('match the reference for every count 0..70 (defined flags only)', () => {
    fc.assert(
      fc.property(fc.constantFrom('Shl', 'Shr', 'Sar', 'Rol', 'Ror', 'Rcl', 'Rcr'), size, edgy, fc.integer({ min: 0, max: 70 }), flagsIn, (op, n, a, cnt, fl) => {
        const code = (Code as unknown as Record<string, Code>)[`${op}_rm${n}_CL`];
        const x = exec(encode(Instruction.createRegReg(code, A[n], Register.CL)), { rax: a, rcx: BigInt(cnt) }, fl);
        const ref = shiftRef(op, a, cnt, fl & CF, n);
        if (ref === null) {
          // a masked count of 0: value and flags unchanged, but a 32-bit register is still zero-extended
          // (SDM Vol. 1 3.4.1.1; the host CPU agrees, test/native)
          expect(x.regs.rax).toBe(put(a, a, n));
          expect(x.flags & ARITH).toBe(fl);
          return;
        }
        expect(x.regs.rax).toBe(put(a, ref.r, n));
        expect(x.flags & ref.defined).toBe(ref.f & ref.defined);
      }),
      { seed: 103, numRuns: 4000 },
    );
  });
});

describe('MUL IMUL DIV IDIV', () => {
  it('MUL / IMUL r/m (one operand): rDX:rAX and CF = OF', () => {
    fc.assert(
      fc.property(fc.constantFrom('Mul', 'Imul'), size, edgy, edgy, (op, n, a, b) => {
        const code = (Code as unknown as Record<string, Code>)[`${op}_rm${n}`];
        const x = exec(encode(Instruction.createReg(code, B[n])), { rax: a, rbx: b, rdx: 0x1234n });
        const m = mask(n);
        const N = BigInt(n);
        const p = op === 'Mul' ? (a & m) * (b & m) : signed(a & m, n) * signed(b & m, n);
        const pu = BigInt.asUintN(2 * n, p);
        const lo = pu & m;
        const hi = pu >> N;
        const ov = op === 'Mul' ? hi !== 0n : BigInt.asIntN(n, lo) !== p;
        if (n === 8) expect(x.regs.rax & 0xffffn).toBe(pu & 0xffffn);
        else {
          expect(x.regs.rax).toBe(put(a, lo, n));
          expect(x.regs.rdx).toBe(put(0x1234n, hi, n));
        }
        expect(x.flags & (CF | OF)).toBe(ov ? CF | OF : 0);
      }),
      { seed: 104, numRuns: 2000 },
    );
  });

  it('IMUL r, r/m and r, r/m, imm: truncated product and overflow', () => {
    fc.assert(
      fc.property(fc.constantFrom(16, 32, 64) as fc.Arbitrary<Bits>, edgy, edgy, (n, a, b) => {
        const code = (Code as unknown as Record<string, Code>)[`Imul_r${n}_rm${n}`];
        const x = exec(encode(Instruction.createRegReg(code, A[n], B[n])), { rax: a, rbx: b });
        const p = signed(a & mask(n), n) * signed(b & mask(n), n);
        expect(x.regs.rax).toBe(put(a, BigInt.asUintN(n, p), n));
        expect(x.flags & (CF | OF)).toBe(BigInt.asIntN(n, p) !== p ? CF | OF : 0);
      }),
      { seed: 105, numRuns: 1500 },
    );
  });

  it('DIV / IDIV: quotient and remainder, #DE on zero or overflow', () => {
    fc.assert(
      fc.property(fc.constantFrom('Div', 'Idiv'), size, edgy, edgy, fc.oneof(edgy, fc.bigInt({ min: 0n, max: 1000n })), (op, n, lo, hiIn, dv) => {
        const code = (Code as unknown as Record<string, Code>)[`${op}_rm${n}`];
        const m = mask(n);
        const N = BigInt(n);
        // keep the dividend's high half small most of the time so that quotients fit
        const hi = n === 8 ? 0n : hiIn % 3n === 0n ? hiIn : hiIn & 0xfn;
        const x = exec(encode(Instruction.createReg(code, B[n])), { rax: lo, rdx: hi, rbx: dv });
        const divisor = op === 'Div' ? dv & m : signed(dv & m, n);
        let dividend: bigint;
        if (n === 8) dividend = op === 'Div' ? lo & 0xffffn : BigInt.asIntN(16, lo & 0xffffn);
        else {
          const u = ((hi & m) << N) | (lo & m);
          dividend = op === 'Div' ? u : BigInt.asIntN(2 * n, u);
        }
        let de = divisor === 0n;
        let q = 0n, r = 0n;
        if (!de) {
          q = dividend / divisor; // BigInt division truncates toward zero, as IDIV does
          r = dividend % divisor;
          de = op === 'Div' ? q > m : q > (m >> 1n) || q < -(m >> 1n) - 1n;
        }
        if (de) {
          expect(x.res.reason).toBe('exception');
          expect(x.res.vector).toBe(0);
          expect(x.regs.rax).toBe(lo);
          return;
        }
        expect(x.res.reason).toBe('hlt');
        if (n === 8) expect(x.regs.rax & 0xffffn).toBe(((BigInt.asUintN(8, r)) << 8n) | BigInt.asUintN(8, q));
        else {
          expect(x.regs.rax).toBe(put(lo, BigInt.asUintN(n, q), n));
          expect(x.regs.rdx).toBe(put(hi, BigInt.asUintN(n, r), n));
        }
      }),
      { seed: 106, numRuns: 3000 },
    );
  });

  it('DIV r64/r32 by a divisor below 2^32 with the high half anywhere below it (every quotient fits)', () => {
    // the long division by 16-bit digits (muldiv.ts udiv): partial remainders up to the divisor, quotient digits up to 2^16 - 1
    const divisor = fc.oneof(fc.bigInt({ min: 1n, max: 0xffffffffn }), fc.constantFrom(1n, 2n, 3n, 0xffffn, 0x10000n, 0x10001n, 0x7fffffffn, 0x80000000n, 0xfffffffen, 0xffffffffn));
    fc.assert(
      fc.property(fc.constantFrom(32, 64) as fc.Arbitrary<32 | 64>, divisor, u64, u64, fc.double({ min: 0, max: 1, noNaN: true }), (n, dv, lo, hiSeed, frac) => {
        const N = BigInt(n);
        const m = mask(n);
        // the high half below the divisor: at 0, just below it, or anywhere
        const hi = frac < 0.2 ? 0n : frac > 0.8 ? dv - 1n : hiSeed % dv;
        const code = n === 64 ? Code.Div_rm64 : Code.Div_rm32;
        const x = exec(encode(Instruction.createReg(code, n === 64 ? Register.RBX : Register.EBX)), { rax: lo, rdx: hi, rbx: dv });
        const dividend = (hi << N) | (lo & m);
        expect(x.res.reason).toBe('hlt');
        expect(x.regs.rax).toBe(dividend / dv);
        expect(x.regs.rdx).toBe(dividend % dv);
      }),
      { seed: 107, numRuns: 3000 },
    );
  });
});

describe('bit scans and counts, bit tests', () => {
  it('BSF BSR TZCNT LZCNT POPCNT', () => {
    fc.assert(
      fc.property(fc.constantFrom('Bsf', 'Bsr', 'Tzcnt', 'Lzcnt', 'Popcnt'), fc.constantFrom(16, 32, 64) as fc.Arbitrary<Bits>, fc.oneof(edgy, fc.constant(0n)), (op, n, v) => {
        const code = (Code as unknown as Record<string, Code>)[`${op}_r${n}_rm${n}`];
        const x = exec(encode(Instruction.createRegReg(code, A[n], B[n])), { rax: 0x5555n, rbx: v });
        const s = v & mask(n);
        const bits = s.toString(2);
        let r: bigint | null;
        let f: number;
        let defined: number;
        switch (op) {
          case 'Bsf':
            r = s === 0n ? null : BigInt(bits.length - 1 - bits.lastIndexOf('1'));
            f = s === 0n ? ZF : 0;
            defined = ZF;
            break;
          case 'Bsr':
            r = s === 0n ? null : BigInt(bits.length - 1);
            f = s === 0n ? ZF : 0;
            defined = ZF;
            break;
          case 'Tzcnt':
            r = s === 0n ? BigInt(n) : BigInt(bits.length - 1 - bits.lastIndexOf('1'));
            f = (s === 0n ? CF : 0) | (r === 0n ? ZF : 0);
            defined = CF | ZF;
            break;
          case 'Lzcnt':
            r = s === 0n ? BigInt(n) : BigInt(n - bits.length);
            f = (s === 0n ? CF : 0) | (r === 0n ? ZF : 0);
            defined = CF | ZF;
            break;
          default:
            r = BigInt([...bits].filter((c) => c === '1').length);
            f = s === 0n ? ZF : 0;
            defined = ARITH;
        }
        expect(x.regs.rax).toBe(r === null ? 0x5555n : put(0x5555n, r, n));
        expect(x.flags & defined).toBe(f & defined);
      }),
      { seed: 107, numRuns: 2000 },
    );
  });

  it('BT BTS BTR BTC with a register offset', () => {
    fc.assert(
      fc.property(fc.constantFrom('Bt', 'Bts', 'Btr', 'Btc'), fc.constantFrom(16, 32, 64) as fc.Arbitrary<Bits>, edgy, fc.integer({ min: 0, max: 200 }), (op, n, v, k) => {
        const code = (Code as unknown as Record<string, Code>)[`${op}_rm${n}_r${n}`];
        const x = exec(encode(Instruction.createRegReg(code, A[n], B[n])), { rax: v, rbx: BigInt(k) });
        const bit = BigInt(k % n);
        const old = ((v & mask(n)) >> bit) & 1n;
        let r = v & mask(n);
        if (op === 'Bts') r |= 1n << bit;
        if (op === 'Btr') r &= ~(1n << bit);
        if (op === 'Btc') r ^= 1n << bit;
        expect(x.regs.rax).toBe(op === 'Bt' ? v : put(v, r, n));
        expect(x.flags & CF).toBe(Number(old));
      }),
      { seed: 108, numRuns: 1500 },
    );
  });
});

describe('moves with extension, conditional moves and sets', () => {
  it('MOVZX / MOVSX / MOVSXD and 8/16-bit partial writes', () => {
    fc.assert(
      fc.property(fc.constantFrom('Movzx_r64_rm8', 'Movzx_r32_rm16', 'Movsx_r64_rm16', 'Movsx_r16_rm8', 'Movsxd_r64_rm32', 'Mov_r8_rm8', 'Mov_r16_rm16', 'Mov_r32_rm32'), edgy, edgy, (name, a, b) => {
        const m = /(\d+)_rm(\d+)/.exec(name)!;
        const dn = Number(m[1]) as Bits;
        const sn = Number(m[2]) as Bits;
        const x = exec(encode(Instruction.createRegReg((Code as unknown as Record<string, Code>)[name], A[dn], B[sn])), { rax: a, rbx: b });
        const src = b & mask(sn);
        const v = name.startsWith('Movs') ? BigInt.asUintN(dn, signed(src, sn)) : src;
        expect(x.regs.rax).toBe(put(a, v, dn));
      }),
      { seed: 109, numRuns: 800 },
    );
  });

  it('SETcc and CMOVcc after CMP agree with the signed/unsigned comparison', () => {
    const cc = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 15 }), size, edgy, edgy, (c, n, a, b) => {
        const cmp = Instruction.createRegReg((Code as unknown as Record<string, Code>)[`Cmp_rm${n}_r${n}`], A[n], B[n]);
        const name = cc[c][0].toUpperCase() + cc[c].slice(1);
        const set = Instruction.createReg((Code as unknown as Record<string, Code>)[`Set${cc[c]}_rm8`], Register.CL);
        const cmov = Instruction.createRegReg((Code as unknown as Record<string, Code>)[`Cmov${cc[c]}_r64_rm64`], Register.RDX, Register.RSI);
        void name;
        const x = exec(encode(cmp, set, cmov), { rax: a, rbx: b, rcx: 0x100n, rdx: 7n, rsi: 9n });
        const ref = aluRef('Cmp', a, b, 0, n).f;
        const f = (k: number) => (ref & k) !== 0;
        const holds = [f(OF), !f(OF), f(CF), !f(CF), f(ZF), !f(ZF), f(CF) || f(ZF), !(f(CF) || f(ZF)), f(SF), !f(SF), f(PF), !f(PF), f(SF) !== f(OF), f(SF) === f(OF), f(ZF) || f(SF) !== f(OF), !(f(ZF) || f(SF) !== f(OF))][c];
        expect(x.regs.rcx).toBe(0x100n | (holds ? 1n : 0n));
        expect(x.regs.rdx).toBe(holds ? 9n : 7n);
      }),
      { seed: 110, numRuns: 2000 },
    );
  });
});
