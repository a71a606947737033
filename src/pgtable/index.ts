/**
 * The kernel model's barrel: the Kernel facade and the pieces under it (PKS API, grouped page cache, policy
 * writers, set_p*d helpers, address spaces, user TLB management, checker). The base it stands on (boot, buddy
 * allocator, direct map / change_page_attr) is exported by src/cpa/index.ts.
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

// K1's pieces (boot, buddy, direct map, cpa) are exported by src/cpa/index.ts.
