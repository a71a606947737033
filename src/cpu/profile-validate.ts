/**
 * Copying, overriding and validating cost profiles (the work behind `resolveProfile` in profiles.ts). A bad field
 * throws a TypeError when its value has the wrong type and a RangeError when the type is right but the value is
 * not; the message names the field path and shows the value.
 */

import type { CacheShape, MmuTiming, TlbGeometry } from '../mmu/mmu.js';
import type { CostProfile, IpiDelivery } from './profile.js';

type DeepPartial<T> = {
  [K in keyof T]?: T[K] extends readonly unknown[] ? T[K] : T[K] extends object ? DeepPartial<T[K]> : T[K];
};

/**
 * Field overrides for `resolveProfile`: any subset of a profile, nested objects partial. Arrays are replaced
 * whole (each `tlb` shape, `invpcid`); `wrmsr.byMsr` / `rdmsr.byMsr` are merged by MSR index.
 */
export type ProfileOverrides = DeepPartial<CostProfile>;

const TLB_KEYS: readonly (keyof TlbGeometry)[] = ['l1d4k', 'l1d2m', 'l1d1g', 'l1i4k', 'l1i2m', 'l1i1g', 'stlb', 'stlb1g', 'pscPml5', 'pscPml4', 'pscPdpt', 'pscPd'];
const MMU_KEYS: readonly (keyof MmuTiming)[] = ['l1TlbHit', 'stlbHit', 'walkBase', 'adUpdate'];
const WALK_REF_KEYS: readonly (keyof MmuTiming['walkRef'])[] = ['pml5e', 'pml4e', 'pdpte', 'pde', 'pte'];
const MEMORY_KEYS = ['l1d', 'l2', 'llc', 'dram'] as const;
const INSN_KEYS: readonly (keyof CostProfile['insn'])[] = [
  'alu', 'mul', 'div', 'div8', 'div16', 'div32', 'branch', 'branchNotTaken', 'load', 'store', 'string', 'pause', 'fence', 'syscall', 'sysret',
  'swapgs', 'stac', 'port', 'serialize', 'cpuid', 'rdtsc',
];
const IPI_COST_KEYS = ['send', 'perTarget', 'deliver', 'handle', 'ack'] as const satisfies readonly (keyof CostProfile['ipi'])[];
const IPI_DELIVERY: readonly IpiDelivery[] = ['x2apic-cluster', 'x2apic-physical'];
const INTERRUPT_KEYS: readonly (keyof CostProfile['interrupt'])[] = ['entry', 'exit'];
const TOP_KEYS: readonly (keyof CostProfile)[] = [
  'name', 'description', 'ghz', 'tlb', 'mmu', 'memory', 'dataAccessLevel', 'insn', 'wrmsr', 'rdmsr', 'wrpkru', 'rdpkru', 'invlpg',
  'invpcid', 'movCr3', 'movCr0', 'movCr4', 'clearPage', 'ipi', 'interrupt',
];

/** A deep copy of `base` with `overrides` applied, validated. */
export function withOverrides(base: CostProfile, overrides: ProfileOverrides | undefined): CostProfile {
  const out = clone(base) as CostProfile;
  if (overrides !== undefined) {
    if (!isPlainObject(overrides)) throw new TypeError(`profile overrides must be an object, got ${describe(overrides)}`);
    merge(out as unknown as Record<string, unknown>, overrides as Record<string, unknown>, '');
  }
  validateProfile(out);
  return out;
}

/** Deep copy of plain data (objects, arrays, primitives). */
function clone(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clone);
  if (isPlainObject(v)) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) o[k] = clone(v[k]);
    return o;
  }
  return v;
}

/** Apply `over` onto `target` (a fresh copy): objects recurse, arrays and primitives replace. */
function merge(target: Record<string, unknown>, over: Record<string, unknown>, path: string): void {
  const freeKeys = path === 'wrmsr.byMsr' || path === 'rdmsr.byMsr';
  for (const k of Object.keys(over)) {
    const v = over[k];
    if (v === undefined) continue;
    const here = freeKeys ? `${path}[${k}]` : path === '' ? k : `${path}.${k}`;
    if (freeKeys) {
      msrIndex(k, path);
      target[k] = clone(v);
      continue;
    }
    if (!Object.hasOwn(target, k)) throw new RangeError(`unknown cost profile field '${here}' in overrides (value ${describe(v)})`);
    const cur = target[k];
    if (isPlainObject(cur) && isPlainObject(v)) merge(cur, v, here);
    else target[k] = clone(v);
  }
}

/**
 * Throws for a bad field: a TypeError when the value has the wrong type, a RangeError when it has the right type
 * but a bad value. The message names the profile, the field path and the value.
 */
type Fail = (path: string, what: string, v: unknown, kind?: 'type' | 'range') => never;

/** Validate a complete profile; throws (see Fail) naming the first bad field. */
function validateProfile(p: CostProfile): void {
  const who = typeof p.name === 'string' ? `'${p.name}'` : '(unnamed)';
  const fail: Fail = (path, what, v, kind = 'range') => {
    const msg = `invalid cost profile ${who}: ${path} ${what}, got ${describe(v)}`;
    throw kind === 'type' ? new TypeError(msg) : new RangeError(msg);
  };
  const obj = (path: string, v: unknown): Record<string, unknown> => (isPlainObject(v) ? v : fail(path, 'must be an object', v, 'type'));
  const cost = (path: string, v: unknown): void => {
    if (typeof v !== 'number') fail(path, 'must be a number', v, 'type');
    else if (!Number.isFinite(v) || v < 0) fail(path, 'must be a finite number >= 0', v);
  };
  const costs = (path: string, v: unknown, keys: readonly string[]): void => {
    const o = obj(path, v);
    for (const k of keys) cost(`${path}.${k}`, o[k]);
  };

  const top = obj('profile', p);
  for (const k of Object.keys(top)) if (!(TOP_KEYS as readonly string[]).includes(k)) fail(k, 'is not a cost profile field', top[k]);
  if (typeof p.name !== 'string') fail('name', 'must be a non-empty string', p.name, 'type');
  if (p.name === '') fail('name', 'must be a non-empty string', p.name);
  if (typeof p.description !== 'string') fail('description', 'must be a string', p.description, 'type');
  if (typeof p.ghz !== 'number') fail('ghz', 'must be a finite number > 0', p.ghz, 'type');
  if (!Number.isFinite(p.ghz) || p.ghz <= 0) fail('ghz', 'must be a finite number > 0', p.ghz);

  const tlb = obj('tlb', p.tlb);
  for (const k of TLB_KEYS) shape(`tlb.${k}`, tlb[k], fail);
  if (tlb.l1dStore !== undefined) shape('tlb.l1dStore', tlb.l1dStore, fail); // optional: absent = no store-only DTLB
  costs('mmu', p.mmu, MMU_KEYS);
  costs('mmu.walkRef', p.mmu.walkRef, WALK_REF_KEYS);
  costs('memory', p.memory, MEMORY_KEYS);
  if (typeof p.dataAccessLevel !== 'string') fail('dataAccessLevel', `must be one of ${MEMORY_KEYS.join(', ')}`, p.dataAccessLevel, 'type');
  if (!(MEMORY_KEYS as readonly string[]).includes(p.dataAccessLevel)) fail('dataAccessLevel', `must be one of ${MEMORY_KEYS.join(', ')}`, p.dataAccessLevel);
  costs('insn', p.insn, INSN_KEYS);
  for (const m of ['wrmsr', 'rdmsr'] as const) {
    const o = obj(m, p[m]);
    cost(`${m}.default`, o.default);
    const by = obj(`${m}.byMsr`, o.byMsr);
    for (const k of Object.keys(by)) {
      msrIndex(k, `${m}.byMsr`, who);
      cost(`${m}.byMsr[0x${Number(k).toString(16)}]`, by[k]);
    }
  }
  cost('wrpkru', p.wrpkru);
  cost('rdpkru', p.rdpkru);
  cost('invlpg', p.invlpg);
  if (!Array.isArray(p.invpcid)) fail('invpcid', 'must be an array of 4 costs (types 0..3)', p.invpcid, 'type');
  if (p.invpcid.length !== 4) fail('invpcid', 'must be an array of 4 costs (types 0..3)', p.invpcid);
  p.invpcid.forEach((v, i) => cost(`invpcid[${i}]`, v));
  costs('movCr3', p.movCr3, ['flush', 'noFlush']);
  cost('movCr0', p.movCr0);
  cost('movCr4', p.movCr4);
  cost('clearPage', p.clearPage);
  const ipi = obj('ipi', p.ipi);
  for (const k of IPI_COST_KEYS) cost(`ipi.${k}`, ipi[k]);
  if (typeof ipi.delivery !== 'string') fail('ipi.delivery', `must be one of ${IPI_DELIVERY.join(', ')}`, ipi.delivery, 'type');
  if (!(IPI_DELIVERY as readonly string[]).includes(ipi.delivery)) fail('ipi.delivery', `must be one of ${IPI_DELIVERY.join(', ')}`, ipi.delivery);
  if (typeof ipi.shorthand !== 'boolean') fail('ipi.shorthand', 'must be a boolean', ipi.shorthand, 'type');
  costs('interrupt', p.interrupt, INTERRUPT_KEYS);
}

/** A CacheShape: [entries, ways], integers, entries 0..65536, ways dividing entries (ignored when entries is 0). */
function shape(path: string, v: unknown, fail: Fail): CacheShape {
  if (!Array.isArray(v)) return fail(path, 'must be [entries, ways]', v, 'type');
  if (v.length !== 2) return fail(path, 'must be [entries, ways]', v);
  const [entries, ways] = v as unknown[];
  if (typeof entries !== 'number' || typeof ways !== 'number') return fail(path, 'must be [entries, ways] (numbers)', v, 'type');
  if (!Number.isInteger(entries) || entries < 0 || entries > 65536) return fail(path, 'entries must be an integer 0..65536', v);
  if (!Number.isInteger(ways) || ways < 0) return fail(path, 'ways must be a non-negative integer', v);
  if (entries > 0 && (ways < 1 || entries % ways !== 0)) return fail(path, `ways (${ways}) must divide entries (${entries})`, v);
  return v as unknown as CacheShape;
}

/** An MSR index key of a byMsr table: an integer 0..0xFFFFFFFF. */
function msrIndex(k: string, path: string, who?: string): number {
  const n = Number(k);
  if (k.trim() === '' || !Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    const prefix = who === undefined ? 'profile overrides' : `invalid cost profile ${who}`;
    throw new RangeError(`${prefix}: ${path} key '${k}' is not an MSR index (an integer 0..0xFFFFFFFF)`);
  }
  return n;
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

export function describe(v: unknown): string {
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : String(v);
  if (typeof v === 'string') return `'${v}'`;
  if (v === undefined) return 'undefined';
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}

