/**
 * Lazy arithmetic flags (CF PF AF ZF SF OF; SDM Vol. 1 3.4.3.1). An instruction records what it did (the
 * operation, the operand size, the operands and the result as 32-bit halves) and the flags are computed only
 * when something reads them (Jcc, SETcc, CMOVcc, ADC, PUSHF, an exception...). No allocation.
 */

import type { St } from './state.js';

// Operation kinds of the recorded result.
export const F_RAW = 0; // flags are in fRaw (after POPF/SAHF/a materialization)
export const F_ADD = 1; // res = a + b (+ carry when fCin = 1)
export const F_SUB = 2; // res = a - b (- borrow when fCin = 1); NEG is SUB(0, x), CMP is SUB
export const F_LOGIC = 3; // CF = OF = 0 (AF undefined: 0)
export const F_INC = 4; // CF kept in fCin; b = 1
export const F_DEC = 5;
export const F_EXPL = 6; // CF and OF given explicitly in fCin (bit 0 CF, bit 11 OF); ZF SF PF from the result (shifts, MUL)

export const CF = 1;
export const PF = 4;
export const AF = 0x10;
export const ZF = 0x40;
export const SF = 0x80;
export const OF = 0x800;
export const ARITH = CF | PF | AF | ZF | SF | OF;

/** Parity of each byte value: PF (bit 2) set when the number of 1 bits is even. */
const PARITY = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  let n = 0;
  for (let b = i; b !== 0; b >>>= 1) n += b & 1;
  PARITY[i] = n % 2 === 0 ? PF : 0;
}

/** Unsigned a < b on 64-bit halves. */
function ltu64(aLo: number, aHi: number, bLo: number, bHi: number): boolean {
  return aHi >>> 0 < bHi >>> 0 || (aHi >>> 0 === bHi >>> 0 && aLo >>> 0 < bLo >>> 0);
}

export function getCF(s: St): number {
  const sz = s.fSz;
  switch (s.fOp) {
    case F_RAW:
      return s.fRaw & CF;
    case F_ADD: {
      if (sz === 8) {
        const lt = ltu64(s.fResLo, s.fResHi, s.fALo, s.fAHi);
        if (s.fCin === 0) return lt ? 1 : 0;
        return lt || ((s.fResLo ^ s.fALo) === 0 && (s.fResHi ^ s.fAHi) === 0) ? 1 : 0;
      }
      const m = sz === 4 ? 0xffffffff : sz === 2 ? 0xffff : 0xff;
      const r = (s.fResLo & m) >>> 0;
      const a = (s.fALo & m) >>> 0;
      return (s.fCin === 0 ? r < a : r <= a) ? 1 : 0;
    }
    case F_SUB: {
      if (sz === 8) {
        const lt = ltu64(s.fALo, s.fAHi, s.fBLo, s.fBHi);
        if (s.fCin === 0) return lt ? 1 : 0;
        return lt || ((s.fALo ^ s.fBLo) === 0 && (s.fAHi ^ s.fBHi) === 0) ? 1 : 0;
      }
      const m = sz === 4 ? 0xffffffff : sz === 2 ? 0xffff : 0xff;
      const a = (s.fALo & m) >>> 0;
      const b = (s.fBLo & m) >>> 0;
      return (s.fCin === 0 ? a < b : a <= b) ? 1 : 0;
    }
    case F_LOGIC:
      return 0;
    default: // INC, DEC, EXPL
      return s.fCin & CF;
  }
}

/** The sign bit of the result (0 or 1). */
function signOf(lo: number, hi: number, sz: number): number {
  return sz === 8 ? hi >>> 31 : (lo >>> (sz * 8 - 1)) & 1;
}

export function getZF(s: St): number {
  if (s.fOp === F_RAW) return s.fRaw & ZF;
  const sz = s.fSz;
  if (sz === 8) return (s.fResLo | s.fResHi) === 0 ? ZF : 0;
  const m = sz === 4 ? 0xffffffff : sz === 2 ? 0xffff : 0xff;
  return (s.fResLo & m) === 0 ? ZF : 0;
}

export function getSF(s: St): number {
  if (s.fOp === F_RAW) return s.fRaw & SF;
  return signOf(s.fResLo, s.fResHi, s.fSz) !== 0 ? SF : 0;
}

export function getPF(s: St): number {
  if (s.fOp === F_RAW) return s.fRaw & PF;
  return PARITY[s.fResLo & 0xff];
}

export function getAF(s: St): number {
  switch (s.fOp) {
    case F_RAW:
      return s.fRaw & AF;
    case F_ADD:
    case F_SUB:
    case F_INC:
    case F_DEC:
      return (s.fALo ^ s.fBLo ^ s.fResLo) & AF;
    default:
      return 0;
  }
}

export function getOF(s: St): number {
  const sz = s.fSz;
  let x: number;
  switch (s.fOp) {
    case F_RAW:
      return s.fRaw & OF;
    case F_ADD:
    case F_INC:
      // overflow when both operands have the sign opposite to the result's
      x = sz === 8 ? (s.fAHi ^ s.fResHi) & (s.fBHi ^ s.fResHi) : (s.fALo ^ s.fResLo) & (s.fBLo ^ s.fResLo);
      break;
    case F_SUB:
    case F_DEC:
      x = sz === 8 ? (s.fAHi ^ s.fBHi) & (s.fAHi ^ s.fResHi) : (s.fALo ^ s.fBLo) & (s.fALo ^ s.fResLo);
      break;
    case F_EXPL:
      return s.fCin & OF;
    default:
      return 0;
  }
  return signOf(x, x, sz) !== 0 ? OF : 0;
}

/** All six arithmetic flags as RFLAGS bits. */
export function getFlags(s: St): number {
  if (s.fOp === F_RAW) return s.fRaw;
  return getCF(s) | getPF(s) | getAF(s) | getZF(s) | getSF(s) | getOF(s);
}

/** Replace the six arithmetic flags. */
export function setFlags(s: St, bits: number): void {
  s.fOp = F_RAW;
  s.fRaw = bits & ARITH;
}

/**
 * Condition code cc (0..15, the low nibble of Jcc/SETcc/CMOVcc; SDM Vol. 1 Appendix B): O NO B AE E NE BE A
 * S NS P NP L GE LE G. Returns true when it holds.
 */
export function cond(s: St, cc: number): boolean {
  let r: boolean;
  // Fast path: flags from a compare/subtract of 32-bit or smaller operands without borrow-in.
  if (s.fOp === F_SUB && s.fCin === 0 && s.fSz === 4) {
    const a = s.fALo | 0;
    const b = s.fBLo | 0;
    switch (cc >> 1) {
      case 1:
        r = a >>> 0 < b >>> 0;
        return (cc & 1) === 0 ? r : !r;
      case 2:
        r = a === b;
        return (cc & 1) === 0 ? r : !r;
      case 3:
        r = a >>> 0 <= b >>> 0;
        return (cc & 1) === 0 ? r : !r;
      case 6:
        r = a < b;
        return (cc & 1) === 0 ? r : !r;
      case 7:
        r = a <= b;
        return (cc & 1) === 0 ? r : !r;
      default:
        break;
    }
  }
  switch (cc >> 1) {
    case 0:
      r = getOF(s) !== 0;
      break;
    case 1:
      r = getCF(s) !== 0;
      break;
    case 2:
      r = getZF(s) !== 0;
      break;
    case 3:
      r = getCF(s) !== 0 || getZF(s) !== 0;
      break;
    case 4:
      r = getSF(s) !== 0;
      break;
    case 5:
      r = getPF(s) !== 0;
      break;
    case 6:
      r = getSF(s) !== 0 !== (getOF(s) !== 0);
      break;
    default:
      r = getZF(s) !== 0 || getSF(s) !== 0 !== (getOF(s) !== 0);
  }
  return (cc & 1) === 0 ? r : !r;
}

// A faulting store must leave the flags as they were: handlers that record flags before their store save the
// lazy flags state (small) in scratch and put it back when the store faults. Not reentrant: save, compute,
// store, restore, with no other save in between. The scratch is a typed array: module variables holding numbers
// outside the small-integer range (addresses, results) would be heap numbers, one allocated per save.
const SV = new Float64Array(10);
export function saveFlags(s: St): void {
  SV[0] = s.fOp; SV[1] = s.fSz; SV[2] = s.fRaw; SV[3] = s.fResLo; SV[4] = s.fResHi;
  SV[5] = s.fCin; SV[6] = s.fALo; SV[7] = s.fAHi; SV[8] = s.fBLo; SV[9] = s.fBHi;
}
export function restoreFlags(s: St): void {
  s.fOp = SV[0]!; s.fSz = SV[1]!; s.fRaw = SV[2]!; s.fResLo = SV[3]!; s.fResHi = SV[4]!;
  s.fCin = SV[5]!; s.fALo = SV[6]!; s.fAHi = SV[7]!; s.fBLo = SV[8]!; s.fBHi = SV[9]!;
}
