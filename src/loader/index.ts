/** Loaders: static ELF64 executables with a Linux syscall shim, and flat binaries at CPL 0. */
export { parseElf, ElfError, PF_R, PF_W, PF_X, MAX_IMAGE_BYTES, type ElfImage, type ElfSegment } from './elf.js';
export { loadFlat, type FlatOptions, type FlatLoad, type FlatMapping } from './flat.js';
export { SyscallShim, SYS, type SyscallShimOptions } from './syscalls.js';
export { UserSpace, type PageProt } from './user-space.js';
export { runElf, type RunElfOptions, type RunElfResult } from './run-elf.js';
