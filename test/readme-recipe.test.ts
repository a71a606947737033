import { beforeEach, describe, expect, it } from 'vitest';
import { Machine, PageTableBuilder, enterLongMode, PageFault, MSR, pkr, regs, PFEC_P, PFEC_W, PFEC_PK, type Cpu } from '../src/index.js';

const PAGE = 0xffff888000200000n;

/** One CPU in IA-32e paging with CR4.PKS; PAGE is a writable supervisor page with key 1, write-disabled by PKRS. */
function pksCpu(): Cpu {
  const m = new Machine({ cpus: 1, memory: 2 ** 30 });
  const pt = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x200000 });
  pt.map(PAGE, 0x200000n, 4096, { write: true, xd: true, pkey: 1 });
  const cpu = m.cpu(0);
  enterLongMode(cpu, { cr3: pt.root, cr4: regs.CR4_PKS });
  cpu.wrmsr(MSR.IA32_PKRS, pkr({ 1: 'wd' }));
  return cpu;
}

/** The fault `f` throws (fails the test if it throws none). */
function faultOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a fault');
}

describe('a PKS-protected page', () => {
  let cpu: Cpu;
  beforeEach(() => {
    cpu = pksCpu();
  });

  it('faults on a supervisor write: #PF with P|W|PK, CR2 = the address', () => {
    const f = faultOf(() => cpu.write(PAGE + 8n, 8, 1n));
    expect(f).toBeInstanceOf(PageFault);
    expect(f).toMatchObject({ vector: 14, errorCode: PFEC_P | PFEC_W | PFEC_PK, address: PAGE + 8n });
    expect(cpu.cr2).toBe(PAGE + 8n);
  });

  it('reads are allowed, and translate reports the write fault without throwing', () => {
    expect(cpu.read(PAGE, 8)).toBe(0n);
    const r = cpu.translate(PAGE, { access: 'write' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.fault).toMatchObject({ errorCode: PFEC_P | PFEC_W | PFEC_PK });
  });

  it('writes once PKRS grants them, with no TLB flush', () => {
    cpu.wrmsr(MSR.IA32_PKRS, 0);
    cpu.write(PAGE, 8, 0x67n);
    expect(cpu.read(PAGE, 8)).toBe(0x67n);
  });
});
