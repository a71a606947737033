/**
 * Architectural register numbering and control-register / EFER / RFLAGS bits (Intel SDM Vol. 3A 2.5, 2.2.1).
 */

/** GPRs in encoding order (ModRM/REX register numbers 0..15). */
export const GPR_NAMES = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;
export type GprName = (typeof GPR_NAMES)[number];

export function gprIndex(name: string): number {
  const i = (GPR_NAMES as readonly string[]).indexOf(name);
  if (i < 0) throw new RangeError(`unknown register '${name}'; expected one of ${GPR_NAMES.join(', ')}`);
  return i;
}

// CR0 (SDM 2.5)
export const CR0_PE = 1 << 0;
export const CR0_MP = 1 << 1;
export const CR0_EM = 1 << 2;
export const CR0_TS = 1 << 3;
export const CR0_ET = 1 << 4;
export const CR0_NE = 1 << 5;
export const CR0_WP = 1 << 16;
export const CR0_AM = 1 << 18;
export const CR0_NW = 1 << 29;
export const CR0_CD = 1 << 30;
export const CR0_PG = 1 << 31;
/** Bits of CR0's low half that software may set; the rest of 31:0 is reserved (MBZ). */
export const CR0_DEFINED = (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_NW | CR0_CD | CR0_PG) >>> 0;

// CR4 (SDM 2.5)
export const CR4_VME = 1 << 0;
export const CR4_PVI = 1 << 1;
export const CR4_TSD = 1 << 2;
export const CR4_DE = 1 << 3;
export const CR4_PSE = 1 << 4;
export const CR4_PAE = 1 << 5;
export const CR4_MCE = 1 << 6;
export const CR4_PGE = 1 << 7;
export const CR4_PCE = 1 << 8;
export const CR4_OSFXSR = 1 << 9;
export const CR4_OSXMMEXCPT = 1 << 10;
export const CR4_UMIP = 1 << 11;
export const CR4_LA57 = 1 << 12;
export const CR4_FSGSBASE = 1 << 16;
export const CR4_PCIDE = 1 << 17;
export const CR4_OSXSAVE = 1 << 18;
export const CR4_SMEP = 1 << 20;
export const CR4_SMAP = 1 << 21;
export const CR4_PKE = 1 << 22;
export const CR4_PKS = 1 << 24;

// EFER (SDM 2.2.1)
export const MSR_EFER = 0xc0000080;
export const EFER_SCE = 1 << 0;
export const EFER_LME = 1 << 8;
export const EFER_LMA = 1 << 10;
export const EFER_NXE = 1 << 11;

// RFLAGS (SDM Vol. 1 3.4.3)
export const RFLAGS_CF = 1 << 0;
export const RFLAGS_FIXED1 = 1 << 1;
export const RFLAGS_PF = 1 << 2;
export const RFLAGS_AF = 1 << 4;
export const RFLAGS_ZF = 1 << 6;
export const RFLAGS_SF = 1 << 7;
export const RFLAGS_TF = 1 << 8;
export const RFLAGS_IF = 1 << 9;
export const RFLAGS_DF = 1 << 10;
export const RFLAGS_OF = 1 << 11;
export const RFLAGS_IOPL = 3 << 12;
export const RFLAGS_NT = 1 << 14;
export const RFLAGS_RF = 1 << 16;
export const RFLAGS_VM = 1 << 17;
export const RFLAGS_AC = 1 << 18;
export const RFLAGS_VIF = 1 << 19;
export const RFLAGS_VIP = 1 << 20;
export const RFLAGS_ID = 1 << 21;
/** Bits that exist; 3, 5, 15 and 63:22 are reserved (3, 5, 15 read as 0, bit 1 as 1). */
export const RFLAGS_DEFINED =
  RFLAGS_CF | RFLAGS_FIXED1 | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_TF | RFLAGS_IF | RFLAGS_DF | RFLAGS_OF | RFLAGS_IOPL | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM | RFLAGS_AC | RFLAGS_VIF | RFLAGS_VIP | RFLAGS_ID;
