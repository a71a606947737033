/**
 * The kernel PKS API (Ira Weiny's PKS core series, on which the page-table RFC is built), over the emulated
 * CPUs: key allocation for kernel consumers, `pks_set_readwrite/readonly/noaccess` on the calling CPU, the
 * per-thread PKRS value (`thread.pks_saved_pkrs`) saved and restored on context switch, and the PKRS saved
 * and reset to the default on exception entry and restored on return (`pkrs_save_irq`/`pkrs_restore_irq`),
 * so that a fault taken inside a write window runs its handler with the default rights.
 *
 * Every PKRS write is a WRMSR made by the emulated CPU through the per-CPU cache (pkrs-cache.ts). PKRS layout:
 * AD = bit 2k, WD = bit 2k+1 (SDM Vol. 3A 4.6.2); a PKRS write needs no TLB flush (the TLB caches the key).
 */

import type { Cpu } from '../cpu/cpu.js';
import { PKEY_COUNT, pkrWith } from './keys.js';
import { PkrsCache } from './pkrs-cache.js';

/** Rights a consumer gives its key. */
export type PksProtection = 'rw' | 'ro' | 'noaccess';

/** Key 0: the default key of every kernel mapping, always read-write. */
export const PKS_KEY_DEFAULT = 0;
/** -ENOSPC: no free key (what Linux's allocator returns). */
export const PKS_ENOSPC = -28;

/** A kernel thread's PKS state (`thread.pks_saved_pkrs`). */
export interface PksTask {
  readonly name: string;
  /** The PKRS value this thread runs with. */
  pkrs: number;
}

/** The two PKRS bits of a protection (AD = 1, WD = 2), before shifting to key k (SDM Vol. 3A 4.6.2). */
function protBits(p: PksProtection): number {
  return p === 'rw' ? 0 : p === 'ro' ? 2 : 1;
}

function keyRights(p: PksProtection): 'rw' | 'wd' | 'ad' {
  if (p === 'rw') return 'rw';
  if (p === 'ro') return 'wd';
  if (p === 'noaccess') return 'ad';
  throw new RangeError(`protection must be 'rw', 'ro' or 'noaccess', got ${String(p)}`);
}

function checkKey(key: number): void {
  if (!Number.isInteger(key) || key < 0 || key >= PKEY_COUNT) throw new RangeError(`key must be an integer 0..15, got ${String(key)}`);
}

/** Counters of the PKS API. */
export interface PksStats {
  /** WRMSRs to IA32_PKRS made (the cache's count). */
  wrmsr: number;
  /** WRMSRs the per-CPU cache saved. */
  wrmsrSkipped: number;
  /** Exception entries that saved and reset PKRS. */
  irqSaves: number;
  /** Context switches that loaded the next thread's PKRS. */
  taskSwitches: number;
}

export class PksApi {
  readonly cache: PkrsCache;
  private readonly owner: (string | null)[] = new Array<string | null>(PKEY_COUNT).fill(null);
  private readonly defaults: PksProtection[] = new Array<PksProtection>(PKEY_COUNT).fill('noaccess');
  private readonly currentTask: PksTask[] = [];
  private readonly cpus: readonly Cpu[];
  private irqSaves = 0;
  private taskSwitches = 0;
  private init = 0;

  constructor(cpus: readonly Cpu[]) {
    this.cpus = cpus;
    this.cache = new PkrsCache(cpus.length);
    this.owner[PKS_KEY_DEFAULT] = 'default';
    this.defaults[PKS_KEY_DEFAULT] = 'rw';
    this.recomputeInit();
    for (const c of cpus) this.currentTask.push({ name: `swapper/${c.index}`, pkrs: this.init });
  }

  /**
   * Allocate a key for a consumer, with the rights every thread starts with (the consumer's default in
   * PKS_INIT_VALUE). Returns the key, or PKS_ENOSPC when all 15 are taken. Allocate at boot, before
   * `setup`: threads created earlier keep the old default.
   */
  keyAlloc(consumer: string, init: PksProtection = 'noaccess'): number {
    if (typeof consumer !== 'string' || consumer.length === 0) throw new TypeError(`consumer must be a non-empty string, got ${String(consumer)}`);
    keyRights(init);
    for (let k = 1; k < PKEY_COUNT; k++) {
      if (this.owner[k] === null) {
        this.owner[k] = consumer;
        this.defaults[k] = init;
        this.recomputeInit();
        return k;
      }
    }
    return PKS_ENOSPC;
  }

  /** Give a key back (its default becomes no-access). */
  keyFree(key: number): void {
    checkKey(key);
    if (key === PKS_KEY_DEFAULT) throw new RangeError('key 0 (the default key) cannot be freed');
    if (this.owner[key] === null) throw new RangeError(`key ${key} is not allocated`);
    this.owner[key] = null;
    this.defaults[key] = 'noaccess';
    this.recomputeInit();
  }

  /** Who owns a key (null: free). */
  keyOwner(key: number): string | null {
    checkKey(key);
    return this.owner[key];
  }

  /** PKS_INIT_VALUE: key 0 read-write, each allocated key at its consumer's default, free keys no-access. */
  initValue(): number {
    return this.init;
  }

  private recomputeInit(): void {
    let v = 0;
    for (let k = 0; k < PKEY_COUNT; k++) v = pkrWith(v, k, keyRights(this.defaults[k]));
    this.init = v >>> 0;
  }

  /** pks_setup on one CPU (boot): its idle thread starts with PKS_INIT_VALUE, written to PKRS. */
  setup(cpu: Cpu): void {
    const t = this.currentTask[cpu.index];
    t.pkrs = this.initValue();
    this.writeCurrent(cpu);
  }

  /**
   * pks_setup on a CPU whose PKRS the boot code already loaded with PKS_INIT_VALUE: its idle thread takes the
   * value (it was created before the keys were allocated) and the per-CPU cache learns it, with no WRMSR.
   */
  adoptBootPkrs(cpu: Cpu): void {
    if (this.cpus[cpu.index] !== cpu) throw new RangeError(`CPU ${cpu.index} does not belong to this kernel`);
    if (cpu.features.pks && cpu.pkrs >>> 0 !== this.init) throw new RangeError(`CPU ${cpu.index} PKRS 0x${(cpu.pkrs >>> 0).toString(16)} is not PKS_INIT_VALUE 0x${this.init.toString(16)}: use setup`);
    this.currentTask[cpu.index].pkrs = this.init;
    if (cpu.features.pks) this.cache.sync(cpu);
  }

  /** A new kernel thread, starting with PKS_INIT_VALUE (pks_init_task). */
  createTask(name: string): PksTask {
    return { name, pkrs: this.initValue() };
  }

  /** The thread running on `cpu`. */
  current(cpu: Cpu): PksTask {
    return this.currentTask[cpu.index];
  }

  /** pks_update_protection: change the calling thread's rights for `key` and load them into PKRS. */
  pks_update_protection(cpu: Cpu, key: number, prot: PksProtection): void {
    if (!(key >= 1 && key < PKEY_COUNT && (key | 0) === key)) {
      if (key === PKS_KEY_DEFAULT) throw new RangeError('key 0 (the default key) is always read-write');
      checkKey(key);
    }
    if (prot !== 'rw' && prot !== 'ro' && prot !== 'noaccess') keyRights(prot);
    const t = this.currentTask[cpu.index];
    // Allocation-free: this runs around every protected page-table write.
    t.pkrs = ((t.pkrs & ~(3 << (2 * key))) | (protBits(prot) << (2 * key))) >>> 0;
    this.writeCurrent(cpu);
  }

  pks_set_readwrite(cpu: Cpu, key: number): void {
    this.pks_update_protection(cpu, key, 'rw');
  }
  pks_set_readonly(cpu: Cpu, key: number): void {
    this.pks_update_protection(cpu, key, 'ro');
  }
  pks_set_noaccess(cpu: Cpu, key: number): void {
    this.pks_update_protection(cpu, key, 'noaccess');
  }

  /**
   * Exception entry (pkrs_save_irq): save the interrupted thread's PKRS in the exception frame (returned) and
   * run the handler with PKS_INIT_VALUE, so a fault taken inside a write window cannot leave the page tables
   * writable while it is handled.
   */
  pkrs_save_irq(cpu: Cpu): number {
    const t = this.currentTask[cpu.index];
    const saved = t.pkrs;
    t.pkrs = this.initValue();
    this.irqSaves++;
    this.writeCurrent(cpu);
    return saved;
  }

  /** Exception return (pkrs_restore_irq): the interrupted thread gets its PKRS back. */
  pkrs_restore_irq(cpu: Cpu, saved: number): void {
    this.currentTask[cpu.index].pkrs = saved >>> 0;
    this.writeCurrent(cpu);
  }

  /** Context switch (__switch_to): `next` runs on `cpu` with its own PKRS. Returns the previous thread. */
  switchTo(cpu: Cpu, next: PksTask): PksTask {
    const prev = this.currentTask[cpu.index];
    this.currentTask[cpu.index] = next;
    this.taskSwitches++;
    this.writeCurrent(cpu);
    return prev;
  }

  get stats(): PksStats {
    return { wrmsr: this.cache.stats.wrmsr, wrmsrSkipped: this.cache.stats.wrmsrSkipped, irqSaves: this.irqSaves, taskSwitches: this.taskSwitches };
  }

  /** pks_write_pkrs of the current thread's value; a CPU without PKS has nothing to write (Linux checks the feature). */
  private writeCurrent(cpu: Cpu): void {
    if (this.cpus[cpu.index] !== cpu) throw new RangeError(`CPU ${cpu.index} does not belong to this kernel`);
    if (!cpu.features.pks) return;
    this.cache.write(cpu, this.currentTask[cpu.index].pkrs);
  }
}
