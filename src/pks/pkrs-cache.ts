/**
 * The per-CPU PKRS cache of the kernel PKS core (Ira Weiny's series: `pkrs_cache`, `pks_write_pkrs`): the
 * kernel remembers the value it last wrote to IA32_PKRS on each CPU and skips the WRMSR when the new value is
 * the same. The WRMSR itself is made by the emulated CPU (`cpu.writePkrs`, MSR 0x6E1; SDM Vol. 4 Table 2-2),
 * so its cost comes from the profile and its effect on the MMU is real.
 *
 * Every kernel-model PKRS write goes through here; a write made behind the cache's back (a raw `cpu.wrmsr`)
 * is what Linux forbids too: call `sync(cpu)` after one.
 */

import type { Cpu } from '../cpu/cpu.js';

/** Counters of the cache (all CPUs together). */
export interface PkrsCacheStats {
  /** WRMSRs to IA32_PKRS the kernel made. */
  wrmsr: number;
  /** Writes skipped because the CPU's PKRS already held the value. */
  wrmsrSkipped: number;
}

export class PkrsCache {
  /** Last value written on each CPU (indexed by cpu.index). */
  private readonly cached: Uint32Array;
  private readonly valid: Uint8Array;
  readonly stats: PkrsCacheStats = { wrmsr: 0, wrmsrSkipped: 0 };

  constructor(cpus: number) {
    if (!Number.isInteger(cpus) || cpus < 1 || cpus > 256) throw new RangeError(`cpus must be an integer 1..256, got ${String(cpus)}`);
    this.cached = new Uint32Array(cpus);
    this.valid = new Uint8Array(cpus);
  }

  /**
   * pks_write_pkrs: write PKRS on `cpu` unless the cache says it already holds `value`. Returns false with #GP
   * left in `cpu.xv` when the CPU has no PKS (nothing cached then).
   */
  write(cpu: Cpu, value: number): boolean {
    const v = value >>> 0;
    const i = cpu.index;
    if (this.valid[i] === 1 && this.cached[i] === v) {
      this.stats.wrmsrSkipped++;
      return true;
    }
    if (!cpu.writePkrs(v)) return false;
    this.cached[i] = v;
    this.valid[i] = 1;
    this.stats.wrmsr++;
    return true;
  }

  /** The value the cache believes `cpu` holds, or -1 before the first write. */
  cachedValue(cpu: Cpu): number {
    return this.valid[cpu.index] === 1 ? this.cached[cpu.index] : -1;
  }

  /** Re-read the CPU's real PKRS into the cache (after a write made outside the kernel model). */
  sync(cpu: Cpu): void {
    this.cached[cpu.index] = cpu.pkrs >>> 0;
    this.valid[cpu.index] = 1;
  }
}
