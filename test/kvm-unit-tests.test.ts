/**
 * The scenarios of kvm-unit-tests x86/pks.c and x86/pku.c, reproduced on pksim (read from the
 * kvm-unit-tests repository at commit 1da1819e49fc4938985edca67df669099b4c87a7; nothing copied).
 *
 * Both originals use the same idea:
 * - one physical range is mapped twice: at its identity address and again 32 MiB higher (the "alias");
 * - every leaf in both windows carries protection key 2; in pks.c the low window is user-mode and the alias
 *   has U/S cleared in its leaf PTE only (so it is a supervisor-mode address, SDM 4.6.1: U/S must be 1 in
 *   every entry for a user-mode address); pku.c is the mirror image (low window supervisor, alias user);
 * - a #PF handler counts the fault, saves the old value of `test` (read through its own address), clears
 *   PKRS (pks.c) or PKRU (pku.c), and returns, so the faulting instruction is retried and completes;
 * - each step: INVLPG both addresses, key register = 0, CR0.WP = 0; then set CR0.WP and the key register
 *   (AD of key 2 = 0x10, WD of key 2 = 0x20) and make one access at CPL 0.
 *
 * Beyond the originals, every fault is checked for its exact error code (SDM Vol. 3A 4.7: P bit 0, W bit 1,
 * U bit 2, PK bit 5) and CR2; the handler's key-register clear must act without INVLPG; and the TLB-hit path
 * must decide as the walk did. CPL-3 and implicit-access variants (which the originals do not do; pku.c has
 * a TODO for the implicit case) are marked as such.
 */
import { describe, expect, it } from 'vitest';
import { Machine, enterLongMode, PageTableBuilder, PageFault, MSR, PFEC_P, PFEC_W, PFEC_U, PFEC_PK, pkeyAdBit, pkeyWdBit } from '../src/index.js';

const CR0_WP = 1n << 16n;
const CR4_PKE = 1n << 22n;
const CR4_PKS = 1n << 24n;

const PKEY = 2;
const KEY_AD = 0x10; // AD of key 2 (bit 2k), the originals' constant
const KEY_WD = 0x20; // WD of key 2 (bit 2k+1)
// The originals' SUPER_BASE / USER_BASE, 2 << 24 = 0x2000000 (32 MiB, though their comments say 16 MiB): the
// alias of physical page X is at linear X + 32 MiB (they clear bit 25 in the alias PTEs). Same offset here, so
// the faulting addresses (CR2) are those of the original layout.
const ALIAS = 2n << 24n;
const DATA_PAGE = 0x400000n; // a few pages of "kernel image" where the variable lives
const DATA_PAGES = 4;
const TEST_PA = DATA_PAGE + 0x40n; // the variable `test` (a page offset, so CR2 must carry the low bits too)

const P = PFEC_P;
const W = PFEC_W;
const U = PFEC_U;
const PK = PFEC_PK;

type Flavor = 'pks' | 'pku';
type Target = 'user' | 'super';

interface FaultRecord {
  errorCode: number;
  address: bigint;
  cr2: bigint;
}

/** A pksim CPU set up as pks.c / pku.c set up theirs, with their #PF handler modelled in TypeScript. */
class Guest {
  readonly m: Machine;
  readonly cpu: Machine['cpus'][number];
  readonly b: PageTableBuilder;
  pfCount = 0;
  save = 0;
  faults: FaultRecord[] = [];

  constructor(
    readonly flavor: Flavor,
    opts: { tableKey?: number } = {},
  ) {
    this.m = new Machine({ cpus: 1, memory: 2 ** 28 });
    this.cpu = this.m.cpus[0];
    // The originals skip unless CPUID.(EAX=7,ECX=0):ECX has PKS (bit 31) / PKU (bit 3).
    const ecx = this.cpu.cpuid(7, 0).ecx;
    expect((ecx >>> (flavor === 'pks' ? 31 : 3)) & 1).toBe(1);
    this.b = new PageTableBuilder(this.m.memory, { start: 0x100000, end: 0x200000 });
    // Non-leaf entries: present, writable, user (as setup_vm), and carrying a key too: bits 62:59 of a
    // non-leaf entry are ignored (SDM 4.5, Tables 4-15, 4-17, 4-19), so only the leaf's key may count.
    const tables = { write: true, user: true, pkey: opts.tableKey ?? PKEY };
    const lowUser = flavor === 'pks'; // pks.c: low window user, alias supervisor; pku.c: the reverse
    for (let i = 0; i < DATA_PAGES; i++) {
      const pa = DATA_PAGE + BigInt(i * 4096);
      this.b.map(pa, pa, 4096, { write: true, user: lowUser, pkey: PKEY, tables });
      this.b.map(pa + ALIAS, pa, 4096, { write: true, user: !lowUser, pkey: PKEY, tables });
    }
    // pks.c turns on CR4.PKS only, pku.c CR4.PKE only.
    enterLongMode(this.cpu, { cr3: this.b.root, cr4: flavor === 'pks' ? CR4_PKS : CR4_PKE });
  }

  /** Linear address of `test` (the low window) and of its alias. */
  get lowVa(): bigint {
    return TEST_PA;
  }
  get aliasVa(): bigint {
    return TEST_PA + ALIAS;
  }
  va(t: Target): bigint {
    const superIsAlias = this.flavor === 'pks';
    return (t === 'super') === superIsAlias ? this.aliasVa : this.lowVa;
  }

  /** The value of `test` in memory. */
  get test(): number {
    return this.m.memory.read32(TEST_PA);
  }
  set test(v: number) {
    this.m.memory.write32(TEST_PA, v);
  }

  /** pks.c: WRMSR IA32_PKRS; pku.c: WRPKRU. */
  setKeyReg(v: number): void {
    if (this.flavor === 'pks') this.cpu.wrmsr(MSR.IA32_PKRS, BigInt(v));
    else this.cpu.pkru = v;
  }
  keyReg(): number {
    return this.flavor === 'pks' ? Number(this.cpu.rdmsr(MSR.IA32_PKRS)) : this.cpu.pkru;
  }

  setWp(on: boolean): void {
    const cr0 = this.cpu.readCr(0);
    this.cpu.writeCr(0, on ? cr0 | CR0_WP : cr0 & ~CR0_WP);
  }

  /** The originals' init_test(). */
  initTest(): void {
    this.pfCount = 0;
    this.faults = [];
    this.cpu.invlpg(this.lowVa);
    this.cpu.invlpg(this.aliasVa);
    this.setKeyReg(0);
    this.setWp(false);
  }

  /** The originals' #PF handler: count, save `test` (through its own address, CPL 0), clear the key register. */
  private handler(f: PageFault): void {
    this.faults.push({ errorCode: f.errorCode, address: f.address, cr2: this.cpu.cr2 });
    this.pfCount++;
    this.save = Number(this.cpu.read(this.lowVa, 4, { cpl: 0 }));
    this.setKeyReg(0);
  }

  /** One instruction's data access; on #PF the handler runs and the instruction is restarted (IRET). */
  private retry<T>(op: () => T): T {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        return op();
      } catch (e) {
        if (!(e instanceof PageFault)) throw e;
        this.handler(e);
      }
    }
    throw new Error(`the access still faults after ${this.pfCount} faults: ${JSON.stringify(this.faults, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v))}`);
  }

  store(va: bigint, value: number, opts: { cpl?: 0 | 3; implicit?: boolean } = {}): void {
    this.retry(() => this.cpu.write(va, 4, value, opts));
  }
  load(va: bigint, opts: { cpl?: 0 | 3; implicit?: boolean } = {}): number {
    return this.retry(() => Number(this.cpu.read(va, 4, opts)));
  }

  /** One access with no handler: undefined if it completes, else its error code, address and CR2. */
  attempt(va: bigint, access: 'read' | 'write', value: number, opts: { cpl?: 0 | 3; implicit?: boolean }): FaultRecord | undefined {
    try {
      if (access === 'write') this.cpu.write(va, 4, value, opts);
      else this.cpu.read(va, 4, opts);
      return undefined;
    } catch (e) {
      if (!(e instanceof PageFault)) throw e;
      return { errorCode: e.errorCode, address: e.address, cr2: this.cpu.cr2 };
    }
  }
}

interface Scenario {
  /** The original's report() text (or a variant of it). */
  name: string;
  wp: boolean;
  /** PKRS (pks.c) or PKRU (pku.c) value for the access. */
  reg: number;
  target: Target;
  access: 'read' | 'write';
  /** Value written (the originals use 21..26). */
  value: number;
  /** `test` as the previous step left it, so the handler's saved value can be checked as the originals do. */
  before: number;
  cpl?: 0 | 3;
  implicit?: boolean;
  /** Expected #PF error code, or null when the access completes without a fault. */
  fault: number | null;
}

/**
 * Run one step as the original does (walk path: INVLPG first), then again through the TLB-hit path.
 */
function runScenario(flavor: Flavor, s: Scenario): void {
  const g = new Guest(flavor);
  g.test = s.before;
  g.initTest();
  g.setWp(s.wp);
  g.setKeyReg(s.reg);
  expect(g.keyReg()).toBe(s.reg);
  const va = g.va(s.target);
  const opts = { cpl: s.cpl ?? 0, implicit: s.implicit ?? false };
  const st = g.cpu.stats;
  const walks0 = st.walks;
  const invlpg0 = st.invlpg;

  if (s.access === 'write') g.store(va, s.value, opts);
  else expect(g.load(va, opts)).toBe(s.before);

  expect(st.walks).toBeGreaterThan(walks0); // the first access walked: init_test() flushed the page
  if (s.fault === null) {
    expect(g.faults).toEqual([]);
    expect(g.pfCount).toBe(0);
  } else {
    // SDM 4.7 error code; SDM 6.15 (#PF): CR2 holds the faulting linear address, page offset included.
    expect(g.faults).toEqual([{ errorCode: s.fault, address: va, cr2: va }]);
    expect(g.pfCount).toBe(1);
    expect(g.save).toBe(s.before);
    // The handler cleared the key register and the restarted access completed with no INVLPG in between:
    // the TLB caches the key, not the rights (SDM 4.6.2; 4.10.2.2 lists no rights from PKRS/PKRU).
    expect(g.keyReg()).toBe(0);
  }
  expect(st.invlpg).toBe(invlpg0);
  expect(g.test).toBe(s.access === 'write' ? s.value : s.before);

  // Second access to the same page: for an access that completed, the translation is now in the TLB and the
  // repeat must give the same result without a walk.
  if (s.fault === null) {
    const w = st.walks;
    expect(g.attempt(va, s.access, s.value, opts)).toBeUndefined();
    expect(st.walks).toBe(w);
  }

  // TLB-hit path for the same step: cache the translation with an access the key register allows (a CPL-0
  // write, so D is set and a later write needs no walk), then load the step's register value with no INVLPG
  // and make the access: it must be decided from the TLB entry, exactly as the walk decided it.
  g.initTest();
  g.setWp(s.wp);
  g.cpu.write(va, 4, g.test, { cpl: 0 });
  g.setKeyReg(s.reg);
  const walks1 = st.walks;
  const hits1 = st.tlbHits + st.stlbHits;
  const got = g.attempt(va, s.access, s.value + 100, opts);
  expect(st.walks).toBe(walks1); // served from the TLB
  if (s.fault === null) {
    expect(got).toBeUndefined();
    expect(st.tlbHits + st.stlbHits).toBe(hits1 + 1);
    // and once more (the L1 hit, if the previous one came from the STLB)
    expect(g.attempt(va, s.access, s.value + 100, opts)).toBeUndefined();
    expect(st.walks).toBe(walks1);
  } else {
    expect(got).toEqual({ errorCode: s.fault, address: va, cr2: va });
  }
}

// ---- pks.c ---------------------------------------------------------------------------------------------------
// Key 2, CR4.PKS = 1, CR4.PKE = 0, every access at CPL 0. PKRS governs supervisor-mode addresses only
// (SDM 4.6.2); AD denies every data access; WD denies a supervisor-mode write only if CR0.WP = 1.
const PKS_STEPS: Scenario[] = [
  // SDM 4.6.2 (AD) -> #PF; 4.7: P (protection), W (write), U = 0 (CPL 0), PK (PKRS.AD2).
  { name: 'write to supervisor page when pkrs is ad and wp == 1', wp: true, reg: KEY_AD, target: 'super', access: 'write', value: 21, before: 0, fault: P | W | PK },
  // SDM 4.6.2: AD denies whatever CR0.WP says.
  { name: 'write to supervisor page when pkrs is ad and wp == 0', wp: false, reg: KEY_AD, target: 'super', access: 'write', value: 22, before: 21, fault: P | W | PK },
  // SDM 4.6.2: WD denies a supervisor-mode write when CR0.WP = 1.
  { name: 'write to supervisor page when pkrs is wd and wp == 1', wp: true, reg: KEY_WD, target: 'super', access: 'write', value: 23, before: 22, fault: P | W | PK },
  // SDM 4.6.1/4.6.2: with CR0.WP = 0 a supervisor-mode write ignores WD.
  { name: 'write to supervisor page when pkrs is wd and wp == 0', wp: false, reg: KEY_WD, target: 'super', access: 'write', value: 24, before: 23, fault: null },
  // SDM 4.6.2: PKRS does not apply to user-mode addresses (and CR4.PKE = 0 here).
  { name: 'write to user page when pkrs is wd and wp == 0', wp: false, reg: KEY_WD, target: 'user', access: 'write', value: 25, before: 24, fault: null },
  { name: 'write to user page when pkrs is wd and wp == 1', wp: true, reg: KEY_WD, target: 'user', access: 'write', value: 26, before: 25, fault: null },
  // The original's expression takes the address of `test` without dereferencing it; we do make the read.
  { name: 'read from user page when pkrs is ad', wp: false, reg: KEY_AD, target: 'user', access: 'read', value: 0, before: 26, fault: null },
];

// Variants the original does not have: a supervisor read under AD, and CPL-3 accesses to the supervisor alias.
const PKS_EXTRA: Scenario[] = [
  // SDM 4.6.2: AD denies reads too; 4.7: W = 0 for a read.
  { name: 'read from supervisor page when pkrs is ad (extra)', wp: false, reg: KEY_AD, target: 'super', access: 'read', value: 0, before: 26, fault: P | PK },
  // SDM 4.6.2: WD never denies a read.
  { name: 'read from supervisor page when pkrs is wd and wp == 1 (extra)', wp: true, reg: KEY_WD, target: 'super', access: 'read', value: 0, before: 26, fault: null },
];

// CPL-3 accesses to the supervisor alias: denied by U/S in any case (SDM 4.6.1); the U bit is set (4.7). The
// handler's PKRS clear cannot make these complete, so they are checked with `attempt` only.
const PKS_CPL3: Array<{ name: string; wp: boolean; reg: number; access: 'read' | 'write'; fault: number }> = [
  // 4.7: PK only when the key register denies: PKRS = 0 -> no PK.
  { name: 'CPL 3 read from supervisor page when pkrs is 0', wp: true, reg: 0, access: 'read', fault: P | U },
  // 4.7, PK flag: a data access to a supervisor-mode address whose key PKRS disallows (AD) sets PK, with
  // nothing in its conditions that excludes a fault that also has an ordinary (U/S) cause.
  { name: 'CPL 3 read from supervisor page when pkrs is ad', wp: true, reg: KEY_AD, access: 'read', fault: P | U | PK },
  { name: 'CPL 3 write to supervisor page when pkrs is ad and wp == 0', wp: false, reg: KEY_AD, access: 'write', fault: P | W | U | PK },
  // 4.7, PK flag (b)(iii): WD counts for a user-mode access whatever CR0.WP is.
  { name: 'CPL 3 write to supervisor page when pkrs is wd and wp == 0', wp: false, reg: KEY_WD, access: 'write', fault: P | W | U | PK },
  { name: 'CPL 3 read from supervisor page when pkrs is wd', wp: true, reg: KEY_WD, access: 'read', fault: P | U },
];

// ---- pku.c ---------------------------------------------------------------------------------------------------
// Key 2, CR4.PKE = 1, CR4.PKS = 0, every access at CPL 0: PKRU governs user-mode addresses only (SDM 4.6.2).
const PKU_STEPS: Scenario[] = [
  // SDM 4.6.2: PKRU does not apply to supervisor-mode addresses, whatever AD/WD and CR0.WP.
  { name: 'write to supervisor page when pkru is ad and wp == 1', wp: true, reg: KEY_AD, target: 'super', access: 'write', value: 21, before: 0, fault: null },
  { name: 'write to supervisor page when pkru is ad and wp == 0', wp: false, reg: KEY_AD, target: 'super', access: 'write', value: 22, before: 21, fault: null },
  { name: 'write to supervisor page when pkru is wd and wp == 1', wp: true, reg: KEY_WD, target: 'super', access: 'write', value: 23, before: 22, fault: null },
  { name: 'write to supervisor page when pkru is wd and wp == 0', wp: false, reg: KEY_WD, target: 'super', access: 'write', value: 24, before: 23, fault: null },
  // SDM 4.6.1/4.6.2: a supervisor-mode write to a user-mode address ignores WD when CR0.WP = 0.
  { name: 'write to user page when pkru is wd and wp == 0', wp: false, reg: KEY_WD, target: 'user', access: 'write', value: 25, before: 24, fault: null },
  // SDM 4.6.2: ... and is denied by WD when CR0.WP = 1; 4.7: P, W, U = 0 (CPL 0), PK.
  { name: 'write to user page when pkru is wd and wp == 1', wp: true, reg: KEY_WD, target: 'user', access: 'write', value: 26, before: 25, fault: P | W | PK },
  // SDM 4.6.2: AD denies a supervisor-mode read of a user-mode address; 4.7: P, PK.
  { name: 'read from user page when pkru is ad', wp: false, reg: KEY_AD, target: 'user', access: 'read', value: 0, before: 26, fault: P | PK },
];

// CPL-3 variants (pku.c makes every access at CPL 0) and the implicit access pku.c leaves as a TODO.
const PKU_EXTRA: Scenario[] = [
  // SDM 4.6.2: for a user-mode access WD denies writes whatever CR0.WP; 4.7: U = 1.
  { name: 'CPL 3 write to user page when pkru is wd and wp == 0', wp: false, reg: KEY_WD, target: 'user', access: 'write', value: 31, before: 26, cpl: 3, fault: P | W | U | PK },
  { name: 'CPL 3 write to user page when pkru is wd and wp == 1', wp: true, reg: KEY_WD, target: 'user', access: 'write', value: 32, before: 26, cpl: 3, fault: P | W | U | PK },
  { name: 'CPL 3 read from user page when pkru is ad', wp: false, reg: KEY_AD, target: 'user', access: 'read', value: 0, before: 26, cpl: 3, fault: P | U | PK },
  { name: 'CPL 3 read from user page when pkru is wd', wp: true, reg: KEY_WD, target: 'user', access: 'read', value: 0, before: 26, cpl: 3, fault: null },
  { name: 'CPL 3 write to user page when pkru is 0 and wp == 1', wp: true, reg: 0, target: 'user', access: 'write', value: 33, before: 26, cpl: 3, fault: null },
  // The TODO "implicit kernel access from ring 3": an implicit access is a supervisor-mode access at any CPL
  // (SDM 4.6), so U = 0 in the error code (4.7) and WD follows CR0.WP.
  { name: 'implicit supervisor read from CPL 3 of user page when pkru is ad', wp: false, reg: KEY_AD, target: 'user', access: 'read', value: 0, before: 26, cpl: 3, implicit: true, fault: P | PK },
  { name: 'implicit supervisor write from CPL 3 to user page when pkru is wd and wp == 0', wp: false, reg: KEY_WD, target: 'user', access: 'write', value: 34, before: 26, cpl: 3, implicit: true, fault: null },
  { name: 'implicit supervisor write from CPL 3 to user page when pkru is wd and wp == 1', wp: true, reg: KEY_WD, target: 'user', access: 'write', value: 35, before: 26, cpl: 3, implicit: true, fault: P | W | PK },
];

describe('kvm-unit-tests x86/pks.c', () => {
  it('layout: the originals\' constants are AD/WD of key 2, the alias is a supervisor-mode address', () => {
    expect(KEY_AD).toBe(pkeyAdBit(PKEY));
    expect(KEY_WD).toBe(pkeyWdBit(PKEY));
    const g = new Guest('pks');
    expect(g.cpu.translate(g.lowVa, { access: 'read', probe: true })).toEqual({ ok: true, pa: TEST_PA, pageSize: 4096, pkey: PKEY });
    expect(g.cpu.translate(g.aliasVa, { access: 'read', probe: true })).toEqual({ ok: true, pa: TEST_PA, pageSize: 4096, pkey: PKEY });
    // U/S is 1 in every non-leaf entry and 0 only in the alias's leaf.
    for (const level of [4, 3, 2] as const) expect(g.b.getEntry(g.aliasVa, level) & 4n).toBe(4n);
    expect(g.b.getEntry(g.aliasVa, 1) & 4n).toBe(0n);
    expect(g.b.getEntry(g.lowVa, 1) & 4n).toBe(4n);
    // A CPL-3 read shows which is which (SDM 4.6.1).
    expect(g.attempt(g.lowVa, 'read', 0, { cpl: 3 })).toBeUndefined();
    expect(g.attempt(g.aliasVa, 'read', 0, { cpl: 3 })).toEqual({ errorCode: P | U, address: g.aliasVa, cr2: g.aliasVa });
  });

  for (const s of [...PKS_STEPS, ...PKS_EXTRA]) {
    it(`pks.c: ${s.name}`, () => runScenario('pks', s));
  }

  for (const s of PKS_CPL3) {
    it(`pks.c (CPL 3 variant): ${s.name}`, () => {
      const g = new Guest('pks');
      g.test = 7;
      const va = g.va('super');
      // walk path
      g.initTest();
      g.setWp(s.wp);
      g.setKeyReg(s.reg);
      const walks0 = g.cpu.stats.walks;
      expect(g.attempt(va, s.access, 99, { cpl: 3 })).toEqual({ errorCode: s.fault, address: va, cr2: va });
      expect(g.cpu.stats.walks).toBeGreaterThan(walks0);
      // TLB-hit path: cache the translation with an allowed CPL-0 write, load the register, no INVLPG
      g.initTest();
      g.setWp(s.wp);
      g.cpu.write(va, 4, 7, { cpl: 0 });
      g.setKeyReg(s.reg);
      const walks1 = g.cpu.stats.walks;
      expect(g.attempt(va, s.access, 99, { cpl: 3 })).toEqual({ errorCode: s.fault, address: va, cr2: va });
      expect(g.cpu.stats.walks).toBe(walks1);
      expect(g.test).toBe(7); // nothing was written
    });
  }

  it('pks.c: main() sequence in order, with the handler\'s saved values chained (0, 21, 22)', () => {
    const g = new Guest('pks');
    const seen: Array<{ pf: number; test: number; save: number }> = [];
    for (const s of PKS_STEPS) {
      g.initTest();
      g.setWp(s.wp);
      g.setKeyReg(s.reg);
      if (s.access === 'write') g.store(g.va(s.target), s.value);
      else g.load(g.va(s.target));
      seen.push({ pf: g.pfCount, test: g.test, save: g.save });
    }
    // The originals' report() conditions: pf_count, test and (where they check it) save.
    expect(seen.map((x) => x.pf)).toEqual([1, 1, 1, 0, 0, 0, 0]);
    expect(seen.map((x) => x.test)).toEqual([21, 22, 23, 24, 25, 26, 26]);
    expect(seen.slice(0, 3).map((x) => x.save)).toEqual([0, 21, 22]);
    expect(g.cpu.stats.invlpg).toBe(2 * PKS_STEPS.length); // only init_test()'s
  });

  it('pks.c: a PKRS change takes effect on the next access with no INVLPG (TLB hit path)', () => {
    const g = new Guest('pks');
    const sva = g.va('super');
    const st = g.cpu.stats;
    g.initTest();
    g.setWp(true);
    const invlpg0 = st.invlpg;
    g.cpu.write(sva, 4, 1, { cpl: 0 }); // walk, TLB filled with D = 1
    const w = st.walks;
    g.setKeyReg(KEY_WD);
    expect(g.attempt(sva, 'read', 0, {})).toBeUndefined(); // SDM 4.6.2: WD does not deny reads
    expect(g.attempt(sva, 'write', 2, {})).toEqual({ errorCode: P | W | PK, address: sva, cr2: sva });
    expect(st.walks).toBe(w); // both decided from the TLB entry
    g.setKeyReg(0);
    expect(g.attempt(sva, 'write', 3, {})).toBeUndefined(); // refills (the #PF dropped the entry, SDM 4.10.4.1)
    g.setKeyReg(KEY_AD);
    const w2 = st.walks;
    expect(g.attempt(sva, 'read', 0, {})).toEqual({ errorCode: P | PK, address: sva, cr2: sva });
    expect(st.walks).toBe(w2);
    g.setKeyReg(KEY_WD); // WD with CR0.WP = 0: supervisor writes allowed again
    g.setWp(false);
    expect(g.attempt(sva, 'write', 4, {})).toBeUndefined();
    g.setKeyReg(pkeyAdBit(3) | pkeyWdBit(1)); // other keys' bits do not affect key 2
    g.setWp(true);
    expect(g.attempt(sva, 'write', 5, {})).toBeUndefined();
    expect(g.test).toBe(5);
    expect(st.invlpg).toBe(invlpg0);
  });

  it('pks.c layout: only the leaf entry\'s key counts (non-leaf bits 62:59 are ignored)', () => {
    // Non-leaf entries carry key 5, leaves key 2: PKRS rights for key 5 must not matter (SDM 4.5: bits
    // 62:59 are the key only in an entry that maps a page; 4.6.2: the key is that of the leaf).
    const g = new Guest('pks', { tableKey: 5 });
    const sva = g.va('super');
    g.initTest();
    g.setWp(true);
    g.setKeyReg(pkeyAdBit(5));
    expect(g.attempt(sva, 'write', 1, {})).toBeUndefined();
    g.cpu.invlpg(sva);
    g.setKeyReg(KEY_AD);
    expect(g.attempt(sva, 'write', 2, {})).toEqual({ errorCode: P | W | PK, address: sva, cr2: sva });
    expect(g.test).toBe(1);
  });
});

describe('kvm-unit-tests x86/pku.c', () => {
  it('layout: the low window is supervisor-mode, the alias is user-mode', () => {
    const g = new Guest('pku');
    expect(g.va('super')).toBe(g.lowVa);
    expect(g.va('user')).toBe(g.aliasVa);
    expect(g.attempt(g.aliasVa, 'read', 0, { cpl: 3 })).toBeUndefined();
    expect(g.attempt(g.lowVa, 'read', 0, { cpl: 3 })).toEqual({ errorCode: P | U, address: g.lowVa, cr2: g.lowVa });
  });

  for (const s of PKU_STEPS) {
    it(`pku.c: ${s.name}`, () => runScenario('pku', s));
  }

  for (const s of PKU_EXTRA) {
    it(`pku.c (${s.implicit ? 'TODO, implicit access' : 'CPL 3 variant'}): ${s.name}`, () => runScenario('pku', s));
  }

  it('pku.c (CPL 3 variant): a CPL-3 write to the supervisor page faults without PK (PKRU is not consulted)', () => {
    // SDM 4.6.1: U/S denies; 4.6.2: PKRU applies to user-mode addresses only, and CR4.PKS = 0 here -> no PK.
    const g = new Guest('pku');
    g.initTest();
    g.setWp(true);
    g.setKeyReg(KEY_AD);
    const va = g.va('super');
    expect(g.attempt(va, 'write', 1, { cpl: 3 })).toEqual({ errorCode: P | W | U, address: va, cr2: va });
  });

  it('pku.c: main() sequence in order, with the handler\'s saved values chained (25, 26)', () => {
    const g = new Guest('pku');
    const seen: Array<{ pf: number; test: number; save: number }> = [];
    for (const s of PKU_STEPS) {
      g.initTest();
      // pku.c sets PKRU before CR0.WP in its last three steps; the order does not matter
      g.setKeyReg(s.reg);
      g.setWp(s.wp);
      if (s.access === 'write') g.store(g.va(s.target), s.value);
      else g.load(g.va(s.target));
      seen.push({ pf: g.pfCount, test: g.test, save: g.save });
    }
    expect(seen.map((x) => x.pf)).toEqual([0, 0, 0, 0, 0, 1, 1]);
    expect(seen.map((x) => x.test)).toEqual([21, 22, 23, 24, 25, 26, 26]);
    expect(seen.slice(5).map((x) => x.save)).toEqual([25, 26]);
    expect(g.cpu.stats.invlpg).toBe(2 * PKU_STEPS.length);
  });

  it('pku.c: a PKRU change takes effect on the next access with no INVLPG (TLB hit path)', () => {
    const g = new Guest('pku');
    const uva = g.va('user');
    const st = g.cpu.stats;
    g.initTest();
    g.setWp(false);
    const invlpg0 = st.invlpg;
    g.cpu.write(uva, 4, 1, { cpl: 3 }); // walk, TLB filled with D = 1
    const w = st.walks;
    g.setKeyReg(KEY_WD);
    expect(g.attempt(uva, 'read', 0, { cpl: 3 })).toBeUndefined();
    expect(g.attempt(uva, 'write', 9, { cpl: 0 })).toBeUndefined(); // supervisor write, CR0.WP = 0
    expect(g.attempt(uva, 'write', 2, { cpl: 3 })).toEqual({ errorCode: P | W | U | PK, address: uva, cr2: uva });
    expect(st.walks).toBe(w);
    g.setKeyReg(0);
    expect(g.attempt(uva, 'write', 3, { cpl: 3 })).toBeUndefined();
    g.setKeyReg(KEY_AD);
    const w2 = st.walks;
    expect(g.attempt(uva, 'read', 0, { cpl: 0 })).toEqual({ errorCode: P | PK, address: uva, cr2: uva });
    expect(st.walks).toBe(w2);
    g.setKeyReg(0);
    expect(g.attempt(uva, 'read', 0, { cpl: 3 })).toBeUndefined();
    expect(g.test).toBe(3);
    expect(st.invlpg).toBe(invlpg0);
    expect(st.pkrsWrites).toBe(0);
  });
});
