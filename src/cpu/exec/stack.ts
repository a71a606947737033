/**
 * Stack instructions (SDM Vol. 2B PUSH, POP, PUSHF, POPF, LEAVE; Vol. 2A ENTER). In 64-bit mode the operand
 * size is 64 bits, or 16 with a 66 prefix (32 cannot be encoded). Stack references use ACC_STACK (#SS for a
 * non-canonical address). RSP changes only once the access succeeded.
 */

import type { Insn } from '../decode/insn.js';
import { ARITH, getFlags, setFlags } from './flags.js';
import { addr, ea, getR, load, pop, push, readE, setR, store, type St } from './state.js';
import { RFLAGS_AC, RFLAGS_DF, RFLAGS_ID, RFLAGS_IF, RFLAGS_IOPL, RFLAGS_NT, RFLAGS_TF } from '../regs.js';

/** PUSH Zv (50+r). */
export function pushZ(s: St, d: Insn): void {
  push(s, d.osz, getR(s, d.reg, d.osz), s.hi[d.reg]);
}
/** POP Zv (58+r). */
export function popZ(s: St, d: Insn): void {
  const lo = pop(s, d.osz);
  if (s.cpu.xv >= 0) return;
  setR(s, d.reg, d.osz, lo, s.vHi);
}
/** PUSH imm (68 Iz, 6A Ib): sign-extended to the operand size. */
export function pushI(s: St, d: Insn): void {
  push(s, d.osz, d.immLo, d.immHi);
}
/** PUSH Ev (FF /6). */
export function pushE(s: St, d: Insn): void {
  const lo = readE(s, d, d.osz);
  if (s.cpu.xv >= 0) return;
  push(s, d.osz, lo, s.vHi);
}
/** POP Ev (8F /0): RSP is incremented before the destination address is computed (SDM POP). */
export function popE(s: St, d: Insn): void {
  const sz = d.osz;
  const oLo = s.lo[4], oHi = s.hi[4];
  const lo = pop(s, sz);
  if (s.cpu.xv >= 0) return;
  const hi = s.vHi;
  if (d.rm >= 0) {
    setR(s, d.rm, sz, lo, hi);
    return;
  }
  ea(s, d);
  if (!store(s, s.eaLo, s.eaHi, sz, lo, hi, s.accW)) {
    s.lo[4] = oLo;
    s.hi[4] = oHi;
  }
}

/** The architectural RFLAGS value now (lazy flags folded in). */
export function rflagsNow(s: St): number {
  return ((s.cpu.rflagsNum & ~ARITH) | getFlags(s)) >>> 0;
}

/** Write RFLAGS (non-arithmetic bits through the Cpu, which keeps the MMU's view of AC). */
export function writeRflags(s: St, v: number): void {
  setFlags(s, v);
  s.cpu.setRflagsBits(v);
}

/** PUSHF (9C): RF and VM are pushed as 0. */
export function pushf(s: St, d: Insn): void {
  const f = rflagsNow(s) & ~0x30000;
  push(s, d.osz, f, 0);
}

/**
 * POPF (9D; SDM Vol. 2B): at CPL 0 every flag but VM/RF/VIF/VIP may change; IOPL only at CPL 0; IF only when
 * CPL <= IOPL. A 16-bit POPF changes only the low 16 bits.
 */
export function popf(s: St, d: Insn): void {
  const v = pop(s, d.osz);
  if (s.cpu.xv >= 0) return;
  const cpl = s.cpu.cpl;
  const old = rflagsNow(s);
  const iopl = (old & RFLAGS_IOPL) >>> 12;
  let mask = ARITH | RFLAGS_TF | RFLAGS_DF | RFLAGS_NT | RFLAGS_AC | RFLAGS_ID;
  if (cpl === 0) mask |= RFLAGS_IOPL;
  if (cpl <= iopl) mask |= RFLAGS_IF;
  if (d.osz === 2) mask &= 0xffff;
  writeRflags(s, (old & ~mask) | (v & mask));
}

/** LEAVE (C9; SDM Vol. 2A LEAVE): RSP = RBP, then POP RBP (the read first: a fault leaves both registers as they were). */
export function leave(s: St, d: Insn): void {
  const lo = load(s, s.lo[5], s.hi[5], d.osz, s.accSR);
  if (s.cpu.xv >= 0) return;
  const hi = s.vHi;
  addr(s, s.lo[5], s.hi[5], d.osz);
  s.lo[4] = s.eaLo;
  s.hi[4] = s.eaHi;
  setR(s, 5, d.osz, lo, hi);
}

/**
 * ENTER Iw,Ib (C8; SDM Vol. 2A): push RBP; copy level-1 frame pointers from the old frame; push the new frame
 * pointer; RBP = frame; RSP -= size. Every access is made before any register changes.
 */
export function enter(s: St, d: Insn): void {
  const sz = d.osz;
  const size = d.immLo & 0xffff;
  const level = d.imm2 & 31;
  const rsp0Lo = s.lo[4], rsp0Hi = s.hi[4];
  const rbpLo = s.lo[5], rbpHi = s.hi[5];
  if (!push(s, sz, rbpLo, rbpHi)) return;
  const frameLo = s.lo[4], frameHi = s.hi[4];
  let bpLo = rbpLo, bpHi = rbpHi;
  const fail = (): void => {
    s.lo[4] = rsp0Lo;
    s.hi[4] = rsp0Hi;
  };
  if (level > 0) {
    for (let i = 1; i < level; i++) {
      addr(s, bpLo, bpHi, -sz);
      bpLo = s.eaLo;
      bpHi = s.eaHi;
      const v = load(s, bpLo, bpHi, sz, s.accSR);
      if (s.cpu.xv >= 0) return fail();
      if (!push(s, sz, v, s.vHi)) return fail();
    }
    if (!push(s, sz, frameLo, frameHi)) return fail();
  }
  // The final RSP must be a valid stack address: probe it as a write (SDM: #SS if it is not).
  addr(s, s.lo[4], s.hi[4], -size);
  const nLo = s.eaLo, nHi = s.eaHi;
  if (size > 0 && s.cpu.xlate(nLo, nHi, s.accSW) < 0) return fail();
  setR(s, 5, sz, frameLo, frameHi);
  s.lo[4] = nLo;
  s.hi[4] = nHi;
}
