/**
 * MUL, IMUL (one, two and three operands), DIV, IDIV (SDM Vol. 2A/2B). 64-bit products and quotients on
 * 32-bit halves, exact, without BigInt: 32x32 products from 16-bit pieces, division by shift-and-subtract.
 * #DE for a zero divisor or a quotient that does not fit (SDM Vol. 3A 6.15, interrupt 0), raised before
 * any register changes. MUL/IMUL: CF = OF = the high half is significant; SF ZF AF PF undefined (pksim: from
 * the low result, AF 0).
 */

import type { Insn } from '../decode/insn.js';
import { F_EXPL } from './flags.js';
import { getR, readE, setR, type St } from './state.js';

// Results of the helpers below go to a typed-array scratch, not to module variables: a module (context) variable
// holding a number outside the small-integer range is a heap number, so each such store would allocate one.
const W = new Float64Array(10);
const M_LO = 0, M_HI = 1, P0 = 2, P1 = 3, P2 = 4, P3 = 5, Q_LO = 6, Q_HI = 7, RM_LO = 8, RM_HI = 9;

// 32x32 -> 64 unsigned product into W[M_LO], W[M_HI].
function mul32(a: number, b: number): void {
  a >>>= 0;
  b >>>= 0;
  const aL = a & 0xffff, aH = a >>> 16, bL = b & 0xffff, bH = b >>> 16;
  const ll = aL * bL, lh = aL * bH, hl = aH * bL, hh = aH * bH;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  W[M_LO] = ((mid << 16) | (ll & 0xffff)) >>> 0;
  W[M_HI] = (hh + (lh >>> 16) + (hl >>> 16) + (mid >>> 16)) >>> 0;
}

// 64x64 -> 128 unsigned product into W[P0..P3] (32-bit words, P0 lowest).
function mul64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  mul32(aLo, bLo);
  W[P0] = W[M_LO];
  let c1 = W[M_HI];
  mul32(aLo, bHi);
  let c2 = W[M_HI];
  c1 += W[M_LO];
  mul32(aHi, bLo);
  c2 += W[M_HI];
  c1 += W[M_LO];
  mul32(aHi, bHi);
  let c3 = W[M_HI];
  c2 += W[M_LO] + (c1 - (c1 >>> 0)) / 4294967296; // carries (c1, c2 < 2^35)
  W[P1] = c1 >>> 0;
  c3 += (c2 - (c2 >>> 0)) / 4294967296;
  W[P2] = c2 >>> 0;
  W[P3] = c3 >>> 0;
}

/** Signed 64x64 -> 128 into W[P0]..W[P3]: the unsigned product, high half corrected for negative operands. */
function imul64(aLo: number, aHi: number, bLo: number, bHi: number): void {
  mul64(aLo, aHi, bLo, bHi);
  if ((aHi | 0) < 0) sub64hi(bLo, bHi);
  if ((bHi | 0) < 0) sub64hi(aLo, aHi);
}
function sub64hi(lo: number, hi: number): void {
  const l = W[P2] - (lo >>> 0);
  W[P2] = l >>> 0;
  W[P3] = (W[P3] - (hi >>> 0) - (l < 0 ? 1 : 0)) >>> 0;
}

function flagsMul(s: St, sz: number, lo: number, hi: number, overflow: boolean): void {
  s.fOp = F_EXPL;
  s.fSz = sz;
  s.fCin = overflow ? 0x801 : 0;
  s.fResLo = lo;
  s.fResHi = hi;
}

/** MUL Ev (F6/F7 /4): rDX:rAX = rAX * src (AX = AL * src for bytes). */
export function mulE(s: St, d: Insn): void {
  const sz = d.osz;
  const bLo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  const bHi = s.vHi;
  if (sz === 1) {
    const r = (s.lo[0] & 0xff) * bLo;
    setR(s, 0, 2, r, 0);
    flagsMul(s, 1, r & 0xff, 0, r > 0xff);
  } else if (sz === 2) {
    const r = (s.lo[0] & 0xffff) * bLo;
    setR(s, 0, 2, r & 0xffff, 0);
    setR(s, 2, 2, r >>> 16, 0);
    flagsMul(s, 2, r & 0xffff, 0, r > 0xffff);
  } else if (sz === 4) {
    mul32(s.lo[0], bLo);
    const lo = W[M_LO], hi = W[M_HI];
    setR(s, 0, 4, lo, 0);
    setR(s, 2, 4, hi, 0);
    flagsMul(s, 4, lo, 0, hi !== 0);
  } else {
    mul64(s.lo[0], s.hi[0], bLo, bHi);
    setR(s, 0, 8, W[P0], W[P1]);
    setR(s, 2, 8, W[P2], W[P3]);
    flagsMul(s, 8, W[P0], W[P1], (W[P2] | W[P3]) !== 0);
  }
}

/** Signed product of two operands at size sz into W[P0]..W[P3] (low..high); small sizes fit in W[P0]/W[P1]. */
function imulSized(sz: number, aLo: number, aHi: number, bLo: number, bHi: number): boolean {
  if (sz === 1 || sz === 2) {
    const sh = 32 - sz * 8;
    const r = ((aLo << sh) >> sh) * ((bLo << sh) >> sh);
    W[P0] = r >>> 0;
    W[P1] = r < 0 ? 0xffffffff : 0;
    const lim = sz === 1 ? 0x80 : 0x8000;
    return r < -lim || r >= lim;
  }
  if (sz === 4) {
    mul32(aLo, bLo);
    let hi = W[M_HI];
    if ((aLo | 0) < 0) hi = (hi - (bLo >>> 0)) >>> 0;
    if ((bLo | 0) < 0) hi = (hi - (aLo >>> 0)) >>> 0;
    W[P0] = W[M_LO];
    W[P1] = hi;
    return hi !== ((W[M_LO] | 0) < 0 ? 0xffffffff : 0);
  }
  imul64(aLo, aHi, bLo, bHi);
  const ext = (W[P1] | 0) < 0 ? 0xffffffff : 0;
  return W[P2] !== ext || W[P3] !== ext;
}

/** IMUL Ev (F6/F7 /5): full-width signed product into rDX:rAX. */
export function imulE(s: St, d: Insn): void {
  const sz = d.osz;
  const bLo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  const ov = imulSized(sz, s.lo[0], s.hi[0], bLo, s.vHi);
  if (sz === 1) setR(s, 0, 2, W[P0], 0);
  else if (sz === 2) {
    setR(s, 0, 2, W[P0], 0);
    setR(s, 2, 2, W[P0] >>> 16, 0);
  } else if (sz === 4) {
    setR(s, 0, 4, W[P0], 0);
    setR(s, 2, 4, W[P1], 0);
  } else {
    setR(s, 0, 8, W[P0], W[P1]);
    setR(s, 2, 8, W[P2], W[P3]);
  }
  flagsMul(s, sz, W[P0], W[P1], ov);
}

/** IMUL Gv,Ev (0F AF) and IMUL Gv,Ev,imm (69, 6B: d.imm2 = 1): truncated signed product. */
export function imulGE(s: St, d: Insn): void {
  const sz = d.osz;
  const bLo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  const bHi = s.vHi;
  const aLo = d.imm2 === 1 ? d.immLo : getR(s, d.reg, sz);
  const aHi = d.imm2 === 1 ? d.immHi : sz === 8 ? s.hi[d.reg] : 0;
  const ov = imulSized(sz, aLo, aHi, bLo, bHi);
  setR(s, d.reg, sz, W[P0], W[P1]);
  flagsMul(s, sz, W[P0], sz === 8 ? W[P1] : 0, ov);
}

// Unsigned division of (nh:nl) by d, `bits` wide each half, into W[Q_LO], W[Q_HI] and W[RM_LO], W[RM_HI]. Requires nh < d.
function udiv(nhLo: number, nhHi: number, nlLo: number, nlHi: number, dLo: number, dHi: number, bits: number): void {
  dLo >>>= 0;
  dHi >>>= 0;
  if (bits === 32 && nhLo === 0) {
    // common case: 32-bit dividend
    W[Q_LO] = Math.floor((nlLo >>> 0) / dLo) >>> 0;
    W[RM_LO] = ((nlLo >>> 0) - W[Q_LO] * dLo) >>> 0;
    W[Q_HI] = W[RM_HI] = 0;
    return;
  }
  if (dHi === 0) {
    // A divisor below 2^32 (then nh < d fits in nhLo): long division by 16-bit digits of nl, from the top, the
    // remainder starting at nh. Each partial dividend r * 2^16 + digit is below d * 2^16 < 2^48, exact in a
    // double, and its quotient digit (below 2^16) is the floor of the double quotient: a quotient that is not
    // an integer is at least 1/d < 2^-32 below the next one, far above a double's rounding at 2^16.
    let r = nhLo >>> 0;
    let x = 0;
    let q3 = 0;
    let q2 = 0;
    if (bits === 64) {
      x = r * 65536 + (nlHi >>> 16);
      q3 = Math.floor(x / dLo);
      r = x - q3 * dLo;
      x = r * 65536 + (nlHi & 0xffff);
      q2 = Math.floor(x / dLo);
      r = x - q2 * dLo;
    }
    x = r * 65536 + (nlLo >>> 16);
    const q1 = Math.floor(x / dLo);
    r = x - q1 * dLo;
    x = r * 65536 + (nlLo & 0xffff);
    const q0 = Math.floor(x / dLo);
    W[Q_LO] = q1 * 65536 + q0;
    W[Q_HI] = q3 * 65536 + q2;
    W[RM_LO] = x - q0 * dLo;
    W[RM_HI] = 0;
    return;
  }
  // A divisor of 2^32 or more (64-bit operands only: a 32-bit divisor is below 2^32): shift and subtract, a bit
  // of the quotient at a time.
  let rl = nhLo >>> 0, rh = nhHi >>> 0;
  let ql = 0, qh = 0;
  for (let i = 63; i >= 0; i--) {
    const inBit = i >= 32 ? (nlHi >>> (i - 32)) & 1 : (nlLo >>> i) & 1;
    const top = rh >>> 31;
    rh = ((rh << 1) | (rl >>> 31)) >>> 0;
    rl = ((rl << 1) | inBit) >>> 0;
    if (top === 1 || rh > dHi || (rh === dHi && rl >= dLo)) {
      const l = rl - dLo;
      rl = l >>> 0;
      rh = (rh - dHi - (l < 0 ? 1 : 0)) >>> 0;
      if (i >= 32) qh |= 1 << (i - 32);
      else ql |= 1 << i;
    }
  }
  W[Q_LO] = ql >>> 0;
  W[Q_HI] = qh >>> 0;
  W[RM_LO] = rl;
  W[RM_HI] = rh;
}

function divideError(s: St): void {
  s.cpu.raise(0, 0);
}

/** DIV Ev (F6/F7 /6): unsigned; #DE on a zero divisor or a quotient too large. */
export function divE(s: St, d: Insn): void {
  const sz = d.osz;
  const dLo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  const dHi = s.vHi;
  s.cpu.stats.cycles += s.divCost[sz];
  if (dLo === 0 && dHi === 0) return divideError(s);
  if (sz <= 2) {
    const n = sz === 1 ? s.lo[0] & 0xffff : (s.lo[2] & 0xffff) * 65536 + (s.lo[0] & 0xffff);
    const q = Math.floor(n / dLo);
    if (q >= (sz === 1 ? 0x100 : 0x10000)) return divideError(s);
    const r = n - q * dLo;
    if (sz === 1) setR(s, 0, 2, (r << 8) | q, 0);
    else {
      setR(s, 0, 2, q, 0);
      setR(s, 2, 2, r, 0);
    }
    return;
  }
  if (sz === 4) {
    if (s.lo[2] >>> 0 >= dLo >>> 0) return divideError(s);
    udiv(s.lo[2], 0, s.lo[0], 0, dLo, 0, 32);
    setR(s, 0, 4, W[Q_LO], 0);
    setR(s, 2, 4, W[RM_LO], 0);
    return;
  }
  const hh = s.hi[2] >>> 0, hl = s.lo[2] >>> 0;
  if (hh > dHi >>> 0 || (hh === dHi >>> 0 && hl >= dLo >>> 0)) return divideError(s);
  udiv(hl, hh, s.lo[0], s.hi[0], dLo, dHi, 64);
  setR(s, 0, 8, W[Q_LO], W[Q_HI]);
  setR(s, 2, 8, W[RM_LO], W[RM_HI]);
}

/** IDIV Ev (F6/F7 /7): signed, quotient truncated toward zero, remainder with the dividend's sign. */
export function idivE(s: St, d: Insn): void {
  const sz = d.osz;
  let dLo = readE(s, d, sz);
  if (s.cpu.xv >= 0) return;
  let dHi = s.vHi;
  s.cpu.stats.cycles += s.divCost[sz];
  if (dLo === 0 && dHi === 0) return divideError(s);
  if (sz <= 2) {
    const sh = 32 - sz * 8;
    const dv = (dLo << sh) >> sh;
    const n = sz === 1 ? (s.lo[0] << 16) >> 16 : ((s.lo[2] << 16) | (s.lo[0] & 0xffff)) | 0;
    const q = Math.trunc(n / dv);
    const lim = sz === 1 ? 0x80 : 0x8000;
    if (q >= lim || q < -lim) return divideError(s);
    const r = n - q * dv;
    if (sz === 1) setR(s, 0, 2, ((r & 0xff) << 8) | (q & 0xff), 0);
    else {
      setR(s, 0, 2, q & 0xffff, 0);
      setR(s, 2, 2, r & 0xffff, 0);
    }
    return;
  }
  // Work on magnitudes: negate the dividend (rDX:rAX) and divisor as needed, divide unsigned, fix signs.
  const wide = sz === 8;
  let nl = s.lo[0] >>> 0, nlh = wide ? s.hi[0] >>> 0 : 0, nh = s.lo[2] >>> 0, nhh = wide ? s.hi[2] >>> 0 : 0;
  const nNeg = wide ? (nhh | 0) < 0 : (nh | 0) < 0;
  const dNeg = wide ? (dHi | 0) < 0 : (dLo | 0) < 0;
  if (nNeg) {
    // two's complement of the double-width dividend
    nl = ~nl >>> 0; nlh = ~nlh >>> 0; nh = ~nh >>> 0; nhh = ~nhh >>> 0;
    if (!wide) { nlh = 0; nhh = 0; }
    nl = (nl + 1) >>> 0;
    if (nl === 0) {
      if (wide) { nlh = (nlh + 1) >>> 0; if (nlh === 0) { nh = (nh + 1) >>> 0; if (nh === 0) nhh = (nhh + 1) >>> 0; } }
      else nh = (nh + 1) >>> 0;
    }
  }
  if (dNeg) {
    if (wide) {
      dLo = (~dLo + 1) >>> 0;
      dHi = (~dHi + (dLo === 0 ? 1 : 0)) >>> 0;
    } else dLo = (-(dLo | 0)) >>> 0;
  }
  // quotient must fit unsigned first
  if (wide ? nhh > dHi >>> 0 || (nhh === dHi >>> 0 && nh >= dLo >>> 0) : nh >= dLo >>> 0) return divideError(s);
  udiv(nh, nhh, nl, nlh, dLo, wide ? dHi : 0, wide ? 64 : 32);
  const qNeg = nNeg !== dNeg;
  // |q| must be <= 2^(n-1) - 1, or 2^(n-1) when negative
  const top = wide ? W[Q_HI] >>> 0 : W[Q_LO] >>> 0;
  const rest = wide ? W[Q_LO] >>> 0 : 0;
  if (top > 0x80000000 || (top === 0x80000000 && (!qNeg || rest !== 0))) return divideError(s);
  let ql = W[Q_LO], qh = W[Q_HI], rl = W[RM_LO], rh = W[RM_HI];
  if (qNeg) {
    ql = (~ql + 1) >>> 0;
    qh = (~qh + (ql === 0 ? 1 : 0)) >>> 0;
  }
  if (nNeg) {
    rl = (~rl + 1) >>> 0;
    rh = (~rh + (rl === 0 ? 1 : 0)) >>> 0;
  }
  setR(s, 0, sz, ql, qh);
  setR(s, 2, sz, rl, rh);
}
