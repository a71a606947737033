/**
 * One logical processor: registers, control registers, MSRs (IA32_PKRS among them), PKRU, its MMU (TLBs and
 * paging-structure caches) and its cycle clock.
 *
 * Two interfaces:
 * - the API edge (bigint values, typed exceptions thrown): `read`, `write`, `translate`, `writeCr`, `wrmsr`,
 *   `invlpg`, `invpcid`, `flushTlb`, `getReg`/`setReg`...
 * - the hot path for the interpreter and the kernel model (numbers, 64-bit values as two 32-bit halves, no
 *   allocation; an exception is left in `xv`/`xec`/`xaddrLo`/`xaddrHi` and signalled by the return value):
 *   `load`, `store`, `writePkrs`.
 */

import { decodeEntry, LEVEL_NAMES, type EntryFields, type PageLevel } from '../mmu/entry.js';
import { Mmu, MmuStatsRecord, XLATE_PAGE_FAULT, type MmuStats } from '../mmu/mmu.js';
import type { PhysicalMemory } from '../mmu/physical-memory.js';
import { ACC_FETCH, ACC_IMPLICIT, ACC_MMU_MASK, ACC_READ, ACC_STACK, ACC_USER, ACC_WRITE } from '../mmu/rights.js';
import type { CpuFeatures } from './features.js';
import { ArchFault, GeneralProtection, InvalidOpcode, makeFault, PageFault, StackFault, VEC_GP, VEC_PF, VEC_SS } from './faults.js';
import { hex, intIn, linearAddress, oneOf, optBool, options, show, u64, uint } from '../util/validate.js';
import { isCanonical, MSR, MSR_DEFS, msrName, type MsrCheckContext } from './msr.js';
import type { CostProfile } from './profile.js';
import { runCpu } from './run.js';
import { disassembleAt } from './decode/disasm.js';
import type { RunHooks, RunOptions, RunResult } from './run-types.js';
import {
  CR0_CD,
  CR0_DEFINED,
  CR0_NW,
  CR0_PE,
  CR0_PG,
  CR0_WP,
  CR4_FSGSBASE,
  CR4_LA57,
  CR4_PAE,
  CR4_PCIDE,
  CR4_PGE,
  CR4_PKE,
  CR4_PKS,
  CR4_SMAP,
  CR4_SMEP,
  EFER_LMA,
  EFER_LME,
  EFER_NXE,
  EFER_SCE,
  gprIndex,
  GPR_NAMES,
  RFLAGS_AC,
  RFLAGS_DEFINED,
  RFLAGS_FIXED1,
  type GprName,
} from './regs.js';

export type AccessKind = 'read' | 'write' | 'fetch';

export interface AccessOptions {
  /** Privilege level of the access; default the CPU's CPL. */
  cpl?: 0 | 1 | 2 | 3;
  /** An implicit supervisor-mode access (descriptor tables, TSS...): supervisor whatever the CPL. */
  implicit?: boolean;
  /** A stack reference: a non-canonical address raises #SS(0) instead of #GP(0). */
  stack?: boolean;
}

export interface TranslateOptions extends AccessOptions {
  access: AccessKind;
  /** Walk the paging structures in memory without touching TLBs or A/D flags. */
  probe?: boolean;
}

export type TranslateResult =
  | { ok: true; pa: bigint; pageSize: 4096 | 2097152 | 1073741824; pkey: number }
  | { ok: false; fault: PageFault | GeneralProtection | StackFault };

/** Statistics of one CPU. All counters are deterministic. */
export interface CpuStats extends MmuStats {
  /** Cycles on this CPU's clock. */
  cycles: number;
  /** Instructions retired (the interpreter counts them). */
  instructions: number;
  reads: number;
  writes: number;
  fetches: number;
  wrmsr: number;
  rdmsr: number;
  /** WRMSRs to IA32_PKRS (a subset of `wrmsr`). */
  pkrsWrites: number;
  wrpkru: number;
  crWrites: number;
  cr3Writes: number;
  invlpg: number;
  invpcid: number;
  /** Architectural exceptions raised (any vector). */
  faults: number;
  /** IPIs sent, one per target. */
  ipisSent: number;
  ipisReceived: number;
  /** Writes to the x2APIC ICR that sent them (fewer than `ipisSent` with the shorthand or cluster mode). */
  icrWrites: number;
}

/** One CPU's statistics record (a class for one hidden class from the start: see MmuStatsRecord). */
class CpuStatsRecord extends MmuStatsRecord implements CpuStats {
  instructions = 0;
  reads = 0;
  writes = 0;
  fetches = 0;
  wrmsr = 0;
  rdmsr = 0;
  pkrsWrites = 0;
  wrpkru = 0;
  crWrites = 0;
  cr3Writes = 0;
  invlpg = 0;
  invpcid = 0;
  faults = 0;
  ipisSent = 0;
  ipisReceived = 0;
  icrWrites = 0;
}

function newCpuStats(): CpuStats {
  return new CpuStatsRecord();
}

/** No exception pending. */
export const NO_EXCEPTION = -1;

const CR_NUMBERS = [0, 2, 3, 4, 8] as const;

function lo32(v: bigint): number {
  return Number(v & 0xffffffffn);
}
function hi32(v: bigint): number {
  return Number((v >> 32n) & 0xffffffffn);
}
function join(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}
const TRANSLATE_OPTIONS = ['access', 'cpl', 'implicit', 'stack', 'probe'] as const;
const READ_OPTIONS = ['cpl', 'implicit', 'stack', 'fetch'] as const;
const WRITE_OPTIONS = ['cpl', 'implicit', 'stack'] as const;
const REG_NAMES: readonly string[] = [...GPR_NAMES, 'rip', 'rflags'];

function regName(name: unknown, what: string): GprName | 'rip' | 'rflags' {
  if (typeof name !== 'string') throw new TypeError(`${what} must be a register name (${REG_NAMES.join(', ')}), got ${show(name)}`);
  if (!REG_NAMES.includes(name)) throw new RangeError(`${what} must be a register name (${REG_NAMES.join(', ')}), got ${show(name)}`);
  return name as GprName | 'rip' | 'rflags';
}

export interface CpuOptions {
  index: number;
  memory: PhysicalMemory;
  profile: CostProfile;
  features: CpuFeatures;
}

export class Cpu {
  readonly index: number;
  readonly memory: PhysicalMemory;
  readonly profile: CostProfile;
  readonly features: Readonly<CpuFeatures>;
  readonly mmu: Mmu;
  readonly stats: CpuStats;

  /** GPRs as 32-bit halves, indexed in encoding order (0 = RAX ... 15 = R15). */
  readonly regLo = new Uint32Array(16);
  readonly regHi = new Uint32Array(16);
  ripLo = 0;
  ripHi = 0;
  private rflagsBits = RFLAGS_FIXED1;
  private cplValue: 0 | 1 | 2 | 3 = 0;

  private cr0Bits = 0x60000010; // reset: CD | NW | ET (SDM Vol. 3A 10.1.1, Table 10-1)
  private cr2Lo = 0;
  private cr2Hi = 0;
  /** CR3 as halves (bit 63, the no-flush hint, is never stored). */
  private cr3Lo = 0;
  private cr3Hi = 0;
  private cr4Bits = 0;
  private cr8Bits = 0;
  private eferBits = 0;
  private pkruBits = 0;
  private pkrsBits = 0;
  private tscOffset = 0n;
  /** MSRs stored as plain values (those without dedicated state). */
  private readonly msrs = new Map<number, bigint>();

  // ---- pending exception of the hot path -------------------------------------------------------------
  /** Vector of the exception the last hot-path operation raised, or NO_EXCEPTION. */
  xv = NO_EXCEPTION;
  /** Its error code. */
  xec = 0;
  /** For #PF: the linear address (CR2 value) as halves. */
  xaddrLo = 0;
  xaddrHi = 0;
  /** High half of the last 8-byte `load`. */
  loadHi = 0;

  private readonly msrCtx: MsrCheckContext;
  /** Cycles of a data access (the profile's memory level for data; compiled blocks read it too). */
  readonly dataCost: number;

  constructor(opts: CpuOptions) {
    this.index = opts.index;
    this.memory = opts.memory;
    this.profile = opts.profile;
    this.features = Object.freeze({ ...opts.features });
    this.stats = newCpuStats();
    this.mmu = new Mmu(opts.memory, opts.profile.tlb, opts.profile.mmu, this.stats);
    this.mmu.state.gbpages = this.features.gbpages;
    this.msrCtx = { features: this.features, maxPhysAddr: opts.memory.maxPhysAddr, linearBits: this.features.la57 ? 57 : 48 };
    this.dataCost = opts.profile.memory[opts.profile.dataAccessLevel];
    for (const [idx, def] of MSR_DEFS) {
      if (idx === MSR.IA32_APIC_BASE) this.msrs.set(idx, def.reset | (this.index === 0 ? 1n << 8n : 0n));
      else this.msrs.set(idx, def.reset);
    }
  }

  // ---- clock ---------------------------------------------------------------------------------------------

  /** Cycles on this CPU's clock. */
  get cycles(): number {
    return this.stats.cycles;
  }

  /** Add cycles to this CPU's clock (the kernel model charges modelled work this way). */
  charge(cycles: number): void {
    if (typeof cycles !== 'number') throw new TypeError(`cycles must be a finite non-negative number, got ${show(cycles)}`);
    if (!(cycles >= 0) || !Number.isFinite(cycles)) throw new RangeError(`cycles must be a finite non-negative number, got ${show(cycles)}`);
    this.stats.cycles += cycles;
  }

  // ---- registers -------------------------------------------------------------------------------------------

  getReg(name: GprName | 'rip' | 'rflags'): bigint {
    regName(name, 'getReg name');
    if (name === 'rip') return this.rip;
    if (name === 'rflags') return this.rflags;
    const i = gprIndex(name);
    return join(this.regLo[i], this.regHi[i]);
  }

  /** Set a register. `rip` must be canonical (see the `rip` setter); `rflags` reserved bits must be 0. */
  setReg(name: GprName | 'rip' | 'rflags', v: bigint | number): void {
    regName(name, 'setReg name');
    if (name === 'rip') {
      this.rip = v as bigint;
      return;
    }
    if (name === 'rflags') {
      this.rflags = v as bigint;
      return;
    }
    const i = gprIndex(name);
    const u = u64(v, name);
    this.regLo[i] = lo32(u);
    this.regHi[i] = hi32(u);
  }

  /** All GPRs by name. */
  get regs(): Record<GprName, bigint> {
    const out = {} as Record<GprName, bigint>;
    GPR_NAMES.forEach((n, i) => (out[n] = join(this.regLo[i], this.regHi[i])));
    return out;
  }

  get rip(): bigint {
    return join(this.ripLo, this.ripHi);
  }
  /**
   * RIP must be canonical for the current paging mode (57-bit with CR4.LA57, else 48-bit): a jump to a
   * non-canonical target raises #GP(0) before RIP changes (SDM Vol. 1 3.3.7.1; JMP in Vol. 2A), so nothing
   * can leave such a value in RIP; setting one here is a RangeError.
   */
  set rip(v: bigint) {
    const u = linearAddress(v, 'rip', this.mmu.state.la57 ? 57 : 48);
    this.ripLo = lo32(u);
    this.ripHi = hi32(u);
  }

  get rflags(): bigint {
    return BigInt(this.rflagsBits);
  }
  /** Reserved bits (3, 5, 15, 63:22) must be 0; bit 1 is forced to 1. */
  set rflags(v: bigint) {
    const u = u64(v, 'rflags');
    if ((u & ~BigInt(RFLAGS_DEFINED)) !== 0n) throw new RangeError(`rflags ${hex(u)} sets reserved bits ${hex(u & ~BigInt(RFLAGS_DEFINED))}`);
    this.setRflagsBits(Number(u));
  }
  /** Hot path: RFLAGS as a number (bits 21:0). Keeps the MMU's view of AC current. */
  setRflagsBits(v: number): void {
    this.rflagsBits = ((v & RFLAGS_DEFINED) | RFLAGS_FIXED1) >>> 0;
    const ac = (this.rflagsBits & RFLAGS_AC) !== 0;
    if (ac !== this.mmu.state.ac) {
      this.mmu.state.ac = ac;
      this.mmu.keysChanged();
    }
  }
  get rflagsNum(): number {
    return this.rflagsBits;
  }

  /** Current privilege level. */
  get cpl(): 0 | 1 | 2 | 3 {
    return this.cplValue;
  }
  set cpl(v: 0 | 1 | 2 | 3) {
    this.cplValue = intIn(v, 'cpl', 0, 3) as 0 | 1 | 2 | 3;
  }

  /** PKRU (WRPKRU/RDPKRU). Writing it needs no TLB flush. */
  get pkru(): number {
    return this.pkruBits;
  }
  set pkru(v: number) {
    intIn(v, 'pkru', 0, 0xffffffff);
    // WRPKRU on a CPU without PKU is #UD (SDM Vol. 2B, WRPKRU).
    if (!this.features.pku) throw this.fault(new InvalidOpcode('WRPKRU: this CPU has no PKU (features.pku = false)'));
    this.writePkru(v);
  }
  /** Hot path WRPKRU: charges the profile's WRPKRU cost. */
  writePkru(v: number): void {
    this.pkruBits = v >>> 0;
    this.mmu.state.pkru = this.pkruBits;
    this.mmu.keysChanged();
    this.stats.wrpkru++;
    this.stats.cycles += this.profile.wrpkru;
  }

  /** IA32_PKRS, low 32 bits (63:32 are reserved). */
  get pkrs(): number {
    return this.pkrsBits;
  }

  /**
   * Hot path WRMSR to IA32_PKRS with a 32-bit value: charges the profile's PKRS WRMSR cost; no TLB flush.
   * Returns false and leaves #GP in `xv` when the CPU lacks PKS.
   */
  writePkrs(v: number): boolean {
    if (!this.features.pks) return this.raise(VEC_GP, 0);
    this.pkrsBits = v >>> 0;
    this.mmu.state.pkrs = this.pkrsBits;
    this.mmu.keysChanged();
    this.stats.wrmsr++;
    this.stats.pkrsWrites++;
    this.stats.cycles += this.profile.wrmsr.byMsr[MSR.IA32_PKRS] ?? this.profile.wrmsr.default;
    return true;
  }

  // ---- segment bases (IA32_FS_BASE, IA32_GS_BASE, IA32_KERNEL_GS_BASE) ---------------------------------------

  /** FS base (IA32_FS_BASE). Setting it checks canonicality (#GP) but charges no WRMSR: it is state setup. */
  get fsBase(): bigint {
    return this.msrs.get(MSR.IA32_FS_BASE) ?? 0n;
  }
  set fsBase(v: bigint) {
    this.setMsrState(MSR.IA32_FS_BASE, v);
  }
  /** GS base (IA32_GS_BASE). */
  get gsBase(): bigint {
    return this.msrs.get(MSR.IA32_GS_BASE) ?? 0n;
  }
  set gsBase(v: bigint) {
    this.setMsrState(MSR.IA32_GS_BASE, v);
  }
  /** The GS base SWAPGS exchanges with (IA32_KERNEL_GS_BASE). */
  get kernelGsBase(): bigint {
    return this.msrs.get(MSR.IA32_KERNEL_GS_BASE) ?? 0n;
  }
  set kernelGsBase(v: bigint) {
    this.setMsrState(MSR.IA32_KERNEL_GS_BASE, v);
  }

  private setMsrState(index: number, value: bigint): void {
    const v = u64(value, msrName(index));
    const reason = this.wrmsrCheck(index, v);
    if (reason !== null) throw this.fault(new GeneralProtection(0, `${msrName(index)} ${hex(v)}: ${reason}`));
    this.msrs.set(index, v);
  }

  // ---- control registers (SDM Vol. 3A 2.5; MOV to CR in Vol. 2B) ---------------------------------------------

  get cr0(): bigint {
    return BigInt(this.cr0Bits >>> 0);
  }
  get cr2(): bigint {
    return join(this.cr2Lo, this.cr2Hi);
  }
  get cr3(): bigint {
    return join(this.cr3Lo, this.cr3Hi);
  }
  /** CR0 as a number (bits 63:32 are always 0): read without a BigInt. */
  get cr0Low(): number {
    return this.cr0Bits >>> 0;
  }
  /** CR4 as a number (bits 63:32 are always 0): read without a BigInt. */
  get cr4Low(): number {
    return this.cr4Bits >>> 0;
  }
  /** CR3's low and high halves: read without a BigInt. */
  get cr3Low(): number {
    return this.cr3Lo >>> 0;
  }
  get cr3High(): number {
    return this.cr3Hi >>> 0;
  }
  get cr4(): bigint {
    return BigInt(this.cr4Bits >>> 0);
  }
  get cr8(): bigint {
    return BigInt(this.cr8Bits);
  }
  get efer(): bigint {
    return BigInt(this.eferBits);
  }
  set efer(v: bigint) {
    this.wrmsr(MSR.IA32_EFER, v);
  }

  readCr(n: number): bigint {
    oneOf(n, 'control register number n', CR_NUMBERS);
    switch (n) {
      case 0:
        return this.cr0;
      case 2:
        return this.cr2;
      case 3:
        return this.cr3;
      case 4:
        return this.cr4;
      default:
        return this.cr8;
    }
  }

  /** MOV to CRn. Throws GeneralProtection where the instruction would raise #GP(0). */
  writeCr(n: number, value: bigint | number): void {
    oneOf(n, 'control register number n', CR_NUMBERS);
    const v = u64(value, `CR${n} value`);
    const reason = this.movToCr(n, lo32(v), hi32(v));
    if (reason !== null) throw this.fault(new GeneralProtection(0, `MOV to CR${n} ${hex(v)}: ${reason}`));
  }

  /**
   * Hot path MOV to CRn with the value as 32-bit halves (no BigInt, no allocation): the same checks and
   * effects as `writeCr` (one implementation). Returns false and leaves #GP(0) in `xv` where the instruction
   * would raise it. `n` must be 0, 2, 3, 4 or 8 (RangeError otherwise).
   */
  writeCrHalves(n: number, lo: number, hi: number): boolean {
    if (n !== 0 && n !== 3 && n !== 4 && n !== 2 && n !== 8) oneOf(n, 'control register number n', CR_NUMBERS);
    // int32 halves: a number above 2^31 passed to a call that is not inlined is boxed (a heap number per write)
    if (this.movToCr(n, lo | 0, hi | 0) === null) return true;
    return this.raise(VEC_GP, 0);
  }

  /** MOV to CR with the value as halves (signed or unsigned: each case converts); returns the reason for #GP(0), or null. */
  private movToCr(n: number, lo: number, hi: number): string | null {
    this.stats.crWrites++;
    switch (n) {
      case 0:
        return this.movToCr0(lo, hi);
      case 2:
        this.cr2Lo = lo >>> 0;
        this.cr2Hi = hi >>> 0;
        return null;
      case 3:
        return this.movToCr3(lo, hi);
      case 4:
        return this.movToCr4(lo, hi);
      default:
        if (hi !== 0 || lo >>> 4 !== 0) return 'CR8 bits 63:4 are reserved';
        this.cr8Bits = lo;
        return null;
    }
  }

  private movToCr0(lo: number, hi: number): string | null {
    if (hi !== 0) return 'bits 63:32 are reserved';
    const nv = lo >>> 0;
    if ((nv & ~CR0_DEFINED) !== 0) return `reserved bits ${hex(nv & ~CR0_DEFINED, 32)}`;
    if ((nv & CR0_PG) !== 0 && (nv & CR0_PE) === 0) return 'PG = 1 requires PE = 1';
    if ((nv & CR0_NW) !== 0 && (nv & CR0_CD) === 0) return 'NW = 1 requires CD = 1';
    const old = this.cr0Bits >>> 0;
    const pgOn = (nv & CR0_PG) !== 0;
    const wasPg = (old & CR0_PG) !== 0;
    if (wasPg && !pgOn && (this.eferBits & EFER_LMA) !== 0) return 'clearing PG in 64-bit mode';
    if (pgOn && !wasPg) {
      if ((this.eferBits & EFER_LME) === 0) {
        // pksim models IA-32e paging only (see README): 32-bit and PAE paging are not implemented.
        return 'paging without EFER.LME (32-bit/PAE paging) is not modelled by pksim';
      }
      if ((this.cr4Bits & CR4_PAE) === 0) return 'IA-32e mode requires CR4.PAE = 1';
      if ((this.cr4Bits & CR4_PCIDE) !== 0 && (this.cr3Lo & 0xfff) !== 0) return 'CR4.PCIDE = 1 requires CR3[11:0] = 0';
    }
    this.cr0Bits = nv;
    if (pgOn && !wasPg) this.eferBits |= EFER_LMA; // SDM Vol. 3A 10.8.5: LMA is set when paging is enabled with LME
    this.stats.cycles += this.profile.movCr0;
    // SDM 4.10.4.1: clearing CR0.PG invalidates all TLBs and paging-structure caches.
    if (wasPg && !pgOn) this.mmu.invalidateAll();
    this.syncPaging();
    return null;
  }

  private movToCr3(lo: number, hi: number): string | null {
    lo >>>= 0;
    hi >>>= 0;
    const pcide = (this.cr4Bits & CR4_PCIDE) !== 0;
    // Bit 63 of the source is the no-flush hint only with CR4.PCIDE = 1 (SDM Vol. 2B MOV to CR3; Vol. 3A
    // 4.10.4.1), and is not loaded into CR3. With PCIDE = 0 it is one of the reserved bits 63:MAXPHYADDR of
    // CR3 (SDM Vol. 3A 4.5.2, Table 4-12), and MOV to CR3 raises #GP(0) for it, as KVM does.
    const bit63 = hi >>> 31 !== 0;
    if (!pcide && bit63) return 'bit 63 is reserved with CR4.PCIDE = 0 (the no-flush bit needs PCIDE)';
    const noFlush = pcide && bit63;
    const valHi = hi & 0x7fffffff;
    // Bits 62:MAXPHYADDR are reserved (SDM 4.5.2; LAM's bits 62:61 are not modelled).
    const m = this.memory.maxPhysAddr;
    if (m >= 32 ? valHi >>> (m - 32) !== 0 : valHi !== 0 || lo >>> m !== 0) {
      const val = join(lo, valHi);
      return `bits 62:${m} are reserved (value has ${hex((val >> BigInt(m)) << BigInt(m))})`;
    }
    this.cr3Lo = lo;
    this.cr3Hi = valHi;
    this.stats.cr3Writes++;
    this.syncPaging();
    // SDM 4.10.4.1: MOV to CR3 invalidates the non-global TLB entries and the PSC entries of the new PCID
    // (all of them with CR4.PCIDE = 0), unless CR4.PCIDE = 1 and bit 63 of the source is 1.
    if (!noFlush) this.mmu.invalidatePcid(this.mmu.state.pcid, true);
    this.stats.cycles += noFlush ? this.profile.movCr3.noFlush : this.profile.movCr3.flush;
    return null;
  }

  private movToCr4(lo: number, hi: number): string | null {
    if (hi !== 0) return 'bits 63:32 are reserved';
    const nv = lo >>> 0;
    const f = this.features;
    let allowed =
      0x1 | 0x2 | 0x4 | 0x8 | 0x10 | CR4_PAE | 0x40 | 0x100 | 0x200 | 0x400 | 0x800 /* UMIP */ | 0x40000; /* OSXSAVE */
    if (f.pge) allowed |= CR4_PGE;
    if (f.la57) allowed |= CR4_LA57;
    if (f.fsgsbase) allowed |= CR4_FSGSBASE;
    if (f.pcid) allowed |= CR4_PCIDE;
    if (f.smep) allowed |= CR4_SMEP;
    if (f.smap) allowed |= CR4_SMAP;
    if (f.pku) allowed |= CR4_PKE;
    if (f.pks) allowed |= CR4_PKS;
    const bad = nv & ~allowed;
    if (bad !== 0) return `reserved or unsupported bits ${hex(bad, 32)}`;
    const old = this.cr4Bits >>> 0;
    const lma = (this.eferBits & EFER_LMA) !== 0;
    const changed = (old ^ nv) >>> 0;
    if (lma && (nv & CR4_PAE) === 0) return 'clearing PAE in IA-32e mode';
    if (lma && (changed & CR4_LA57) !== 0) return 'changing LA57 in IA-32e mode';
    if ((nv & CR4_PCIDE) !== 0 && (old & CR4_PCIDE) === 0) {
      if (!lma) return 'setting PCIDE outside IA-32e mode';
      if ((this.cr3Lo & 0xfff) !== 0) return 'setting PCIDE with CR3[11:0] != 0';
    }
    this.cr4Bits = nv;
    this.stats.cycles += this.profile.movCr4;
    this.syncPaging();
    // SDM 4.10.4.1, MOV to CR4: changing PGE, or PCIDE 1 -> 0, invalidates everything (all PCIDs, global
    // entries); changing PAE, or SMEP 0 -> 1, invalidates the current PCID's entries.
    if ((changed & CR4_PGE) !== 0 || ((old & CR4_PCIDE) !== 0 && (nv & CR4_PCIDE) === 0)) this.mmu.invalidateAll();
    else if ((changed & CR4_PAE) !== 0 || ((nv & CR4_SMEP) !== 0 && (old & CR4_SMEP) === 0)) this.mmu.invalidatePcid(this.mmu.state.pcid, false);
    return null;
  }

  /** Bring the MMU's control view in line with CR0/CR3/CR4/EFER. */
  private syncPaging(): void {
    const s = this.mmu.state;
    const cr0 = this.cr0Bits;
    const cr4 = this.cr4Bits;
    const lma = (this.eferBits & EFER_LMA) !== 0;
    s.paging = (cr0 & CR0_PG) !== 0;
    s.wp = (cr0 & CR0_WP) !== 0;
    s.la57 = (cr4 & CR4_LA57) !== 0;
    s.pge = (cr4 & CR4_PGE) !== 0;
    s.smep = (cr4 & CR4_SMEP) !== 0;
    s.smap = (cr4 & CR4_SMAP) !== 0;
    // Keys act only in IA-32e paging (SDM 4.6.2).
    s.pke = lma && (cr4 & CR4_PKE) !== 0;
    s.pks = lma && (cr4 & CR4_PKS) !== 0;
    s.nxe = (this.eferBits & EFER_NXE) !== 0;
    const pcide = (cr4 & CR4_PCIDE) !== 0;
    s.pcid = pcide ? this.cr3Lo & 0xfff : 0;
    // Bits MAXPHYADDR-1:12 (MOV to CR3 rejects the bits above).
    s.rootBase = this.cr3Hi * 2 ** 32 + ((this.cr3Lo & 0xfffff000) >>> 0);
    s.pkru = this.pkruBits;
    s.pkrs = this.pkrsBits;
    this.mmu.controlChanged();
  }

  // ---- MSRs ----------------------------------------------------------------------------------------------------

  /** RDMSR. Throws GeneralProtection for an unknown or write-only MSR. */
  rdmsr(index: number): bigint {
    intIn(index, 'MSR index', 0, 0xffffffff);
    const def = MSR_DEFS.get(index);
    if (def === undefined || !def.readable || (def.feature !== undefined && !this.features[def.feature])) {
      throw this.fault(new GeneralProtection(0, `RDMSR of ${msrName(index)}: ${def === undefined ? 'no such MSR' : 'not readable on this CPU'}`));
    }
    this.stats.rdmsr++;
    this.stats.cycles += this.profile.rdmsr.byMsr[index] ?? this.profile.rdmsr.default;
    switch (index) {
      case MSR.IA32_PKRS:
        return BigInt(this.pkrsBits);
      case MSR.IA32_EFER:
        return BigInt(this.eferBits);
      case MSR.IA32_TSC:
        return BigInt.asUintN(64, this.tscOffset + BigInt(Math.floor(this.stats.cycles)));
      default:
        return this.msrs.get(index) ?? 0n;
    }
  }

  /** WRMSR. Throws GeneralProtection for an unknown or read-only MSR, a reserved bit, or a bad value. */
  wrmsr(index: number, value: bigint | number): void {
    intIn(index, 'MSR index', 0, 0xffffffff);
    const v = u64(value, `${msrName(index)} value`);
    const reason = this.wrmsrCheck(index, v);
    if (reason !== null) throw this.fault(new GeneralProtection(0, `WRMSR ${msrName(index)} ${hex(v)}: ${reason}`));
    if (index === MSR.IA32_PKRS) {
      this.writePkrs(Number(v));
      return;
    }
    this.stats.wrmsr++;
    this.stats.cycles += this.profile.wrmsr.byMsr[index] ?? this.profile.wrmsr.default;
    switch (index) {
      case MSR.IA32_EFER:
        // LMA is the processor's: WRMSR leaves it as it is (SDM Vol. 3A 10.8.5).
        this.eferBits = (Number(v) & ~EFER_LMA) | (this.eferBits & EFER_LMA);
        this.syncPaging();
        return;
      case MSR.IA32_TSC:
        this.tscOffset = v - BigInt(Math.floor(this.stats.cycles));
        return;
      default:
        this.msrs.set(index, v);
    }
  }

  private wrmsrCheck(index: number, v: bigint): string | null {
    const def = MSR_DEFS.get(index);
    if (def === undefined) return 'no such MSR';
    if (!def.writable) return 'read-only MSR';
    if (def.feature !== undefined && !this.features[def.feature]) return `this CPU lacks ${def.feature.toUpperCase()}`;
    if (index === MSR.IA32_EFER) {
      let allowed = EFER_SCE | EFER_LME | EFER_LMA;
      if (this.features.nx) allowed |= EFER_NXE;
      if ((v & ~BigInt(allowed)) !== 0n) return `reserved bits ${hex(v & ~BigInt(allowed))}`;
      const lme = (Number(v) & EFER_LME) !== 0;
      if ((this.cr0Bits & CR0_PG) !== 0 && lme !== ((this.eferBits & EFER_LME) !== 0)) return 'changing LME with paging enabled';
      return null;
    }
    return def.check ? def.check(v, this.msrCtx) : null;
  }

  // ---- TLB maintenance -----------------------------------------------------------------------------------------

  /** INVLPG (SDM Vol. 2A; 4.10.4.1): drops the page's TLB entries for the current PCID (global ones too)
   * and every paging-structure-cache entry of the current PCID. A non-canonical address is a no-op. */
  invlpg(va: bigint | number): void {
    const v = u64(va, 'invlpg va');
    this.invlpgHalves(lo32(v), hi32(v));
  }

  invlpgHalves(vaLo: number, vaHi: number): void {
    this.stats.invlpg++;
    this.stats.cycles += this.profile.invlpg;
    if (!this.mmu.isCanonical(vaHi)) return;
    this.mmu.invalidatePage(vaLo, vaHi, this.mmu.state.pcid, false, false);
  }

  /**
   * INVPCID (SDM Vol. 2A): type 0 individual address (non-global), 1 single context (non-global),
   * 2 all contexts including globals, 3 all contexts except globals. #GP(0) for a bad type, a PCID above
   * 4095, a non-canonical address (type 0), or a nonzero PCID with CR4.PCIDE = 0 (types 0, 1).
   */
  invpcid(type: number, desc: { pcid?: number; va?: bigint | number } = {}): void {
    // The type is a 64-bit register and the PCID a 64-bit descriptor field: values they can hold but the
    // instruction rejects are #GP(0); values they cannot hold (negative, fractional) are API misuse.
    intIn(type, 'invpcid type', 0, Number.MAX_SAFE_INTEGER);
    const d = options(desc, 'invpcid descriptor', ['pcid', 'va']);
    const pcid = d.pcid === undefined ? 0 : intIn(d.pcid, 'invpcid descriptor pcid', 0, Number.MAX_SAFE_INTEGER);
    if (type === 0 && d.va === undefined) throw new TypeError('invpcid type 0 (individual address) needs descriptor va, got undefined');
    const va = d.va === undefined ? 0n : u64(d.va, 'invpcid descriptor va');
    if (!this.features.invpcid) throw this.fault(new InvalidOpcode('INVPCID is not supported (features.invpcid = false)'));
    if (type > 3) throw this.fault(new GeneralProtection(0, `INVPCID type ${type}`));
    if (pcid > 4095) throw this.fault(new GeneralProtection(0, `INVPCID with PCID ${show(pcid)} (bits 63:12 of the descriptor must be 0)`));
    const pcide = (this.cr4Bits & CR4_PCIDE) !== 0;
    if ((type === 0 || type === 1) && !pcide && pcid !== 0) throw this.fault(new GeneralProtection(0, 'INVPCID with a nonzero PCID while CR4.PCIDE = 0'));
    this.stats.invpcid++;
    this.stats.cycles += this.profile.invpcid[type];
    switch (type) {
      case 0: {
        if (!isCanonical(va, this.mmu.state.la57 ? 57 : 48)) throw this.fault(new GeneralProtection(0, `INVPCID type 0 with non-canonical address ${hex(va)}`));
        this.mmu.invalidatePage(lo32(va), hi32(va), pcid, true, false);
        return;
      }
      case 1:
        this.mmu.invalidatePcid(pcid, true);
        return;
      case 2:
        this.mmu.invalidateAll();
        return;
      default:
        this.mmu.invalidatePcid(-1, true);
    }
  }

  /**
   * Flush this CPU's TLB the way the kernel does: `global: true` as toggling CR4.PGE (everything, global
   * entries too); otherwise as reloading CR3 (the current PCID's non-global entries).
   */
  flushTlb(opts: { global?: boolean } = {}): void {
    const global = optBool(options(opts, 'flushTlb options', ['global']).global, 'flushTlb option global');
    if (global === true) {
      this.mmu.invalidateAll();
      this.stats.cycles += 2 * this.profile.movCr4;
    } else {
      this.mmu.invalidatePcid(this.mmu.state.pcid, true);
      this.stats.cycles += this.profile.movCr3.flush;
      this.stats.cr3Writes++;
    }
  }

  // ---- memory access: hot path -------------------------------------------------------------------------------

  /** Record an exception for the hot path; always returns false. */
  raise(vector: number, errorCode: number, addrLo = 0, addrHi = 0): false {
    this.xv = vector;
    this.xec = errorCode;
    this.xaddrLo = addrLo;
    this.xaddrHi = addrHi;
    this.stats.faults++;
    if (vector === VEC_PF) {
      // SDM 6.15, #PF: CR2 receives the linear address.
      this.cr2Lo = addrLo;
      this.cr2Hi = addrHi;
    }
    return false;
  }

  /** Access descriptor for the MMU from CPL and flags. */
  accessFlags(type: number, implicit = false, cpl: number = this.cplValue): number {
    return type | (implicit ? ACC_IMPLICIT : cpl === 3 ? ACC_USER : 0);
  }

  /**
   * Translate for an access; -1 on an exception (left in xv/xec). ACC_STACK in `acc` picks #SS over #GP
   * for a non-canonical address.
   */
  xlate(vaLo: number, vaHi: number, acc: number): number {
    const pa = this.mmu.translate(vaLo, vaHi, acc & ACC_MMU_MASK);
    if (pa >= 0) return pa;
    this.translationFailed(pa, vaLo, vaHi, (acc & ACC_STACK) !== 0);
    return -1;
  }

  /** Raise what a failed translation means: #PF (with CR2), or #GP(0)/#SS(0) for a non-canonical address. */
  private translationFailed(code: number, vaLo: number, vaHi: number, stack: boolean): false {
    if (code === XLATE_PAGE_FAULT) return this.raise(VEC_PF, this.mmu.faultCode, vaLo >>> 0, vaHi >>> 0);
    return this.raise(stack ? VEC_SS : VEC_GP, 0);
  }

  /**
   * Load `size` (1, 2, 4, 8) bytes from a linear address. Returns the low 32 bits (the high half of an
   * 8-byte load is left in `loadHi`); on an exception returns 0 with `xv` set (check `xv` after).
   */
  load(vaLo: number, vaHi: number, size: number, acc: number): number {
    const v = this.loadSigned(vaLo, vaHi, size, acc);
    this.loadHi >>>= 0;
    return v >>> 0;
  }

  /**
   * `load` with the 32-bit halves as signed int32 (the value's bits; `>>> 0` gives the unsigned half), for
   * the interpreter: int32 values are small integers to V8, never boxed when passed or returned.
   */
  loadSigned(vaLo: number, vaHi: number, size: number, acc: number): number {
    // Kept small enough for V8 to inline into the interpreter's call sites; the rare cases are calls.
    const off = vaLo & 0xfff;
    this.stats.cycles += this.dataCost;
    if ((acc & 3) === ACC_FETCH) this.stats.fetches++;
    else this.stats.reads++;
    if (off + size > 4096) return this.loadCrossing(vaLo, vaHi, size, acc);
    const pa = this.mmu.translate(vaLo, vaHi, acc & ACC_MMU_MASK);
    if (pa < 0) {
      this.translationFailed(pa, vaLo, vaHi, (acc & ACC_STACK) !== 0);
      return 0;
    }
    const f = this.memory.readFrame((pa - off) / 4096);
    if (f === null) return this.loadUnbacked(size);
    if (size === 4) return f.getInt32(off, true);
    if (size === 8) {
      this.loadHi = f.getInt32(off + 4, true);
      return f.getInt32(off, true);
    }
    return size === 1 ? f.getUint8(off) : f.getUint16(off, true);
  }

  /** A load from above installed memory reads all ones. */
  private loadUnbacked(size: number): number {
    this.memory.stats.unbackedReads++;
    this.loadHi = -1;
    return size === 1 ? 0xff : size === 2 ? 0xffff : -1;
  }

  /** A load that crosses a page boundary: both pages must translate before the access completes. */
  private loadCrossing(vaLo: number, vaHi: number, size: number, acc: number): number {
    const off = vaLo & 0xfff;
    const pa0 = this.xlate(vaLo, vaHi, acc);
    if (pa0 < 0) return 0;
    const nLo = (((vaLo >>> 0) - off + 4096) >>> 0);
    const nHi = nLo === 0 ? (vaHi + 1) >>> 0 : vaHi;
    const pa1 = this.xlate(nLo, nHi, acc);
    if (pa1 < 0) return 0;
    const first = 4096 - off;
    let lo = 0;
    let hi = 0;
    for (let i = 0; i < size; i++) {
      const b = i < first ? this.memory.rd8(pa0 + i) : this.memory.rd8(pa1 + (i - first));
      if (i < 4) lo |= b << (8 * i);
      else hi |= b << (8 * (i - 4));
    }
    this.loadHi = hi | 0;
    return lo | 0;
  }

  /** Store `size` bytes (value as halves). Returns false with `xv` set on an exception (nothing written). */
  store(vaLo: number, vaHi: number, size: number, lo: number, hi: number, acc: number): boolean {
    // Kept small enough for V8 to inline into the interpreter's call sites; the rare cases are calls.
    const off = vaLo & 0xfff;
    this.stats.cycles += this.dataCost;
    this.stats.writes++;
    if (off + size > 4096) return this.storeCrossing(vaLo, vaHi, size, lo, hi, acc);
    const pa = this.mmu.translate(vaLo, vaHi, acc & ACC_MMU_MASK);
    if (pa < 0) return this.translationFailed(pa, vaLo, vaHi, (acc & ACC_STACK) !== 0);
    const f = this.memory.writeFrame((pa - off) / 4096);
    if (f === null) {
      this.memory.stats.unbackedWrites++;
      return true;
    }
    if (size === 4) f.setUint32(off, lo, true);
    else if (size === 8) {
      f.setUint32(off, lo, true);
      f.setUint32(off + 4, hi, true);
    } else if (size === 1) f.setUint8(off, lo);
    else f.setUint16(off, lo, true);
    return true;
  }

  /** A store that crosses a page boundary: both pages must translate before anything is written. */
  private storeCrossing(vaLo: number, vaHi: number, size: number, lo: number, hi: number, acc: number): boolean {
    const off = vaLo & 0xfff;
    const pa0 = this.xlate(vaLo, vaHi, acc);
    if (pa0 < 0) return false;
    const nLo = (((vaLo >>> 0) - off + 4096) >>> 0);
    const nHi = nLo === 0 ? (vaHi + 1) >>> 0 : vaHi;
    const pa1 = this.xlate(nLo, nHi, acc);
    if (pa1 < 0) return false;
    const first = 4096 - off;
    for (let i = 0; i < size; i++) {
      const b = i < 4 ? (lo >>> (8 * i)) & 0xff : (hi >>> (8 * (i - 4))) & 0xff;
      if (i < first) this.memory.wr8(pa0 + i, b);
      else this.memory.wr8(pa1 + (i - first), b);
    }
    return true;
  }

  // ---- memory access: API edge ---------------------------------------------------------------------------------

  /** Access flags from checked options (`o` from `options()`): cpl 0..3, implicit and stack booleans. */
  private accFromOpts(type: number, o: Record<string, unknown>, what: string): number {
    const cpl = o.cpl === undefined ? this.cplValue : intIn(o.cpl, `${what} option cpl`, 0, 3);
    const implicit = optBool(o.implicit, `${what} option implicit`) === true;
    const stack = optBool(o.stack, `${what} option stack`) === true;
    return this.accessFlags(type, implicit, cpl) | (stack ? ACC_STACK : 0);
  }

  /** Check translate/explain options; `access` is required (there is no default access kind). */
  private translateOpts(opts: unknown, what: string): { acc: number; probe: boolean; stack: boolean } {
    if (opts === undefined) throw new TypeError(`${what}(va, options) needs options with access 'read' | 'write' | 'fetch' (there is no default access kind), got undefined`);
    const o = options(opts, `${what} options`, TRANSLATE_OPTIONS, true);
    const access = oneOf(o.access, `${what} option access`, ['read', 'write', 'fetch'] as const);
    const type = access === 'read' ? ACC_READ : access === 'write' ? ACC_WRITE : ACC_FETCH;
    const probe = optBool(o.probe, `${what} option probe`) === true;
    return { acc: this.accFromOpts(type, o, what), probe, stack: o.stack === true };
  }

  /** Turn the pending hot-path exception into a typed fault (and clear it). */
  takeException(): ArchFault {
    if (this.xv === NO_EXCEPTION) throw new RangeError('takeException: no exception is pending (xv = NO_EXCEPTION)');
    const f = makeFault(this.xv, this.xec, this.xv === VEC_PF ? join(this.xaddrLo, this.xaddrHi) : undefined);
    this.xv = NO_EXCEPTION;
    return f;
  }

  private fault<T extends ArchFault>(f: T): T {
    if (f.vector !== VEC_PF) this.stats.faults++;
    return f;
  }

  /**
   * Translate a linear address for one access as the hardware would: uses and fills the TLBs and sets A
   * (and D on a write). With `probe: true`, walks the paging structures without any side effect.
   */
  translate(va: bigint | number, opts: TranslateOptions): TranslateResult {
    const v = u64(va, 'translate va');
    const { acc, probe, stack } = this.translateOpts(opts, 'translate');
    return this.translateChecked(v, acc, probe, stack);
  }

  private translateChecked(v: bigint, acc: number, probe: boolean, stack: boolean): TranslateResult {
    const vaLo = lo32(v);
    const vaHi = hi32(v);
    const s = this.mmu.state;
    if (probe) {
      if (!s.paging) return { ok: true, pa: BigInt(vaLo), pageSize: 4096, pkey: 0 };
      if (!this.mmu.isCanonical(vaHi)) return { ok: false, fault: stack ? new StackFault(0) : new GeneralProtection(0) };
      const w = this.mmu.probe(vaLo, vaHi, acc & ACC_MMU_MASK);
      if (!w.ok) return { ok: false, fault: new PageFault(w.errorCode, v) };
      const off = vaLo & ((1 << w.pageShift) - 1);
      return { ok: true, pa: BigInt(w.pageBase + (off >>> 0)), pageSize: (2 ** w.pageShift) as 4096 | 2097152 | 1073741824, pkey: w.pkey };
    }
    const pa = this.xlate(vaLo, vaHi, acc);
    if (pa < 0) return { ok: false, fault: this.takeException() as PageFault | GeneralProtection | StackFault };
    if (!s.paging) return { ok: true, pa: BigInt(pa), pageSize: 4096, pkey: 0 };
    return { ok: true, pa: BigInt(pa), pageSize: (2 ** this.mmu.lastPageShift) as 4096 | 2097152 | 1073741824, pkey: this.mmu.lastPkey };
  }

  /**
   * Explain a translation for debugging: the entries the walk reads in memory now (no TLB, no side effect),
   * decoded, and the outcome. `levels` lists PML4E (or PML5E) first, down to the entry that ended the walk.
   */
  explain(va: bigint | number, opts: TranslateOptions): {
    levels: { level: PageLevel; name: string; entryAddress: bigint; entry: bigint; fields: Required<Omit<EntryFields, 'addr'>> & { addr: bigint } }[];
    result: TranslateResult;
  } {
    const v = u64(va, 'explain va');
    const { acc, stack } = this.translateOpts(opts, 'explain');
    const result = this.translateChecked(v, acc, true, stack);
    const levels: ReturnType<Cpu['explain']>['levels'] = [];
    const s = this.mmu.state;
    if (s.paging && this.mmu.isCanonical(hi32(v))) {
      const w = this.mmu.walkOut; // filled by the probe above
      for (let l = s.la57 ? 5 : 4; l >= w.level; l--) {
        const level = l as PageLevel;
        const entry = join(w.entryLo[l], w.entryHi[l]);
        levels.push({ level, name: LEVEL_NAMES[level], entryAddress: BigInt(w.entryPa[l]), entry, fields: decodeEntry(entry, level) });
      }
    }
    return { levels, result };
  }

  /** Read 1, 2, 4 or 8 bytes at a linear address. Throws PageFault / GeneralProtection / StackFault. */
  read(va: bigint | number, size: 1 | 2 | 4 | 8, opts?: AccessOptions & { fetch?: boolean }): bigint {
    checkSize(size, 'read size');
    const v = u64(va, 'read va');
    const o = options(opts, 'read options', READ_OPTIONS);
    const acc = this.accFromOpts(optBool(o.fetch, 'read option fetch') === true ? ACC_FETCH : ACC_READ, o, 'read');
    this.xv = NO_EXCEPTION;
    const lo = this.load(lo32(v), hi32(v), size, acc);
    if (this.xv !== NO_EXCEPTION) throw this.takeException();
    return size === 8 ? join(lo, this.loadHi) : BigInt(lo >>> 0);
  }

  /** Write 1, 2, 4 or 8 bytes at a linear address. Throws PageFault / GeneralProtection / StackFault. */
  write(va: bigint | number, size: 1 | 2 | 4 | 8, value: bigint | number, opts?: AccessOptions): void {
    checkSize(size, 'write size');
    const v = u64(va, 'write va');
    const val = uint(value, `write value (size ${size})`, size * 8);
    const acc = this.accFromOpts(ACC_WRITE, options(opts, 'write options', WRITE_OPTIONS), 'write');
    this.xv = NO_EXCEPTION;
    if (!this.store(lo32(v), hi32(v), size, lo32(val), hi32(val), acc)) throw this.takeException();
  }

  /** CPUID leaf/subleaf as this CPU reports it (driven by `features`). */
  cpuid(leaf: number, subleaf = 0): { eax: number; ebx: number; ecx: number; edx: number } {
    intIn(leaf, 'cpuid leaf', 0, 0xffffffff);
    intIn(subleaf, 'cpuid subleaf', 0, 0xffffffff);
    this.stats.cycles += this.profile.insn.cpuid;
    const f = this.features;
    const r = { eax: 0, ebx: 0, ecx: 0, edx: 0 };
    switch (leaf >>> 0) {
      case 0:
        // max basic leaf 7, "GenuineIntel"
        return { eax: 7, ebx: 0x756e6547, edx: 0x49656e69, ecx: 0x6c65746e };
      case 1:
        r.eax = 0x000806f8; // family 6, model 0x8F (Sapphire Rapids), stepping 8
        r.ebx = ((this.index & 0xff) << 24) >>> 0;
        // ECX: CX16 (13), PCID (17), x2APIC (21), MOVBE (22), POPCNT (23)
        r.ecx = (1 << 13) | (f.pcid ? 1 << 17 : 0) | (1 << 22) | (1 << 23);
        // EDX: TSC (4), MSR (5), PAE (6), CX8 (8), APIC (9), SEP (11), PGE (13), CMOV (15), PAT (16)
        r.edx = (1 << 4) | (1 << 5) | (1 << 6) | (1 << 8) | (1 << 9) | (1 << 11) | (f.pge ? 1 << 13 : 0) | (1 << 15) | (1 << 16);
        return r;
      case 7:
        if (subleaf !== 0) return r;
        // EBX: FSGSBASE (0), BMI1 (3), SMEP (7), BMI2 (8), INVPCID (10), SMAP (20)
        r.ebx = (f.fsgsbase ? 1 : 0) | (f.smep ? 1 << 7 : 0) | (f.invpcid ? 1 << 10 : 0) | (f.smap ? 1 << 20 : 0);
        // ECX: PKU (3), OSPKE (4) = CR4.PKE, LA57 (16), PKS (31)
        r.ecx = ((f.pku ? 1 << 3 : 0) | ((this.cr4Bits & CR4_PKE) !== 0 ? 1 << 4 : 0) | (f.la57 ? 1 << 16 : 0) | (f.pks ? 1 << 31 : 0)) >>> 0;
        return r;
      case 0x80000000:
        r.eax = 0x80000008;
        return r;
      case 0x80000001:
        // ECX: LAHF/SAHF (0), LZCNT (5); EDX: SYSCALL (11), NX (20), 1GB pages (26), RDTSCP (27), LM (29)
        r.ecx = 1 | (1 << 5);
        r.edx = ((1 << 11) | (f.nx ? 1 << 20 : 0) | (f.gbpages ? 1 << 26 : 0) | (1 << 27) | (1 << 29)) >>> 0;
        return r;
      case 0x80000008:
        r.eax = this.memory.maxPhysAddr | ((f.la57 ? 57 : 48) << 8);
        return r;
      default:
        return r;
    }
  }

  // ---- the interpreter (src/cpu/run.ts, decode/, exec/) ------------------------------------------------------

  /** Run guest code from RIP until HLT, `maxInstructions`, an exception without an IDT, a triple fault or a hook's stop. */
  run(opts?: RunOptions): RunResult {
    return runCpu(this, opts);
  }

  /** Run one instruction (a REP string instruction: one iteration). */
  step(opts?: { hooks?: RunHooks }): RunResult {
    return runCpu(this, { ...opts, maxInstructions: 1 });
  }

  /** Disassemble `count` instructions at `rip` (default RIP), one per line: address, bytes, Intel syntax. */
  disassemble(rip?: bigint, count = 1): string {
    return disassembleAt(this, rip ?? this.rip, count);
  }

  /** @internal An MSR's value for the interpreter (SYSCALL, RDTSC...): no cost, no statistics, no checks. */
  msrRaw(index: number): bigint {
    if (index === MSR.IA32_TSC) return BigInt.asUintN(64, this.tscOffset + BigInt(Math.floor(this.stats.cycles)));
    return this.msrs.get(index) ?? 0n;
  }

  /** A compact view of the state (debugging, snapshots in tests). */
  snapshot(): { regs: Record<GprName, bigint>; rip: bigint; rflags: bigint; cpl: number; cr0: bigint; cr2: bigint; cr3: bigint; cr4: bigint; efer: bigint; pkru: number; pkrs: number } {
    return { regs: this.regs, rip: this.rip, rflags: this.rflags, cpl: this.cplValue, cr0: this.cr0, cr2: this.cr2, cr3: this.cr3, cr4: this.cr4, efer: this.efer, pkru: this.pkruBits, pkrs: this.pkrsBits };
  }
}

function checkSize(size: number, what: string): void {
  oneOf(size, what, [1, 2, 4, 8]);
}

