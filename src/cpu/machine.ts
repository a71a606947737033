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

/**
 * The work a target of `Machine.ipiMask` does in its handler, chosen without a closure per call: a caller keeps one
 * handler object, sets its fields (the flush in progress) before the send, and the Machine calls `run` on each
 * target. Its cycles count on the target's clock.
 */
export interface IpiHandler {
  run(target: Cpu): void;
}

/**
 * What the last IPI sent through the Machine cost (`m.lastIpi`, overwritten by every send: the allocation-free
 * path leaves its results here instead of in a new object).
 */
export class IpiRecord {
  /** Targets interrupted (the sender and repeats excluded). */
  targets = 0;
  /** Cycles the sender spent: its ICR writes and, with `wait`, its wait for every target. */
  senderCycles = 0;
  /** `senderCycles` plus every target's cycles. */
  systemCycles = 0;
  /** ICR writes the sender made. */
  icrWrites = 0;
  /** Target i's CPU index (in the order the targets were handled), for i < `targets`. */
  readonly order: Int32Array;
  /** Cycles target i spent (interrupt overhead plus its handler's work), for i < `targets`. */
  readonly targetCycles: Float64Array;

  constructor(cpus: number) {
    this.order = new Int32Array(cpus);
    this.targetCycles = new Float64Array(cpus);
  }
}

/** A handler given as a function (the public sendIpi's option), run through the IpiHandler interface. */
class FnHandler implements IpiHandler {
  constructor(private readonly fn: ((target: Cpu) => void) | undefined) {}
  run(target: Cpu): void {
    this.fn?.(target);
  }
}

const KNOWN_OPTIONS = ['cpus', 'memory', 'maxPhysAddr', 'profile', 'profileOverrides', 'features'];

export class Machine {
  readonly memory: PhysicalMemory;
  readonly cpus: readonly Cpu[];
  readonly profile: CostProfile;
  readonly features: Readonly<CpuFeatures>;
  /** The last IPI's costs (see IpiRecord). */
  readonly lastIpi: IpiRecord;
  // Scratch of the IPI path, owned by the machine: a stamp per CPU (dedup) and per x2APIC cluster (ICR writes),
  // so neither needs clearing: a send marks with a fresh stamp.
  private readonly cpuStamp: Uint32Array;
  private readonly clusterStamp: Uint32Array;
  private stamp = 0;
  /** Sends in progress (a handler may send IPIs itself). */
  private sending = 0;

  constructor(opts: MachineOptions = {}) {
    options(opts, 'Machine options', KNOWN_OPTIONS);
    const n = opts.cpus === undefined ? 1 : intIn(opts.cpus, 'cpus', 1, 256);
    this.memory = new PhysicalMemory({ size: opts.memory ?? 4 * 2 ** 30, maxPhysAddr: opts.maxPhysAddr ?? 46 });
    this.profile = resolveProfile(opts.profile, opts.profileOverrides);
    this.features = Object.freeze(resolveFeatures(opts.features));
    const cpus: Cpu[] = [];
    for (let i = 0; i < n; i++) cpus.push(new Cpu({ index: i, memory: this.memory, profile: this.profile, features: this.features }));
    this.cpus = Object.freeze(cpus);
    this.lastIpi = new IpiRecord(n);
    this.cpuStamp = new Uint32Array(n);
    this.clusterStamp = new Uint32Array(Math.ceil(n / X2APIC_CLUSTER_SIZE));
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
   * Built on the allocation-free path (`ipiMask`'s), in the order the targets are given.
   */
  sendIpi(from: Cpu | number, targets: ReadonlyArray<Cpu | number>, opts: IpiOptions = {}): IpiResult {
    const sender = this.cpuOf(from);
    const r = this.record();
    const s = this.nextStamp();
    this.cpuStamp[sender.index] = s;
    let n = 0;
    for (const t of targets) {
      const c = this.cpuOf(t);
      if (this.cpuStamp[c.index] === s) continue; // the sender, or a repeat
      this.cpuStamp[c.index] = s;
      r.order[n++] = c.index;
    }
    const h = new FnHandler(opts.handler); // the public path may allocate; a handler may send IPIs itself
    this.deliver(r, sender, n, h, opts.wait ?? true);
    return { senderCycles: r.senderCycles, targetCycles: Array.from(r.targetCycles.subarray(0, n)), systemCycles: r.systemCycles, icrWrites: r.icrWrites };
  }

  /**
   * The allocation-free IPI (the kernel model's shootdowns use it): from `from` to every CPU i with `mask[i]`
   * non-zero (the sender's own entry is ignored), handled in CPU order, `handler.run(target)` on each (null: no
   * work beyond the interrupt). Charges as `sendIpi` does; the results are left in `lastIpi`. `mask` is the
   * caller's (one byte per CPU of this machine), read only. A handler may itself send IPIs: the nested send's
   * results go to a record of its own (returned), the outer send's to `lastIpi`.
   */
  ipiMask(from: Cpu, mask: Uint8Array, handler: IpiHandler | null, wait = true): IpiRecord {
    const cpus = this.cpus.length;
    if (mask.length !== cpus) throw new RangeError(`ipiMask mask must have one byte per CPU (${cpus}), got length ${mask.length}`);
    if (this.cpus[from.index] !== from) throw new RangeError(`CPU ${from.index} does not belong to this machine`);
    const r = this.record();
    const order = r.order;
    let n = 0;
    for (let i = 0; i < cpus; i++) if (mask[i] !== 0 && i !== from.index) order[n++] = i;
    this.deliver(r, from, n, handler, wait);
    return r;
  }

  /** The record a send fills: `lastIpi`, or a new one for a send made from inside another send's handler. */
  private record(): IpiRecord {
    return this.sending === 0 ? this.lastIpi : new IpiRecord(this.cpus.length);
  }

  /** Interrupt the `n` targets in r.order (distinct, sender excluded) and charge everyone. */
  private deliver(r: IpiRecord, sender: Cpu, n: number, handler: IpiHandler | null, wait: boolean): void {
    const p = this.profile.ipi;
    const order = r.order;
    const start = sender.stats.cycles;
    const icrWrites = this.icrWrites(order, n);
    sender.stats.cycles += p.send * icrWrites;
    sender.stats.icrWrites += icrWrites;
    sender.stats.ipisSent += n;
    let slowestWork = 0;
    let targetsTotal = 0;
    this.sending++;
    try {
      for (let i = 0; i < n; i++) {
        const c = this.cpus[order[i]] as Cpu;
        const t0 = c.stats.cycles;
        c.stats.cycles += p.handle;
        c.stats.ipisReceived++;
        if (handler !== null) handler.run(c);
        const spent = c.stats.cycles - t0;
        r.targetCycles[i] = spent;
        targetsTotal += spent;
        if (spent - p.handle > slowestWork) slowestWork = spent - p.handle;
      }
    } finally {
      this.sending--;
    }
    if (wait && n > 0) sender.stats.cycles += p.deliver + slowestWork + p.ack + (n - 1) * p.perTarget;
    r.targets = n;
    r.icrWrites = icrWrites;
    r.senderCycles = sender.stats.cycles - start;
    r.systemCycles = r.senderCycles + targetsTotal;
  }

  /**
   * ICR writes Linux makes to reach the `n` targets in `order` (the sender excluded; SDM Vol. 3A 11.12.9,
   * 11.12.10). Clusters are counted with a stamp per cluster, so any CPU count works (no 32-bit cluster mask).
   */
  private icrWrites(order: Int32Array, n: number): number {
    const p = this.profile.ipi;
    if (n === 0) return 0;
    if (p.shorthand && n === this.cpus.length - 1) return 1; // every other CPU: "all excluding self"
    if (p.delivery === 'x2apic-physical') return n;
    const s = this.nextStamp();
    let count = 0;
    for (let i = 0; i < n; i++) {
      const cluster = Math.floor(order[i] / X2APIC_CLUSTER_SIZE);
      if (this.clusterStamp[cluster] !== s) {
        this.clusterStamp[cluster] = s;
        count++;
      }
    }
    return count;
  }

  /** A fresh stamp for the scratch marks (on wrap-around, every mark is cleared once). */
  private nextStamp(): number {
    if (this.stamp === 0xffffffff) {
      this.stamp = 0;
      this.cpuStamp.fill(0);
      this.clusterStamp.fill(0);
    }
    return ++this.stamp;
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
