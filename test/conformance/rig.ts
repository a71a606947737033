/**
 * Test rig for the conformance suite: one Machine whose paging structures the tests write entry by entry
 * (raw 64-bit values, so every bit is under the test's control), control registers set per case, and the
 * comparison of pksim's `cpu.translate` against the SDM oracle (sdm-oracle.ts).
 */

import { Machine, enterLongMode, MSR, PageFault, GeneralProtection, StackFault, type Cpu, type TranslateResult } from '../../src/index.js';
import { type Access, type Arch, type Controls, type Expected, ecText, EC, isUserModeAccess, LEVEL_NAME, NO_CONTROLS, P, PS, RW, US, XD, KEY_SHIFT, sdmTranslate } from './sdm-oracle.js';

// Control-register bits (SDM Vol. 3A 2.5) and EFER (2.2.1), spelled out here rather than imported.
const CR0_WP = 1n << 16n;
const CR4_SMEP = 1n << 20n;
const CR4_SMAP = 1n << 21n;
const CR4_PKE = 1n << 22n;
const CR4_PKS = 1n << 24n;
const EFER_SCE = 1n << 0n;
const EFER_LME = 1n << 8n;
const EFER_NXE = 1n << 11n;
const RFLAGS_AC = 1n << 18n;

export type LeafLevel = 1 | 2 | 3;
export const PAGE_BYTES: Record<LeafLevel, bigint> = { 1: 1n << 12n, 2: 1n << 21n, 3: 1n << 30n };
export const SIZE_NAME: Record<LeafLevel, string> = { 1: '4K', 2: '2M', 3: '1G' };

/** What the CPU did, normalised for comparison. */
export type Actual =
  | { kind: 'ok'; pa: bigint; pageSize: number; pkey: number }
  | { kind: 'pf'; errorCode: number; address: bigint }
  | { kind: 'gp'; errorCode: number }
  | { kind: 'ss'; errorCode: number }
  | { kind: 'other'; text: string };

export interface EntryFlags {
  p?: boolean; // default true
  rw?: boolean;
  us?: boolean;
  xd?: boolean;
  ps?: boolean;
  key?: number;
  /** Raw bits ORed in (reserved or ignored bits, PAT...). */
  raw?: bigint;
}

/** A raw entry value without address. */
export function flags(f: EntryFlags): bigint {
  let e = 0n;
  if (f.p ?? true) e |= P;
  if (f.rw) e |= RW;
  if (f.us) e |= US;
  if (f.xd) e |= XD;
  if (f.ps) e |= PS;
  if (f.key !== undefined) e |= BigInt(f.key) << KEY_SHIFT;
  if (f.raw !== undefined) e |= f.raw;
  return e;
}

/** Build a linear address from table indices (top level first) and an offset, sign-extended. */
export function linear(indices: number[], offset: bigint, la57 = false): bigint {
  const top = la57 ? 5 : 4;
  if (indices.length > top) throw new Error('too many indices');
  let v = 0n;
  indices.forEach((ix, i) => (v |= BigInt(ix) << BigInt(12 + 9 * (top - 1 - i))));
  v |= offset;
  const n = la57 ? 57n : 48n;
  if ((v >> (n - 1n)) & 1n) v |= ((1n << 64n) - 1n) & ~((1n << n) - 1n);
  return v;
}

export const ALL_FALSE: Controls = NO_CONTROLS;

export function ctlText(c: Controls): string {
  const b = (x: boolean) => (x ? 1 : 0);
  let s = `WP=${b(c.wp)} NXE=${b(c.nxe)} SMEP=${b(c.smep)} SMAP=${b(c.smap)} AC=${b(c.ac)}`;
  if (c.pke || c.pkru !== 0) s += ` PKE=${b(c.pke)} PKRU=0x${(c.pkru >>> 0).toString(16)}`;
  if (c.pks || c.pkrs !== 0) s += ` PKS=${b(c.pks)} PKRS=0x${(c.pkrs >>> 0).toString(16)}`;
  return s;
}

export function accText(a: Access): string {
  return `${a.access} CPL${a.cpl}${a.implicit ? ' implicit' : ''}${a.stack ? ' stack' : ''}`;
}

export function outcomeText(o: Expected | Actual): string {
  switch (o.kind) {
    case 'ok':
      return `ok pa=0x${o.pa.toString(16)} size=${o.pageSize} key=${o.pkey}`;
    case 'pf':
      return `#PF ${ecText(o.errorCode)}${'why' in o ? ` (${o.why})` : ''}`;
    case 'gp':
      return `#GP(${o.errorCode})`;
    case 'ss':
      return `#SS(${o.errorCode})`;
    default:
      return `unexpected: ${o.text}`;
  }
}

export function normalise(r: TranslateResult): Actual {
  if (r.ok) return { kind: 'ok', pa: r.pa, pageSize: r.pageSize, pkey: r.pkey };
  const f = r.fault as unknown;
  if (f instanceof PageFault) return { kind: 'pf', errorCode: f.errorCode, address: f.address };
  if (f instanceof GeneralProtection) return { kind: 'gp', errorCode: f.errorCode };
  if (f instanceof StackFault) return { kind: 'ss', errorCode: f.errorCode };
  return { kind: 'other', text: String(f) };
}

/** null when `act` is what the SDM expects for this access at `va`. */
export function compare(exp: Expected, act: Actual, va: bigint): string | null {
  const v = BigInt.asUintN(64, va);
  if (exp.kind !== act.kind) return `expected ${outcomeText(exp)}, got ${outcomeText(act)}`;
  switch (exp.kind) {
    case 'ok': {
      const a = act as Extract<Actual, { kind: 'ok' }>;
      if (a.pa !== exp.pa || a.pageSize !== exp.pageSize || a.pkey !== exp.pkey) return `expected ${outcomeText(exp)}, got ${outcomeText(a)}`;
      return null;
    }
    case 'pf': {
      const a = act as Extract<Actual, { kind: 'pf' }>;
      if (a.errorCode !== exp.errorCode) return `expected ${outcomeText(exp)}, got #PF ${ecText(a.errorCode)}`;
      if (a.address !== v) return `#PF address 0x${a.address.toString(16)}, expected 0x${v.toString(16)}`;
      return null;
    }
    default: {
      const a = act as { errorCode: number };
      return a.errorCode === exp.errorCode ? null : `expected ${outcomeText(exp)}, got error code ${a.errorCode}`;
    }
  }
}

export interface RigOptions {
  maxPhysAddr?: number;
  la57?: boolean;
  gbpages?: boolean;
}

const TABLE_POOL_START = 0x100000n;
const TABLE_POOL_END = 0x1000000n;
const CR2_SENTINEL = 0x5a5a5a5a5a5a5a5an;

export class Rig {
  readonly m: Machine;
  readonly cpu: Cpu;
  readonly arch: Arch;
  readonly top: 4 | 5;
  readonly root: bigint;
  private nextTable = TABLE_POOL_START;
  private readonly tables = new Map<string, bigint>();
  private ctl: Controls = { ...NO_CONTROLS };
  /** Counters of what the rig did, for the report. */
  static checks = 0;

  constructor(o: RigOptions = {}) {
    this.arch = { maxPhysAddr: o.maxPhysAddr ?? 46, la57: o.la57 ?? false, gbpages: o.gbpages ?? true };
    this.m = new Machine({ cpus: 1, memory: 2 ** 32, maxPhysAddr: this.arch.maxPhysAddr, features: { gbpages: this.arch.gbpages } });
    this.cpu = this.m.cpus[0];
    this.top = this.arch.la57 ? 5 : 4;
    this.root = this.alloc();
    enterLongMode(this.cpu, { cr3: this.root, la57: this.arch.la57, wp: false, nxe: false, cpl: 0 });
    this.applyControls(NO_CONTROLS, true);
  }

  private alloc(): bigint {
    if (this.nextTable >= TABLE_POOL_END) throw new Error('rig table pool exhausted');
    const pa = this.nextTable;
    this.nextTable += 4096n;
    this.m.memory.fill(pa, 4096, 0);
    return pa;
  }

  /** Physical address of the table at `level` (the table whose entries are level-`level` entries) for va. */
  tableFor(va: bigint, level: number): bigint {
    if (level === this.top) return this.root;
    const key = `${level}:${(BigInt.asUintN(64, va) >> BigInt(12 + 9 * level)).toString(16)}`;
    let t = this.tables.get(key);
    if (t === undefined) {
      t = this.alloc();
      this.tables.set(key, t);
    }
    return t;
  }

  /** Physical address of the entry at `level` for va. */
  entryPa(va: bigint, level: number): bigint {
    return this.tableFor(va, level) + ((BigInt.asUintN(64, va) >> BigInt(12 + 9 * (level - 1))) & 0x1ffn) * 8n;
  }

  /** Page frame a leaf at `leaf` level maps va to (outside the table pool, below 4 GiB). */
  frameFor(va: bigint, leaf: LeafLevel): bigint {
    const v = BigInt.asUintN(64, va);
    if (leaf === 3) return 0xc0000000n;
    if (leaf === 2) return 0x80000000n | (((v >> 21n) & 0x1ffn) << 21n);
    return 0x40000000n | (((v >> 12n) & 0x3ffffn) << 12n);
  }

  /**
   * Write the walk for va: `entries` are flag values (no address), top level first, down to the leaf at level
   * `leaf` (PS is added for a large-page leaf unless `noAutoPs`). Addresses of the next tables and of the frame
   * are ORed in. Returns the physical address of each entry, top level first.
   */
  setWalk(va: bigint, entries: bigint[], leaf: LeafLevel = 1): bigint[] {
    if (entries.length !== this.top - leaf + 1) throw new Error(`setWalk: ${entries.length} entries for levels ${this.top}..${leaf}`);
    const pas: bigint[] = [];
    for (let i = 0; i < entries.length; i++) {
      const level = this.top - i;
      const ea = this.entryPa(va, level);
      let e = entries[i];
      if (level === leaf) {
        e |= this.frameFor(va, leaf);
        if (leaf !== 1) e |= PS;
      } else {
        e |= this.tableFor(va, level - 1);
      }
      this.m.memory.write64(ea, e);
      pas.push(ea);
    }
    return pas;
  }

  readEntry(pa: bigint): bigint {
    return this.m.memory.read64(pa);
  }

  /** Set the control state (only what changed is written). */
  setControls(c: Controls): void {
    this.applyControls(c, false);
  }

  private applyControls(c: Controls, force: boolean): void {
    const cpu = this.cpu;
    const o = this.ctl;
    if (force || o.nxe !== c.nxe) cpu.wrmsr(MSR.IA32_EFER, EFER_LME | EFER_SCE | (c.nxe ? EFER_NXE : 0n));
    if (force || o.wp !== c.wp) cpu.writeCr(0, (cpu.cr0 & ~CR0_WP) | (c.wp ? CR0_WP : 0n));
    if (force || o.smep !== c.smep || o.smap !== c.smap || o.pke !== c.pke || o.pks !== c.pks) {
      cpu.writeCr(4, (cpu.cr4 & ~(CR4_SMEP | CR4_SMAP | CR4_PKE | CR4_PKS)) | (c.smep ? CR4_SMEP : 0n) | (c.smap ? CR4_SMAP : 0n) | (c.pke ? CR4_PKE : 0n) | (c.pks ? CR4_PKS : 0n));
    }
    if (force || o.ac !== c.ac) cpu.rflags = c.ac ? RFLAGS_AC | 2n : 2n;
    if (force || o.pkru !== c.pkru) cpu.pkru = c.pkru >>> 0;
    if (force || o.pkrs !== c.pkrs) cpu.wrmsr(MSR.IA32_PKRS, BigInt(c.pkrs >>> 0));
    this.ctl = { ...c };
  }

  get controls(): Controls {
    return { ...this.ctl };
  }

  /** What the SDM says for this access with the current memory and controls. */
  expect(va: bigint, a: Access): Expected {
    return sdmTranslate(va, this.cpu.cr3, (pa) => this.m.memory.read64(pa), this.arch, this.ctl, a);
  }

  /** `cpu.translate` with probe: true. */
  probe(va: bigint, a: Access): Actual {
    return normalise(this.cpu.translate(va, { access: a.access, cpl: a.cpl, implicit: a.implicit === true, stack: a.stack === true, probe: true }));
  }

  /** `cpu.translate` on the real path (TLBs, A/D). */
  real(va: bigint, a: Access): Actual {
    return normalise(this.cpu.translate(va, { access: a.access, cpl: a.cpl, implicit: a.implicit === true, stack: a.stack === true }));
  }

  /**
   * Check one access through the probe path: the result, and that a probe leaves CR2 and the entries alone.
   * Returns a failure description or null.
   */
  checkProbe(va: bigint, a: Access, exp: Expected = this.expect(va, a)): string | null {
    Rig.checks++;
    this.cpu.writeCr(2, CR2_SENTINEL);
    const before = exp.kind === 'ok' || exp.kind === 'pf' ? exp.walk.map((s) => this.m.memory.read64(s.pa)) : [];
    const d = compare(exp, this.probe(va, a), va);
    if (d !== null) return `probe: ${d}`;
    if (this.cpu.cr2 !== CR2_SENTINEL) return `probe changed CR2 to 0x${this.cpu.cr2.toString(16)}`;
    if (exp.kind === 'ok' || exp.kind === 'pf') {
      for (let i = 0; i < exp.walk.length; i++) {
        if (this.m.memory.read64(exp.walk[i].pa) !== before[i]) return `probe changed the ${LEVEL_NAME[exp.walk[i].level]}`;
      }
    }
    return null;
  }

  /**
   * Check one access through the real path from an empty TLB: the result, CR2 (the faulting address for a #PF,
   * untouched otherwise), then the same access again (a TLB hit, L1 or STLB, after a success; a fault dropped the page's
   * entries, so a new walk after a fault) which must give the same answer.
   */
  checkReal(va: bigint, a: Access, exp: Expected = this.expect(va, a)): string | null {
    Rig.checks++;
    const cpu = this.cpu;
    cpu.flushTlb({ global: true });
    cpu.writeCr(2, CR2_SENTINEL);
    const first = this.real(va, a);
    let d = compare(exp, first, va);
    if (d !== null) return `real path (TLB miss): ${d}`;
    const wantCr2 = exp.kind === 'pf' ? BigInt.asUintN(64, va) : CR2_SENTINEL;
    if (cpu.cr2 !== wantCr2) return `real path: CR2 = 0x${cpu.cr2.toString(16)}, expected 0x${wantCr2.toString(16)}`;
    const hits = cpu.stats.tlbHits + cpu.stats.stlbHits;
    const walks = cpu.stats.walks;
    const second = this.real(va, a);
    d = compare(exp, second, va);
    if (d !== null) return `real path (repeat${exp.kind === 'ok' ? ', TLB hit' : ''}): ${d}`;
    if (exp.kind === 'ok' && (cpu.stats.tlbHits + cpu.stats.stlbHits !== hits + 1 || cpu.stats.walks !== walks)) return 'real path: the repeated successful access was not a TLB hit';
    return null;
  }
}

/** Every access kind worth distinguishing: read/write/fetch at CPL 0 and 3, and implicit supervisor data accesses. */
export const ACCESSES: Access[] = [
  { access: 'read', cpl: 0 },
  { access: 'write', cpl: 0 },
  { access: 'fetch', cpl: 0 },
  { access: 'read', cpl: 3 },
  { access: 'write', cpl: 3 },
  { access: 'fetch', cpl: 3 },
  { access: 'read', cpl: 0, implicit: true },
  { access: 'write', cpl: 0, implicit: true },
  { access: 'read', cpl: 3, implicit: true },
  { access: 'write', cpl: 3, implicit: true },
];

/** Every combination of the given boolean control names (others from `base`). */
export function controlProduct(names: (keyof Controls)[], base: Controls = NO_CONTROLS): Controls[] {
  const out: Controls[] = [];
  for (let m = 0; m < 1 << names.length; m++) {
    const c: Controls = { ...base };
    names.forEach((n, i) => ((c as unknown as Record<string, boolean>)[n] = ((m >> i) & 1) === 1));
    out.push(c);
  }
  return out;
}

export { EC, isUserModeAccess };
