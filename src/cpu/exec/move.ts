/**
 * Data movement (SDM Vol. 2: MOV, MOVZX, MOVSX, MOVSXD, LEA, XCHG, CBW/CWDE/CDQE, CWD/CDQ/CQO, BSWAP, MOVBE,
 * XLAT, SETcc, CMOVcc). No flags change.
 */

import type { Insn } from '../decode/insn.js';
import { cond } from './flags.js';
import { ea, getR, load, readE, setR, store, writeE, type St } from './state.js';

/** MOV Ev,Gv (88, 89). */
export function movEG(s: St, d: Insn): void {
  const sz = d.osz;
  const lo = getR(s, d.reg, sz);
  const hi = sz === 8 ? s.hi[d.reg] : 0;
  if (d.rm >= 0) setR(s, d.rm, sz, lo, hi);
  else {
    ea(s, d);
    store(s, s.eaLo, s.eaHi, sz, lo, hi, s.accW);
  }
}

/** MOV Gv,Ev (8A, 8B). */
export function movGE(s: St, d: Insn): void {
  const sz = d.osz;
  const lo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  setR(s, d.reg, sz, lo, s.vHi);
}

/** MOV Ev,imm (C6 /0, C7 /0: imm32 sign-extended for 64-bit). */
export function movEI(s: St, d: Insn): void {
  if (d.rm >= 0) setR(s, d.rm, d.osz, d.immLo, d.immHi);
  else {
    ea(s, d);
    store(s, s.eaLo, s.eaHi, d.osz, d.immLo, d.immHi, s.accW);
  }
}

/** MOV Zb,Ib / MOV Zv,Iv (B0+r, B8+r; with REX.W a 64-bit immediate: MOVABS). */
export function movZI(s: St, d: Insn): void {
  setR(s, d.reg, d.osz, d.immLo, d.immHi);
}

/** MOV AL/rAX,moffs (A0, A1) — d.cc 0 — and MOV moffs,AL/rAX (A2, A3) — d.cc 1. */
export function movMoffs(s: St, d: Insn): void {
  ea(s, d);
  if (d.cc === 0) {
    const lo = load(s, s.eaLo, s.eaHi, d.osz, s.accR);
    if (s.cpu.xv >= 0) return;
    setR(s, 0, d.osz, lo, s.vHi);
  } else store(s, s.eaLo, s.eaHi, d.osz, getR(s, 0, d.osz), d.osz === 8 ? s.hi[0] : 0, s.accW);
}

/** MOVZX Gv,Eb/Ew (0F B6, B7): d.cc is the source size. */
export function movzx(s: St, d: Insn): void {
  const v = readE(s, d, d.cc > d.osz ? d.osz : d.cc);
  if (s.cpu.xv >= 0) return;
  setR(s, d.reg, d.osz, v, 0);
}

/** MOVSX Gv,Eb/Ew (0F BE, BF) and MOVSXD Gv,Ed (63): d.cc is the source size. */
export function movsx(s: St, d: Insn): void {
  const ssz = d.cc > d.osz ? d.osz : d.cc; // MOVSXD with a 16-bit operand moves 16 bits
  const v = readE(s, d, ssz);
  if (s.cpu.xv >= 0) return;
  const sh = 32 - ssz * 8;
  const x = sh === 0 ? v | 0 : (v << sh) >> sh;
  setR(s, d.reg, d.osz, x >>> 0, x < 0 ? 0xffffffff : 0);
}

/** LEA Gv,M (8D): the effective address without any segment base (SDM Vol. 2A LEA), truncated to size. */
export function lea(s: St, d: Insn): void {
  const seg = d.seg;
  d.seg = 0;
  ea(s, d);
  d.seg = seg;
  setR(s, d.reg, d.osz, s.eaLo, s.eaHi);
}

/** XCHG Ev,Gv (86, 87; locked implicitly with a memory operand) and XCHG rAX,Zv (90+r; d.rm = 0). */
export function xchg(s: St, d: Insn): void {
  const sz = d.osz;
  const aLo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  const aHi = s.vHi;
  const bLo = getR(s, d.reg, sz);
  const bHi = sz === 8 ? s.hi[d.reg] : 0;
  if (!writeE(s, d, sz, bLo, bHi)) return;
  setR(s, d.reg, sz, aLo, aHi);
}

/** CBW / CWDE / CDQE (98): sign-extend the lower half of the accumulator into it. */
export function cbw(s: St, d: Insn): void {
  const a = s.lo[0];
  if (d.osz === 2) setR(s, 0, 2, ((a << 24) >> 24) & 0xffff, 0);
  else if (d.osz === 4) setR(s, 0, 4, ((a << 16) >> 16) >>> 0, 0);
  else setR(s, 0, 8, a, (a | 0) < 0 ? 0xffffffff : 0);
}

/** CWD / CDQ / CQO (99): rDX = sign of rAX. */
export function cwd(s: St, d: Insn): void {
  const neg = d.osz === 2 ? (s.lo[0] & 0x8000) !== 0 : d.osz === 4 ? (s.lo[0] | 0) < 0 : (s.hi[0] | 0) < 0;
  const m = neg ? 0xffffffff : 0;
  setR(s, 2, d.osz, m, m);
}

function bswap32(v: number): number {
  return (((v & 0xff) << 24) | ((v & 0xff00) << 8) | ((v >>> 8) & 0xff00) | (v >>> 24)) >>> 0;
}

/** BSWAP Zv (0F C8+r). With a 16-bit operand the result is undefined (SDM); pksim clears the low word as hardware does. */
export function bswap(s: St, d: Insn): void {
  const r = d.reg;
  if (d.osz === 8) {
    const lo = s.lo[r];
    s.lo[r] = bswap32(s.hi[r]);
    s.hi[r] = bswap32(lo);
  } else if (d.osz === 4) setR(s, r, 4, bswap32(s.lo[r]), 0);
  else setR(s, r, 2, 0, 0);
}

/** MOVBE Gv,Mv (0F 38 F0; d.cc 0) and MOVBE Mv,Gv (0F 38 F1; d.cc 1): a byte-swapping move. */
export function movbe(s: St, d: Insn): void {
  const sz = d.osz;
  ea(s, d);
  if (d.cc === 0) {
    const lo = load(s, s.eaLo, s.eaHi, sz, s.accR);
    if (s.cpu.xv >= 0) return;
    if (sz === 8) setR(s, d.reg, 8, bswap32(s.vHi), bswap32(lo));
    else if (sz === 4) setR(s, d.reg, 4, bswap32(lo), 0);
    else setR(s, d.reg, 2, ((lo & 0xff) << 8) | ((lo >>> 8) & 0xff), 0);
  } else {
    const lo = s.lo[d.reg];
    if (sz === 8) store(s, s.eaLo, s.eaHi, 8, bswap32(s.hi[d.reg]), bswap32(lo), s.accW);
    else if (sz === 4) store(s, s.eaLo, s.eaHi, 4, bswap32(lo), 0, s.accW);
    else store(s, s.eaLo, s.eaHi, 2, ((lo & 0xff) << 8) | ((lo >>> 8) & 0xff), 0, s.accW);
  }
}

/** XLAT (D7): AL = [seg: rBX + zero-extended AL] (EBX + AL, truncated, with a 67 prefix). */
export function xlat(s: St, d: Insn): void {
  const l = (s.lo[3] >>> 0) + (s.lo[0] & 0xff);
  let lo = l >>> 0;
  let hi = d.asz === 4 ? 0 : (s.hi[3] + (l > 0xffffffff ? 1 : 0)) | 0;
  if (d.seg !== 0) {
    const x = lo + (d.seg === 4 ? s.fsLo : s.gsLo);
    lo = x >>> 0;
    hi = (hi + (d.seg === 4 ? s.fsHi : s.gsHi) + (x > 0xffffffff ? 1 : 0)) | 0;
  }
  const v = load(s, lo, hi, 1, s.accR);
  if (s.cpu.xv >= 0) return;
  setR(s, 0, 1, v, 0);
}

/** SETcc Eb (0F 90+cc). */
export function setcc(s: St, d: Insn): void {
  const v = cond(s, d.cc) ? 1 : 0;
  if (d.rm >= 0) setR(s, d.rm, 1, v, 0);
  else {
    ea(s, d);
    store(s, s.eaLo, s.eaHi, 1, v, 0, s.accW);
  }
}

/**
 * CMOVcc Gv,Ev (0F 40+cc). The source is read whatever the condition (a memory fault happens either way);
 * with a 32-bit operand the destination's upper half is cleared even when the condition is false (SDM).
 */
export function cmovcc(s: St, d: Insn): void {
  const sz = d.osz;
  const lo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  if (cond(s, d.cc)) setR(s, d.reg, sz, lo, s.vHi);
  else if (sz === 4) s.hi[d.reg] = 0;
}
