/**
 * The kernel model's barrel: the Kernel facade and the pieces under it (PKS API, grouped page cache, policy
 * writers, set_p*d helpers, address spaces, user TLB management, checker), with K1's public pieces (boot,
 * buddy allocator, direct map / change_page_attr, their types).
 */

export { Kernel, type KernelOptions, type Oops, type StrayWriteResult } from './kernel.js';
export { AddressSpace, type Prot, type Intent, type MmCallOptions } from './mm.js';
export { KernelError } from './errors.js';
export { checkPageTables, type Violation } from './check.js';
export type { KernelStats } from './stats.js';
export { GroupCache, GROUP_ORDER, type GroupCacheStats, type GroupProtection, type PageSource } from './group-cache.js';
export {
  POLICIES,
  POKE_VA,
  POKE_PT_VA,
  usesPks,
  protects,
  makeWriter,
  PolicyWriter,
  PlainWriter,
  PksWriter,
  PksLockWriter,
  PagingRoWriter,
  PokeWriter,
  type ProtectionPolicy,
  type WriterHost,
  type WriterStats,
  type PokeMm,
} from './policies.js';
export { POKE_PCID } from './poke.js';
export {
  set_pte,
  set_pmd,
  set_pud,
  set_p4d,
  set_pgd,
  pte_clear,
  pmd_clear,
  pud_clear,
  pgd_clear,
  populate,
  ptep_get_and_clear,
  ptep_set_wrprotect,
  ptep_test_and_clear_young,
  readEntry,
  lastEntry,
  mkLo,
  mkHi,
  entryPa,
  _PAGE_PRESENT,
  _PAGE_RW,
  _PAGE_USER,
  _PAGE_ACCESSED,
  _PAGE_DIRTY,
  _PAGE_PSE,
  _PAGE_NX_HI,
  _PAGE_TABLE,
} from './set-pte.js';
export { TlbState, TLB_NR_DYN_ASIDS, type TlbMm, type TlbStats } from './tlb.js';
export { PksApi, PKS_KEY_DEFAULT, PKS_ENOSPC, type PksProtection, type PksTask, type PksStats } from '../pks/api.js';
export { PkrsCache, type PkrsCacheStats } from '../pks/pkrs-cache.js';

// K1's pieces.
export { bootKernel, TEXT_PA, TEXT_VA, type KernelBase } from './boot.js';
export { BuddyAllocator, NodeAllocator, MAX_ORDER } from './buddy.js';
export { DirectMap } from '../cpa/direct-map.js';
export { flush_tlb_kernel_range, flush_tlb_all, TLB_SINGLE_PAGE_FLUSH_CEILING } from '../cpa/flush.js';
export { TableReserve, rfcReservePages } from '../cpa/reserve.js';
export { directMapStore, directMapVa, dmLo, dmHi, plainWriter } from '../cpa/writer.js';
export {
  PAGE_OFFSET,
  PAGE_OFFSET_HI,
  ENOMEM,
  NO_PAGE,
  type EntryWriter,
  type TableSource,
  type DirectMapApi,
  type DirectMapLookup,
  type DirectMapSize,
  type TableProtection,
  type SetMemoryOptions,
  type CpaStats,
  type BootOptions,
  type PageAllocator,
} from '../cpa/types.js';
