import { describe, expect, it } from 'vitest';
import '../src/vitest.js';
import { Machine, enterLongMode, PageTableBuilder, MSR, pkr, PageFault } from '../src/index.js';

const CR4_PKS = 1n << 24n;
const CR4_PKE = 1n << 22n;
const KVA = 0xffff888000002000n;

function setup() {
  const m = new Machine({ cpus: 2, memory: 2 ** 32 });
  const cpu = m.cpus[0];
  const b = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x200000 });
  enterLongMode(cpu, { cr3: b.root, cr4: CR4_PKS | CR4_PKE });
  b.map(KVA, 0x7000n, 4096, { write: true, pkey: 1 });
  b.map(0x400000n, 0x800000n, 4096, { write: true, user: true });
  return { m, cpu, b };
}

/** The message of a failing assertion (the assertion must fail). */
function failure(f: () => void): string {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the assertion passed');
}

describe('toPageFault', () => {
  it('passes on a translate result that faults with the given bits, fails with the walk otherwise', () => {
    const { cpu } = setup();
    cpu.wrmsr(MSR.IA32_PKRS, BigInt(pkr({ 1: 'wd' })));
    const r = cpu.translate(KVA, { access: 'write', cpl: 0 });
    expect(r).toPageFault();
    expect(r).toPageFault({ pk: true, write: true, user: false, present: true, address: KVA });
    expect(cpu.translate(KVA, { access: 'read', cpl: 0 })).not.toPageFault();
    const msg = failure(() => expect(r).toPageFault({ pk: false }));
    expect(msg).toContain('expected #PF { pk: false }');
    expect(msg).toContain('(pk is true)');
    expect(msg).toContain('walk of 0xffff888000002000 (write, CPL 0) on CPU 0');
    expect(msg).toMatch(/PML4E +@0x[0-9a-f]+ = /);
    expect(msg).toMatch(/PTE +@0x[0-9a-f]+ = 0x[0-9a-f]+ +\[P W A\] -> 0x7000 key 1/);
    expect(msg).toContain('supervisor-mode address: PKRS 0x8 gives key 1 WD; CR0.WP=1');
    expect(msg).toContain('in memory now: #PF error code 0x23 [P W PK]');
  });

  it('fails on a successful translation and names the address it gave', () => {
    const { cpu } = setup();
    const r = cpu.translate(KVA, { access: 'write', cpl: 0 });
    const msg = failure(() => expect(r).toPageFault({ pk: true }));
    expect(msg).toContain('expected #PF { pk: true }, but the translation succeeded: translates to 0x7000 (4 KiB page, key 1)');
    expect(msg).toContain('walk of 0xffff888000002000');
    expect(failure(() => expect(cpu.translate(KVA, { access: 'read' })).not.toTranslateTo(0x7000n))).toContain('expected not to translate to 0x7000');
  });

  it('on a throwing call: checks the thrown #PF, shows the walk of the access made', () => {
    const { cpu } = setup();
    expect(() => cpu.write(0x400000n, 8, 1n, { cpl: 3 })).not.toPageFault();
    expect(() => cpu.read(0x500000n, 8, { cpl: 3 })).toPageFault({ present: false, user: true, write: false, address: 0x500000n });
    const msg = failure(() => expect(() => cpu.read(0x500000n, 8, { cpl: 3 })).toPageFault({ address: 0x500008n }));
    expect(msg).toContain('(address is 0x500000)');
    expect(msg).toContain('walk of 0x500000 (read, CPL 3) on CPU 0');
    expect(msg).toContain('in memory now: #PF error code 0x4 [not-present U]');
    const ret = failure(() => expect(() => cpu.read(0x400000n, 8, { cpl: 3 })).toPageFault());
    expect(ret).toContain('expected a #PF, but the call returned 0x1 without a fault');
    // a #GP is not a #PF
    expect(failure(() => expect(() => cpu.read(0x0000800000000000n, 8)).toPageFault())).toContain('the call threw GeneralProtection');
  });

  it('accepts a fault value; without an origin the message says there is no walk', () => {
    expect(new PageFault(0x23, 0x1000n)).toPageFault({ pk: true, address: 0x1000 });
    expect(failure(() => expect(new PageFault(0x3, 0x1000n)).toPageFault({ pk: true }))).toContain('no walk to show');
  });

  it('rejects what is not a translate result, a fault or a function', () => {
    expect(() => expect(42).toPageFault()).toThrow(TypeError);
    expect(() => expect({ ok: true, pa: 0n }).toTranslateTo('x' as unknown as bigint)).toThrow(/pa must be/);
  });
});

describe('toTranslateTo', () => {
  it('passes on the physical address, fails with the walk on another address or a fault', () => {
    const { cpu } = setup();
    expect(cpu.translate(0x400123n, { access: 'read', cpl: 3 })).toTranslateTo(0x800123n);
    expect(cpu.translate(0x400123n, { access: 'read', cpl: 3 })).toTranslateTo(0x800123);
    const msg = failure(() => expect(cpu.translate(0x400123n, { access: 'read', cpl: 3 })).toTranslateTo(0x900123n));
    expect(msg).toContain('expected to translate to 0x900123, but it translates to 0x800123');
    expect(msg).toContain('user-mode address: PKRU 0x0 gives key 0 RW');
    const f = failure(() => expect(cpu.translate(0x600000n, { access: 'write', cpl: 3 })).toTranslateTo(0x800000n));
    expect(f).toContain('but it raised #PF error code 0x6 [not-present W U] at 0x600000');
    expect(f).toMatch(/PDE +@0x[0-9a-f]+ = /);
  });
});
