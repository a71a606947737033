/**
 * The interpreter's per-CPU state beside the Cpu's own: RIP of the instruction being executed and of the next
 * one, the lazy flags, the FS/GS bases as halves, descriptor-table registers, and the helpers every handler
 * uses for registers, effective addresses and memory (all through `cpu.load`/`cpu.store`, so every access is
 * translated, rights-checked and charged by the core). No allocation on these paths.
 */

import type { Cpu } from '../cpu.js';
import { ACC_READ, ACC_STACK, ACC_USER, ACC_WRITE } from '../../mmu/rights.js';
import { SEG_FS, type Insn } from '../decode/insn.js';
import { F_RAW } from './flags.js';
import type { RunHooks } from '../run-types.js';

export class St {
  readonly cpu: Cpu;
  /**
   * The CPU's register halves viewed as signed int32 (the same memory as cpu.regLo/regHi): values stay small
   * integers for V8 (no heap numbers). Code that needs an unsigned value applies `>>> 0`.
   */
  readonly lo: Int32Array;
  readonly hi: Int32Array;

  /** The instruction being executed. */
  ripLo = 0;
  ripHi = 0;
  /** The next instruction (a branch handler changes it). */
  nxLo = 0;
  nxHi = 0;

  // lazy flags (flags.ts)
  fOp = F_RAW;
  fSz = 4;
  fRaw = 0;
  fResLo = 0;
  fResHi = 0;
  fALo = 0;
  fAHi = 0;
  fBLo = 0;
  fBHi = 0;
  fCin = 0;

  /** Access descriptors for the current CPL (updated by `cplChanged`). */
  accR = ACC_READ;
  accW = ACC_WRITE;
  accSR = ACC_READ | ACC_STACK;
  accSW = ACC_WRITE | ACC_STACK;

  fsLo = 0;
  fsHi = 0;
  gsLo = 0;
  gsHi = 0;

  // descriptor-table registers and task register (SDM Vol. 3A 2.4)
  gdtrBase = 0n;
  gdtrLimit = 0;
  idtrBase = 0n;
  idtrLimit = 0;
  trSel = 0;
  trBase = 0n;
  trLimit = 0;
  cs = 0x10;
  ss = 0x18;

  /** Last effective address (ea). */
  eaLo = 0;
  eaHi = 0;
  /** High half of the last 64-bit operand read (readE, pop). */
  vHi = 0;
  /** Result of the last ALU operation (alu). */
  rLo = 0;
  rHi = 0;

  /** Set by a handler to end the run after this instruction: 1 hlt, 2 stopped, 3 triple fault. */
  stop = 0;
  /** The fetch translation must be redone (paging state, CPL or TLB changed). */
  fetchStale = true;
  /** Cost of instruction classes (exec/cost.ts), from the profile. */
  readonly cost: Float64Array;
  costTaken = 0;
  /** Issue cost of an explicit load / store (profile insn.load / insn.store). */
  costLoad = 0;
  costStore = 0;
  costNotTaken = 0;
  costString = 0;
  /** Divide cost by operand size in bytes (index 1, 2, 4, 8). */
  readonly divCost = new Float64Array(9);
  costPort = 0;
  costStac = 0;
  costSwapgs = 0;
  costSyscall = 0;
  costSysret = 0;
  /** A software interrupt is pending in cpu.xv: 1 INT n / INT3 (DPL checked), 2 INT1. */
  soft = 0;
  /** Port I/O and SYSCALL go to the run's hooks (run.ts installs these). */
  portRead: (s: St, port: number, size: number) => number = () => 0xffffffff;
  portWrite: (s: St, port: number, size: number, v: number) => void = () => {};
  /** Returns true when a hook handled the SYSCALL (or stopped the run). */
  syscallHook: (s: St) => boolean = () => false;
  /** Instructions the run may still retire (bounds REP iterations). */
  budget = 1;
  /** Extra instructions retired by the last handler (REP iterations beyond the first). */
  extra = 0;

  hooks: RunHooks | null = null;
  /** A data-access watch is active (hooks.onMemory). */
  watch = false;
  watchLo = 0;
  watchHi = 0;
  /** Called for every watched data access; set by run.ts. */
  memHook: (s: St, write: boolean, lo: number, hi: number, size: number, vLo: number, vHi: number) => void = () => {};

  constructor(cpu: Cpu, cost: Float64Array) {
    this.cpu = cpu;
    this.lo = new Int32Array(cpu.regLo.buffer, cpu.regLo.byteOffset, 16);
    this.hi = new Int32Array(cpu.regHi.buffer, cpu.regHi.byteOffset, 16);
    this.cost = cost;
    this.selectorsForCpl();
  }

  /**
   * CS/SS as Linux lays out its GDT (0x10/0x18 kernel, 0x33/0x2b user) when the CPL was set from outside
   * (cpu.cpl = 3) so that they disagree with CS.RPL; delivery pushes these.
   */
  selectorsForCpl(): void {
    const cpl = this.cpu.cpl;
    if ((this.cs & 3) === cpl) return;
    this.cs = cpl === 3 ? 0x33 : 0x10;
    this.ss = cpl === 3 ? 0x2b : 0x18;
  }

  /** Recompute what depends on CPL. */
  cplChanged(): void {
    const u = this.cpu.cpl === 3 ? ACC_USER : 0;
    this.accR = ACC_READ | u;
    this.accW = ACC_WRITE | u;
    this.accSR = ACC_READ | ACC_STACK | u;
    this.accSW = ACC_WRITE | ACC_STACK | u;
    this.fetchStale = true;
  }

  /** Reload FS/GS bases from the CPU's MSRs. */
  segChanged(): void {
    const fs = this.cpu.fsBase;
    const gs = this.cpu.gsBase;
    this.fsLo = Number(fs & 0xffffffffn);
    this.fsHi = Number(fs >> 32n) | 0;
    this.gsLo = Number(gs & 0xffffffffn);
    this.gsHi = Number(gs >> 32n) | 0;
  }
}

// ---- registers ------------------------------------------------------------------------------------------

/** Register i at size sz (1, 2, 4, 8: low half), unsigned. i in 16..19 names AH CH DH BH. */
export function getR(s: St, i: number, sz: number): number {
  switch (sz) {
    case 1:
      return i < 16 ? s.lo[i] & 0xff : (s.lo[i - 16] >>> 8) & 0xff;
    case 2:
      return s.lo[i] & 0xffff;
    default:
      return s.lo[i];
  }
}

/**
 * Write register i at size sz: 8/16-bit writes keep the other bits, a 32-bit write zeroes bits 63:32
 * (SDM Vol. 1 3.4.1.1), a 64-bit write takes both halves.
 */
export function setR(s: St, i: number, sz: number, lo: number, hi: number): void {
  switch (sz) {
    case 1:
      if (i < 16) s.lo[i] = (s.lo[i] & 0xffffff00) | (lo & 0xff);
      else s.lo[i - 16] = (s.lo[i - 16] & 0xffff00ff) | ((lo & 0xff) << 8);
      return;
    case 2:
      s.lo[i] = (s.lo[i] & 0xffff0000) | (lo & 0xffff);
      return;
    case 4:
      s.lo[i] = lo;
      s.hi[i] = 0;
      return;
    default:
      s.lo[i] = lo;
      s.hi[i] = hi;
  }
}

// ---- effective address --------------------------------------------------------------------------------------

/** Effective (linear) address of the memory operand into eaLo/eaHi (SDM Vol. 1 3.7.5; Vol. 2 2.2.1.6 RIP-relative). */
export function ea(s: St, d: Insn): void {
  let lo = d.dispLo >>> 0;
  let hi = d.dispHi;
  if (d.ripRel) {
    lo += s.nxLo;
    hi += s.nxHi;
  } else {
    if (d.base >= 0) {
      lo += s.lo[d.base] >>> 0;
      hi += s.hi[d.base];
    }
    if (d.index >= 0) {
      const m = 1 << d.scale;
      lo += (s.lo[d.index] >>> 0) * m;
      hi += s.hi[d.index] * m;
    }
  }
  if (d.asz === 4) hi = 0;
  else if (lo > 0xffffffff) hi += (lo - (lo >>> 0)) / 4294967296; // carry (lo < 2^36)
  lo >>>= 0;
  if (d.seg !== 0) {
    if (d.seg === SEG_FS) {
      lo += s.fsLo;
      hi += s.fsHi;
    } else {
      lo += s.gsLo;
      hi += s.gsHi;
    }
    if (lo > 0xffffffff) hi += 1;
    lo >>>= 0;
  }
  s.eaLo = lo;
  s.eaHi = hi | 0;
}

/** Add a signed number (|n| < 2^31) to a 64-bit address given as halves; result in eaLo/eaHi. */
export function addr(s: St, lo: number, hi: number, n: number): void {
  const l = (lo >>> 0) + n;
  s.eaLo = l >>> 0;
  s.eaHi = l < 0 ? (hi - 1) | 0 : l > 0xffffffff ? (hi + 1) | 0 : hi | 0;
}

// ---- memory -----------------------------------------------------------------------------------------------------

/** Load from a linear address with the access descriptor; the high half of an 8-byte load goes to vHi. */
export function load(s: St, lo: number, hi: number, sz: number, acc: number): number {
  if (s.watch) s.memHook(s, false, lo, hi, sz, 0, 0);
  s.cpu.stats.cycles += s.costLoad; // issue cost; the core charges the translation and the data access
  const v = s.cpu.loadSigned(lo | 0, hi | 0, sz, acc); // int32 halves: small integers, never boxed across a call
  s.vHi = sz === 8 ? s.cpu.loadHi | 0 : 0; // an int32 (the public `load` leaves it unsigned): never a boxed double
  return v;
}

/** Store; false (with the exception pending in cpu.xv) when it faulted, and nothing was written. */
export function store(s: St, lo: number, hi: number, sz: number, vLo: number, vHi: number, acc: number): boolean {
  if (s.watch) s.memHook(s, true, lo, hi, sz, vLo, vHi);
  s.cpu.stats.cycles += s.costStore;
  return s.cpu.store(lo | 0, hi | 0, sz, vLo | 0, vHi | 0, acc);
}

/** Read the E operand (register or memory) at size sz; memory: computes ea first. High half in vHi. */
export function readE(s: St, d: Insn, sz: number): number {
  if (d.rm >= 0) {
    s.vHi = sz === 8 ? s.hi[d.rm] : 0;
    return getR(s, d.rm, sz);
  }
  ea(s, d);
  return load(s, s.eaLo, s.eaHi, sz, s.accR);
}

/** Write the E operand; for memory the address is eaLo/eaHi (computed by readE or ea). False on a fault. */
export function writeE(s: St, d: Insn, sz: number, lo: number, hi: number): boolean {
  if (d.rm >= 0) {
    setR(s, d.rm, sz, lo, hi);
    return true;
  }
  return store(s, s.eaLo, s.eaHi, sz, lo, hi, s.accW);
}

/** Is an exception pending (the last access faulted)? */
export function faulted(s: St): boolean {
  return s.cpu.xv >= 0;
}

// ---- stack (SDM Vol. 1 6.2; 64-bit mode: RSP, #SS for a non-canonical stack address) ------------------------------

export function push(s: St, sz: number, lo: number, hi: number): boolean {
  addr(s, s.lo[4], s.hi[4], -sz);
  const nLo = s.eaLo;
  const nHi = s.eaHi;
  if (!store(s, nLo, nHi, sz, lo, hi, s.accSW)) return false;
  if (sz === 2) s.lo[4] = (s.lo[4] & 0xffff0000) | (nLo & 0xffff);
  else {
    s.lo[4] = nLo;
    s.hi[4] = nHi;
  }
  return true;
}

/** Pop sz bytes: returns the low half (vHi the high one); RSP is updated only when the load succeeded. */
export function pop(s: St, sz: number): number {
  const v = load(s, s.lo[4], s.hi[4], sz, s.accSR);
  if (s.cpu.xv >= 0) return 0;
  const h = s.vHi;
  addr(s, s.lo[4], s.hi[4], sz);
  s.lo[4] = s.eaLo;
  s.hi[4] = s.eaHi;
  s.vHi = h;
  return v;
}
