/**
 * The built-in cost profiles and `resolveProfile`, which copies one, applies overrides and validates the result.
 *
 * Every figure carries a comment naming its source. A comment beginning `estimated:` marks a figure no public
 * source gives; it says how the figure was reached. Figures measured in nanoseconds are turned into cycles at
 * the profile's `ghz` with `ns()`. If you override `ghz`, those figures keep their cycle counts; override them too.
 * Instruction costs measured in ns on a machine whose clock the source does not state are converted at an
 * assumed 3 GHz, and the comment says so.
 *
 * Sources, by the short names the comments use:
 * - [Bochs SPR CPUID]: CPUID leaf 18H (deterministic address translation parameters) of a Xeon w9-3475X
 *   (Sapphire Rapids), as recorded in Bochs, bochs/cpu/cpudb/intel/sapphire_rapids.cc (2023).
 * - [Bochs SKX CPUID]: CPUID leaf 2 descriptors of a Skylake-X, bochs/cpu/cpudb/intel/corei7_skylake-x.cc;
 *   descriptors decoded with the SDM Vol. 2A CPUID leaf 2 descriptor table (03H, 63H, 76H, B5H, C3H).
 * - [Intel ORM]: Intel 64 and IA-32 Architectures Optimization Reference Manual. The Golden Cove figures are
 *   as quoted (with the manual's TLB diagram) in D. Bakhvalov, "Performance Analysis and Tuning on Modern CPUs",
 *   ch. 3 "Modern CPU design" (github.com/dendibakh/perf-book); the Skylake figures as in
 *   /work/shared/REFERENCES.md.
 * - [TMA SPR] / [TMA SKX]: Intel's Top-down Microarchitecture Analysis model constants, pmu-tools
 *   spr_server_ratios.py (TMA 4.7) and skx_server_ratios.py (TMA 4.8): Mem_STLB_Hit_Cost (cycles),
 *   Mem_XSNP_None_Cost (L3 hit, ns), Mem_Local_DRAM_Cost (ns), Avg_Assist_Cost. Avg_Assist_Cost is in issue slots,
 *   not cycles: the Assists node (domain "Slots_Estimated") computes Avg_Assist_Cost * ASSISTS.ANY / SLOTS. The
 *   models' Pipeline_Width (slots per cycle) is 6 for Sapphire Rapids and 4 for Skylake.
 * - [C&C SPR]: Chips and Cheese, "Sapphire Rapids: Golden Cove Hits Servers" (2023): Xeon Platinum 8480,
 *   boosting to 3.8 GHz. Its L1/L2 load-to-use figures (5 and 16 cycles) as carried into the SST Sapphire
 *   Rapids model config that cites it (sst-elements spatter config, "l1_ltu_latency = 5", "l2_ltu_latency = 16").
 * - [AT Rome]: AnandTech, "AMD Rome 2nd gen EPYC" review (2019), latency table: Xeon Platinum 8280 (Cascade
 *   Lake, the Skylake-SP core) at 2.7 GHz: L1 4, L2 14 cycles.
 * - [AT SKL-SP]: AnandTech, "Sizing Up Servers: Intel's Skylake-SP Xeon versus AMD's EPYC 7000" (11 Jul 2017), "Memory
 *   Subsystem: Latency" (LMBench random load latency): Skylake-SP with DDR4-2666, L3 54-56 cycles, memory 89-91 ns.
 * - [AT SKL-X]: AnandTech, "The Intel Skylake-X Review: Core i9 7900X, i7 7820X and i7 7800X Tested" (2017), table
 *   "Comparison: Skylake-S and Skylake-SP Caches": the L2 TLB of both is "1536-entry 12-way".
 * - [WikiChip SKL]: WikiChip, "Skylake (client) - Microarchitectures - Intel", key changes from Broadwell: "STLB: 4KB+2M
 *   page translations was changed from 6-way to 12-way associative". (John McCalpin's Intel community thread 1371605,
 *   which quotes the Optimization Manual's table, could not be found with the tools available; not cited.)
 * - [Molnar 2015]: Ingo Molnar, "Re: [PATCH 0/3] TLB flush multiple pages per IPI v5", LKML/linux-mm. 8 Jun 2015
 *   (message 20150608195237.GA15429@gmail.com, CPU not named): __flush_tlb() (CR3 reload) 96 cycles,
 *   __flush_tlb_one() (INVLPG) 260. 25 Jun 2015 (20150625114819.GA20478@gmail.com, "newer 64-bit CPU (Intel)",
 *   cache-hot / cold): __flush_tlb() 152 / 168, __flush_tlb_global() (CR4.PGE off and on) 936 / 1312, INVLPG of a
 *   4K page 280 hot.
 * - [Hansen 2015]: Dave Hansen, same thread, 9 Jun 2015 (55775749.3090004@intel.com), Haswell Xeon: __flush_tlb()
 *   124 cycles, __flush_tlb_global() 960, __flush_tlb_single() (INVLPG) 216.
 * - [Hansen 2017]: Dave Hansen, "x86 TLB flushing: INVPCID vs. deferred CR3 write", LKML/linux-mm, 5 Dec 2017
 *   (3062e486-3539-8a1f-5724-16199420be71@intel.com), 4-core Skylake desktop: "INVLPG is ~200 cycles and
 *   INVLPG+INVPCID is ~550"; Ingo Molnar's reply (6 Dec 2017) calls it "the +330 cycles cost of INVPCID".
 * - [Amit 2019]: Nadav Amit, "[RFC PATCH 0/6] x86/mm: Flush remote and local TLBs concurrently", LKML, 25 May 2019
 *   (20190525082203.6531-1-namit@vmware.com; read as quoted in Peter Zijlstra's reply of 27 May 2019): on a
 *   bare-metal Haswell, MADV_DONTNEED then touch of one page, before the series: 661 ns with 1 thread (local flush
 *   only), 1436 ns with 2 (1 remote CPU), 1571 ns with 4 (3 remote). So the first remote CPU adds 775 ns and each
 *   further one (1571 - 1436) / 2 = 67.5 ns. Also: "each INVLPG can take 100s of cycles".
 * - [Skyloft]: Skyloft (SOSP 2024), artifact github.com/yhtzd/skyloft-sosp24-ae README section 4.6 and the kernel
 *   module it runs (github.com/yhtzd/skyloft kmod/main.c, skyloft_ipi_bench): on a Xeon Gold 5418Y (Sapphire
 *   Rapids, 2.0 GHz; rdtsc cycles), apic->send_IPI() called 10^7 times back to back costs 437 cycles each; the
 *   receiver lost 4370647834 cycles to 2761085 received IPIs, 1582 cycles each.
 * - [Linux APIC]: Linux arch/x86/kernel/apic: x2apic_phys_probe() picks physical mode only with the x2apic_phys boot
 *   option or the ACPI FADT "APIC physical" flag, else x2apic_cluster_probe() takes cluster mode; the cluster
 *   driver's __x2apic_send_IPI_mask() sends "a single IPI per cluster"; ipi.c native_send_call_func_ipi() uses the
 *   all-but-self shorthand (one ICR write, x2apic_send_IPI_allbutself) when the mask is every online CPU but the
 *   sender and apic_use_ipi_shorthand is on (apic_smt_update(): on unless no_ipi_broadcast=1 or not every present
 *   CPU has booted).
 * - [Weiny PKS]: Ira Weiny's PKS core series (LKML, 2020-2022), the changelogs of the patch adding the PKS MSR write
 *   support (write_pkrs) and of the one saving PKRS across context switches: "the underlying WRMSR(MSR_IA32_PKRS) is
 *   not serializing but still maintains ordering properties similar to WRPKRU".
 * - [Lutomirski 2016]: Linux commit d8bced79af1d "x86/mm: If INVPCID is available, use it to flush global
 *   mappings" (2016): on a Skylake laptop INVPCID type 2 takes about 376 ns; saving flags, toggling CR4.PGE
 *   twice and restoring flags about 539 ns.
 * - [Lutomirski 2014]: Linux commit 2a23c6b8a9c4 "x86_64, entry: Use sysret to return to userspace when
 *   possible" (2014): returning with SYSRET instead of IRET cuts nearly 80 ns.
 * - [WRPKRU papers]: WRPKRU about 20 cycles: Park et al., NoJITsu, NDSS 2020; CryptoMPK, IEEE S&P 2022;
 *   11-260 cycles in Vahldiek-Oberwagner et al., ERIM, USENIX Security 2019 (via /work/shared/REFERENCES.md).
 * - [Uros #348]: github.com/AlessandroSangiuliano/Uros issue #348: WRMSR(IA32_SYSENTER_ESP), a serializing
 *   WRMSR, about 144 cycles on bare metal (an HP Core i7; rdtsc-bracketed, 323,580 samples).
 * - [SDM]: Intel SDM Vol. 2B WRMSR and Vol. 3A 11.12 (x2APIC): WRMSR serializes except for IA32_TSC_DEADLINE
 *   and the x2APIC MSRs. (That WRMSR to IA32_PKRS is not serializing comes from [Weiny PKS], not the SDM.)
 * - [uops.info]: uops.info measurements for the named instruction on the named microarchitecture.
 * - [Agner]: Agner Fog, "Instruction tables" (Skylake chapter).
 * - [Arora 2022]: Ankur Arora, "[PATCH v3 06/21] x86/clear_page: add clear_pages()", LKML, 6 Jun 2022: on an
 *   Ice Lake-SP Xeon Platinum 8358 (2.6 GHz, turbo off), creating a 192 GB VM backed by 2 MiB pages cleared page by
 *   page with clear_page_erms() (REP STOSB) took 22.37 s, "9.21 bytes/ns" (the whole VM creation, so the clearing
 *   alone is at least that fast).
 * - [Arora 2026]: Ankur Arora, "x86/clear_page: introduce clear_pages()", Linux commit cb431accb36e (6 Jan 2026),
 *   commit message as read in the lexplain.net analysis of that commit: on AMD Milan, REP STOS clearing runs at
 *   13.7 GB/s in 4 KiB chunks, 15.1 GB/s in 2 MiB chunks, 38.1 GB/s in 1 GiB ones.
 *
 * PKS itself: no latency of WRMSR to IA32_PKRS has ever been published, and no performance data for
 * PKS-protected page tables exists (/work/shared/REFERENCES.md). Treat `wrmsr.byMsr[0x6E1]` as an input.
 */

import type { CostProfile } from './profile.js';
import { describe, isPlainObject, withOverrides, type ProfileOverrides } from './profile-validate.js';

export type { ProfileOverrides } from './profile-validate.js';

/** Nanoseconds to cycles at a clock in GHz. */
const ns = (nanoseconds: number, ghz: number): number => Math.round(nanoseconds * ghz);

// ---- shared estimates ------------------------------------------------------------------------------------------

/**
 * estimated: IA32_PKRS write. [Weiny PKS]: not serializing, ordering like WRPKRU; so near WRPKRU (~20, [WRPKRU
 * papers]) plus a few cycles for WRMSR's microcoded dispatch on ECX. Never measured; the report sweeps it.
 */
const PKRS_WRMSR_ESTIMATE = 25;

/**
 * clear_page of one 4 KiB page, in ns: 4096 bytes at the 9.21 bytes/ns [Arora 2022] measured for clear_page_erms
 * (REP STOSB) clearing pages one at a time on Ice Lake-SP, 445 ns. estimated: that this wall time holds on the
 * profiles' cores, at their clocks; clearing pages the allocator hands out (cache-cold) is bound by the memory
 * system, not by the core's store width (an L1-resident page would take far less: 4096 bytes at 64 bytes per cycle
 * is 64 cycles, plus the string instruction's start-up). [Arora 2026]'s AMD Milan figure for the same page-by-page
 * clearing, 13.7 GB/s (299 ns per page), is of the same order. Replaces 512 separate 8-byte stores, which no
 * clear_page makes.
 */
const CLEAR_PAGE_NS = 4096 / 9.21;

// IPI figures in nanoseconds, shared by both profiles and turned into cycles at each profile's clock. Treating
// them as wall-clock times is an assumption: APIC messages and the mesh run on the uncore clock, interrupt entry and
// exit on the core's, and neither source measured at the profiles' clocks.

/**
 * [Skyloft]: one apic->send_IPI() (fence + WRMSR to the x2APIC ICR), 437 rdtsc cycles at the 5418Y's 2.0 GHz TSC.
 * Measured back to back (10^7 sends in a loop), so it may include throttling that a lone send would not see.
 */
const IPI_SEND_NS = 437 / 2.0;
/** [Skyloft]: time a Sapphire Rapids core lost per received IPI with an empty handler, 1582 rdtsc cycles at 2.0 GHz. */
const IPI_HANDLE_NS = 1582 / 2.0;
/** [Amit 2019]: the initiator's wait for one remote CPU's flush (1436 - 661 ns, Haswell). */
const IPI_FIRST_REMOTE_NS = 1436 - 661;
/** [Amit 2019]: each further remote CPU ((1571 - 1436) / 2 ns, Haswell). */
const IPI_EACH_FURTHER_NS = (1571 - 1436) / 2;
/**
 * estimated: the completion flag's trip back to the sender after the slowest target's work, taken as one
 * cross-core cache-line transfer, the same as a further target's share ([Amit 2019]: 67.5 ns).
 */
const IPI_ACK_NS = IPI_EACH_FURTHER_NS;

/**
 * The IPI block of a profile at `ghz`, fitted to [Amit 2019]: one remote target's wait = send + deliver + its flush
 * (one INVLPG, `invlpg` cycles) + ack = 775 ns, so `deliver` is the remainder (about 440 ns: APIC message,
 * interrupt entry and dispatch). Each further target adds `perTarget` = 67.5 ns: the fit reproduces the published
 * points (1 and 3 remote CPUs) and is extrapolated linearly beyond 3, where no public figure exists; the line
 * holds while the targets share one ICR write (the sender's send cost grows with the ICR writes).
 */
function ipiFit(ghz: number, invlpg: number): CostProfile['ipi'] {
  const send = ns(IPI_SEND_NS, ghz);
  const ack = ns(IPI_ACK_NS, ghz);
  return {
    delivery: 'x2apic-cluster', // [Linux APIC]: Linux's default with x2APIC (physical only by boot option or firmware flag)
    shorthand: true, // [Linux APIC]: on once every present CPU has booted, which the model's CPUs all have
    send,
    perTarget: ns(IPI_EACH_FURTHER_NS, ghz),
    deliver: ns(IPI_FIRST_REMOTE_NS, ghz) - send - invlpg - ack,
    handle: ns(IPI_HANDLE_NS, ghz),
    ack,
  };
}

// ---- Sapphire Rapids (Golden Cove server core) -----------------------------------------------------------------

/** [C&C SPR]: the Xeon Platinum 8480 ran at 3.8 GHz boost in Chips and Cheese's measurements. */
const SPR_GHZ = 3.8;
/** [Hansen 2017]: INVLPG ~200 cycles on a Skylake desktop; no Golden Cove figure published, assumed unchanged. */
const SPR_INVLPG = 200;

export const sapphireRapids: CostProfile = {
  name: 'sapphire-rapids',
  description:
    'Golden Cove server core (4th-gen Xeon Scalable, the first server core with PKS): TLBs from CPUID leaf 18H and the Optimization Manual, ' +
    'latencies from Intel TMA constants and Chips and Cheese, instruction costs from LKML measurements; PKRS WRMSR estimated (never published).',
  ghz: SPR_GHZ,
  tlb: {
    l1d4k: [96, 6], // [Intel ORM] 96 entries (loads); 6 ways inferred: [Bochs SPR CPUID] reports 16 sets (but 4 ways, i.e. 64 entries)
    l1d2m: [32, 4], // [Bochs SPR CPUID] subleaf 5: 2M/4M, 8 sets x 4 ways; [Intel ORM] 32 entries
    l1d1g: [8, 8], // [Bochs SPR CPUID] subleaf 6: 1G, 8 entries, fully associative (load DTLB)
    l1i4k: [256, 8], // [Bochs SPR CPUID] subleaf 1: 32 sets x 8 ways; [Intel ORM] 256 entries
    l1i2m: [32, 8], // [Bochs SPR CPUID] subleaf 2: 4 sets x 8 ways; [Intel ORM] 32 entries
    l1i1g: [0, 1], // [Bochs SPR CPUID]: no instruction TLB for 1G pages is enumerated
    l1dStore: [16, 16], // [Bochs SPR CPUID] subleaf 3: EDX type 5 "store-only TLB", level 1, fully associative (EDX[8]); 16 ways x 1 set; 4K, 2M/4M and 1G pages (EBX[3:0] = 0xF)
    stlb: [2048, 16], // [Bochs SPR CPUID] subleaves 7+8: two 1024-entry 8-way arrays (128 sets), 4K/2M/4M and 4K/1G; 4K can use both (2048, [Intel ORM]); modeled as one 128-set 16-way array, which overstates 2M capacity (really 1024)
    stlb1g: [1024, 8], // [Bochs SPR CPUID] subleaf 8: 4K/1G array, 128 sets x 8 ways
    pscPml5: [2, 2], // estimated: Intel publishes no paging-structure-cache sizes; a few fully associative entries (top levels cover 256 TiB each)
    pscPml4: [4, 4], // estimated: as above; each entry covers 512 GiB
    pscPdpt: [16, 4], // estimated: as above; each entry covers 1 GiB
    pscPd: [32, 4], // estimated: as above; each entry covers 2 MiB of 4K mappings
  },
  mmu: {
    l1TlbHit: 0, // folded into the L1D load-to-use latency (no source says an L1 DTLB hit adds latency)
    stlbHit: 7, // [TMA SPR] Mem_STLB_Hit_Cost = 7 cycles
    walkBase: 10, // estimated: the STLB lookup that missed (7, [TMA SPR]) plus ~3 cycles to hand the miss to one of the 4 page walkers ([Intel ORM])
    // Each entry read is a load through the data caches ([Intel ORM]: walker loads are cached in L1, L2 or L3).
    walkRef: {
      pml5e: 5, // estimated: upper-level entries are few and hot; charged as an L1D hit (5, [C&C SPR])
      pml4e: 5, // estimated: as pml5e
      pdpte: 5, // estimated: as pml5e (one PDPTE line covers 8 GiB)
      pde: 16, // estimated: charged as an L2 hit (16, [C&C SPR])
      pte: 16, // estimated: charged as an L2 hit (16, [C&C SPR]); a PTE line covers only 32 KiB
    },
    adUpdate: 13, // estimated: an A/D update treated as one microcode assist; [TMA SPR] Avg_Assist_Cost = (99*3 + 63 + 30) / 5 = 78 issue slots, / 6 slots per cycle (Pipeline_Width) = 13 cycles
  },
  memory: {
    l1d: 5, // [C&C SPR] / [Intel ORM]: Golden Cove L1D load-to-use 5 cycles
    l2: 16, // [C&C SPR]: 2 MiB L2, 16 cycles
    llc: ns(37, SPR_GHZ), // [TMA SPR] Mem_XSNP_None_Cost = 37 ns (L3 hit, no snoop) x 3.8 GHz = 141
    dram: ns(108, SPR_GHZ), // [TMA SPR] Mem_Local_DRAM_Cost = 108 ns x 3.8 GHz = 410
  },
  dataAccessLevel: 'l1d', // estimated: model choice; kernel page-table updates touch lines just read, so charge an L1D hit
  insn: {
    alu: 1, // [uops.info] ADD r64, r64: latency 1 on every Intel Core uarch incl. ADL-P (Golden Cove)
    mul: 3, // [uops.info] IMUL r64, r64: latency 3 (ADL-P)
    div: 15, // estimated: [uops.info] DIV r64 on Ice Lake / ADL-P is in the mid-teens of cycles (the Sunny Cove divider); not re-verified in this session
    div8: 12, // estimated: [Agner] Ice Lake DIV r8/r16/r32 latency about 12 (the Sunny Cove divider); not re-verified in this session
    div16: 12, // estimated: as div8
    div32: 12, // estimated: as div8
    branch: 1, // estimated: one taken branch per cycle, no misprediction modeled
    branchNotTaken: 0.5, // estimated: [uops.info] a not-taken Jcc has a reciprocal throughput of 0.5 on Golden Cove (two branch ports); not re-verified
    string: 1, // estimated: one element per cycle for a REP string loop's iteration (fast-string microcode moves more per cycle for long runs)
    pause: 140, // estimated: [Intel ORM] PAUSE latency about 140 cycles since Skylake; assumed unchanged on Golden Cove
    fence: 33, // estimated: [Agner] MFENCE reciprocal throughput about 33 on Skylake-family cores (LFENCE/SFENCE cheaper; one figure for all)
    syscall: 60, // estimated: SYSCALL alone; a SYSCALL+SYSRET round trip is commonly measured at 100-150 cycles on recent Intel cores
    sysret: 60, // estimated: see syscall
    swapgs: 30, // estimated: SWAPGS is microcoded (serializing with respect to GS); no published latency
    stac: 6, // estimated: STAC/CLAC write RFLAGS.AC; [uops.info] lists a few cycles on Skylake; not re-verified
    port: 1000, // estimated: an I/O port access to a device takes on the order of 1 us (an emulated port is a VM exit)
    load: 1, // estimated: issue cost only; the data access itself is charged via `dataAccessLevel`
    store: 1, // estimated: issue cost only; the data access itself is charged via `dataAccessLevel`
    serialize: 40, // estimated: drain of a 512-entry ROB ([Intel ORM]) plus front-end refill; no published figure
    cpuid: 150, // estimated: [Agner] lists CPUID at roughly 100-250 cycles on Skylake-family cores (not re-verified here); assumed unchanged on Golden Cove
    rdtsc: 25, // estimated: [Agner] Skylake RDTSC reciprocal throughput about 25 cycles (not re-verified here); assumed unchanged
  },
  wrmsr: {
    default: 144, // [Uros #348]: serializing WRMSR (IA32_SYSENTER_ESP) about 144 cycles on a Core i7; whole cost, serialization included; no Golden Cove figure published
    byMsr: {
      0x6e1: PKRS_WRMSR_ESTIMATE, // IA32_PKRS. estimated: [Weiny PKS]: not serializing, ordered like WRPKRU (~20, [WRPKRU papers]); never measured
      0xc0000080: 144, // IA32_EFER: serializing ([SDM]); same as default ([Uros #348])
      0xc0000100: 144, // IA32_FS_BASE: serializing ([SDM]); same as default ([Uros #348])
      0xc0000101: 144, // IA32_GS_BASE: serializing ([SDM]); same as default ([Uros #348])
      0xc0000102: 144, // IA32_KERNEL_GS_BASE: serializing ([SDM]); same as default ([Uros #348])
      0x830: ns(IPI_SEND_NS, SPR_GHZ), // x2APIC ICR: not serializing ([SDM] x2APIC); [Skyloft] 437 cycles at 2.0 GHz per send (fence + this WRMSR) = 218.5 ns, as `ipi.send`
    },
  },
  rdmsr: {
    default: 100, // estimated: RDMSR is microcoded but not serializing; no published figure; placed below the serializing WRMSR (144)
    byMsr: {
      0x6e1: PKRS_WRMSR_ESTIMATE, // IA32_PKRS. estimated: same as its WRMSR (Linux caches PKRS per CPU rather than reading it)
    },
  },
  wrpkru: 20, // [WRPKRU papers]: about 20 cycles (11-260 in ERIM); no Golden Cove measurement found, assumed unchanged
  rdpkru: 1, // estimated: RDPKRU only reads a register, with no ordering constraint; about one cycle
  invlpg: SPR_INVLPG, // [Hansen 2017]: ~200 cycles on Skylake (range 200-280 across [Hansen 2015], [Molnar 2015]); assumed unchanged on Golden Cove
  invpcid: [
    350, // type 0 (individual address). [Hansen 2017]: INVLPG+INVPCID ~550 vs INVLPG ~200 on Skylake, so ~350 (Ingo Molnar's reply: +330); assumed unchanged on Golden Cove
    1130, // type 1 (single context). estimated: same as type 2 ([Lutomirski 2016]); walks every TLB set like a full flush
    1130, // type 2 (all, globals included). [Lutomirski 2016]: ~376 ns on a Skylake laptop, x an assumed 3 GHz = 1128
    1130, // type 3 (all but globals). estimated: same as type 2 ([Lutomirski 2016])
  ],
  movCr3: {
    flush: 124, // [Hansen 2015]: 124 cycles on a Haswell Xeon (measured range 96-168: [Molnar 2015] 96, 152 hot / 168 cold); the one server-core figure, from the same run as `movCr4`; refills charged separately
    noFlush: 124, // estimated: the write serializes either way and the flush itself is a flash-invalidate; same as `flush`
  },
  movCr0: 124, // estimated: a serializing control-register write that flushes nothing, charged like the CR3 write ([Hansen 2015])
  movCr4: 480, // [Hansen 2015]: a global flush (CR4.PGE off, then on) 960 cycles on a Haswell Xeon, so 480 per write ([Molnar 2015]: 936 hot / 1312 cold per pair); includes the flush
  clearPage: ns(CLEAR_PAGE_NS, SPR_GHZ), // [Arora 2022]: clear_page_erms 9.21 bytes/ns on Ice Lake-SP, 445 ns per 4 KiB page; estimated: the same time at 3.8 GHz = 1690 (see CLEAR_PAGE_NS)
  // [Skyloft] send 218.5 ns and handle 791 ns (measured on Sapphire Rapids); deliver, perTarget and ack fitted to
  // [Amit 2019]'s Haswell figures (see ipiFit; estimated: that they carry over to Sapphire Rapids in ns).
  ipi: ipiFit(SPR_GHZ, SPR_INVLPG),
  interrupt: {
    entry: 240, // estimated: IDT delivery assumed as costly as IRET ([Lutomirski 2014]: ~80 ns x an assumed 3 GHz)
    exit: 240, // [Lutomirski 2014]: IRET costs ~80 ns more than SYSRET; x an assumed 3 GHz = 240
  },
};

// ---- Skylake-SP (older server core, no PKS) ----------------------------------------------------------------------

/** [AT Rome]: the Xeon Platinum 8280 (Skylake-SP core) was measured at 2.7 GHz. */
const SKX_GHZ = 2.7;
/** [Hansen 2017]: INVLPG ~200 cycles on a Skylake desktop (same core); [Hansen 2015] 216 on Haswell Xeon, [Molnar 2015] 260-280. */
const SKX_INVLPG = 200;

export const skylakeSp: CostProfile = {
  name: 'skylake-sp',
  description:
    'Skylake-SP server core (1st/2nd-gen Xeon Scalable; has PKU but no PKS, so PKRS figures are what-if): TLBs from CPUID leaf 2 and the ' +
    'Optimization Manual, latencies from Intel TMA constants and AnandTech, instruction costs from LKML measurements.',
  ghz: SKX_GHZ,
  tlb: {
    l1d4k: [64, 4], // [Bochs SKX CPUID] descriptor 03H: 4K, 4-way, 64 entries; [Intel ORM] same
    l1d2m: [32, 4], // [Bochs SKX CPUID] descriptor 63H: 2M/4M, 4-way, 32 entries; [Intel ORM] same
    l1d1g: [4, 4], // [Bochs SKX CPUID] descriptor 63H: separate 1G array, 4-way, 4 entries; [Intel ORM] same
    l1i4k: [128, 8], // [Intel ORM] 128 entries, 8-way ([Bochs SKX CPUID] descriptor B5H reports 64 entries, 8-way: per thread?)
    l1i2m: [8, 8], // [Bochs SKX CPUID] descriptor 76H: 2M/4M, fully associative, 8 entries; [Intel ORM] 8 per thread
    l1i1g: [0, 1], // [Intel ORM] / [Bochs SKX CPUID]: no instruction TLB entries for 1G pages
    l1dStore: [0, 1], // [Intel ORM] / [AT SKL-X]: one L1 DTLB per page size serves loads and stores; no store-only TLB
    stlb: [1536, 12], // [AT SKL-X] "1536-entry 12-way" (Skylake-S and -SP); [WikiChip SKL] 4K+2M STLB 12-way (was 6-way on Broadwell). [Bochs SKX CPUID] descriptor C3H says 6-way, which this does not follow
    stlb1g: [16, 4], // [Bochs SKX CPUID] descriptor C3H: 1G pages, 4-way, 16 entries; [Intel ORM] 16 entries
    pscPml5: [0, 1], // Skylake-SP has no 5-level paging (LA57 arrived with Ice Lake), so no PML5 cache
    pscPml4: [4, 4], // estimated: Intel publishes no paging-structure-cache sizes; same guess as Sapphire Rapids
    pscPdpt: [16, 4], // estimated: as above
    pscPd: [32, 4], // estimated: as above
  },
  mmu: {
    l1TlbHit: 0, // folded into the L1D load-to-use latency (no source says an L1 DTLB hit adds latency)
    stlbHit: 9, // [TMA SKX] Mem_STLB_Hit_Cost = 9 cycles
    walkBase: 12, // estimated: the STLB lookup that missed (9, [TMA SKX]) plus ~3 cycles to start one of the 2 page walkers (REFERENCES.md)
    // Each entry read is a load through the data caches, as for Sapphire Rapids.
    walkRef: {
      pml5e: 4, // Skylake-SP has no 5-level paging; an L1D hit (4, [AT Rome]) if a profile override enables it
      pml4e: 4, // estimated: upper-level entries are few and hot; charged as an L1D hit (4, [AT Rome])
      pdpte: 4, // estimated: as pml4e
      pde: 14, // estimated: charged as an L2 hit (14, [AT Rome])
      pte: 14, // estimated: charged as an L2 hit (14, [AT Rome])
    },
    adUpdate: 9, // estimated: an A/D update treated as one microcode assist; [TMA SKX] Avg_Assist_Cost = 34 issue slots, / 4 slots per cycle (Pipeline_Width) = 8.5, rounded up
  },
  memory: {
    l1d: 4, // [AT Rome]: Xeon 8280 L1D 4 cycles; [Intel ORM] 4-5
    l2: 14, // [AT Rome]: Xeon 8280 1 MiB L2 14 cycles
    llc: ns(20.5, SKX_GHZ), // [TMA SKX] Mem_XSNP_None_Cost = 20.5 ns x 2.7 GHz = 55 ([AT SKL-SP]: 54-56 cycles)
    dram: ns(90, SKX_GHZ), // [AT SKL-SP]: 89-91 ns measured (LMBench, DDR4-2666); 90 ns x 2.7 GHz = 243. ([TMA SKX] Mem_Local_DRAM_Cost is 80 ns)
  },
  dataAccessLevel: 'l1d', // estimated: model choice, as for Sapphire Rapids
  insn: {
    alu: 1, // [uops.info] ADD r64, r64: latency 1 (SKX)
    mul: 3, // [uops.info] IMUL r64, r64: latency 3 (SKX)
    div: 40, // estimated: [uops.info] DIV r64 on SKX spans roughly 35-88 cycles depending on operands (not re-verified here); low end for kernel-sized operands
    div8: 23, // estimated: [Agner] Skylake DIV r8 latency about 23 (not re-verified here)
    div16: 23, // estimated: [Agner] Skylake DIV r16 latency about 23 (not re-verified here)
    div32: 26, // estimated: [Agner] Skylake DIV r32 latency about 26 (not re-verified here)
    branch: 1, // estimated: one taken branch per cycle, no misprediction modeled
    branchNotTaken: 0.5, // estimated: [uops.info] a not-taken Jcc has a reciprocal throughput of 0.5 on Skylake (ports 0 and 6); not re-verified
    string: 1, // estimated: one element per cycle for a REP string loop's iteration (fast-string microcode moves more per cycle for long runs)
    pause: 140, // estimated: [Intel ORM] PAUSE latency about 140 cycles on the Skylake microarchitecture (not re-verified here)
    fence: 33, // estimated: [Agner] MFENCE reciprocal throughput about 33 on Skylake (LFENCE/SFENCE cheaper; one figure for all)
    syscall: 60, // estimated: SYSCALL alone; a SYSCALL+SYSRET round trip is commonly measured at 100-150 cycles on Skylake
    sysret: 60, // estimated: see syscall
    swapgs: 30, // estimated: SWAPGS is microcoded; no published latency
    stac: 6, // estimated: [uops.info] lists STAC/CLAC at a few cycles on Skylake; not re-verified
    port: 1000, // estimated: an I/O port access to a device takes on the order of 1 us (an emulated port is a VM exit)
    load: 1, // estimated: issue cost only; the data access itself is charged via `dataAccessLevel`
    store: 1, // estimated: issue cost only; the data access itself is charged via `dataAccessLevel`
    serialize: 30, // estimated: drain of a 224-entry ROB plus front-end refill; no published figure
    cpuid: 150, // estimated: [Agner] lists CPUID at roughly 100-250 cycles on Skylake (not re-verified here)
    rdtsc: 25, // estimated: [Agner] Skylake RDTSC reciprocal throughput about 25 cycles (not re-verified here)
  },
  wrmsr: {
    default: 144, // [Uros #348]: serializing WRMSR (IA32_SYSENTER_ESP) about 144 cycles on a Core i7; whole cost, serialization included
    byMsr: {
      0x6e1: PKRS_WRMSR_ESTIMATE, // IA32_PKRS. estimated (what-if: Skylake-SP has no PKS): same as Sapphire Rapids
      0xc0000080: 144, // IA32_EFER: serializing ([SDM]); same as default ([Uros #348])
      0xc0000100: 144, // IA32_FS_BASE: serializing ([SDM]); same as default ([Uros #348])
      0xc0000101: 144, // IA32_GS_BASE: serializing ([SDM]); same as default ([Uros #348])
      0xc0000102: 144, // IA32_KERNEL_GS_BASE: serializing ([SDM]); same as default ([Uros #348])
      0x830: ns(IPI_SEND_NS, SKX_GHZ), // x2APIC ICR. estimated: not serializing ([SDM] x2APIC); the Sapphire Rapids send time ([Skyloft], 218.5 ns), as `ipi.send`
    },
  },
  rdmsr: {
    default: 100, // estimated: RDMSR is microcoded but not serializing; no published figure; placed below the serializing WRMSR (144)
    byMsr: {
      0x6e1: PKRS_WRMSR_ESTIMATE, // IA32_PKRS. estimated (what-if): same as Sapphire Rapids
    },
  },
  wrpkru: 20, // [WRPKRU papers]: about 20 cycles on pre-Golden Cove Xeons (11-260 in ERIM)
  rdpkru: 1, // estimated: RDPKRU only reads a register, with no ordering constraint; about one cycle
  invlpg: SKX_INVLPG, // [Hansen 2017]: ~200 cycles on a Skylake desktop (range 200-280 across [Hansen 2015], [Molnar 2015])
  invpcid: [
    350, // type 0 (individual address). [Hansen 2017]: INVLPG+INVPCID ~550 vs INVLPG ~200 on Skylake, so ~350 (Molnar's reply: +330)
    1130, // type 1 (single context). estimated: same as type 2 ([Lutomirski 2016])
    1130, // type 2 (all, globals included). [Lutomirski 2016]: ~376 ns on a Skylake laptop, x an assumed 3 GHz = 1128
    1130, // type 3 (all but globals). estimated: same as type 2 ([Lutomirski 2016])
  ],
  movCr3: {
    flush: 124, // [Hansen 2015]: 124 cycles on a Haswell Xeon (measured range 96-168: [Molnar 2015] 96, 152 hot / 168 cold); the one server-core figure, from the same run as `movCr4`; refills charged separately
    noFlush: 124, // estimated: the write serializes either way and the flush itself is a flash-invalidate; same as `flush`
  },
  movCr0: 124, // estimated: a serializing control-register write that flushes nothing, charged like the CR3 write ([Hansen 2015])
  movCr4: 480, // [Hansen 2015]: a global flush (CR4.PGE off, then on) 960 cycles on a Haswell Xeon, so 480 per write ([Molnar 2015]: 936 hot / 1312 cold per pair); includes the flush
  clearPage: ns(CLEAR_PAGE_NS, SKX_GHZ), // [Arora 2022]: clear_page_erms 9.21 bytes/ns on Ice Lake-SP, 445 ns per 4 KiB page; estimated: the same time at 2.7 GHz = 1201 (see CLEAR_PAGE_NS)
  // estimated: no Skylake-SP IPI figure is published. The Sapphire Rapids send/handle times ([Skyloft]) and the
  // Haswell fit ([Amit 2019], see ipiFit) in ns at 2.7 GHz; Haswell is the nearer core of the two.
  ipi: ipiFit(SKX_GHZ, SKX_INVLPG),
  interrupt: {
    entry: 240, // estimated: IDT delivery assumed as costly as IRET ([Lutomirski 2014]: ~80 ns x an assumed 3 GHz)
    exit: 240, // [Lutomirski 2014]: IRET costs ~80 ns more than SYSRET; x an assumed 3 GHz = 240
  },
};

deepFreeze(sapphireRapids);
deepFreeze(skylakeSp);

/** The built-in profiles by name. */
export const PROFILES: Readonly<Record<string, CostProfile>> = Object.freeze({
  [sapphireRapids.name]: sapphireRapids,
  [skylakeSp.name]: skylakeSp,
});

// ---- resolving ------------------------------------------------------------------------------------------------

/**
 * A profile by name (or a full profile), copied deeply, with `overrides` applied and the result validated.
 * The built-ins are never modified.
 * @throws TypeError for a field of the wrong type (a cost that is not a number, a shape that is not an array...),
 *   RangeError for a bad value (an unknown profile name or field, a negative or non-finite cost, a bad TLB shape);
 *   the message names the field path and shows the value.
 */
export function resolveProfile(p?: string | CostProfile, overrides?: ProfileOverrides): CostProfile {
  let base: CostProfile;
  if (p === undefined) base = sapphireRapids;
  else if (typeof p === 'string') {
    const found = Object.hasOwn(PROFILES, p) ? PROFILES[p] : undefined;
    if (found === undefined) throw new RangeError(`unknown cost profile '${p}'; known profiles: ${Object.keys(PROFILES).join(', ')}`);
    base = found;
  } else if (isPlainObject(p)) base = p;
  else throw new TypeError(`profile must be a profile name or a CostProfile object, got ${describe(p)}`);

  return withOverrides(base, overrides);
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}
