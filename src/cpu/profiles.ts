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
 *   Mem_XSNP_None_Cost (L3 hit, ns), Mem_Local_DRAM_Cost (ns), Avg_Assist_Cost (cycles).
 * - [C&C SPR]: Chips and Cheese, "Sapphire Rapids: Golden Cove Hits Servers" (2023): Xeon Platinum 8480,
 *   boosting to 3.8 GHz. Its L1/L2 load-to-use figures (5 and 16 cycles) as carried into the SST Sapphire
 *   Rapids model config that cites it (sst-elements spatter config, "l1_ltu_latency = 5", "l2_ltu_latency = 16").
 * - [AT Rome]: AnandTech, "AMD Rome 2nd gen EPYC" review (2019), latency table: Xeon Platinum 8280 (Cascade
 *   Lake, the Skylake-SP core) at 2.7 GHz: L1 4, L2 14 cycles.
 * - [AT SKL-SP]: AnandTech, "Intel Skylake-EP vs AMD EPYC 7000" (2017), LMBench: Skylake-SP L3 54-56 cycles,
 *   DRAM 89-91 ns (cross-check only).
 * - [Molnar 2015]: Ingo Molnar, boot-time INVLPG / CR3-reload cost measurement, LKML, June 2015 (CPU not named):
 *   INVLPG about 260 cycles, CR3 reload about 96 cycles direct cost (via /work/shared/REFERENCES.md).
 * - [Amit 2019]: Nadav Amit, "[PATCH v3 0/9] x86: Concurrent TLB flushes", LKML, July 2019: "each INVLPG can
 *   take 100s of cycles" (cross-check only).
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
 *   and the x2APIC MSRs; the PKS documentation says WRMSR to IA32_PKRS is not serializing and is ordered like
 *   WRPKRU.
 * - [uops.info]: uops.info measurements for the named instruction on the named microarchitecture.
 * - [Agner]: Agner Fog, "Instruction tables" (Skylake chapter).
 *
 * PKS itself: no latency of WRMSR to IA32_PKRS has ever been published, and no performance data for
 * PKS-protected page tables exists (/work/shared/REFERENCES.md). Treat `wrmsr.byMsr[0x6E1]` as an input.
 */

import type { CacheShape, MmuTiming, TlbGeometry } from '../mmu/mmu.js';
import type { CostProfile } from './profile.js';

/** Nanoseconds to cycles at a clock in GHz. */
const ns = (nanoseconds: number, ghz: number): number => Math.round(nanoseconds * ghz);

// ---- shared estimates ------------------------------------------------------------------------------------------

/** estimated: IA32_PKRS write. Intel: not serializing, ordered like WRPKRU, so near WRPKRU (~20) plus a few cycles for WRMSR's microcoded dispatch on ECX. Never measured; sweep it. */
const PKRS_WRMSR_ESTIMATE = 25;

// ---- Sapphire Rapids (Golden Cove server core) -----------------------------------------------------------------

/** [C&C SPR]: the Xeon Platinum 8480 ran at 3.8 GHz boost in Chips and Cheese's measurements. */
const SPR_GHZ = 3.8;

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
    adUpdate: 78, // estimated: an A/D update treated as one microcode assist; [TMA SPR] Avg_Assist_Cost = (99*3 + 63 + 30) / 5 = 78 cycles
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
      0x6e1: PKRS_WRMSR_ESTIMATE, // IA32_PKRS. estimated: [SDM]/PKS docs: not serializing, ordered like WRPKRU (~20, [WRPKRU papers]); never measured
      0xc0000080: 144, // IA32_EFER: serializing ([SDM]); same as default ([Uros #348])
      0xc0000100: 144, // IA32_FS_BASE: serializing ([SDM]); same as default ([Uros #348])
      0xc0000101: 144, // IA32_GS_BASE: serializing ([SDM]); same as default ([Uros #348])
      0xc0000102: 144, // IA32_KERNEL_GS_BASE: serializing ([SDM]); same as default ([Uros #348])
      0x830: ns(50, SPR_GHZ), // x2APIC ICR. estimated: not serializing ([SDM] x2APIC); 50 ns, as `ipi.send`
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
  invlpg: 260, // [Molnar 2015]: about 260 cycles (CPU not named); [Amit 2019]: "100s of cycles"; assumed unchanged on Golden Cove
  invpcid: [
    260, // type 0 (individual address). estimated: same work as INVLPG ([Molnar 2015])
    1130, // type 1 (single context). estimated: same as type 2 ([Lutomirski 2016]); walks every TLB set like a full flush
    1130, // type 2 (all, globals included). [Lutomirski 2016]: ~376 ns on a Skylake laptop, x an assumed 3 GHz = 1128
    1130, // type 3 (all but globals). estimated: same as type 2 ([Lutomirski 2016])
  ],
  movCr3: {
    flush: 96, // [Molnar 2015]: CR3 reload about 96 cycles direct cost (refills charged separately)
    noFlush: 96, // estimated: the write serializes either way and the flush itself is a flash-invalidate; same as `flush` ([Molnar 2015])
  },
  movCr0: 100, // estimated: a serializing control-register write that flushes nothing, like the CR3 reload ([Molnar 2015])
  movCr4: 800, // [Lutomirski 2016]: two CR4.PGE writes plus pushf/popf ~539 ns on a Skylake laptop; ~270 ns each x an assumed 3 GHz (includes the global flush)
  ipi: {
    send: ns(50, SPR_GHZ), // estimated: one x2APIC ICR write (non-serializing WRMSR, [SDM]) plus building the request; 50 ns
    deliver: ns(500, SPR_GHZ), // estimated: APIC message across the mesh until the target's handler starts; 500 ns (no primary figure found; REFERENCES.md quotes 1-3 us round trips)
    handle: 2 * 240 + ns(150, SPR_GHZ), // estimated: interrupt entry + IRET (240 each, see `interrupt`) + EOI and smp-call-function dispatch (150 ns)
    ack: ns(250, SPR_GHZ), // estimated: the completion cache line travelling back to the spinning sender, ~2-3 core-to-core transfers; 250 ns
  },
  interrupt: {
    entry: 240, // estimated: IDT delivery assumed as costly as IRET ([Lutomirski 2014]: ~80 ns x an assumed 3 GHz)
    exit: 240, // [Lutomirski 2014]: IRET costs ~80 ns more than SYSRET; x an assumed 3 GHz = 240
  },
};

// ---- Skylake-SP (older server core, no PKS) ----------------------------------------------------------------------

/** [AT Rome]: the Xeon Platinum 8280 (Skylake-SP core) was measured at 2.7 GHz. */
const SKX_GHZ = 2.7;

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
    stlb: [1536, 6], // [Bochs SKX CPUID] descriptor C3H: 4K/2M shared, 6-way, 1536 entries; [Intel ORM] 1536 entries
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
    adUpdate: 34, // estimated: an A/D update treated as one microcode assist; [TMA SKX] Avg_Assist_Cost = 34 cycles
  },
  memory: {
    l1d: 4, // [AT Rome]: Xeon 8280 L1D 4 cycles; [Intel ORM] 4-5
    l2: 14, // [AT Rome]: Xeon 8280 1 MiB L2 14 cycles
    llc: ns(20.5, SKX_GHZ), // [TMA SKX] Mem_XSNP_None_Cost = 20.5 ns x 2.7 GHz = 55 ([AT SKL-SP]: 54-56 cycles)
    dram: ns(80, SKX_GHZ), // [TMA SKX] Mem_Local_DRAM_Cost = 80 ns x 2.7 GHz = 216 ([AT SKL-SP]: 89-91 ns)
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
      0x830: ns(50, SKX_GHZ), // x2APIC ICR. estimated: not serializing ([SDM] x2APIC); 50 ns, as `ipi.send`
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
  invlpg: 260, // [Molnar 2015]: about 260 cycles (CPU not named); [Amit 2019]: "100s of cycles"
  invpcid: [
    260, // type 0 (individual address). estimated: same work as INVLPG ([Molnar 2015])
    1130, // type 1 (single context). estimated: same as type 2 ([Lutomirski 2016])
    1130, // type 2 (all, globals included). [Lutomirski 2016]: ~376 ns on a Skylake laptop, x an assumed 3 GHz = 1128
    1130, // type 3 (all but globals). estimated: same as type 2 ([Lutomirski 2016])
  ],
  movCr3: {
    flush: 96, // [Molnar 2015]: CR3 reload about 96 cycles direct cost (refills charged separately)
    noFlush: 96, // estimated: the write serializes either way and the flush itself is a flash-invalidate; same as `flush` ([Molnar 2015])
  },
  movCr0: 100, // estimated: a serializing control-register write that flushes nothing, like the CR3 reload ([Molnar 2015])
  movCr4: 800, // [Lutomirski 2016]: two CR4.PGE writes plus pushf/popf ~539 ns on a Skylake laptop; ~270 ns each x an assumed 3 GHz (includes the global flush)
  ipi: {
    send: ns(50, SKX_GHZ), // estimated: one x2APIC ICR write (non-serializing WRMSR, [SDM]) plus building the request; 50 ns
    deliver: ns(500, SKX_GHZ), // estimated: APIC message across the mesh until the target's handler starts; 500 ns (no primary figure found)
    handle: 2 * 240 + ns(150, SKX_GHZ), // estimated: interrupt entry + IRET (240 each, see `interrupt`) + EOI and smp-call-function dispatch (150 ns)
    ack: ns(250, SKX_GHZ), // estimated: the completion cache line travelling back to the spinning sender; 250 ns
  },
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

// ---- overrides and validation ------------------------------------------------------------------------------------

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};

/**
 * Field overrides for `resolveProfile`: any subset of a profile, nested objects partial. Arrays are replaced
 * whole (each `tlb` shape, `invpcid`); `wrmsr.byMsr` / `rdmsr.byMsr` are merged by MSR index.
 */
export type ProfileOverrides = DeepPartial<CostProfile>;

const TLB_KEYS: readonly (keyof TlbGeometry)[] = ['l1d4k', 'l1d2m', 'l1d1g', 'l1i4k', 'l1i2m', 'l1i1g', 'stlb', 'stlb1g', 'pscPml5', 'pscPml4', 'pscPdpt', 'pscPd'];
const MMU_KEYS: readonly (keyof MmuTiming)[] = ['l1TlbHit', 'stlbHit', 'walkBase', 'adUpdate'];
const WALK_REF_KEYS: readonly (keyof MmuTiming['walkRef'])[] = ['pml5e', 'pml4e', 'pdpte', 'pde', 'pte'];
const MEMORY_KEYS = ['l1d', 'l2', 'llc', 'dram'] as const;
const INSN_KEYS: readonly (keyof CostProfile['insn'])[] = [
  'alu', 'mul', 'div', 'div8', 'div16', 'div32', 'branch', 'branchNotTaken', 'load', 'store', 'string', 'pause', 'fence', 'syscall', 'sysret',
  'swapgs', 'stac', 'port', 'serialize', 'cpuid', 'rdtsc',
];
const IPI_KEYS: readonly (keyof CostProfile['ipi'])[] = ['send', 'deliver', 'handle', 'ack'];
const INTERRUPT_KEYS: readonly (keyof CostProfile['interrupt'])[] = ['entry', 'exit'];
const TOP_KEYS: readonly (keyof CostProfile)[] = [
  'name', 'description', 'ghz', 'tlb', 'mmu', 'memory', 'dataAccessLevel', 'insn', 'wrmsr', 'rdmsr', 'wrpkru', 'rdpkru', 'invlpg',
  'invpcid', 'movCr3', 'movCr0', 'movCr4', 'ipi', 'interrupt',
];

/**
 * A profile by name (or a full profile), copied deeply, with `overrides` applied and the result validated.
 * The built-ins are never modified.
 * @throws Error for an unknown name, an override field a profile does not have, or an invalid figure (the
 *   message names the field path).
 */
export function resolveProfile(p?: string | CostProfile, overrides?: ProfileOverrides): CostProfile {
  let base: CostProfile;
  if (p === undefined) base = sapphireRapids;
  else if (typeof p === 'string') {
    const found = Object.hasOwn(PROFILES, p) ? PROFILES[p] : undefined;
    if (found === undefined) throw new Error(`unknown cost profile '${p}'; known profiles: ${Object.keys(PROFILES).join(', ')}`);
    base = found;
  } else if (isPlainObject(p)) base = p;
  else throw new Error(`profile must be a profile name or a CostProfile object, got ${describe(p)}`);

  const out = clone(base) as CostProfile;
  if (overrides !== undefined) {
    if (!isPlainObject(overrides)) throw new Error(`profile overrides must be an object, got ${describe(overrides)}`);
    merge(out as unknown as Record<string, unknown>, overrides as Record<string, unknown>, '');
  }
  validateProfile(out);
  return out;
}

/** Deep copy of plain data (objects, arrays, primitives). */
function clone(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clone);
  if (isPlainObject(v)) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) o[k] = clone(v[k]);
    return o;
  }
  return v;
}

/** Apply `over` onto `target` (a fresh copy): objects recurse, arrays and primitives replace. */
function merge(target: Record<string, unknown>, over: Record<string, unknown>, path: string): void {
  const freeKeys = path === 'wrmsr.byMsr' || path === 'rdmsr.byMsr';
  for (const k of Object.keys(over)) {
    const v = over[k];
    if (v === undefined) continue;
    const here = freeKeys ? `${path}[${k}]` : path === '' ? k : `${path}.${k}`;
    if (freeKeys) {
      msrIndex(k, path);
      target[k] = clone(v);
      continue;
    }
    if (!Object.hasOwn(target, k)) throw new Error(`unknown cost profile field '${here}' in overrides`);
    const cur = target[k];
    if (isPlainObject(cur) && isPlainObject(v)) merge(cur, v, here);
    else target[k] = clone(v);
  }
}

/** Validate a complete profile; throws an Error naming the first bad field. */
function validateProfile(p: CostProfile): void {
  const who = typeof p.name === 'string' ? `'${p.name}'` : '(unnamed)';
  const fail = (path: string, what: string, v: unknown): never => {
    throw new Error(`invalid cost profile ${who}: ${path} ${what}, got ${describe(v)}`);
  };
  const obj = (path: string, v: unknown): Record<string, unknown> => (isPlainObject(v) ? v : fail(path, 'must be an object', v));
  const cost = (path: string, v: unknown): void => {
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) fail(path, 'must be a finite number >= 0', v);
  };
  const costs = (path: string, v: unknown, keys: readonly string[]): void => {
    const o = obj(path, v);
    for (const k of keys) cost(`${path}.${k}`, o[k]);
  };

  const top = obj('profile', p);
  for (const k of Object.keys(top)) if (!(TOP_KEYS as readonly string[]).includes(k)) fail(k, 'is not a cost profile field', top[k]);
  if (typeof p.name !== 'string' || p.name === '') fail('name', 'must be a non-empty string', p.name);
  if (typeof p.description !== 'string') fail('description', 'must be a string', p.description);
  if (typeof p.ghz !== 'number' || !Number.isFinite(p.ghz) || p.ghz <= 0) fail('ghz', 'must be a finite number > 0', p.ghz);

  const tlb = obj('tlb', p.tlb);
  for (const k of TLB_KEYS) shape(`tlb.${k}`, tlb[k], fail);
  costs('mmu', p.mmu, MMU_KEYS);
  costs('mmu.walkRef', p.mmu.walkRef, WALK_REF_KEYS);
  costs('memory', p.memory, MEMORY_KEYS);
  if (!(MEMORY_KEYS as readonly string[]).includes(p.dataAccessLevel as string)) fail('dataAccessLevel', `must be one of ${MEMORY_KEYS.join(', ')}`, p.dataAccessLevel);
  costs('insn', p.insn, INSN_KEYS);
  for (const m of ['wrmsr', 'rdmsr'] as const) {
    const o = obj(m, p[m]);
    cost(`${m}.default`, o.default);
    const by = obj(`${m}.byMsr`, o.byMsr);
    for (const k of Object.keys(by)) {
      msrIndex(k, `${m}.byMsr`, who);
      cost(`${m}.byMsr[0x${Number(k).toString(16)}]`, by[k]);
    }
  }
  cost('wrpkru', p.wrpkru);
  cost('rdpkru', p.rdpkru);
  cost('invlpg', p.invlpg);
  if (!Array.isArray(p.invpcid) || p.invpcid.length !== 4) fail('invpcid', 'must be an array of 4 costs (types 0..3)', p.invpcid);
  p.invpcid.forEach((v, i) => cost(`invpcid[${i}]`, v));
  costs('movCr3', p.movCr3, ['flush', 'noFlush']);
  cost('movCr0', p.movCr0);
  cost('movCr4', p.movCr4);
  costs('ipi', p.ipi, IPI_KEYS);
  costs('interrupt', p.interrupt, INTERRUPT_KEYS);
}

/** A CacheShape: [entries, ways], integers, entries 0..65536, ways dividing entries (ignored when entries is 0). */
function shape(path: string, v: unknown, fail: (path: string, what: string, v: unknown) => never): CacheShape {
  if (!Array.isArray(v) || v.length !== 2) return fail(path, 'must be [entries, ways]', v);
  const [entries, ways] = v as unknown[];
  if (typeof entries !== 'number' || !Number.isInteger(entries) || entries < 0 || entries > 65536) {
    return fail(path, 'entries must be an integer 0..65536', v);
  }
  if (typeof ways !== 'number' || !Number.isInteger(ways) || ways < 0) return fail(path, 'ways must be a non-negative integer', v);
  if (entries > 0 && (ways < 1 || entries % ways !== 0)) return fail(path, `ways (${ways}) must divide entries (${entries})`, v);
  return v as unknown as CacheShape;
}

/** An MSR index key of a byMsr table: an integer 0..0xFFFFFFFF. */
function msrIndex(k: string, path: string, who?: string): number {
  const n = Number(k);
  if (k.trim() === '' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    const prefix = who === undefined ? 'profile overrides' : `invalid cost profile ${who}`;
    throw new Error(`${prefix}: ${path} key '${k}' is not an MSR index (an integer 0..0xFFFFFFFF)`);
  }
  return n;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function describe(v: unknown): string {
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'string') return `'${v}'`;
  if (v === undefined) return 'undefined';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const k of Object.keys(v)) deepFreeze((v as Record<string, unknown>)[k]);
    Object.freeze(v);
  }
  return v;
}
