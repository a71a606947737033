/**
 * The register-only handlers of exec/fast.ts against the generic ones they replace: same registers, same
 * lazy-flag record (so the same RFLAGS), for random register values, every ALU operation, INC/DEC, both
 * operand sizes and both operand orders (fast-check, fixed seed).
 */

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { rig } from './rig.js';
import { interpState } from '../../src/cpu/run.js';
import { Insn } from '../../src/cpu/decode/insn.js';
import { aluEG, aluEI, aluGE, incDecE } from '../../src/cpu/exec/arith.js';
import { specialize } from '../../src/cpu/exec/fast.js';
import { getFlags } from '../../src/cpu/exec/flags.js';
import type { St } from '../../src/cpu/exec/state.js';

function snapshot(s: St): number[] {
  return [...s.lo, ...s.hi, getFlags(s)];
}

describe('exec/fast.ts register forms', () => {
  it('give the same registers and flags as the generic handlers', () => {
    const r = rig();
    const s = interpState(r.cpu);
    const i32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
    fc.assert(
      fc.property(
        fc.constantFrom(aluGE, aluEG, aluEI, incDecE),
        fc.integer({ min: 0, max: 7 }),
        fc.constantFrom(4, 8),
        fc.integer({ min: 0, max: 15 }),
        fc.integer({ min: 0, max: 15 }),
        fc.array(i32, { minLength: 32, maxLength: 32 }),
        i32,
        fc.integer({ min: 0, max: 1 }),
        (fn, cc, osz, reg, rm, vals, imm, cf) => {
          const d = new Insn();
          d.fn = fn;
          d.cc = fn === incDecE ? cc & 1 : cc;
          d.osz = osz;
          d.reg = reg;
          d.rm = rm;
          d.immLo = imm;
          d.immHi = imm < 0 ? -1 : 0;
          const fast = specialize(d);
          expect(fast).not.toBe(fn);
          const run = (h: (s: St, d: Insn) => void): number[] => {
            for (let i = 0; i < 16; i++) {
              s.lo[i] = vals[i];
              s.hi[i] = vals[16 + i];
            }
            s.fOp = 0; // F_RAW: CF as given (INC/DEC keep it)
            s.fRaw = cf;
            h(s, d);
            return snapshot(s);
          };
          expect(run(fast)).toEqual(run(fn));
        },
      ),
      { seed: 1010, numRuns: 4000 },
    );
  });

  it('are not chosen for memory operands, LOCK, or 8/16-bit operands', () => {
    const d = new Insn();
    d.fn = aluGE;
    d.osz = 8;
    d.rm = -1;
    expect(specialize(d)).toBe(aluGE);
    d.rm = 3;
    d.osz = 2;
    expect(specialize(d)).toBe(aluGE);
    d.osz = 4;
    d.lock = true;
    expect(specialize(d)).toBe(aluGE);
  });
});
