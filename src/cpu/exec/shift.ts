/**
 * Shifts and rotates (SDM Vol. 2B SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR, SHLD, SHRD). The count is masked to 5
 * bits (6 with a 64-bit operand); a masked count of 0 changes nothing, flags included (but a 32-bit register
 * destination is zero-extended, as every 32-bit register write is). OF is defined for a
 * count of 1 only; pksim computes the count-1 formula for every count (the differential tests ignore it).
 * Shifts set SF ZF PF from the result (AF undefined: 0); rotates change only CF and OF.
 */

import type { Insn } from '../decode/insn.js';
import { CF, F_EXPL, getFlags, OF, restoreFlags, saveFlags, setFlags } from './flags.js';
import { readE, writeE, getR, type St } from './state.js';

// 64-bit shifts on halves, into s.rLo / s.rHi (0 < n < 64).
function shl64(s: St, lo: number, hi: number, n: number): void {
  if (n < 32) {
    s.rHi = ((hi << n) | (lo >>> (32 - n))) >>> 0;
    s.rLo = (lo << n) >>> 0;
  } else {
    s.rHi = (lo << (n - 32)) >>> 0;
    s.rLo = 0;
  }
}
function shr64(s: St, lo: number, hi: number, n: number, arith: boolean): void {
  if (n < 32) {
    s.rLo = ((lo >>> n) | (hi << (32 - n))) >>> 0;
    s.rHi = (arith ? hi >> n : hi >>> n) >>> 0;
  } else {
    s.rLo = (arith ? hi >> (n - 32) : hi >>> (n - 32)) >>> 0;
    s.rHi = arith ? (hi >> 31) >>> 0 : 0;
  }
}
/** Bit n (0..63) of a 64-bit value. */
function bit64(lo: number, hi: number, n: number): number {
  return n < 32 ? (lo >>> n) & 1 : (hi >>> (n - 32)) & 1;
}

function setExplicit(s: St, sz: number, cf: number, of: number): void {
  s.fOp = F_EXPL;
  s.fSz = sz;
  s.fCin = (cf & 1) | (of ? OF : 0);
  s.fResLo = s.rLo;
  s.fResHi = s.rHi;
}

/** Shift/rotate v (halves) by n (already masked, nonzero) with group-2 operation op; result in rLo/rHi, flags set. */
export function shiftOp(s: St, op: number, sz: number, lo: number, hi: number, n: number): void {
  const bits = sz * 8;
  const mask = sz === 4 || sz === 8 ? 0xffffffff : (1 << bits) - 1;
  let cf = 0;
  if (sz < 8) {
    lo &= mask; // an int32, like the operand: int32 on one path and uint32 on another would box it
    hi = 0;
  }
  s.rHi = 0;
  switch (op) {
    case 4: // SHL/SAL
    case 6: {
      if (sz === 8) {
        shl64(s, lo, hi, n);
        cf = bit64(lo, hi, 64 - n);
      } else {
        s.rLo = n < 32 ? ((lo << n) & mask) >>> 0 : 0;
        cf = n <= bits ? (lo >>> (bits - n)) & 1 : 0;
      }
      const msb = sz === 8 ? s.rHi >>> 31 : (s.rLo >>> (bits - 1)) & 1;
      setExplicit(s, sz, cf, msb ^ cf);
      return;
    }
    case 5: // SHR
      if (sz === 8) shr64(s, lo, hi, n, false);
      else s.rLo = lo >>> n;
      cf = sz === 8 ? bit64(lo, hi, n - 1) : (lo >>> (n - 1)) & 1;
      setExplicit(s, sz, cf, sz === 8 ? hi >>> 31 : (lo >>> (bits - 1)) & 1);
      return;
    case 7: {
      // SAR
      if (sz === 8) {
        shr64(s, lo, hi, n, true);
        cf = bit64(lo, hi, n - 1);
      } else {
        const sv = (lo << (32 - bits)) >> (32 - bits);
        s.rLo = ((sv >> n) & mask) >>> 0;
        cf = (sv >> (n - 1)) & 1;
      }
      setExplicit(s, sz, cf, 0);
      return;
    }
    default:
      // int32 halves across the call: a uint32 argument of 2^31 or more would be boxed in a heap number
      rotate(s, op, sz, lo | 0, hi | 0, n);
  }
}

/**
 * A rotate (op 0-3) of v (int32 halves) by n: the result in rLo/rHi, CF and OF set. Every local stays an int32
 * (no `>>> 0` until the stores): a variable that is an int32 on one path and a uint32 on another is kept boxed
 * by V8, one heap number per rotate.
 */
function rotate(s: St, op: number, sz: number, lo: number, hi: number, n: number): void {
  const bits = sz * 8;
  const f = getFlags(s);
  let cf = f & CF;
  let rLo = lo;
  let rHi = hi;
  if (op === 0 || op === 1) {
    const k = n % bits;
    if (k !== 0) {
      if (sz === 8) {
        const k2 = op === 0 ? k : 64 - k;
        shl64(s, lo, hi, k2);
        const aLo = s.rLo, aHi = s.rHi;
        shr64(s, lo, hi, 64 - k2, false);
        rLo = aLo | s.rLo;
        rHi = aHi | s.rHi;
      } else {
        const mask = sz === 4 ? -1 : (1 << bits) - 1;
        const k2 = op === 0 ? k : bits - k;
        rLo = ((lo << k2) | (lo >>> (bits - k2))) & mask;
      }
    }
  } else {
    // RCL (2) / RCR (3): through CF, count modulo size + 1 for 8/16-bit operands; one bit at a time.
    const k = sz <= 2 ? n % (bits + 1) : n;
    for (let i = 0; i < k; i++) {
      if (op === 2) {
        const out = sz === 8 ? hi >>> 31 : (lo >>> (bits - 1)) & 1;
        if (sz === 8) hi = (hi << 1) | (lo >>> 31);
        lo = sz === 4 || sz === 8 ? (lo << 1) | cf : ((lo << 1) | cf) & ((1 << bits) - 1);
        cf = out;
      } else {
        const out = lo & 1;
        lo = sz === 8 ? (lo >>> 1) | (hi << 31) : (lo >>> 1) | (cf << (bits - 1));
        if (sz === 8) hi = (hi >>> 1) | (cf << 31);
        cf = out;
      }
    }
    rLo = lo;
    rHi = hi;
  }
  const msb = sz === 8 ? rHi >>> 31 : (rLo >>> (bits - 1)) & 1;
  const msb2 = sz === 8 ? (rHi >>> 30) & 1 : (rLo >>> (bits - 2)) & 1;
  let of: number;
  if (op === 0) {
    cf = rLo & 1;
    of = msb ^ cf;
  } else if (op === 1) {
    cf = msb;
    of = msb ^ msb2;
  } else if (op === 2) of = msb ^ cf;
  else {
    // RCR: OF = MSB of the original XOR the CF before (count 1); with the result: MSB ^ MSB-1.
    of = msb ^ msb2;
  }
  s.rLo = rLo >>> 0;
  s.rHi = sz === 8 ? rHi >>> 0 : 0;
  setFlags(s, (f & ~(CF | OF)) | cf | (of ? OF : 0));
}

function shiftBy(s: St, d: Insn, n: number): void {
  const sz = d.osz;
  const lo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  const hi = s.vHi;
  n &= sz === 8 ? 63 : 31;
  if (n === 0) {
    zeroExtendUnshifted(s, d, sz, lo);
    return;
  }
  saveFlags(s);
  shiftOp(s, d.ext, sz, lo, hi, n);
  if (!writeE(s, d, sz, s.rLo, s.rHi)) restoreFlags(s);
}

/**
 * A masked count of 0 leaves the value and the flags as they were, but a 32-bit register destination is still
 * written, so bits 63:32 are cleared as for any 32-bit operand (SDM Vol. 1 3.4.1.1; seen on the host CPU with
 * `sar r9d, 0x20`). A memory destination is not written.
 */
function zeroExtendUnshifted(s: St, d: Insn, sz: number, lo: number): void {
  if (sz === 4 && d.rm >= 0) writeE(s, d, 4, lo, 0);
}

/** Group 2 with an immediate count (C0, C1) or 1 (D0, D1: the decoder puts 1 in imm). */
export function shiftEI(s: St, d: Insn): void {
  shiftBy(s, d, d.immLo & 0xff);
}
/** Group 2 by CL (D2, D3). */
export function shiftECL(s: St, d: Insn): void {
  shiftBy(s, d, s.lo[1] & 0xff);
}


/** SHLD (0F A4 Ib, A5 CL; d.cc = 0) and SHRD (0F AC, AD; d.cc = 1); d.imm2 = 1 when the count is CL. */
export function shiftDouble(s: St, d: Insn): void {
  const sz = d.osz;
  const lo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  const hi = s.vHi;
  let n = (d.imm2 === 1 ? s.lo[1] : d.immLo) & (sz === 8 ? 63 : 31);
  if (n === 0) {
    zeroExtendUnshifted(s, d, sz, lo);
    return;
  }
  const srcLo = getR(s, d.reg, sz);
  const srcHi = sz === 8 ? s.hi[d.reg] : 0;
  const bits = sz * 8;
  let cf: number;
  if (sz === 8) {
    if (d.cc === 0) {
      shl64(s, lo, hi, n);
      const aLo = s.rLo, aHi = s.rHi;
      shr64(s, srcLo, srcHi, 64 - n, false);
      s.rLo = (aLo | s.rLo) >>> 0;
      s.rHi = (aHi | s.rHi) >>> 0;
      cf = bit64(lo, hi, 64 - n);
    } else {
      shr64(s, lo, hi, n, false);
      const aLo = s.rLo, aHi = s.rHi;
      shl64(s, srcLo, srcHi, 64 - n);
      s.rLo = (aLo | s.rLo) >>> 0;
      s.rHi = (aHi | s.rHi) >>> 0;
      cf = bit64(lo, hi, n - 1);
    }
  } else {
    // 16-bit with a count above 16 is undefined (SDM): pksim shifts the 32-bit concatenation.
    if (sz === 2 && n > 16) n = 16 + ((n - 16) & 15);
    const wide = sz === 2 ? ((lo & 0xffff) * 65536 + (srcLo & 0xffff)) : 0;
    if (d.cc === 0) {
      if (sz === 4) {
        s.rLo = ((lo << n) | (srcLo >>> (32 - n))) >>> 0;
        cf = (lo >>> (32 - n)) & 1;
      } else {
        s.rLo = Math.floor((wide * 2 ** n) / 65536) & 0xffff;
        cf = Math.floor(wide / 2 ** (32 - n)) & 1;
      }
    } else if (sz === 4) {
      s.rLo = ((lo >>> n) | (srcLo << (32 - n))) >>> 0;
      cf = (lo >>> (n - 1)) & 1;
    } else {
      const w2 = (srcLo & 0xffff) * 65536 + (lo & 0xffff);
      s.rLo = Math.floor(w2 / 2 ** n) & 0xffff;
      cf = Math.floor(w2 / 2 ** (n - 1)) & 1;
    }
    s.rHi = 0;
  }
  const msbOld = sz === 8 ? hi >>> 31 : (lo >>> (bits - 1)) & 1;
  const msb = sz === 8 ? s.rHi >>> 31 : (s.rLo >>> (bits - 1)) & 1;
  const rLo = s.rLo, rHi = s.rHi;
  saveFlags(s);
  setExplicit(s, sz, cf, msb ^ msbOld);
  if (!writeE(s, d, sz, rLo, rHi)) restoreFlags(s);
}
