/**
 * System instructions (SDM Vol. 2; Vol. 3A ch. 2, 5.8.8 SYSCALL/SYSRET, 6 interrupts). Privileged ones raise
 * #GP(0) at CPL > 0 before anything else. CR and MSR writes go through the core's own checks (Cpu.writeCr,
 * Cpu.wrmsr, Cpu.invpcid), which charge the profile's costs; a #GP they report becomes the guest's #GP(0).
 */

import type { Insn } from '../decode/insn.js';
import { ArchFault } from '../faults.js';
import { MSR } from '../msr.js';
import { CR4_FSGSBASE, CR4_PKE, CR4_TSD, CR4_UMIP, EFER_SCE, RFLAGS_AC, RFLAGS_IF, RFLAGS_IOPL, RFLAGS_RF } from '../regs.js';
import { iretq } from '../exceptions.js';
import { ea, getR, load, readE, setR, store, type St } from './state.js';
import { rflagsNow, writeRflags } from './stack.js';

const U64 = 0xffffffffn;
function big(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** #GP(0) when CPL > 0; returns true when the instruction may go on. */
function priv(s: St): boolean {
  if (s.cpu.cpl === 0) return true;
  s.cpu.raise(13, 0);
  return false;
}

/** Run a core API call that may throw an ArchFault; the fault becomes the pending exception. */
function guard(s: St, f: () => void): boolean {
  try {
    f();
    return true;
  } catch (e) {
    if (!(e instanceof ArchFault)) throw e;
    // the core already counted it in stats.faults
    s.cpu.xv = e.vector;
    s.cpu.xec = e.errorCode;
    return false;
  }
}

/** Software interrupts: the run loop delivers them as traps (RIP after the instruction), checking DPL. */
export function intN(s: St, d: Insn): void {
  s.cpu.raise(d.immLo & 0xff, 0);
  s.soft = 1;
}
export function int3(s: St, _d: Insn): void {
  s.cpu.raise(3, 0);
  s.soft = 1;
}
/** INT1 (F1, ICEBP): #DB as a trap, without the DPL check. */
export function int1(s: St, _d: Insn): void {
  s.cpu.raise(1, 0);
  s.soft = 2;
}

/** IRETQ (REX.W CF). IRET/IRETD (compatibility-mode returns) are not modelled: #UD. */
export function iret(s: St, d: Insn): void {
  if (d.osz !== 8) {
    s.cpu.raise(6, 0);
    return;
  }
  iretq(s);
  s.fetchStale = true;
}

/** HLT (F4): privileged; stops the run (reason 'hlt') unless the onHlt hook resumes it. */
export function hlt(s: St, _d: Insn): void {
  if (!priv(s)) return;
  s.stop = 1;
}

function iopl(s: St): number {
  return (s.cpu.rflagsNum & RFLAGS_IOPL) >>> 12;
}
/** CLI / STI: #GP(0) when CPL > IOPL (no VME/PVI in 64-bit mode). */
export function cli(s: St, _d: Insn): void {
  if (s.cpu.cpl > iopl(s)) return void s.cpu.raise(13, 0);
  s.cpu.setRflagsBits(s.cpu.rflagsNum & ~RFLAGS_IF);
}
export function sti(s: St, _d: Insn): void {
  if (s.cpu.cpl > iopl(s)) return void s.cpu.raise(13, 0);
  s.cpu.setRflagsBits(s.cpu.rflagsNum | RFLAGS_IF);
}

/** INVD, WBINVD: privileged; no caches are modelled. */
export function privNop(s: St, _d: Insn): void {
  priv(s);
}

/**
 * IN (E4, E5: port imm8; EC, ED: port DX; d.cc = 1) and OUT (E6, E7, EE, EF). CPL > IOPL raises #GP(0) (the
 * TSS I/O permission bitmap is not modelled). Ports go to the run's onPortRead/onPortWrite hooks.
 */
export function inPort(s: St, d: Insn): void {
  if (s.cpu.cpl > iopl(s)) return void s.cpu.raise(13, 0);
  const port = d.cc === 1 ? s.lo[2] & 0xffff : d.immLo & 0xff;
  const sz = d.osz;
  s.cpu.stats.cycles += s.costPort;
  const v = s.portRead(s, port, sz);
  setR(s, 0, sz, v, 0);
}
export function outPort(s: St, d: Insn): void {
  if (s.cpu.cpl > iopl(s)) return void s.cpu.raise(13, 0);
  const port = d.cc === 1 ? s.lo[2] & 0xffff : d.immLo & 0xff;
  const sz = d.osz;
  s.cpu.stats.cycles += s.costPort;
  s.portWrite(s, port, sz, getR(s, 0, sz));
}

/** MOV r64, CRn (0F 20): privileged; CR0, CR2, CR3, CR4, CR8 (others #UD). */
export function movFromCr(s: St, d: Insn): void {
  const n = d.reg;
  if (n !== 0 && n !== 2 && n !== 3 && n !== 4 && n !== 8) return void s.cpu.raise(6, 0);
  if (!priv(s)) return;
  const v = s.cpu.readCr(n);
  setR(s, d.rm, 8, Number(v & U64), Number(v >> 32n));
}

/** MOV CRn, r64 (0F 22): privileged, serializing; the core checks reserved bits and flushes TLBs. */
export function movToCr(s: St, d: Insn): void {
  const n = d.reg;
  if (n !== 0 && n !== 2 && n !== 3 && n !== 4 && n !== 8) return void s.cpu.raise(6, 0);
  if (!priv(s)) return;
  const v = big(s.lo[d.rm], s.hi[d.rm]);
  if (guard(s, () => s.cpu.writeCr(n, v))) s.fetchStale = true;
}

/** RDMSR (0F 32): privileged; ECX selects, EDX:EAX receives. */
export function rdmsr(s: St, _d: Insn): void {
  if (!priv(s)) return;
  let v = 0n;
  if (!guard(s, () => (v = s.cpu.rdmsr(s.lo[1] >>> 0)))) return;
  setR(s, 0, 4, Number(v & U64), 0);
  setR(s, 2, 4, Number(v >> 32n), 0);
}

/** WRMSR (0F 30): privileged; IA32_PKRS goes through the core's non-serializing path. */
export function wrmsr(s: St, _d: Insn): void {
  if (!priv(s)) return;
  const idx = s.lo[1] >>> 0;
  const v = big(s.lo[0], s.lo[2]);
  if (!guard(s, () => s.cpu.wrmsr(idx, v))) return;
  if (idx === MSR.IA32_FS_BASE || idx === MSR.IA32_GS_BASE) s.segChanged();
  if (idx === MSR.IA32_EFER) s.fetchStale = true;
}

/** INVLPG m (0F 01 /7): privileged; the operand's linear address (segment base included). */
export function invlpg(s: St, d: Insn): void {
  if (!priv(s)) return;
  ea(s, d);
  s.cpu.invlpgHalves(s.eaLo, s.eaHi);
  s.fetchStale = true;
}

/**
 * INVPCID r64, m128 (66 0F 38 82): privileged; type in the register, descriptor { PCID (bits 11:0; 63:12 must
 * be 0), linear address } in memory.
 */
export function invpcid(s: St, d: Insn): void {
  if (!s.cpu.features.invpcid) return void s.cpu.raise(6, 0);
  if (!priv(s)) return;
  ea(s, d);
  const aLo = s.eaLo, aHi = s.eaHi;
  const p0 = load(s, aLo, aHi, 8, s.accR);
  if (s.cpu.xv >= 0) return;
  const p1 = s.vHi;
  const a2 = aLo + 8;
  const va0 = load(s, a2 >>> 0, (aHi + (a2 > 0xffffffff ? 1 : 0)) | 0, 8, s.accR);
  if (s.cpu.xv >= 0) return;
  const va1 = s.vHi;
  const typeHi = s.hi[d.reg];
  const type = s.lo[d.reg] >>> 0;
  if (typeHi !== 0 || type > 3 || p1 !== 0 || p0 > 4095) return void s.cpu.raise(13, 0);
  if (guard(s, () => s.cpu.invpcid(type, { pcid: p0, va: big(va0, va1) }))) s.fetchStale = true;
}

/** WRPKRU (0F 01 EF): #UD without CR4.PKE; #GP(0) unless ECX = EDX = 0. Not privileged. */
export function wrpkru(s: St, _d: Insn): void {
  if ((Number(s.cpu.cr4) & CR4_PKE) === 0) return void s.cpu.raise(6, 0);
  if (s.lo[1] !== 0 || s.lo[2] !== 0) return void s.cpu.raise(13, 0);
  s.cpu.writePkru(s.lo[0]);
}
/** RDPKRU (0F 01 EE): #UD without CR4.PKE; #GP(0) unless ECX = 0. EAX = PKRU, EDX = 0. */
export function rdpkru(s: St, _d: Insn): void {
  if ((Number(s.cpu.cr4) & CR4_PKE) === 0) return void s.cpu.raise(6, 0);
  if (s.lo[1] !== 0) return void s.cpu.raise(13, 0);
  s.cpu.stats.cycles += s.cpu.profile.rdpkru;
  setR(s, 0, 4, s.cpu.pkru, 0);
  setR(s, 2, 4, 0, 0);
}

/** CLAC (0F 01 CA; d.cc 0) / STAC (0F 01 CB; 1): #UD without SMAP or at CPL > 0. */
export function stacClac(s: St, d: Insn): void {
  if (!s.cpu.features.smap || s.cpu.cpl !== 0) return void s.cpu.raise(6, 0);
  const f = s.cpu.rflagsNum;
  s.cpu.setRflagsBits(d.cc === 1 ? f | RFLAGS_AC : f & ~RFLAGS_AC);
  s.cpu.stats.cycles += s.costStac;
}

/** SWAPGS (0F 01 F8): privileged; exchanges IA32_GS_BASE and IA32_KERNEL_GS_BASE. */
export function swapgs(s: St, _d: Insn): void {
  if (!priv(s)) return;
  const cpu = s.cpu;
  const g = cpu.gsBase;
  cpu.gsBase = cpu.kernelGsBase;
  cpu.kernelGsBase = g;
  s.segChanged();
  cpu.stats.cycles += s.costSwapgs;
}

/**
 * RDTSC (0F 31; d.cc 0) and RDTSCP (0F 01 F9; 1, also ECX = IA32_TSC_AUX): #GP(0) at CPL > 0 with CR4.TSD.
 * The TSC is the CPU's IA32_TSC (its cycle clock plus the written offset).
 */
export function rdtsc(s: St, d: Insn): void {
  const cpu = s.cpu;
  if ((Number(cpu.cr4) & CR4_TSD) !== 0 && cpu.cpl !== 0) return void cpu.raise(13, 0);
  cpu.stats.cycles += cpu.profile.insn.rdtsc;
  const t = cpu.msrRaw(MSR.IA32_TSC);
  setR(s, 0, 4, Number(t & U64), 0);
  setR(s, 2, 4, Number(t >> 32n), 0);
  if (d.cc === 1) setR(s, 1, 4, Number(cpu.msrRaw(MSR.IA32_TSC_AUX) & U64), 0);
}

/**
 * CPUID (0F A2): the core's leaves (driven by the CPU's features), adjusted to what this interpreter executes:
 * ADX (leaf 7 EBX[19]) is set; SEP (leaf 1 EDX[11], SYSENTER) is cleared since SYSENTER is not implemented.
 */
export function cpuid(s: St, _d: Insn): void {
  const leaf = s.lo[0] >>> 0;
  const r = s.cpu.cpuid(leaf, s.lo[1] >>> 0);
  let { eax, ebx, ecx, edx } = r;
  if (leaf === 1) edx &= ~(1 << 11);
  if (leaf === 7 && s.lo[1] === 0) ebx |= 1 << 19;
  setR(s, 0, 4, eax >>> 0, 0);
  setR(s, 3, 4, ebx >>> 0, 0);
  setR(s, 1, 4, ecx >>> 0, 0);
  setR(s, 2, 4, edx >>> 0, 0);
}

/**
 * SYSCALL (0F 05; SDM Vol. 2B, Vol. 3A 5.8.8): #UD unless EFER.SCE. RCX = next RIP, R11 = RFLAGS (RF clear),
 * RIP = IA32_LSTAR, CS = STAR[47:32], SS = STAR[47:32] + 8, RFLAGS &= ~IA32_FMASK (and RF), CPL 0.
 * The run's onSyscall hook may emulate it instead (run.ts).
 */
export function syscall(s: St, _d: Insn): void {
  const cpu = s.cpu;
  if ((Number(cpu.efer) & EFER_SCE) === 0) return void cpu.raise(6, 0);
  if (s.syscallHook(s)) return;
  const star = cpu.msrRaw(MSR.IA32_STAR);
  const lstar = cpu.msrRaw(MSR.IA32_LSTAR);
  const fmask = Number(cpu.msrRaw(MSR.IA32_FMASK) & U64);
  const f = rflagsNow(s);
  s.lo[1] = s.nxLo;
  s.hi[1] = s.nxHi;
  s.lo[11] = f & ~RFLAGS_RF;
  s.hi[11] = 0;
  const sel = Number((star >> 32n) & 0xffffn);
  s.cs = sel & 0xfffc;
  s.ss = (sel + 8) & 0xffff;
  writeRflags(s, f & ~fmask & ~RFLAGS_RF);
  cpu.cpl = 0;
  s.cplChanged();
  s.nxLo = Number(lstar & U64);
  s.nxHi = Number(lstar >> 32n);
  cpu.stats.cycles += s.costSyscall;
}

/**
 * SYSRET (REX.W 0F 07) to 64-bit user mode: #UD unless EFER.SCE; #GP(0) at CPL > 0 or with a non-canonical
 * RCX. RIP = RCX, RFLAGS = (R11 & 3C7FD7H) | 2, CS = STAR[63:48] + 16 | 3, SS = STAR[63:48] + 8 | 3, CPL 3.
 * SYSRET without REX.W returns to compatibility mode, which is not modelled: #UD.
 */
export function sysret(s: St, d: Insn): void {
  const cpu = s.cpu;
  if ((Number(cpu.efer) & EFER_SCE) === 0 || d.osz !== 8) return void cpu.raise(6, 0);
  if (!priv(s)) return;
  if (!cpu.mmu.isCanonical(s.hi[1] | 0)) return void cpu.raise(13, 0);
  const star = cpu.msrRaw(MSR.IA32_STAR);
  const sel = Number((star >> 48n) & 0xffffn);
  s.cs = ((sel + 16) & 0xffff) | 3;
  s.ss = ((sel + 8) & 0xffff) | 3;
  writeRflags(s, (s.lo[11] & 0x3c7fd7) | 2);
  s.nxLo = s.lo[1] >>> 0;
  s.nxHi = s.hi[1] >>> 0;
  cpu.cpl = 3;
  s.cplChanged();
  cpu.stats.cycles += s.costSysret;
}

/** RDFSBASE/RDGSBASE/WRFSBASE/WRGSBASE (F3 0F AE /0../3; d.cc): #UD without CR4.FSGSBASE; #GP(0) non-canonical. */
export function fsgsbase(s: St, d: Insn): void {
  const cpu = s.cpu;
  if ((Number(cpu.cr4) & CR4_FSGSBASE) === 0) return void cpu.raise(6, 0);
  const r = d.rm;
  if (d.cc < 2) {
    const v = d.cc === 0 ? cpu.fsBase : cpu.gsBase;
    setR(s, r, d.osz, Number(v & U64), Number(v >> 32n));
    return;
  }
  const hi = d.osz === 8 ? s.hi[r] : 0;
  if (!cpu.mmu.isCanonical(hi | 0)) return void cpu.raise(13, 0);
  const v = big(s.lo[r], hi);
  if (d.cc === 2) cpu.fsBase = v;
  else cpu.gsBase = v;
  s.segChanged();
}

/**
 * LGDT/LIDT m16&64 (0F 01 /2, /3; d.cc 0 GDT, 1 IDT): privileged; limit (2 bytes) then base (8 bytes).
 */
export function lgdt(s: St, d: Insn): void {
  if (!priv(s)) return;
  ea(s, d);
  const aLo = s.eaLo, aHi = s.eaHi;
  const limit = load(s, aLo, aHi, 2, s.accR);
  if (s.cpu.xv >= 0) return;
  const a2 = aLo + 2;
  const bLo = load(s, a2 >>> 0, (aHi + (a2 > 0xffffffff ? 1 : 0)) | 0, 8, s.accR);
  if (s.cpu.xv >= 0) return;
  const base = big(bLo, s.vHi);
  if (d.cc === 0) {
    s.gdtrBase = base;
    s.gdtrLimit = limit;
  } else {
    s.idtrBase = base;
    s.idtrLimit = limit;
  }
}

/** SGDT/SIDT m (0F 01 /0, /1): stores limit and base; #GP(0) at CPL > 0 with CR4.UMIP. */
export function sgdt(s: St, d: Insn): void {
  if ((Number(s.cpu.cr4) & CR4_UMIP) !== 0 && !priv(s)) return;
  ea(s, d);
  const aLo = s.eaLo, aHi = s.eaHi;
  const base = d.cc === 0 ? s.gdtrBase : s.idtrBase;
  const limit = d.cc === 0 ? s.gdtrLimit : s.idtrLimit;
  const a2 = aLo + 2;
  const a2Lo = a2 >>> 0, a2Hi = (aHi + (a2 > 0xffffffff ? 1 : 0)) | 0;
  // translate the second part for write first: all or nothing
  if (s.cpu.xlate(a2Lo, a2Hi, s.accW) < 0) return;
  if (!store(s, aLo, aHi, 2, limit, 0, s.accW)) return;
  store(s, a2Lo, a2Hi, 8, Number(base & U64), Number(base >> 32n), s.accW);
}

/**
 * LTR r/m16 (0F 00 /3): privileged; loads TR from a 16-byte available 64-bit TSS descriptor (type 9) in the
 * GDT and marks it busy (type 11). #GP(0) for a null selector, #GP(sel) for a bad one, #NP(sel) not present.
 */
export function ltr(s: St, d: Insn): void {
  if (!priv(s)) return;
  const sel = readE(s, d, 2) & 0xffff;
  if (s.cpu.xv >= 0) return;
  if ((sel & ~3) === 0) return void s.cpu.raise(13, 0);
  if ((sel & 4) !== 0 || (sel & ~7) + 15 > s.gdtrLimit) return void s.cpu.raise(13, sel & ~3);
  const base = s.gdtrBase + BigInt(sel & ~7);
  const IMPL = 8; // ACC_IMPLICIT
  const a = (off: number): [number, number] => {
    const x = BigInt.asUintN(64, base + BigInt(off));
    return [Number(x & U64), Number(x >> 32n) | 0];
  };
  const [l0, h0] = a(0), [l1, h1] = a(4), [l2, h2] = a(8);
  const w0 = s.cpu.load(l0, h0, 4, IMPL);
  if (s.cpu.xv >= 0) return;
  const w1 = s.cpu.load(l1, h1, 4, IMPL);
  if (s.cpu.xv >= 0) return;
  const w2 = s.cpu.load(l2, h2, 4, IMPL);
  if (s.cpu.xv >= 0) return;
  if (((w1 >>> 8) & 0x1f) !== 9) return void s.cpu.raise(13, sel & ~3);
  if ((w1 & 0x8000) === 0) return void s.cpu.raise(11, sel & ~3);
  if (!s.cpu.store(l1, h1, 4, w1 | 0x200, 0, IMPL | 1)) return; // busy
  let limit = (w0 & 0xffff) | (w1 & 0xf0000);
  if ((w1 & 0x800000) !== 0) limit = limit * 4096 + 4095;
  const baseLo = ((w0 >>> 16) | ((w1 & 0xff) << 16) | (w1 & 0xff000000)) >>> 0;
  s.trSel = sel;
  s.trBase = big(baseLo, w2);
  s.trLimit = limit;
}
