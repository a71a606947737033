/**
 * Cost profiles: plain data saying what each architectural event costs, in core cycles. Functional code asks
 * the profile and adds the figure to the CPU's cycle counter; nothing else about timing is hard-coded.
 * Every figure in a built-in profile names its source in a comment (profiles.ts).
 */

import type { MmuTiming, TlbGeometry } from '../mmu/mmu.js';

/** How IPIs to a set of CPUs are addressed (CostProfile.ipi.delivery). */
export type IpiDelivery = 'x2apic-cluster' | 'x2apic-physical';

export interface CostProfile {
  /** Profile name, e.g. 'sapphire-rapids'. */
  name: string;
  /** One line: which core, which sources. */
  description: string;
  /** Nominal core clock, to turn cycles into time in reports. */
  ghz: number;
  /** TLB and paging-structure cache geometry. */
  tlb: TlbGeometry;
  /** Translation costs (TLB hits, walks). */
  mmu: MmuTiming;
  /** Load-to-use latency by level of the memory hierarchy. */
  memory: { l1d: number; l2: number; llc: number; dram: number };
  /**
   * Cycles charged per data access made through `cpu.read`/`cpu.write` (the model does not simulate data
   * caches: each access is charged as a hit in the level named here).
   */
  dataAccessLevel: 'l1d' | 'l2' | 'llc' | 'dram';
  /** Instruction classes (the interpreter charges these). */
  insn: {
    alu: number;
    mul: number;
    /** DIV/IDIV with a 64-bit operand. */
    div: number;
    div8: number;
    div16: number;
    div32: number;
    /** A taken branch (Jcc taken, JMP, CALL, RET, LOOP taken). */
    branch: number;
    branchNotTaken: number;
    load: number;
    store: number;
    /** One iteration of a string instruction (MOVS STOS LODS CMPS SCAS, with or without REP). */
    string: number;
    pause: number;
    /** LFENCE / MFENCE / SFENCE / CLFLUSH. */
    fence: number;
    syscall: number;
    sysret: number;
    swapgs: number;
    /** STAC / CLAC. */
    stac: number;
    /** IN / OUT (to an emulated device). */
    port: number;
    /** A serializing instruction (CPUID, MOV to CR, WRMSR to a serializing MSR) beyond its own cost. */
    serialize: number;
    cpuid: number;
    rdtsc: number;
  };
  /** WRMSR cost by MSR index; `default` for the rest. IA32_PKRS (0x6E1) is not serializing. */
  wrmsr: { default: number; byMsr: Record<number, number> };
  rdmsr: { default: number; byMsr: Record<number, number> };
  wrpkru: number;
  rdpkru: number;
  /** INVLPG of one page (the instruction; refills are charged when they happen). */
  invlpg: number;
  /** INVPCID by type 0..3. */
  invpcid: readonly [number, number, number, number];
  /** MOV to CR3 that flushes (non-global entries of the PCID) and with the no-flush bit (bit 63). */
  movCr3: { flush: number; noFlush: number };
  /** MOV to CR0 and CR4. */
  movCr0: number;
  movCr4: number;
  /**
   * clear_page: zeroing one 4 KiB page as Linux does it (clear_page_erms, REP STOSB with ERMSB; clear_page_rep,
   * REP STOSQ, without), the whole page as one bulk operation. The page's translation (TLB, walk) is charged apart.
   */
  clearPage: number;
  /** Inter-processor interrupts, as Linux sends them (see Machine.sendIpi for how the figures add up). */
  ipi: {
    /**
     * x2APIC destination mode for a mask of CPUs: 'x2apic-cluster' sends one ICR write per cluster of 16
     * x2APIC IDs that holds a target, 'x2apic-physical' one per target (SDM Vol. 3A 11.12.10).
     */
    delivery: IpiDelivery;
    /** Send to "all excluding self" with one ICR write when the targets are every other CPU (Linux's IPI shorthand). */
    shorthand: boolean;
    /** Sender: one ICR write (Linux: the fence and the WRMSR to the x2APIC ICR). */
    send: number;
    /**
     * Sender: each target beyond the first (queueing the request on its call-function list, then waiting on
     * its completion flag: both serial per target).
     */
    perTarget: number;
    /** From the ICR write until a target runs the requested function (APIC message, interrupt entry, dispatch). */
    deliver: number;
    /** Target: all it loses to the interrupt (entry, dispatch, EOI, exit), excluding the requested function's work. */
    handle: number;
    /** Sender: from the slowest target finishing its work until the sender sees it done. */
    ack: number;
  };
  /** Exception/interrupt delivery through the IDT and IRETQ. */
  interrupt: { entry: number; exit: number };
}
