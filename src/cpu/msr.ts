/**
 * The MSRs a pksim CPU implements (Intel SDM Vol. 4, Table 2-2 "IA-32 Architectural MSRs"), with their reset
 * values and the checks WRMSR makes. WRMSR/RDMSR of any other index raises #GP(0), as does a write that
 * sets a reserved bit or a non-canonical address where the MSR holds one.
 */

import type { CpuFeatures } from './features.js';

export const MSR = {
  IA32_TSC: 0x10,
  IA32_PLATFORM_ID: 0x17,
  IA32_APIC_BASE: 0x1b,
  IA32_FEATURE_CONTROL: 0x3a,
  IA32_SPEC_CTRL: 0x48,
  IA32_PRED_CMD: 0x49,
  IA32_BIOS_SIGN_ID: 0x8b,
  IA32_MTRRCAP: 0xfe,
  IA32_ARCH_CAPABILITIES: 0x10a,
  IA32_SYSENTER_CS: 0x174,
  IA32_SYSENTER_ESP: 0x175,
  IA32_SYSENTER_EIP: 0x176,
  IA32_MCG_CAP: 0x179,
  IA32_MCG_STATUS: 0x17a,
  IA32_MISC_ENABLE: 0x1a0,
  IA32_DEBUGCTL: 0x1d9,
  IA32_PAT: 0x277,
  IA32_MTRR_DEF_TYPE: 0x2ff,
  IA32_TSC_DEADLINE: 0x6e0,
  IA32_PKRS: 0x6e1,
  IA32_XSS: 0xda0,
  IA32_EFER: 0xc0000080,
  IA32_STAR: 0xc0000081,
  IA32_LSTAR: 0xc0000082,
  IA32_CSTAR: 0xc0000083,
  IA32_FMASK: 0xc0000084,
  IA32_FS_BASE: 0xc0000100,
  IA32_GS_BASE: 0xc0000101,
  IA32_KERNEL_GS_BASE: 0xc0000102,
  IA32_TSC_AUX: 0xc0000103,
} as const;

export type MsrName = keyof typeof MSR;

/** How an MSR behaves. `check` returns a reason for #GP(0), or null when the value may be written. */
export interface MsrDef {
  name: string;
  /** Value after reset (for MSRs the CPU stores generically). */
  reset: bigint;
  readable: boolean;
  writable: boolean;
  /** The MSR exists only with this feature. */
  feature?: keyof CpuFeatures;
  check?: (v: bigint, ctx: MsrCheckContext) => string | null;
}

export interface MsrCheckContext {
  features: CpuFeatures;
  maxPhysAddr: number;
  /** Linear-address width for canonical checks: 48, or 57 with LA57 support. */
  linearBits: number;
}

const U64 = (1n << 64n) - 1n;

export function isCanonical(v: bigint, bits: number): boolean {
  const top = BigInt.asUintN(64, v) >> BigInt(bits - 1);
  return top === 0n || top === U64 >> BigInt(bits - 1);
}

const reservedAbove32 = (v: bigint) => (v >> 32n !== 0n ? 'bits 63:32 are reserved' : null);
const canonical = (v: bigint, ctx: MsrCheckContext) => (isCanonical(v, ctx.linearBits) ? null : `0x${v.toString(16)} is not canonical`);
const onlyBits = (mask: bigint) => (v: bigint) => ((v & ~mask) !== 0n ? `reserved bits set: 0x${(v & ~mask).toString(16)}` : null);

/** Valid PAT memory types: UC 0, WC 1, WT 4, WP 5, WB 6, UC- 7 (SDM Vol. 3A 13.12.2). */
function checkPat(v: bigint): string | null {
  for (let i = 0n; i < 8n; i++) {
    const t = Number((v >> (8n * i)) & 0xffn);
    if (![0, 1, 4, 5, 6, 7].includes(t)) return `PA${i} holds invalid memory type ${t}`;
  }
  return null;
}

function checkApicBase(v: bigint, ctx: MsrCheckContext): string | null {
  // BSP (8), EXTD (10), EN (11), base 12..MAXPHYADDR-1 (SDM Vol. 3A 11.4.4)
  const addrMask = ((1n << BigInt(ctx.maxPhysAddr)) - 1n) & ~0xfffn;
  const allowed = addrMask | (1n << 8n) | (1n << 10n) | (1n << 11n);
  return onlyBits(allowed)(v);
}

function checkMtrrDefType(v: bigint): string | null {
  const r = onlyBits(0xcffn)(v);
  if (r) return r;
  const t = Number(v & 0xffn);
  return [0, 1, 4, 5, 6].includes(t) ? null : `invalid default memory type ${t}`;
}

export const MSR_DEFS: ReadonlyMap<number, MsrDef> = new Map<number, MsrDef>([
  [MSR.IA32_TSC, { name: 'IA32_TSC', reset: 0n, readable: true, writable: true }],
  [MSR.IA32_PLATFORM_ID, { name: 'IA32_PLATFORM_ID', reset: 0n, readable: true, writable: false }],
  [MSR.IA32_APIC_BASE, { name: 'IA32_APIC_BASE', reset: 0xfee00000n | (1n << 11n), readable: true, writable: true, check: checkApicBase }],
  [MSR.IA32_FEATURE_CONTROL, { name: 'IA32_FEATURE_CONTROL', reset: 1n, readable: true, writable: false }],
  [MSR.IA32_SPEC_CTRL, { name: 'IA32_SPEC_CTRL', reset: 0n, readable: true, writable: true, check: onlyBits(0x7n) }],
  [MSR.IA32_PRED_CMD, { name: 'IA32_PRED_CMD', reset: 0n, readable: false, writable: true, check: onlyBits(0x1n) }],
  [MSR.IA32_BIOS_SIGN_ID, { name: 'IA32_BIOS_SIGN_ID', reset: 0n, readable: true, writable: true }],
  [MSR.IA32_MTRRCAP, { name: 'IA32_MTRRCAP', reset: 0x50an, readable: true, writable: false }],
  [MSR.IA32_ARCH_CAPABILITIES, { name: 'IA32_ARCH_CAPABILITIES', reset: 0n, readable: true, writable: false }],
  [MSR.IA32_SYSENTER_CS, { name: 'IA32_SYSENTER_CS', reset: 0n, readable: true, writable: true, check: onlyBits(0xffffn) }],
  [MSR.IA32_SYSENTER_ESP, { name: 'IA32_SYSENTER_ESP', reset: 0n, readable: true, writable: true, check: canonical }],
  [MSR.IA32_SYSENTER_EIP, { name: 'IA32_SYSENTER_EIP', reset: 0n, readable: true, writable: true, check: canonical }],
  [MSR.IA32_MCG_CAP, { name: 'IA32_MCG_CAP', reset: 0n, readable: true, writable: false }],
  [MSR.IA32_MCG_STATUS, { name: 'IA32_MCG_STATUS', reset: 0n, readable: true, writable: true, check: onlyBits(0x7n) }],
  [MSR.IA32_MISC_ENABLE, { name: 'IA32_MISC_ENABLE', reset: 1n, readable: true, writable: true }],
  [MSR.IA32_DEBUGCTL, { name: 'IA32_DEBUGCTL', reset: 0n, readable: true, writable: true, check: onlyBits(0xffc3n) }],
  [MSR.IA32_PAT, { name: 'IA32_PAT', reset: 0x0007040600070406n, readable: true, writable: true, check: checkPat }],
  [MSR.IA32_MTRR_DEF_TYPE, { name: 'IA32_MTRR_DEF_TYPE', reset: 0n, readable: true, writable: true, check: checkMtrrDefType }],
  [MSR.IA32_TSC_DEADLINE, { name: 'IA32_TSC_DEADLINE', reset: 0n, readable: true, writable: true }],
  [MSR.IA32_PKRS, { name: 'IA32_PKRS', reset: 0n, readable: true, writable: true, feature: 'pks', check: reservedAbove32 }],
  [MSR.IA32_XSS, { name: 'IA32_XSS', reset: 0n, readable: true, writable: true, check: onlyBits(0n) }],
  [MSR.IA32_EFER, { name: 'IA32_EFER', reset: 0n, readable: true, writable: true }],
  [MSR.IA32_STAR, { name: 'IA32_STAR', reset: 0n, readable: true, writable: true }],
  [MSR.IA32_LSTAR, { name: 'IA32_LSTAR', reset: 0n, readable: true, writable: true, check: canonical }],
  [MSR.IA32_CSTAR, { name: 'IA32_CSTAR', reset: 0n, readable: true, writable: true, check: canonical }],
  [MSR.IA32_FMASK, { name: 'IA32_FMASK', reset: 0n, readable: true, writable: true, check: reservedAbove32 }],
  [MSR.IA32_FS_BASE, { name: 'IA32_FS_BASE', reset: 0n, readable: true, writable: true, check: canonical }],
  [MSR.IA32_GS_BASE, { name: 'IA32_GS_BASE', reset: 0n, readable: true, writable: true, check: canonical }],
  [MSR.IA32_KERNEL_GS_BASE, { name: 'IA32_KERNEL_GS_BASE', reset: 0n, readable: true, writable: true, check: canonical }],
  [MSR.IA32_TSC_AUX, { name: 'IA32_TSC_AUX', reset: 0n, readable: true, writable: true, check: reservedAbove32 }],
]);

export function msrName(index: number): string {
  return MSR_DEFS.get(index)?.name ?? `MSR 0x${index.toString(16)}`;
}
