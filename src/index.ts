/**
 * pksim: a cycle-level x86-64 CPU/MMU emulator with PKS (IA32_PKRS) and PKU, the complete access-rights
 * rules of IA-32e paging, per-CPU TLBs and paging-structure caches, and cost profiles.
 */

// src/pks (architecture)
export { pkr, pkrRights, pkrWith, pkeyAdBit, pkeyWdBit, keyDenies, MSR_IA32_PKRS, PKEY_COUNT, type KeyRights } from './pks/keys.js';

// src/mmu
export { PhysicalMemory, PAGE_SIZE, PAGE_SHIFT, type PhysicalMemoryOptions, type PhysicalMemoryStats } from './mmu/physical-memory.js';
export * as bits from './mmu/entry.js';
export { makeEntry, tableEntry, pte, pde2M, pdpte1G, decodeEntry, tableIndex, type EntryFields, type PageLevel } from './mmu/entry.js';
export {
  accessFault,
  baseErrorCode,
  ACC_READ,
  ACC_WRITE,
  ACC_FETCH,
  ACC_USER,
  ACC_IMPLICIT,
  RIGHT_W,
  RIGHT_U,
  RIGHT_X,
  PFEC_P,
  PFEC_W,
  PFEC_U,
  PFEC_RSVD,
  PFEC_I,
  PFEC_PK,
  type RightsControl,
} from './mmu/rights.js';
export { walk, WalkResult, levelIndex, type WalkControl } from './mmu/walker.js';
export { AssocCache } from './mmu/assoc.js';
export { Mmu, PagingState, XLATE_PAGE_FAULT, XLATE_NONCANONICAL, type TlbGeometry, type MmuTiming, type MmuStats, type CacheShape } from './mmu/mmu.js';
export { PageTableBuilder, type PageSize, type MapFlags } from './mmu/builder.js';

// src/cpu
export { Machine, enterLongMode, type MachineOptions, type IpiOptions, type IpiResult, type LongModeOptions } from './cpu/machine.js';
export { IpiRecord, type IpiHandler } from './cpu/machine.js'; // the allocation-free IPI path (Machine.ipiMask)
export { Cpu, NO_EXCEPTION, type CpuStats, type AccessKind, type AccessOptions, type TranslateOptions, type TranslateResult } from './cpu/cpu.js';
export { ArchFault, PageFault, GeneralProtection, StackFault, InvalidOpcode, DivideError, DoubleFault, makeFault, describePfec, type PageFaultBits } from './cpu/faults.js';
export { MSR, MSR_DEFS, msrName, isCanonical, type MsrDef, type MsrName } from './cpu/msr.js';
export { ALL_FEATURES, resolveFeatures, type CpuFeatures } from './cpu/features.js';
export * as regs from './cpu/regs.js';
export type { CostProfile, IpiDelivery } from './cpu/profile.js';
export { sapphireRapids, skylakeSp, PROFILES, resolveProfile, type ProfileOverrides } from './cpu/profiles.js';

// Exception vectors (src/cpu/faults.ts), for assertions on `fault.vector`.
export { VEC_DE, VEC_DB, VEC_BP, VEC_OF, VEC_BR, VEC_UD, VEC_NM, VEC_DF, VEC_TS, VEC_NP, VEC_SS, VEC_GP, VEC_PF, VEC_AC } from './cpu/faults.js';

// src/cpa + src/pgtable/buddy.ts, boot.ts (kernel model base: direct map, change_page_attr, buddy, boot)
export * from './cpa/index.js';

// The kernel model (src/pgtable, src/pks kernel API): Kernel.boot, address spaces, policies, checker.
export * from './pgtable/index.js';

// src/cpu: the interpreter (decode/, exec/, run.ts)
export type { RunOptions, RunResult, RunHooks, RunStopReason, HookResult, ExceptionEvent, ExceptionHookResult, MemoryAccessEvent } from './cpu/run-types.js';
export { interpState } from './cpu/run.js';
export { Insn } from './cpu/decode/insn.js';
export { decode, DEC_OK, DEC_UD, DEC_GP, DEC_MORE, MAX_INSN_LEN } from './cpu/decode/decoder.js';
export { formatInsn } from './cpu/decode/disasm.js';
export { CodePage, ICache, icacheOf } from './cpu/icache.js';

// src/loader
export { runElf, loadFlat, parseElf, ElfError, SyscallShim, UserSpace, SYS, PF_R, PF_W, PF_X, type RunElfOptions, type RunElfResult, type FlatOptions, type FlatLoad, type FlatMapping, type ElfImage, type ElfSegment, type SyscallShimOptions, type PageProt } from './loader/index.js';

// src/bench: the benchmark questions (`bench.writeCost(opts)`, `bench.questions[id]`), free of Node imports.
export { bench, type BenchOptions, type BenchRow, type Question, type QuestionResult } from './bench/index.js';
// Guest-code cross-check of question 1 (issue 13): the x86-64 routines and their instruction mixes.
export { GUEST_ROUTINES, GUEST_MIX, GUEST_POLICIES, type GuestRoutineName } from './bench/index.js';
