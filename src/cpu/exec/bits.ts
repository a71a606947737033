/**
 * Bit instructions (SDM Vol. 2A: BT BTS BTR BTC, BSF BSR, TZCNT LZCNT, POPCNT). BT* with a register bit offset
 * and a memory operand address the bit string beyond the operand (bit offset signed, SDM "BT"): the access is
 * at ea + (offset >> 3 rounded to the operand size).
 */

import type { Insn } from '../decode/insn.js';
import { CF, F_EXPL, getFlags, setFlags, ZF } from './flags.js';
import { addr, ea, getR, load, readE, setR, store, type St } from './state.js';

/** bit op on (lo, hi): d.cc 0 BT, 1 BTS, 2 BTR, 3 BTC. Returns the old bit; result in rLo/rHi. */
function bitOp(s: St, op: number, lo: number, hi: number, n: number): number {
  const inHi = n >= 32;
  const m = 1 << (n & 31);
  const w = inHi ? hi : lo;
  const old = (w >>> (n & 31)) & 1;
  let nw = w;
  if (op === 1) nw = w | m;
  else if (op === 2) nw = w & ~m;
  else if (op === 3) nw = w ^ m;
  s.rLo = (inHi ? lo : nw) >>> 0;
  s.rHi = (inHi ? nw : hi) >>> 0;
  return old;
}

function finish(s: St, old: number): void {
  // CF = the bit; OF SF AF PF undefined (pksim keeps them); ZF unchanged.
  const f = getFlags(s);
  setFlags(s, (f & ~CF) | old);
}

/** BT* Ev,Gv (0F A3, AB, B3, BB). */
export function btEG(s: St, d: Insn): void {
  const sz = d.osz;
  const bits = sz * 8;
  if (d.rm >= 0) {
    const n = getR(s, d.reg, sz) & (bits - 1);
    const old = bitOp(s, d.cc, getR(s, d.rm, sz), sz === 8 ? s.hi[d.rm] : 0, n);
    if (d.cc !== 0) setR(s, d.rm, sz, s.rLo, s.rHi);
    finish(s, old);
    return;
  }
  // Memory: signed bit offset from the register (at operand size); the word holding the bit is at ea + 
  // (offset >> log2(bits)) * size.
  ea(s, d);
  let off: number;
  if (sz === 8) off = s.hi[d.reg] * 4294967296 + (s.lo[d.reg] >>> 0);
  else if (sz === 4) off = s.lo[d.reg] | 0;
  else off = (s.lo[d.reg] << 16) >> 16;
  const word = Math.floor(off / bits);
  const n = off - word * bits;
  const bytes = word * sz;
  if (bytes >= -0x80000000 && bytes < 0x80000000) addr(s, s.eaLo, s.eaHi, bytes);
  else {
    const l = s.eaLo + (bytes % 4294967296);
    const h = s.eaHi + Math.floor(bytes / 4294967296);
    s.eaLo = l >>> 0;
    s.eaHi = (h + Math.floor(l / 4294967296)) | 0;
  }
  const lo = load(s, s.eaLo, s.eaHi, sz, s.accR);
  if (s.cpu.xv >= 0) return;
  const old = bitOp(s, d.cc, lo, s.vHi, n);
  if (d.cc !== 0 && !store(s, s.eaLo, s.eaHi, sz, s.rLo, s.rHi, s.accW)) return;
  finish(s, old);
}

/** BT* Ev,Ib (0F BA /4../7; d.cc = ext - 4): bit offset modulo the operand size. */
export function btEI(s: St, d: Insn): void {
  const sz = d.osz;
  const lo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  const old = bitOp(s, d.cc, lo, s.vHi, d.immLo & (sz * 8 - 1));
  if (d.cc !== 0) {
    if (d.rm >= 0) setR(s, d.rm, sz, s.rLo, s.rHi);
    else if (!store(s, s.eaLo, s.eaHi, sz, s.rLo, s.rHi, s.accW)) return;
  }
  finish(s, old);
}

function clz32(v: number): number {
  return Math.clz32(v);
}
function ctz32(v: number): number {
  return v === 0 ? 32 : 31 - Math.clz32(v & -v);
}
function popcnt32(v: number): number {
  v = v - ((v >>> 1) & 0x55555555);
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (((v + (v >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

/**
 * BSF (0F BC; d.cc 0), BSR (0F BD; 1), TZCNT (F3 0F BC; 2), LZCNT (F3 0F BD; 3), POPCNT (F3 0F B8; 4).
 * BSF/BSR with a zero source: ZF = 1 and the destination unchanged (as hardware does; the SDM says
 * undefined). TZCNT/LZCNT: CF = source zero, ZF = result zero. POPCNT: ZF = source zero, other flags 0.
 */
export function bitScan(s: St, d: Insn): void {
  const sz = d.osz;
  const lo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  const hi = s.vHi;
  const bits = sz * 8;
  const zero = lo === 0 && (sz !== 8 || hi === 0);
  const f = getFlags(s);
  let r: number;
  switch (d.cc) {
    case 0:
    case 2:
      r = zero ? bits : lo !== 0 ? ctz32(lo) : 32 + ctz32(hi);
      break;
    case 1:
    case 3: {
      const lz = sz === 8 ? (hi !== 0 ? clz32(hi) : 32 + clz32(lo)) : clz32(lo) - (32 - bits);
      r = d.cc === 1 ? bits - 1 - lz : lz;
      break;
    }
    default:
      r = popcnt32(lo) + (sz === 8 ? popcnt32(hi) : 0);
  }
  if (d.cc <= 1) {
    if (!zero) setR(s, d.reg, sz, r, 0);
    // BSF/BSR: ZF = source zero; CF OF SF AF PF undefined (pksim: as for a logical result).
    s.fOp = F_EXPL;
    s.fSz = 4;
    s.fCin = 0;
    s.fResLo = zero ? 0 : 1;
    s.fResHi = 0;
    return;
  }
  setR(s, d.reg, sz, r, 0);
  if (d.cc === 4) setFlags(s, zero ? ZF : 0);
  else setFlags(s, (f & ~(CF | ZF)) | (zero ? CF : 0) | (r === 0 ? ZF : 0));
}
