/**
 * Register-only forms of the most frequent ALU handlers, chosen once when a record is made (`specialize`):
 * the same semantics as the generic handlers in arith.ts (which they replace only for 32/64-bit operands with
 * no memory operand and no LOCK), without the operand-kind and size dispatch of readE/getR/setR. A register
 * operand cannot fault, so there is nothing to undo. SDM Vol. 1 3.4.1.1: a 32-bit result zeroes bits 63:32.
 */

import type { Handler, Insn } from '../decode/insn.js';
import { alu, ALU_CMP, aluEG, aluEI, aluGE, incDecE, incDecResult, recordIncDec } from './arith.js';
import type { St } from './state.js';

/** op Gq,Eq with Eq a register (03, 0B, ... REX.W). */
export function aluGE64r(s: St, d: Insn): void {
  const r = d.reg;
  const m = d.rm;
  alu(s, d.cc, 8, s.lo[r], s.hi[r], s.lo[m], s.hi[m]);
  if (d.cc !== ALU_CMP) {
    s.lo[r] = s.rLo;
    s.hi[r] = s.rHi;
  }
}
export function aluGE32r(s: St, d: Insn): void {
  const r = d.reg;
  alu(s, d.cc, 4, s.lo[r], 0, s.lo[d.rm], 0);
  if (d.cc !== ALU_CMP) {
    s.lo[r] = s.rLo;
    s.hi[r] = 0;
  }
}
/** op Eq,Gq with Eq a register (01, 09, ... REX.W). */
export function aluEG64r(s: St, d: Insn): void {
  const r = d.reg;
  const m = d.rm;
  alu(s, d.cc, 8, s.lo[m], s.hi[m], s.lo[r], s.hi[r]);
  if (d.cc !== ALU_CMP) {
    s.lo[m] = s.rLo;
    s.hi[m] = s.rHi;
  }
}
export function aluEG32r(s: St, d: Insn): void {
  const m = d.rm;
  alu(s, d.cc, 4, s.lo[m], 0, s.lo[d.reg], 0);
  if (d.cc !== ALU_CMP) {
    s.lo[m] = s.rLo;
    s.hi[m] = 0;
  }
}
/** op Eq,imm with Eq a register (81, 83 REX.W). */
export function aluEI64r(s: St, d: Insn): void {
  const m = d.rm;
  alu(s, d.cc, 8, s.lo[m], s.hi[m], d.immLo, d.immHi);
  if (d.cc !== ALU_CMP) {
    s.lo[m] = s.rLo;
    s.hi[m] = s.rHi;
  }
}
export function aluEI32r(s: St, d: Insn): void {
  const m = d.rm;
  alu(s, d.cc, 4, s.lo[m], 0, d.immLo, d.immHi);
  if (d.cc !== ALU_CMP) {
    s.lo[m] = s.rLo;
    s.hi[m] = 0;
  }
}
/** INC/DEC Eq/Ed with a register operand (FF /0 /1): CF is kept (SDM Vol. 2 INC, DEC). */
function incDecR(s: St, d: Insn): void {
  const sz = d.osz;
  const m = d.rm;
  const aLo = s.lo[m];
  const aHi = sz === 8 ? s.hi[m] : 0;
  const dec = d.cc !== 0;
  incDecResult(s, dec, sz, aLo, aHi);
  s.lo[m] = s.rLo;
  s.hi[m] = s.rHi;
  recordIncDec(s, dec, sz, aLo, aHi);
}

/** The handler to store in a fresh record: a register-only form where one applies, else the record's own. */
export function specialize(d: Insn): Handler {
  const fn = d.fn;
  if (d.rm < 0 || d.lock || (d.osz !== 4 && d.osz !== 8)) return fn;
  const q = d.osz === 8;
  if (fn === aluGE) return q ? aluGE64r : aluGE32r;
  if (fn === aluEG) return q ? aluEG64r : aluEG32r;
  if (fn === aluEI) return q ? aluEI64r : aluEI32r;
  if (fn === incDecE) return incDecR;
  return fn;
}

/** Every handler `specialize` can return besides the record's own (jit/block.ts lists them as block bodies). */
export const FAST_HANDLERS: readonly Handler[] = [aluGE64r, aluGE32r, aluEG64r, aluEG32r, aluEI64r, aluEI32r, incDecR];
