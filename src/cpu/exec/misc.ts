/** Flag instructions and NOP forms (SDM Vol. 2: CLC STC CMC CLD STD LAHF SAHF, NOP, PAUSE, UD2, XCHG rAX). */

import type { Insn } from '../decode/insn.js';
import { CF, getFlags, setFlags } from './flags.js';
import { getR, setR, type St } from './state.js';
import { RFLAGS_DF } from '../regs.js';

export function nop(_s: St, _d: Insn): void {}

/** UD2 (0F 0B): #UD. */
export function ud(s: St, _d: Insn): void {
  s.cpu.raise(6, 0);
}

/** XCHG Zv,rAX (90+r). 90 itself (register 0, with or without REX.W) is NOP: no zero-extension. */
export function xchgZA(s: St, d: Insn): void {
  if (d.reg === 0) return;
  const sz = d.osz;
  const aLo = getR(s, 0, sz), aHi = s.hi[0];
  setR(s, 0, sz, getR(s, d.reg, sz), s.hi[d.reg]);
  setR(s, d.reg, sz, aLo, aHi);
}

export function clc(s: St, _d: Insn): void {
  setFlags(s, getFlags(s) & ~CF);
}
export function stc(s: St, _d: Insn): void {
  setFlags(s, getFlags(s) | CF);
}
export function cmc(s: St, _d: Insn): void {
  setFlags(s, getFlags(s) ^ CF);
}
export function cld(s: St, _d: Insn): void {
  s.cpu.setRflagsBits(s.cpu.rflagsNum & ~RFLAGS_DF);
}
export function std(s: St, _d: Insn): void {
  s.cpu.setRflagsBits(s.cpu.rflagsNum | RFLAGS_DF);
}
/** LAHF (9F): AH = SF:ZF:0:AF:0:PF:1:CF. */
export function lahf(s: St, _d: Insn): void {
  setR(s, 16, 1, (getFlags(s) & 0xd5) | 2, 0);
}
/** SAHF (9E): SF ZF AF PF CF from AH; OF kept. */
export function sahf(s: St, _d: Insn): void {
  const ah = (s.lo[0] >>> 8) & 0xd5;
  setFlags(s, (getFlags(s) & 0x800) | ah);
}
