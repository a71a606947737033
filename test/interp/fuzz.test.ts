/**
 * No guest input may crash or hang the host: random code (from random bytes and from random sequences of
 * supported instructions' opcodes) at CPL 0 and 3, with and without an IDT, always ends in one of the
 * run's reasons within the instruction bound, and never throws.
 */

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { rig, CODE } from './rig.js';
import { sysRig, setGate, gate } from './sysrig.js';

const REASONS = ['hlt', 'limit', 'exception', 'triple-fault', 'stopped'];

describe('random code', () => {
  it('random bytes at CPL 0 and 3 without an IDT', () => {
    const r = rig();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 96 }), fc.constantFrom(0, 3) as fc.Arbitrary<0 | 3>, (bytes, cpl) => {
        r.m.load(CODE, bytes);
        r.cpu.rip = CODE;
        r.cpu.cpl = cpl;
        r.cpu.setReg('rsp', 0x800000n);
        const res = r.cpu.run({ maxInstructions: 500 });
        expect(REASONS).toContain(res.reason);
        expect(res.instructions).toBeLessThanOrEqual(500);
      }),
      { seed: 301, numRuns: 3000 },
    );
  });

  it('with an IDT whose #PF handler is not mapped (a fault loop), the run still ends', () => {
    const r = sysRig();
    setGate(r, 14, gate(0x6000000n)); // handler beyond the mapped memory
    setGate(r, 8, gate(0x6000000n)); // and #DF too: deliveries repeat until the bound
    r.m.load(CODE, Uint8Array.of(0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 5)); // mov rax, [0x5000000]
    r.cpu.rip = CODE;
    const res = r.cpu.run({ maxInstructions: 1000 });
    expect(REASONS).toContain(res.reason);
  });

  it('random bytes with an IDT (handlers at CPL 0 halt)', () => {
    const r = sysRig();
    const snap = r.cpu.snapshot();
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), (bytes) => {
        r.m.load(0x300000n, bytes);
        r.cpu.rip = 0x300000n;
        r.cpu.cpl = 3;
        r.cpu.rflags = 0x2n;
        r.cpu.setReg('rsp', 0x700000n);
        const res = r.cpu.run({ maxInstructions: 300 });
        expect(REASONS).toContain(res.reason);
        r.cpu.writeCr(3, snap.cr3);
      }),
      { seed: 302, numRuns: 1500 },
    );
  });
});
