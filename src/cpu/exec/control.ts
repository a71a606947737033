/**
 * Control transfer (SDM Vol. 2A Jcc, JMP, CALL; Vol. 2B RET, LOOP; JRCXZ). Near branches in 64-bit mode have
 * a 64-bit operand size whatever the prefixes (Intel behaviour). A target that is not canonical raises #GP(0)
 * at the branch itself (SDM Vol. 2A JMP, "64-Bit Mode Exceptions").
 */

import type { Insn } from '../decode/insn.js';
import { cond } from './flags.js';
import { addr, pop, push, readE, type St } from './state.js';

/** Set the next RIP to next + rel (rel sign-extended, |rel| < 2^31); #GP(0) if not canonical. */
function jumpRel(s: St, rel: number): boolean {
  addr(s, s.nxLo, s.nxHi, rel);
  return jumpAbs(s, s.eaLo, s.eaHi);
}
function jumpAbs(s: St, lo: number, hi: number): boolean {
  if (!s.cpu.mmu.isCanonical(hi | 0)) {
    s.cpu.raise(13, 0);
    return false;
  }
  s.nxLo = lo >>> 0;
  s.nxHi = hi >>> 0;
  return true;
}

/** Jcc Jb/Jz (70+cc, 0F 80+cc). */
export function jcc(s: St, d: Insn): void {
  if (cond(s, d.cc)) {
    s.cpu.stats.cycles += s.costTaken;
    jumpRel(s, d.immLo | 0);
  } else s.cpu.stats.cycles += s.costNotTaken;
}

/** JMP Jb/Jz (EB, E9). */
export function jmp(s: St, d: Insn): void {
  s.cpu.stats.cycles += s.costTaken;
  jumpRel(s, d.immLo | 0);
}

/** JMP Ev (FF /4): absolute indirect. */
export function jmpE(s: St, d: Insn): void {
  const lo = readE(s, d, 8);
  if (s.cpu.xv >= 0) return;
  s.cpu.stats.cycles += s.costTaken;
  jumpAbs(s, lo, s.vHi);
}

/** CALL Jz (E8): push the next RIP, jump. The target is checked before the push. */
export function call(s: St, d: Insn): void {
  s.cpu.stats.cycles += s.costTaken;
  addr(s, s.nxLo, s.nxHi, d.immLo | 0);
  const tLo = s.eaLo, tHi = s.eaHi;
  if (!s.cpu.mmu.isCanonical(tHi)) {
    s.cpu.raise(13, 0);
    return;
  }
  if (!push(s, 8, s.nxLo, s.nxHi)) return;
  s.nxLo = tLo;
  s.nxHi = tHi >>> 0;
}

/** CALL Ev (FF /2). */
export function callE(s: St, d: Insn): void {
  const tLo = readE(s, d, 8);
  if (s.cpu.xv >= 0) return;
  const tHi = s.vHi;
  s.cpu.stats.cycles += s.costTaken;
  if (!s.cpu.mmu.isCanonical(tHi | 0)) {
    s.cpu.raise(13, 0);
    return;
  }
  if (!push(s, 8, s.nxLo, s.nxHi)) return;
  s.nxLo = tLo >>> 0;
  s.nxHi = tHi >>> 0;
}

/** RET (C3) and RET Iw (C2): pop RIP, then release imm16 bytes. */
export function ret(s: St, d: Insn): void {
  const oLo = s.lo[4], oHi = s.hi[4];
  const lo = pop(s, 8);
  if (s.cpu.xv >= 0) return;
  const hi = s.vHi;
  s.cpu.stats.cycles += s.costTaken;
  if (!jumpAbs(s, lo, hi)) {
    s.lo[4] = oLo;
    s.hi[4] = oHi;
    return;
  }
  const n = d.immLo & 0xffff;
  if (n !== 0) {
    addr(s, s.lo[4], s.hi[4], n);
    s.lo[4] = s.eaLo;
    s.hi[4] = s.eaHi;
  }
}

/**
 * LOOPNE (E0; d.cc 0), LOOPE (E1; 1), LOOP (E2; 2): decrement rCX (ECX with a 67 prefix) without touching
 * flags, branch while it is nonzero (and ZF as asked). JRCXZ/JECXZ (E3; d.cc 3): branch if rCX is zero.
 */
export function loop(s: St, d: Insn): void {
  let taken: boolean;
  const a32 = d.asz === 4;
  if (d.cc === 3) taken = a32 ? s.lo[1] === 0 : (s.lo[1] | s.hi[1]) === 0;
  else {
    let lo = s.lo[1], hi = s.hi[1];
    if (a32) {
      lo = (lo - 1) >>> 0;
      s.lo[1] = lo;
      s.hi[1] = 0; // a 32-bit register write
      taken = lo !== 0;
    } else {
      const l = (lo >>> 0) - 1;
      lo = l >>> 0;
      hi = (hi - (l < 0 ? 1 : 0)) >>> 0;
      s.lo[1] = lo;
      s.hi[1] = hi;
      taken = (lo | hi) !== 0;
    }
    if (taken && d.cc !== 2) taken = cond(s, 4) === (d.cc === 1);
  }
  if (taken) {
    s.cpu.stats.cycles += s.costTaken;
    jumpRel(s, d.immLo | 0);
  } else s.cpu.stats.cycles += s.costNotTaken;
}
