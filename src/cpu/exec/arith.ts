/**
 * The ALU group and its relatives (SDM Vol. 2: ADD ADC SUB SBB AND OR XOR CMP TEST, INC DEC NEG NOT, XADD,
 * CMPXCHG, CMPXCHG8B/16B, ADCX ADOX). 64-bit arithmetic on 32-bit halves; flags recorded lazily (flags.ts).
 * Every handler reads its operands (memory first), computes, then writes the destination as the last step,
 * so a fault leaves registers and flags untouched.
 */

import type { Insn } from '../decode/insn.js';
import { CF, F_ADD, F_DEC, F_INC, F_LOGIC, F_SUB, getCF, getFlags, OF, restoreFlags, saveFlags, setFlags } from './flags.js';
import { ea, getR, load, readE, setR, store, writeE, type St } from './state.js';

export const ALU_ADD = 0;
export const ALU_OR = 1;
export const ALU_ADC = 2;
export const ALU_SBB = 3;
export const ALU_AND = 4;
export const ALU_SUB = 5;
export const ALU_XOR = 6;
export const ALU_CMP = 7;

function record(s: St, op: number, sz: number, aLo: number, aHi: number, bLo: number, bHi: number, cin: number): void {
  s.fOp = op;
  s.fSz = sz;
  s.fALo = aLo;
  s.fAHi = aHi;
  s.fBLo = bLo;
  s.fBHi = bHi;
  s.fCin = cin;
  s.fResLo = s.rLo;
  s.fResHi = s.rHi;
}

/** a op b into rLo/rHi, flags recorded. For sizes below 8 the high halves are ignored. */
export function alu(s: St, op: number, sz: number, aLo: number, aHi: number, bLo: number, bHi: number): void {
  switch (op) {
    case ALU_ADD:
    case ALU_ADC: {
      const cin = op === ALU_ADC ? getCF(s) : 0;
      const lo = (aLo >>> 0) + (bLo >>> 0) + cin;
      s.rLo = lo >>> 0;
      s.rHi = sz === 8 ? (aHi + bHi + (lo > 0xffffffff ? 1 : 0)) >>> 0 : 0;
      record(s, F_ADD, sz, aLo, aHi, bLo, bHi, cin);
      return;
    }
    case ALU_SUB:
    case ALU_SBB:
    case ALU_CMP: {
      const cin = op === ALU_SBB ? getCF(s) : 0;
      const lo = (aLo >>> 0) - (bLo >>> 0) - cin;
      s.rLo = lo >>> 0;
      s.rHi = sz === 8 ? (aHi - bHi - (lo < 0 ? 1 : 0)) >>> 0 : 0;
      record(s, F_SUB, sz, aLo, aHi, bLo, bHi, cin);
      return;
    }
    case ALU_OR:
      s.rLo = (aLo | bLo) >>> 0;
      s.rHi = (aHi | bHi) >>> 0;
      break;
    case ALU_AND:
      s.rLo = (aLo & bLo) >>> 0;
      s.rHi = (aHi & bHi) >>> 0;
      break;
    default:
      s.rLo = (aLo ^ bLo) >>> 0;
      s.rHi = (aHi ^ bHi) >>> 0;
  }
  record(s, F_LOGIC, sz, aLo, aHi, bLo, bHi, 0);
}

/** op Ev,Gv / op Eb,Gb (00, 01, 08, ...). */
export function aluEG(s: St, d: Insn): void {
  const sz = d.osz;
  const aLo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  const aHi = s.vHi;
  const bLo = getR(s, d.reg, sz);
  const bHi = sz === 8 ? s.hi[d.reg] : 0;
  finishE(s, d, sz, aLo, aHi, bLo, bHi);
}

/** op Ev,imm (80, 81, 83 group 1). */
export function aluEI(s: St, d: Insn): void {
  const sz = d.osz;
  const aLo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  finishE(s, d, sz, aLo, s.vHi, d.immLo, d.immHi);
}

function finishE(s: St, d: Insn, sz: number, aLo: number, aHi: number, bLo: number, bHi: number): void {
  if (d.cc === ALU_CMP) {
    alu(s, ALU_CMP, sz, aLo, aHi, bLo, bHi);
    return;
  }
  // A faulting store leaves the flags as they were.
  saveFlags(s);
  alu(s, d.cc, sz, aLo, aHi, bLo, bHi);
  if (!writeE(s, d, sz, s.rLo, s.rHi)) restoreFlags(s);
}

/** op Gv,Ev (02, 03, ...). */
export function aluGE(s: St, d: Insn): void {
  const sz = d.osz;
  const bLo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  const bHi = s.vHi;
  alu(s, d.cc, sz, getR(s, d.reg, sz), sz === 8 ? s.hi[d.reg] : 0, bLo, bHi);
  if (d.cc !== ALU_CMP) setR(s, d.reg, sz, s.rLo, s.rHi);
}

/** op AL/eAX,imm (04, 05, ...): reg is 0. */
export function aluAI(s: St, d: Insn): void {
  const sz = d.osz;
  alu(s, d.cc, sz, getR(s, 0, sz), sz === 8 ? s.hi[0] : 0, d.immLo, d.immHi);
  if (d.cc !== ALU_CMP) setR(s, 0, sz, s.rLo, s.rHi);
}

/** TEST Ev,Gv (84, 85). */
export function testEG(s: St, d: Insn): void {
  const sz = d.osz;
  const aLo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  alu(s, ALU_AND, sz, aLo, s.vHi, getR(s, d.reg, sz), sz === 8 ? s.hi[d.reg] : 0);
}

/** TEST Ev,imm (F6/F7 /0 /1) and TEST AL/eAX,imm (A8, A9: rm is register 0). */
export function testEI(s: St, d: Insn): void {
  const aLo = readE(s, d, d.osz);
  if (s.cpu.xv >= 0) return;
  alu(s, ALU_AND, d.osz, aLo, s.vHi, d.immLo, d.immHi);
}

/** a + 1 (INC) or a - 1 (DEC, `dec`) at size sz, halves, into rLo/rHi; the flags are left to recordIncDec. */
export function incDecResult(s: St, dec: boolean, sz: number, aLo: number, aHi: number): void {
  let lo: number;
  let hi = 0;
  if (!dec) {
    lo = (aLo >>> 0) + 1;
    if (sz === 8) hi = (aHi + (lo > 0xffffffff ? 1 : 0)) >>> 0;
  } else {
    lo = (aLo >>> 0) - 1;
    if (sz === 8) hi = (aHi - (lo < 0 ? 1 : 0)) >>> 0;
  }
  s.rLo = lo >>> 0;
  s.rHi = hi;
}

/** The flags of an INC/DEC whose result is in rLo/rHi: CF is kept (SDM Vol. 2A INC, DEC). */
export function recordIncDec(s: St, dec: boolean, sz: number, aLo: number, aHi: number): void {
  const cf = getCF(s);
  s.fOp = dec ? F_DEC : F_INC;
  s.fSz = sz;
  s.fALo = aLo;
  s.fAHi = aHi;
  s.fBLo = 1;
  s.fBHi = 0;
  s.fCin = cf;
  s.fResLo = s.rLo;
  s.fResHi = s.rHi;
}

/** INC / DEC Ev (FE, FF /0 /1): CF is kept (SDM Vol. 2A INC). d.cc: 0 INC, 1 DEC. */
export function incDecE(s: St, d: Insn): void {
  const sz = d.osz;
  const aLo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  const aHi = s.vHi;
  const dec = d.cc !== 0;
  incDecResult(s, dec, sz, aLo, aHi);
  if (!writeE(s, d, sz, s.rLo, s.rHi)) return;
  recordIncDec(s, dec, sz, aLo, aHi);
}

/** NEG Ev (F6/F7 /3): 0 - x. */
export function negE(s: St, d: Insn): void {
  const sz = d.osz;
  const aLo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  const aHi = s.vHi;
  const lo = (0 - (aLo >>> 0)) >>> 0;
  const hi = sz === 8 ? (0 - aHi - (aLo !== 0 ? 1 : 0)) >>> 0 : 0;
  if (!writeE(s, d, sz, lo, hi)) return;
  s.rLo = lo;
  s.rHi = hi;
  record(s, F_SUB, sz, 0, 0, aLo, aHi, 0);
}

/** NOT Ev (F6/F7 /2): no flags. */
export function notE(s: St, d: Insn): void {
  const sz = d.osz;
  const aLo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  writeE(s, d, sz, ~aLo >>> 0, ~s.vHi >>> 0);
}

/** XADD Ev,Gv (0F C0, C1): temp = dest + src; src = dest; dest = temp. */
export function xadd(s: St, d: Insn): void {
  const sz = d.osz;
  const aLo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  const aHi = s.vHi;
  const bLo = getR(s, d.reg, sz);
  const bHi = sz === 8 ? s.hi[d.reg] : 0;
  const lo = (aLo >>> 0) + (bLo >>> 0);
  const rLo = lo >>> 0;
  const rHi = sz === 8 ? (aHi + bHi + (lo > 0xffffffff ? 1 : 0)) >>> 0 : 0;
  if (d.rm < 0 && !store(s, s.eaLo, s.eaHi, sz, rLo, rHi, s.accW)) return;
  setR(s, d.reg, sz, aLo, aHi);
  if (d.rm >= 0) setR(s, d.rm, sz, rLo, rHi);
  s.rLo = rLo;
  s.rHi = rHi;
  record(s, F_ADD, sz, aLo, aHi, bLo, bHi, 0);
}

/**
 * CMPXCHG Ev,Gv (0F B0, B1): compare the accumulator with dest; equal: dest = src, else accumulator = dest.
 * The processor always writes the destination (SDM Vol. 2A CMPXCHG), so a read-only page faults either way.
 */
export function cmpxchg(s: St, d: Insn): void {
  const sz = d.osz;
  const aLo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  const aHi = s.vHi;
  const accLo = getR(s, 0, sz);
  const accHi = sz === 8 ? s.hi[0] : 0;
  const eq = (accLo ^ aLo) === 0 && (sz !== 8 || (accHi ^ aHi) === 0);
  const wLo = eq ? getR(s, d.reg, sz) : aLo;
  const wHi = eq ? (sz === 8 ? s.hi[d.reg] : 0) : aHi;
  if (d.rm < 0) {
    if (!store(s, s.eaLo, s.eaHi, sz, wLo, wHi, s.accW)) return;
  } else if (eq) setR(s, d.rm, sz, wLo, wHi);
  if (!eq) setR(s, 0, sz, aLo, aHi);
  const lo = (accLo >>> 0) - (aLo >>> 0);
  s.rLo = lo >>> 0;
  s.rHi = sz === 8 ? (accHi - aHi - (lo < 0 ? 1 : 0)) >>> 0 : 0;
  record(s, F_SUB, sz, accLo, accHi, aLo, aHi, 0);
}

/**
 * CMPXCHG8B / CMPXCHG16B m64/m128 (0F C7 /1; REX.W selects 16B, whose operand must be 16-byte aligned, else
 * #GP(0)). Compares EDX:EAX (RDX:RAX) with the memory; ZF says equal. Other flags unchanged.
 */
export function cmpxchg8b(s: St, d: Insn): void {
  ea(s, d);
  const aLo = s.eaLo;
  const aHi = s.eaHi;
  const wide = d.osz === 8;
  if (wide && (aLo & 15) !== 0) {
    s.cpu.raise(13, 0);
    return;
  }
  // Read the whole operand first (each half through the MMU), compare, then write it back whole.
  const m0 = load(s, aLo, aHi, wide ? 8 : 4, s.accR);
  if (s.cpu.xv >= 0) return;
  const m0h = s.vHi;
  const a2Lo = (aLo + (wide ? 8 : 4)) >>> 0;
  const a2Hi = a2Lo < aLo >>> 0 ? (aHi + 1) | 0 : aHi;
  const m1 = load(s, a2Lo, a2Hi, wide ? 8 : 4, s.accR);
  if (s.cpu.xv >= 0) return;
  const m1h = s.vHi;
  const eq = wide
    ? (m0 ^ s.lo[0]) === 0 && (m0h ^ s.hi[0]) === 0 && (m1 ^ s.lo[2]) === 0 && (m1h ^ s.hi[2]) === 0
    : (m0 ^ s.lo[0]) === 0 && (m1 ^ s.lo[2]) === 0;
  const sz = wide ? 8 : 4;
  const w0 = eq ? s.lo[3] : m0, w0h = eq ? s.hi[3] : m0h, w1 = eq ? s.lo[1] : m1, w1h = eq ? s.hi[1] : m1h;
  // Both halves must be writable before either is written: translate the second for write first.
  if (s.cpu.xlate(a2Lo, a2Hi, s.accW) < 0) return;
  if (!store(s, aLo, aHi, sz, w0, w0h, s.accW)) return;
  if (!store(s, a2Lo, a2Hi, sz, w1, w1h, s.accW)) return;
  if (!eq) {
    setR(s, 0, sz, m0, m0h);
    setR(s, 2, sz, m1, m1h);
  }
  const f = getFlags(s);
  setFlags(s, eq ? f | 0x40 : f & ~0x40);
}

/** ADCX (66 0F 38 F6: CF only) and ADOX (F3 0F 38 F6: OF only); d.cc 0 = ADCX, 1 = ADOX. */
export function adcxAdox(s: St, d: Insn): void {
  const sz = d.osz;
  const bLo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  const bHi = s.vHi;
  const f = getFlags(s);
  const cin = d.cc === 0 ? f & CF : (f & OF) !== 0 ? 1 : 0;
  const aLo = s.lo[d.reg];
  const lo = (aLo >>> 0) + (bLo >>> 0) + cin;
  let cout: number;
  let hi = 0;
  if (sz === 8) {
    const h = (s.hi[d.reg] >>> 0) + (bHi >>> 0) + (lo > 0xffffffff ? 1 : 0);
    hi = h >>> 0;
    cout = h > 0xffffffff ? 1 : 0;
  } else cout = lo > 0xffffffff ? 1 : 0;
  setR(s, d.reg, sz, lo >>> 0, hi);
  setFlags(s, d.cc === 0 ? (f & ~CF) | cout : (f & ~OF) | (cout ? OF : 0));
}
