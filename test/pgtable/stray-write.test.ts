import { describe, expect, it } from 'vitest';
import { PageFault } from '../../src/index.js';
import { directMapVa } from '../../src/cpa/writer.js';
import { boot, expectTranslations, POLICY_LIST } from './helpers.js';

const VA = 0x400000n;
const EVIL = 0x8000000000000067n; // a PTE an attacker would plant: P|RW|U|A|D, frame 0, NX

function victim(policy: (typeof POLICY_LIST)[number], soft = false) {
  const { m, k } = boot(policy, { soft });
  const mm = k.createAddressSpace();
  mm.switchTo(m.cpus[0]);
  mm.map(VA, 1, { write: true });
  const [pgd, pud, pmd, pte] = mm.pageTables().map(Number);
  const kinds: Record<string, number> = {
    PGD: pgd,
    'P4D/PUD': pud,
    PMD: pmd,
    PTE: pte,
    'direct-map PUD': Number(k.directMapTables()[0]),
    'direct-map PMD': Number(k.directMapTables().at(-1)),
    'kernel PGD': Number(k.kernelTables()[0]),
  };
  return { m, k, mm, kinds };
}

describe.each(POLICY_LIST)('stray write under %s', (policy) => {
  const code = policy === 'pks' || policy === 'pks-lock' ? 0x23 : 0x3; // P|W|PK or P|W
  for (const kind of ['PGD', 'P4D/PUD', 'PMD', 'PTE', 'direct-map PUD', 'direct-map PMD', 'kernel PGD']) {
    it(`against a ${kind} table`, () => {
      const { m, k, mm, kinds } = victim(policy);
      const pa = kinds[kind] + 8 * 7;
      const old = m.memory.read64(pa);
      const r = k.strayWrite(pa, EVIL);
      if (policy === 'none') {
        expect(r).toEqual({ landed: true });
        expect(m.memory.read64(pa)).toBe(EVIL);
        return;
      }
      expect(r.landed).toBe(false);
      if (r.landed) return;
      expect(r.fault).toBeInstanceOf(PageFault);
      expect(r.fault.errorCode).toBe(code);
      expect(r.fault.address).toBe(directMapVa(pa));
      expect(m.memory.read64(pa)).toBe(old); // nothing changed
      expect(k.oopses.at(-1)).toMatchObject({ pa, errorCode: code, pageTable: true, address: directMapVa(pa) });
      expectTranslations(m.cpus[0], mm, [VA]);
      expect(k.check()).toEqual([]);
    });
  }

  it('a stray write to an ordinary page lands', () => {
    const { m, k, mm } = victim(policy);
    const data = Number(mm.translate(VA)?.pa);
    expect(k.strayWrite(data, 7n)).toEqual({ landed: true });
    expect(m.memory.read64(data)).toBe(7n);
  });

  if (policy !== 'none') {
    it('soft mode reports the write with its address and lets it land', () => {
      const { m, k, kinds } = victim(policy, true);
      const pa = kinds.PTE + 8;
      const r = k.strayWrite(pa, 0x5n);
      expect(r.landed).toBe(true);
      expect(r.landed && r.reported?.errorCode).toBe(code);
      expect(m.memory.read64(pa)).toBe(5n);
      expect(k.softReports).toHaveLength(1);
      expect(k.softReports[0]).toMatchObject({ pa, address: directMapVa(pa) });
      expect(k.stats().softReports).toBe(1);
      expect(k.check()).toEqual([]); // the window closed again
    });

    it('from every CPU', () => {
      const { m, k, kinds } = victim(policy);
      for (const cpu of m.cpus) expect(k.strayWrite(kinds.PMD, 1n, { cpu }).landed).toBe(false);
    });
  }
});

describe('context switch', () => {
  it('each thread keeps its own PKRS: a window open in one process does not follow the CPU to another', () => {
    const { m, k } = boot('pks');
    const cpu = m.cpus[0];
    const a = k.createAddressSpace();
    const b = k.createAddressSpace();
    a.map(VA, 1, { write: true });
    const pte = Number(a.pageTables()[3]) + 16;
    a.switchTo(cpu);
    k.pks.pks_set_readwrite(cpu, k.ptKey); // a's thread opens a window
    b.switchTo(cpu); // context switch: b's thread runs with its own PKRS
    expect(k.strayWrite(pte, 1n, { cpu }).landed).toBe(false);
    a.switchTo(cpu);
    expect(k.strayWrite(pte, 2n, { cpu }).landed).toBe(true);
    k.pks.pks_set_readonly(cpu, k.ptKey);
    expect(a.threadOn(cpu)).not.toBe(a.threadOn(m.cpus[1]));
    expect(k.check()).toEqual([]);
  });
});

describe('the checker', () => {
  it.each(['pks', 'paging-ro'] as const)('%s: reports a planted writable alias of a page table, a table left writable, and an open PKRS', (policy) => {
    const { m, k } = boot(policy, { soft: true });
    const mm = k.createAddressSpace();
    mm.map(VA, 2, { write: true });
    const [, , pmd, pt] = mm.pageTables().map(Number);
    expect(k.check()).toEqual([]);
    // An attacker (soft mode lets it through) points the second PTE at the PMD page, writable and user.
    const evil = (BigInt(pmd) | 0x67n) as bigint;
    k.strayWrite(pt + 8 * ((Number(VA) / 4096 + 1) % 512), evil);
    expect(k.check().map((v) => v.kind)).toContain('alias');
    if (policy === 'pks') {
      m.cpus[1].writePkrs(0); // PKRS opened behind the kernel's back
      expect(k.check()).toContainEqual(expect.objectContaining({ kind: 'pkrs-open', cpu: 1 }));
      k.dm.set_memory_pks(m.cpus[0], pt, 1, 0); // a table given key 0 again
      expect(k.check()).toContainEqual(expect.objectContaining({ kind: 'no-key', pa: BigInt(pt) }));
    } else {
      k.dm.set_memory_rw(m.cpus[0], pt, 1); // a table made writable and left so
      expect(k.check()).toContainEqual(expect.objectContaining({ kind: 'writable', pa: BigInt(pt) }));
      m.cpus[1].writeCr(0, m.cpus[1].cr0 & ~(1n << 16n)); // CR0.WP cleared and left so
      expect(k.check()).toContainEqual(expect.objectContaining({ kind: 'wp-off', cpu: 1 }));
    }
  });
});

describe('faults inside a write window', () => {
  // (poke writes through its alias, which maps any frame: no entry write of it can fault.)
  it.each(['pks', 'pks-lock', 'paging-ro'] as const)('%s: a fault in the window leaves no table writable', (policy) => {
    const { m, k } = boot(policy);
    const cpu = m.cpus[0];
    // An entry write to a physical address the direct map does not cover: #PF inside the window.
    expect(() => k.writer.write(cpu, 2 ** 31, 0, 0)).toThrow(PageFault);
    expect(k.oopses).toHaveLength(1);
    expect(k.writer.windowOpen(cpu)).toBe(false);
    expect(k.check({ tlb: true })).toEqual([]);
    const mm = k.createAddressSpace();
    mm.map(VA, 1, { write: true }); // the kernel goes on working
    expect(k.check()).toEqual([]);
  });

  it.each(['pks', 'pks-lock'] as const)('%s: an interrupt inside a lock hold runs with the tables read-only and returns to the window', (policy) => {
    const { m, k } = boot(policy);
    const cpu = m.cpus[0];
    const mm = k.createAddressSpace();
    mm.map(VA, 1, { write: true });
    const pte = Number(mm.pageTables()[3]);
    k.writer.begin(cpu);
    k.writer.write(cpu, pte + 24, 0, 0); // the hold's first entry write opens its window (pks-lock)
    const inHandler = k.interrupt(cpu, () => k.strayWrite(pte + 16, 1n, { cpu }));
    expect(inHandler.landed).toBe(false);
    if (policy === 'pks-lock') expect(k.strayWrite(pte + 16, 2n, { cpu }).landed).toBe(true); // the hold is open
    k.writer.end(cpu);
    expect(k.strayWrite(pte + 16, 3n, { cpu }).landed).toBe(false);
    expect(k.check()).toEqual([]);
  });
});

describe('soft mode with garbage planted everywhere', () => {
  it.each(['pks', 'paging-ro', 'poke'] as const)('%s: the kernel and the checker survive random stray writes into every table', (policy) => {
    const { m, k } = boot(policy, { soft: true });
    const mm = k.createAddressSpace();
    mm.switchTo(m.cpus[0]);
    mm.map(VA, 4, { write: true });
    let x = 0x12345678;
    const rnd = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0);
    for (const t of [...mm.pageTables(), ...k.directMapTables().slice(0, 1)]) {
      for (let i = 0; i < 4; i++) k.strayWrite(Number(t) + 8 * (rnd() % 512), (BigInt(rnd()) << 32n) | BigInt(rnd()));
    }
    expect(k.softReports.length).toBe(4 * (mm.pageTables().length + 1));
    expect(() => k.check()).not.toThrow();
    expect(() => m.cpus[0].translate(VA, { access: 'read', cpl: 3 })).not.toThrow();
  });
});
