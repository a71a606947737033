/**
 * String instructions MOVS CMPS STOS LODS SCAS, all sizes, with REP / REPE / REPNE (SDM Vol. 2B "REP/REPE/
 * REPZ/REPNE/REPNZ"; Vol. 1 7.3.9). Each iteration retires as one instruction and charges the profile's
 * per-iteration cost; a run's instruction budget interrupts a REP between iterations with RIP still at the
 * instruction and rCX/rSI/rDI current, so `run()` continues it. A fault mid-way leaves the registers of the
 * completed iterations (the instruction restarts where it stopped), as on hardware.
 * The source is seg:[rSI] (DS, or an FS/GS override); the destination is [rDI] (ES: base 0, no override).
 */

import type { Insn } from '../decode/insn.js';
import { F_SUB } from './flags.js';
import { getR, load, setR, store, type St } from './state.js';
import { alu, ALU_CMP } from './arith.js';
import { RFLAGS_DF } from '../regs.js';

export const STR_MOVS = 0;
export const STR_CMPS = 1;
export const STR_STOS = 2;
export const STR_LODS = 3;
export const STR_SCAS = 4;

// Scratch for the source address (a typed array: a module variable would hold an address as a heap number).
const SA = new Float64Array(2);
function srcAddr(s: St, d: Insn): void {
  let lo = s.lo[6] >>> 0;
  let hi = d.asz === 4 ? 0 : s.hi[6];
  if (d.seg !== 0) {
    const x = lo + (d.seg === 4 ? s.fsLo : s.gsLo);
    lo = x >>> 0;
    hi = hi + (d.seg === 4 ? s.fsHi : s.gsHi) + (x > 0xffffffff ? 1 : 0);
  }
  SA[0] = lo;
  SA[1] = hi | 0;
}

/** Advance a pointer register by delta (|delta| <= 8) at the address size. */
function step(s: St, r: number, delta: number, a32: boolean): void {
  const l = (s.lo[r] >>> 0) + delta;
  s.lo[r] = l;
  if (a32) s.hi[r] = 0;
  else if (l < 0 || l > 0xffffffff) s.hi[r] = s.hi[r] + (l < 0 ? -1 : 1);
}

export function stringOp(s: St, d: Insn): void {
  const sz = d.osz;
  const op = d.cc;
  const a32 = d.asz === 4;
  const delta = (s.cpu.rflagsNum & RFLAGS_DF) !== 0 ? -sz : sz;
  const rep = d.rep;
  const max = s.budget;
  let n = 0;
  for (;;) {
    if (rep !== 0 && s.lo[1] === 0 && (a32 || s.hi[1] === 0)) break;
    // one iteration
    switch (op) {
      case STR_MOVS: {
        srcAddr(s, d);
        const v = load(s, SA[0]!, SA[1]!, sz, s.accR);
        if (s.cpu.xv >= 0) break;
        if (!store(s, s.lo[7], a32 ? 0 : s.hi[7], sz, v, s.vHi, s.accW)) break;
        step(s, 6, delta, a32);
        step(s, 7, delta, a32);
        break;
      }
      case STR_STOS:
        if (!store(s, s.lo[7], a32 ? 0 : s.hi[7], sz, getR(s, 0, sz), s.hi[0], s.accW)) break;
        step(s, 7, delta, a32);
        break;
      case STR_LODS: {
        srcAddr(s, d);
        const v = load(s, SA[0]!, SA[1]!, sz, s.accR);
        if (s.cpu.xv >= 0) break;
        setR(s, 0, sz, v, s.vHi);
        step(s, 6, delta, a32);
        break;
      }
      case STR_CMPS: {
        srcAddr(s, d);
        const a = load(s, SA[0]!, SA[1]!, sz, s.accR);
        if (s.cpu.xv >= 0) break;
        const ah = s.vHi;
        const b = load(s, s.lo[7], a32 ? 0 : s.hi[7], sz, s.accR);
        if (s.cpu.xv >= 0) break;
        alu(s, ALU_CMP, sz, a, ah, b, s.vHi);
        step(s, 6, delta, a32);
        step(s, 7, delta, a32);
        break;
      }
      default: {
        // SCAS: compare the accumulator with [rDI]
        const b = load(s, s.lo[7], a32 ? 0 : s.hi[7], sz, s.accR);
        if (s.cpu.xv >= 0) break;
        alu(s, ALU_CMP, sz, getR(s, 0, sz), s.hi[0], b, s.vHi);
        step(s, 7, delta, a32);
      }
    }
    if (s.cpu.xv >= 0) {
      // Faulted: the completed iterations retired; RIP stays at this instruction.
      s.extra = n;
      return;
    }
    n++;
    s.cpu.stats.cycles += s.costString;
    if (rep === 0) break;
    step(s, 1, -1, a32);
    if (s.lo[1] === 0 && (a32 || s.hi[1] === 0)) break;
    if (op === STR_CMPS || op === STR_SCAS) {
      const zf = s.fOp === F_SUB && (sz === 8 ? (s.fResLo | s.fResHi) === 0 : ((s.fResLo << (32 - sz * 8)) | 0) === 0);
      if (rep === 3 ? !zf : zf) break;
    }
    if (n >= max) {
      // Budget spent: stop between iterations; the instruction resumes on the next run.
      s.nxLo = s.ripLo;
      s.nxHi = s.ripHi;
      break;
    }
  }
  s.extra = n > 0 ? n - 1 : 0;
}
