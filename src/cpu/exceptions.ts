/**
 * Exception and interrupt delivery in IA-32e mode (SDM Vol. 3A 6.14 "Exception and Interrupt Handling in
 * 64-bit Mode", 6.12.1 gate checks, 6.15 the exception classes and Table 6-5 "Conditions for Generating a
 * Double Fault"), and IRETQ. Every IDT, GDT and TSS read is an implicit supervisor-mode access (SDM 4.6).
 *
 * - The gate: 16 bytes at IDTR.base + 16 * vector; an interrupt (0xE) or trap (0xF) gate, present, with a
 *   DPL >= CPL for INT n / INT3 (software); its selector must name a present 64-bit code segment in the GDT
 *   whose DPL <= CPL. Violations raise #GP/#NP with the IDT error code (vector * 8 + 2 + EXT).
 * - The stack: IST n when the gate names one, else TSS.RSPn when the CPL changes, else the current RSP;
 *   aligned to 16 bytes; SS, RSP, RFLAGS, CS, RIP and the error code (if any) are pushed, 8 bytes each.
 * - Then TF, NT, RF (and IF through an interrupt gate) are cleared and the handler runs at the new CPL.
 * A fault while delivering combines with the first as Table 6-5 says: contributory + contributory, or #PF +
 * (#PF or contributory), gives #DF; any of those during #DF is a triple fault (shutdown).
 */

import { ACC_IMPLICIT, ACC_READ, ACC_STACK, ACC_USER, ACC_WRITE } from '../mmu/rights.js';
import { VEC_DF, VEC_GP, VEC_NP, VEC_PF, VEC_TS } from './faults.js';
import { ARITH } from './exec/flags.js';
import { addr, pop, type St } from './exec/state.js';
import { rflagsNow, writeRflags } from './exec/stack.js';
import { RFLAGS_AC, RFLAGS_DF, RFLAGS_ID, RFLAGS_IF, RFLAGS_IOPL, RFLAGS_NT, RFLAGS_RF, RFLAGS_TF, RFLAGS_VIF, RFLAGS_VIP, RFLAGS_VM } from './regs.js';

export const DELIVERED = 0;
/** The IDT is not set up (IDTR limit 0): the run returns the exception instead. */
export const NO_IDT = 1;
export const TRIPLE_FAULT = 2;

/** Vectors that push an error code (SDM 6.15). */
export function hasErrorCode(vector: number): boolean {
  return vector === 8 || vector === 10 || vector === 11 || vector === 12 || vector === 13 || vector === 14 || vector === 17 || vector === 21;
}

/** Exception class for Table 6-5: 0 benign, 1 contributory, 2 page fault, 3 double fault. */
function faultClass(v: number): number {
  if (v === 0 || v === 10 || v === 11 || v === 12 || v === 13) return 1;
  if (v === VEC_PF) return 2;
  if (v === VEC_DF) return 3;
  return 0;
}

const IMPL_R = ACC_READ | ACC_IMPLICIT;

function rd32(s: St, base: bigint, off: number): number {
  const a = BigInt.asUintN(64, base + BigInt(off));
  return s.cpu.load(Number(a & 0xffffffffn), Number(a >> 32n) | 0, 4, IMPL_R);
}

/**
 * Deliver an exception or interrupt. `soft`: INT n / INT3 (the gate's DPL is checked, no error code).
 * `retLo/retHi`: the RIP to push (the faulting instruction, or the next one for traps).
 */
export function deliver(s: St, vector: number, errorCode: number, soft: boolean, retLo: number, retHi: number): number {
  const cpu = s.cpu;
  if (s.idtrLimit === 0) return NO_IDT;
  let vec = vector;
  let ec = errorCode;
  let ext = soft ? 0 : 1;
  let withEc = !soft && hasErrorCode(vec);
  for (let depth = 0; depth < 4; depth++) {
    cpu.xv = -1;
    if (tryDeliver(s, vec, ec, withEc, soft, ext, retLo, retHi)) {
      cpu.stats.cycles += cpu.profile.interrupt.entry;
      return DELIVERED;
    }
    const nested = cpu.xv;
    const nestedEc = cpu.xec;
    cpu.xv = -1;
    const c1 = faultClass(vec);
    const c2 = faultClass(nested);
    if (c1 === 3 && (c2 === 1 || c2 === 2)) return TRIPLE_FAULT;
    if ((c1 === 1 && c2 === 1) || (c1 === 2 && (c2 === 1 || c2 === 2))) {
      vec = VEC_DF;
      ec = 0;
    } else {
      vec = nested;
      ec = nestedEc;
    }
    withEc = hasErrorCode(vec);
    soft = false;
    ext = 1;
  }
  return TRIPLE_FAULT;
}

function tryDeliver(s: St, vec: number, ec: number, withEc: boolean, soft: boolean, ext: number, retLo: number, retHi: number): boolean {
  const cpu = s.cpu;
  const cpl = cpu.cpl;
  const idtCode = vec * 8 + 2 + ext;
  if (vec * 16 + 15 > s.idtrLimit) return cpu.raise(VEC_GP, idtCode);
  const w0 = rd32(s, s.idtrBase, vec * 16);
  if (cpu.xv >= 0) return false;
  const w1 = rd32(s, s.idtrBase, vec * 16 + 4);
  if (cpu.xv >= 0) return false;
  const w2 = rd32(s, s.idtrBase, vec * 16 + 8);
  if (cpu.xv >= 0) return false;
  const type = (w1 >>> 8) & 0x1f; // with the S bit (12): 0x0E / 0x0F for 64-bit gates
  if (type !== 0x0e && type !== 0x0f) return cpu.raise(VEC_GP, idtCode);
  if (soft && ((w1 >>> 13) & 3) < cpl) return cpu.raise(VEC_GP, vec * 8 + 2);
  if ((w1 & 0x8000) === 0) return cpu.raise(VEC_NP, idtCode);
  const sel = w0 >>> 16;
  const ist = w1 & 7;
  const offLo = ((w1 & 0xffff0000) | (w0 & 0xffff)) >>> 0;
  const offHi = w2 | 0;
  // The code segment (SDM 6.12.1.1, 6.14.1)
  if ((sel & ~3) === 0) return cpu.raise(VEC_GP, ext);
  if ((sel & 4) !== 0 || (sel | 7) > s.gdtrLimit) return cpu.raise(VEC_GP, (sel & ~3) + ext);
  const dh = rd32(s, s.gdtrBase, (sel & ~7) + 4);
  if (cpu.xv >= 0) return false;
  const isCode = (dh & 0x1800) === 0x1800;
  const dpl = (dh >>> 13) & 3;
  const conforming = (dh & 0x400) !== 0;
  if (!isCode || (dh & 0x200000) === 0 || dpl > cpl) return cpu.raise(VEC_GP, (sel & ~3) + ext);
  if ((dh & 0x8000) === 0) return cpu.raise(VEC_NP, (sel & ~3) + ext);
  const newCpl = conforming ? cpl : dpl;
  if (!cpu.mmu.isCanonical(offHi)) return cpu.raise(VEC_GP, ext);
  // The stack (SDM 6.14.4, 6.14.5)
  let spLo = s.lo[4];
  let spHi = s.hi[4] | 0;
  const tssOff = ist !== 0 ? 0x24 + 8 * (ist - 1) : newCpl < cpl ? 4 + 8 * newCpl : -1;
  if (tssOff >= 0) {
    if (tssOff + 7 > s.trLimit) return cpu.raise(VEC_TS, (s.trSel & ~3) + ext);
    spLo = rd32(s, s.trBase, tssOff);
    if (cpu.xv >= 0) return false;
    spHi = rd32(s, s.trBase, tssOff + 4) | 0;
    if (cpu.xv >= 0) return false;
  }
  spLo = (spLo & ~15) >>> 0;
  const frame = withEc ? 48 : 40;
  const flags = rflagsNow(s);
  const acc = ACC_WRITE | ACC_STACK | (newCpl === 3 ? ACC_USER : 0);
  // Translate the whole frame for writing before writing any of it.
  addr(s, spLo, spHi, -frame);
  const fLo = s.eaLo;
  const fHi = s.eaHi;
  if (cpu.xlate(fLo, fHi, acc) < 0) return false;
  addr(s, spLo, spHi, -8);
  if (cpu.xlate(s.eaLo, s.eaHi, acc) < 0) return false;
  const vals = PUSH_VALS;
  vals[0] = s.ss; vals[1] = 0; // SS
  vals[2] = s.lo[4]; vals[3] = s.hi[4]; // old RSP
  vals[4] = flags; vals[5] = 0;
  vals[6] = s.cs; vals[7] = 0;
  vals[8] = retLo; vals[9] = retHi;
  vals[10] = ec; vals[11] = 0;
  const n = withEc ? 6 : 5;
  for (let i = 0; i < n; i++) {
    addr(s, spLo, spHi, -8 * (i + 1));
    if (!cpu.store(s.eaLo, s.eaHi, 8, vals[2 * i], vals[2 * i + 1], acc)) return false;
  }
  // Commit
  s.lo[4] = fLo;
  s.hi[4] = fHi >>> 0;
  if (newCpl !== cpl) s.ss = newCpl; // a null SS with RPL = new CPL (SDM 6.14.4)
  s.cs = (sel & ~3) | newCpl;
  let nf = flags & ~(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM);
  if ((w1 & 0x100) === 0) nf &= ~RFLAGS_IF; // interrupt gate (type 0xE)
  writeRflags(s, nf);
  cpu.cpl = newCpl as 0 | 3;
  s.cplChanged();
  s.nxLo = offLo;
  s.nxHi = offHi >>> 0;
  return true;
}
const PUSH_VALS = new Array<number>(12).fill(0);

/**
 * IRETQ (REX.W CF; SDM Vol. 2A IRET, 64-bit mode): pop RIP, CS, RFLAGS, RSP, SS. Returns to the same or an
 * outer privilege level (CS.RPL >= CPL, else #GP(selector)); RIP must be canonical. RFLAGS: IOPL changes only
 * at CPL 0, IF only when CPL <= IOPL; VM is ignored.
 */
export function iretq(s: St): void {
  const cpu = s.cpu;
  const o0 = s.lo[4], o1 = s.hi[4];
  const fail = (): void => {
    s.lo[4] = o0;
    s.hi[4] = o1;
  };
  const ripLo = pop(s, 8);
  if (cpu.xv >= 0) return fail();
  const ripHi = s.vHi;
  const cs = pop(s, 8) & 0xffff;
  if (cpu.xv >= 0) return fail();
  const fl = pop(s, 8);
  if (cpu.xv >= 0) return fail();
  const spLo = pop(s, 8);
  if (cpu.xv >= 0) return fail();
  const spHi = s.vHi;
  const ss = pop(s, 8) & 0xffff;
  if (cpu.xv >= 0) return fail();
  const cpl = cpu.cpl;
  const rpl = cs & 3;
  if ((cs & ~3) === 0) {
    fail();
    cpu.raise(VEC_GP, 0);
    return;
  }
  if (rpl < cpl || rpl === 1 || rpl === 2) {
    fail();
    cpu.raise(VEC_GP, cs & ~3);
    return;
  }
  if (!cpu.mmu.isCanonical(ripHi | 0)) {
    fail();
    cpu.raise(VEC_GP, 0);
    return;
  }
  const old = rflagsNow(s);
  const iopl = (old & RFLAGS_IOPL) >>> 12;
  let mask = ARITH | RFLAGS_TF | RFLAGS_DF | RFLAGS_NT | RFLAGS_RF | RFLAGS_AC | RFLAGS_ID | RFLAGS_VIF | RFLAGS_VIP;
  if (cpl === 0) mask |= RFLAGS_IOPL;
  if (cpl <= iopl) mask |= RFLAGS_IF;
  writeRflags(s, (old & ~mask) | (fl & mask));
  s.lo[4] = spLo;
  s.hi[4] = spHi;
  s.cs = cs;
  s.ss = ss;
  cpu.cpl = rpl as 0 | 3;
  s.cplChanged();
  s.nxLo = ripLo >>> 0;
  s.nxHi = ripHi >>> 0;
  cpu.stats.cycles += cpu.profile.interrupt.exit;
}

