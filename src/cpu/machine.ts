/**
 * A machine: 1 to 256 logical processors sharing one physical memory, each with its own registers, TLBs and
 * cycle clock, and an IPI primitive that sends as Linux does (x2APIC cluster or physical destination mode, the
 * all-but-self shorthand) and charges the sender and every target as the cost profile says.
 */

import { PhysicalMemory } from '../mmu/physical-memory.js';
import { Cpu } from './cpu.js';
import { resolveFeatures, type CpuFeatures } from './features.js';
import type { CostProfile } from './profile.js';
import { resolveProfile, type ProfileOverrides } from './profiles.js';
import { CR0_PE, CR0_PG, CR0_WP, CR4_LA57, CR4_PAE, EFER_LME, EFER_NXE, EFER_SCE } from './regs.js';
import { MSR } from './msr.js';
import { intIn, oneOf, optBool, options, show, u64 } from '../util/validate.js';

export interface MachineOptions {
  /** Logical processors, 1..256. Default 1. */
  cpus?: number;
  /** Installed memory in bytes, a multiple of 4096 up to 2^maxPhysAddr. Default 4 GiB. */
  memory?: number | bigint;
  /** MAXPHYADDR, 36..52. Default 46. */
  maxPhysAddr?: number;
  /** A built-in profile name ('sapphire-rapids', 'skylake-sp') or a full profile. Default 'sapphire-rapids'. */
  profile?: string | CostProfile;
  /** Field overrides applied on top of `profile`. */
  profileOverrides?: ProfileOverrides;
  /** CPU features; default: everything Sapphire Rapids has. */
  features?: Partial<CpuFeatures>;
}

export interface IpiOptions {
  /** Work each target does in its handler (e.g. an INVLPG); its cycles count on the target's clock. */
  handler?: (target: Cpu) => void;
  /** The sender waits for every target to acknowledge (as smp_call_function_many with wait). Default true. */
  wait?: boolean;
}

export interface IpiResult {
  /** Cycles the sender spent: its ICR writes and, with `wait`, its wait for every target (its latency). */
  senderCycles: number;
  /** Cycles each target spent (interrupt overhead plus the handler's work), in target order. */
  targetCycles: number[];
  /** Cycles spent on all CPUs together: `senderCycles` plus every target's (what a shootdown costs the system). */
  systemCycles: number;
  /** ICR writes the sender made: 1 with the all-but-self shorthand, else one per x2APIC cluster or per target. */
  icrWrites: number;
}

/** CPUs per x2APIC logical cluster: the logical ID holds 16 one-hot bits below the cluster ID (SDM Vol. 3A 11.12.10.2). */
const X2APIC_CLUSTER_SIZE = 16;

const KNOWN_OPTIONS = ['cpus', 'memory', 'maxPhysAddr', 'profile', 'profileOverrides', 'features'];

export class Machine {
  readonly memory: PhysicalMemory;
  readonly cpus: readonly Cpu[];
  readonly profile: CostProfile;
  readonly features: Readonly<CpuFeatures>;

  constructor(opts: MachineOptions = {}) {
    options(opts, 'Machine options', KNOWN_OPTIONS);
    const n = opts.cpus === undefined ? 1 : intIn(opts.cpus, 'cpus', 1, 256);
    this.memory = new PhysicalMemory({ size: opts.memory ?? 4 * 2 ** 30, maxPhysAddr: opts.maxPhysAddr ?? 46 });
    this.profile = resolveProfile(opts.profile, opts.profileOverrides);
    this.features = Object.freeze(resolveFeatures(opts.features));
    const cpus: Cpu[] = [];
    for (let i = 0; i < n; i++) cpus.push(new Cpu({ index: i, memory: this.memory, profile: this.profile, features: this.features }));
    this.cpus = Object.freeze(cpus);
  }

  /**
   * CPU `i`: `m.cpu(0)` is `m.cpus[0]` typed as a Cpu (never undefined, for code compiled with
   * `noUncheckedIndexedAccess`); an index this machine does not have is a RangeError.
   */
  cpu(i: number): Cpu {
    intIn(i, 'cpu index', 0, this.cpus.length - 1);
    return this.cpus[i] as Cpu;
  }

  /** Copy bytes into physical memory. */
  load(pa: bigint | number, bytes: Uint8Array): void {
    this.memory.writeBytes(pa, bytes);
  }

  /**
   * Send an IPI from `from` to `targets` (CPU indices or Cpus; the sender itself and repeats are skipped), as
   * Linux's smp_call_function_many() does, and run `handler` on each target. Charges, from `profile.ipi`:
   * - the sender `send` per ICR write: one with the all-but-self shorthand when the targets are every other CPU
   *   (`shorthand`), else one per x2APIC cluster of 16 holding a target (`x2apic-cluster`; the model gives CPU i
   *   x2APIC ID i) or one per target (`x2apic-physical`);
   * - each target `handle` (the interrupt's overhead) plus the cycles its handler spends;
   * - with `wait`, the sender also waits: `deliver` + the slowest target's handler work + `ack`, plus
   *   `perTarget` for each target beyond the first (Linux queues to and then waits on each target in turn).
   */
  sendIpi(from: Cpu | number, targets: ReadonlyArray<Cpu | number>, opts: IpiOptions = {}): IpiResult {
    const sender = this.cpuOf(from);
    const list: Cpu[] = [];
    for (const t of targets) {
      const c = this.cpuOf(t);
      if (c !== sender && !list.includes(c)) list.push(c);
    }
    const p = this.profile.ipi;
    const n = list.length;
    const start = sender.stats.cycles;
    const icrWrites = this.icrWrites(list);
    sender.stats.cycles += p.send * icrWrites;
    sender.stats.icrWrites += icrWrites;
    sender.stats.ipisSent += n;
    const targetCycles: number[] = [];
    let slowestWork = 0;
    let targetsTotal = 0;
    for (const c of list) {
      const t0 = c.stats.cycles;
      c.stats.cycles += p.handle;
      c.stats.ipisReceived++;
      opts.handler?.(c);
      const spent = c.stats.cycles - t0;
      targetCycles.push(spent);
      targetsTotal += spent;
      if (spent - p.handle > slowestWork) slowestWork = spent - p.handle;
    }
    if ((opts.wait ?? true) && n > 0) sender.stats.cycles += p.deliver + slowestWork + p.ack + (n - 1) * p.perTarget;
    const senderCycles = sender.stats.cycles - start;
    return { senderCycles, targetCycles, systemCycles: senderCycles + targetsTotal, icrWrites };
  }

  /** ICR writes Linux makes to reach `list` (the sender excluded; SDM Vol. 3A 11.12.9, 11.12.10). */
  private icrWrites(list: readonly Cpu[]): number {
    const p = this.profile.ipi;
    if (list.length === 0) return 0;
    if (p.shorthand && list.length === this.cpus.length - 1) return 1; // every other CPU: "all excluding self"
    if (p.delivery === 'x2apic-physical') return list.length;
    let clusters = 0; // up to 256 CPUs: 16 clusters, one bit each
    for (const c of list) clusters |= 1 << Math.floor(c.index / X2APIC_CLUSTER_SIZE);
    let count = 0;
    for (; clusters !== 0; clusters &= clusters - 1) count++;
    return count;
  }

  private cpuOf(c: Cpu | number): Cpu {
    if (typeof c === 'number') {
      const cpu = this.cpus[c];
      if (cpu === undefined) throw new RangeError(`no CPU ${String(c)} (this machine has ${this.cpus.length})`);
      return cpu;
    }
    if (!this.cpus.includes(c)) throw new RangeError(`CPU ${c.index} does not belong to this machine`);
    return c;
  }
}

export interface LongModeOptions {
  /** CR3 value (root table address, PCID bits). */
  cr3: bigint | number;
  /** 5-level paging. Default false. */
  la57?: boolean;
  /** CR0.WP. Default true. */
  wp?: boolean;
  /** EFER.NXE. Default true when the CPU has NX. */
  nxe?: boolean;
  /** Extra CR4 bits (PGE, PCIDE, SMEP, SMAP, PKE, PKS...). */
  cr4?: bigint | number;
  /** CPL after the switch: 0 (a kernel) or 3 (a user program). Default: the CPU's current CPL. */
  cpl?: 0 | 3;
}

const LONG_MODE_OPTIONS = ['cr3', 'la57', 'wp', 'nxe', 'cr4', 'cpl'];

/**
 * Put a CPU into IA-32e mode with paging through the architectural sequence (EFER.LME, CR4.PAE, CR3,
 * CR0.PG; SDM Vol. 3A 10.8.5), so every check of those writes applies. CR4.PCIDE is set after paging is on,
 * as it must be.
 */
export function enterLongMode(cpu: Cpu, o: LongModeOptions): void {
  if (typeof (cpu as Partial<Cpu> | null)?.writeCr !== 'function') throw new TypeError(`enterLongMode cpu must be a Cpu (m.cpu(i)), got ${show(cpu)}`);
  options(o, 'enterLongMode options', LONG_MODE_OPTIONS, true);
  if (o.cr3 === undefined) throw new TypeError('enterLongMode option cr3 (the root table address) is required, got undefined');
  const cr3 = u64(o.cr3, 'enterLongMode option cr3');
  const extra = o.cr4 === undefined ? 0n : u64(o.cr4, 'enterLongMode option cr4');
  const la57 = optBool(o.la57, 'enterLongMode option la57') === true;
  const wp = optBool(o.wp, 'enterLongMode option wp') ?? true;
  const nxe = optBool(o.nxe, 'enterLongMode option nxe') ?? cpu.features.nx;
  // The sequence runs at CPL 0 (MOV to CR is privileged); afterwards the CPU runs a kernel (0) or a user
  // program (3). Rings 1 and 2 exist, but nothing this option is for runs there: set cpu.cpl for them.
  const cpl = o.cpl === undefined ? undefined : oneOf(o.cpl, 'enterLongMode option cpl', [0, 3] as const);
  const pcide = 1n << 17n;
  cpu.wrmsr(MSR.IA32_EFER, BigInt(EFER_LME | EFER_SCE | (nxe ? EFER_NXE : 0)));
  cpu.writeCr(4, BigInt(CR4_PAE | (la57 ? CR4_LA57 : 0)) | (extra & ~pcide));
  cpu.writeCr(3, cr3 & ~0xfffn);
  cpu.writeCr(0, BigInt(CR0_PE | (wp ? CR0_WP : 0)) | BigInt(CR0_PG >>> 0));
  if (extra & pcide) {
    cpu.writeCr(4, cpu.cr4 | pcide);
    cpu.writeCr(3, cr3);
  } else if ((cr3 & 0xfffn) !== 0n) {
    cpu.writeCr(3, cr3);
  }
  if (cpl !== undefined) cpu.cpl = cpl;
}
