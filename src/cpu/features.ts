/**
 * CPU features: what CPUID reports and what the CPU accepts in CR4/EFER/MSR writes. A feature a CPU lacks
 * makes the corresponding control bit reserved (#GP on write), as on hardware.
 */

import { optBool, options } from '../util/validate.js';

export interface CpuFeatures {
  /** Protection keys for supervisor pages: CR4.PKS, IA32_PKRS (CPUID.7.0:ECX[31]). */
  pks: boolean;
  /** Protection keys for user pages: CR4.PKE, PKRU, WRPKRU/RDPKRU (CPUID.7.0:ECX[3]). */
  pku: boolean;
  /** CR4.SMEP (CPUID.7.0:EBX[7]). */
  smep: boolean;
  /** CR4.SMAP, STAC/CLAC (CPUID.7.0:EBX[20]). */
  smap: boolean;
  /** EFER.NXE, the XD bit (CPUID.80000001H:EDX[20]). */
  nx: boolean;
  /** CR4.PCIDE (CPUID.1:ECX[17]). */
  pcid: boolean;
  /** INVPCID (CPUID.7.0:EBX[10]). */
  invpcid: boolean;
  /** 1 GiB pages (CPUID.80000001H:EDX[26]). */
  gbpages: boolean;
  /** 5-level paging, CR4.LA57 (CPUID.7.0:ECX[16]). */
  la57: boolean;
  /** RDFSBASE & co., CR4.FSGSBASE (CPUID.7.0:EBX[0]). */
  fsgsbase: boolean;
  /** CR4.PGE global pages (CPUID.1:EDX[13]). */
  pge: boolean;
}

/** Sapphire Rapids has all of them. */
export const ALL_FEATURES: Readonly<CpuFeatures> = Object.freeze({
  pks: true,
  pku: true,
  smep: true,
  smap: true,
  nx: true,
  pcid: true,
  invpcid: true,
  gbpages: true,
  la57: true,
  fsgsbase: true,
  pge: true,
});

export function resolveFeatures(f?: Partial<CpuFeatures>): CpuFeatures {
  const out: CpuFeatures = { ...ALL_FEATURES };
  if (f === undefined) return out;
  for (const [k, v] of Object.entries(options(f, 'features', Object.keys(ALL_FEATURES)))) {
    (out as unknown as Record<string, boolean>)[k] = optBool(v, `feature ${k}`) ?? (ALL_FEATURES as unknown as Record<string, boolean>)[k]!;
  }
  if (out.invpcid && !out.pcid) out.invpcid = false;
  return out;
}
