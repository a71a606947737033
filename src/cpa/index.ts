/**
 * The kernel direct map and change_page_attr (src/cpa), the physical page allocator and boot (src/pgtable/buddy.ts,
 * boot.ts): the base the kernel model stands on.
 */
export {
  PAGE_OFFSET,
  PAGE_OFFSET_HI,
  DIRECT_MAP_MAX,
  ENOMEM,
  NO_PAGE,
  type EntryWriter,
  type TableSource,
  type DirectMapLookup,
  type DirectMapApi,
  type PageAllocator,
  type SetMemoryOptions,
  type CpaStats,
  type BootOptions,
  type DirectMapSize,
  type TableProtection,
} from './types.js';
export { plainWriter, pksWriter, wpWriter, directMapStore, directMapVa, dmLo, dmHi, dmLoS, dmHiS } from './writer.js';
export { DirectMap, DIRECT_MAP_PGD_INDEX } from './direct-map.js';
export { flush_tlb_kernel_range, flush_tlb_all, TLB_SINGLE_PAGE_FLUSH_CEILING } from './flush.js';
export { TableReserve, rfcReservePages, type PhysRange } from './reserve.js';
export { BuddyAllocator, NodeAllocator, MAX_ORDER, allocPages, type AllocResult } from '../pgtable/buddy.js';
export { bootKernel, TEXT_PA, TEXT_VA, type KernelBase } from '../pgtable/boot.js';
