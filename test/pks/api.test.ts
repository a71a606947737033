import { describe, expect, it } from 'vitest';
import { Machine, enterLongMode, PageTableBuilder, PageFault, pkr, pkrRights } from '../../src/index.js';
import { PksApi, PKS_ENOSPC, PKS_KEY_DEFAULT } from '../../src/pks/api.js';
import { PkrsCache } from '../../src/pks/pkrs-cache.js';

const CR4_PKS = 1n << 24n;
const VA = 0xffff888000002000n;

/** Two CPUs in long mode sharing one table that maps VA supervisor-writable with key `key`. */
function setup(key = 1) {
  const m = new Machine({ cpus: 2, memory: 2 ** 30 });
  const b = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x200000 });
  b.map(VA, 0x300000n, 4096, { write: true, pkey: key });
  for (const c of m.cpus) enterLongMode(c, { cr3: b.root, cr4: CR4_PKS });
  const pks = new PksApi(m.cpus);
  return { m, pks, cpu: m.cpus[0], other: m.cpus[1] };
}

function writeFault(cpu: Machine['cpus'][number]): PageFault | null {
  try {
    cpu.write(VA, 8, 0x55n);
    return null;
  } catch (e) {
    if (e instanceof PageFault) return e;
    throw e;
  }
}

describe('PKS key allocation', () => {
  it('gives keys 1..15 in order, then -ENOSPC; freed keys are reused', () => {
    const { pks } = setup();
    const keys = Array.from({ length: 15 }, (_, i) => pks.keyAlloc(`c${i}`, 'ro'));
    expect(keys).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15]);
    expect(pks.keyAlloc('one too many')).toBe(PKS_ENOSPC);
    pks.keyFree(7);
    expect(pks.keyOwner(7)).toBeNull();
    expect(pks.keyAlloc('again')).toBe(7);
    expect(() => pks.keyFree(PKS_KEY_DEFAULT)).toThrow(RangeError);
    expect(() => pks.keyAlloc('', 'rw')).toThrow(TypeError);
    expect(() => pks.keyAlloc('x', 'bogus' as never)).toThrow(RangeError);
    expect(() => pks.pks_set_readwrite(setup().cpu, 16)).toThrow(RangeError);
  });

  it('PKS_INIT_VALUE: key 0 RW, consumers at their default, free keys AD', () => {
    const { pks } = setup();
    const pt = pks.keyAlloc('pgtables', 'ro');
    const t = pks.keyAlloc('test', 'rw');
    const v = pks.initValue();
    expect(pkrRights(v, 0)).toBe('rw');
    expect(pkrRights(v, pt)).toBe('wd');
    expect(pkrRights(v, t)).toBe('rw');
    for (let k = 3; k < 16; k++) expect(pkrRights(v, k)).toBe('ad');
  });
});

describe('pks_set_* through the emulated CPU', () => {
  it('read-only faults a supervisor write with P|W|PK, read-write lets it land, no TLB flush needed', () => {
    const { pks, cpu } = setup();
    const key = pks.keyAlloc('pgtables', 'ro');
    pks.setup(cpu);
    expect(cpu.pkrs).toBe(pks.initValue());
    const f = writeFault(cpu);
    expect(f?.errorCode).toBe(0x23);
    pks.pks_set_readwrite(cpu, key);
    expect(writeFault(cpu)).toBeNull();
    expect(cpu.read(VA, 8)).toBe(0x55n);
    pks.pks_set_noaccess(cpu, key);
    expect(() => cpu.read(VA, 8)).toThrow(PageFault);
    pks.pks_set_readonly(cpu, key);
    expect(cpu.read(VA, 8)).toBe(0x55n);
    expect(writeFault(cpu)?.errorCode).toBe(0x23);
  });

  it('is per CPU: opening a window on one CPU leaves the other read-only', () => {
    const { pks, cpu, other } = setup();
    const key = pks.keyAlloc('pgtables', 'ro');
    pks.setup(cpu);
    pks.setup(other);
    pks.pks_set_readwrite(cpu, key);
    expect(writeFault(cpu)).toBeNull();
    expect(writeFault(other)?.errorCode).toBe(0x23);
  });

  it('the per-CPU cache skips a WRMSR that would not change PKRS, and counts both', () => {
    const { pks, cpu } = setup();
    const key = pks.keyAlloc('pgtables', 'ro');
    pks.setup(cpu);
    const w0 = cpu.stats.pkrsWrites;
    pks.pks_set_readonly(cpu, key); // already read-only
    expect(cpu.stats.pkrsWrites).toBe(w0);
    pks.pks_set_readwrite(cpu, key);
    pks.pks_set_readwrite(cpu, key);
    expect(cpu.stats.pkrsWrites).toBe(w0 + 1);
    expect(pks.stats.wrmsr).toBe(1 + 1); // setup + one real change
    expect(pks.stats.wrmsrSkipped).toBe(2);
  });

  it('a CPU without PKS makes no PKRS write', () => {
    const m = new Machine({ cpus: 1, memory: 2 ** 30, features: { pks: false } });
    const pks = new PksApi(m.cpus);
    pks.keyAlloc('pgtables', 'ro');
    pks.setup(m.cpus[0]);
    expect(m.cpus[0].stats.pkrsWrites).toBe(0);
  });

  it('rejects a CPU of another machine', () => {
    const { pks } = setup();
    expect(() => pks.setup(setup().cpu)).toThrow(RangeError);
  });
});

describe('exception entry and context switch', () => {
  it('an exception taken inside a write window runs with PKS_INIT_VALUE and returns to the window', () => {
    const { pks, cpu } = setup();
    const key = pks.keyAlloc('pgtables', 'ro');
    pks.setup(cpu);
    pks.pks_set_readwrite(cpu, key);
    const saved = pks.pkrs_save_irq(cpu);
    expect(cpu.pkrs).toBe(pks.initValue());
    expect(writeFault(cpu)?.errorCode).toBe(0x23); // the handler cannot write the tables
    pks.pkrs_restore_irq(cpu, saved);
    expect(writeFault(cpu)).toBeNull();
    expect(pks.stats.irqSaves).toBe(1);
  });

  it('each thread keeps its own PKRS across context switches', () => {
    const { pks, cpu } = setup();
    const key = pks.keyAlloc('pgtables', 'ro');
    pks.setup(cpu);
    const a = pks.createTask('a');
    const b = pks.createTask('b');
    pks.switchTo(cpu, a);
    pks.pks_set_readwrite(cpu, key);
    expect(pkrRights(a.pkrs, key)).toBe('rw');
    const prev = pks.switchTo(cpu, b);
    expect(prev).toBe(a);
    expect(writeFault(cpu)?.errorCode).toBe(0x23);
    pks.switchTo(cpu, a);
    expect(writeFault(cpu)).toBeNull();
    expect(pks.current(cpu)).toBe(a);
  });
});

describe('PkrsCache', () => {
  it('starts unknown, then tracks the last value; sync re-reads the CPU', () => {
    const { cpu } = setup();
    const c = new PkrsCache(2);
    expect(c.cachedValue(cpu)).toBe(-1);
    c.write(cpu, pkr({ 1: 'wd' }));
    expect(c.cachedValue(cpu)).toBe(pkr({ 1: 'wd' }));
    cpu.writePkrs(0);
    c.sync(cpu);
    expect(c.cachedValue(cpu)).toBe(0);
    expect(() => new PkrsCache(0)).toThrow(RangeError);
  });
});
