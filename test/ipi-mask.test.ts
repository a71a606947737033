/**
 * The allocation-free IPI path (Machine.ipiMask, IpiHandler, lastIpi): the same charges as the public sendIpi,
 * which is built on it; ICR writes counted per x2APIC cluster for any CPU count the Machine accepts; nested sends.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Machine, type Cpu } from '../src/index.js';
import type { IpiHandler } from '../src/cpu/machine.js';

const VA = 0xffff888000400000n;
const maskOf = (cpus: number, targets: readonly number[]): Uint8Array => {
  const m = new Uint8Array(cpus);
  for (const t of targets) m[t] = 1;
  return m;
};

/** A handler object: the flush to do is set in its fields before the send. */
class Invlpg implements IpiHandler {
  pages = 1;
  seen: number[] = [];
  run(t: Cpu): void {
    this.seen.push(t.index);
    for (let i = 0; i < this.pages; i++) t.invlpg(VA + BigInt(i) * 4096n);
  }
}

describe('ipiMask', () => {
  it('charges exactly as sendIpi does for the same targets, and leaves the results in lastIpi', () => {
    for (const targets of [[1], [1, 2, 3], [1, 17, 33, 40], [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]]) {
      const a = new Machine({ cpus: 48 });
      const b = new Machine({ cpus: 48 });
      const r = a.sendIpi(0, targets, { handler: (t) => t.invlpg(VA) });
      const h = new Invlpg();
      const rec = b.ipiMask(b.cpus[0], maskOf(48, targets), h);
      expect(rec).toBe(b.lastIpi);
      expect(h.seen).toEqual(targets);
      expect(rec.targets).toBe(targets.length);
      expect(rec.senderCycles).toBe(r.senderCycles);
      expect(rec.systemCycles).toBe(r.systemCycles);
      expect(rec.icrWrites).toBe(r.icrWrites);
      expect(Array.from(rec.targetCycles.subarray(0, rec.targets))).toEqual(r.targetCycles);
      expect(b.cpus.map((c) => ({ ...c.stats }))).toEqual(a.cpus.map((c) => ({ ...c.stats })));
    }
  });

  it('ignores the sender in the mask, handles targets in CPU order, and without a handler charges the interrupt only', () => {
    const m = new Machine({ cpus: 8 });
    const p = m.profile.ipi;
    const rec = m.ipiMask(m.cpus[3], maskOf(8, [7, 3, 1]), null);
    expect(Array.from(rec.order.subarray(0, rec.targets))).toEqual([1, 7]);
    expect(Array.from(rec.targetCycles.subarray(0, 2))).toEqual([p.handle, p.handle]);
    expect(m.cpus[3].stats.ipisReceived).toBe(0);
    expect(m.cpus[3].stats.ipisSent).toBe(2);
  });

  it('the handler object carries the work: its fields set before the call change what the targets do', () => {
    const m = new Machine({ cpus: 4 });
    const h = new Invlpg();
    const all = maskOf(4, [0, 1, 2, 3]);
    h.pages = 1;
    const one = m.ipiMask(m.cpus[0], all, h).targetCycles[0];
    h.pages = 5;
    const five = m.ipiMask(m.cpus[0], all, h).targetCycles[0];
    expect(five - one).toBe(4 * m.profile.invlpg);
  });

  it('an empty mask sends nothing and charges nothing', () => {
    const m = new Machine({ cpus: 4 });
    const rec = m.ipiMask(m.cpus[0], new Uint8Array(4), null);
    expect(rec.targets).toBe(0);
    expect(rec.icrWrites).toBe(0);
    expect(rec.senderCycles).toBe(0);
    expect(m.cpus[0].cycles).toBe(0);
  });

  it('bad use: a mask of the wrong length, a CPU of another machine', () => {
    const m = new Machine({ cpus: 4 });
    expect(() => m.ipiMask(m.cpus[0], new Uint8Array(3), null)).toThrow(/mask must have one byte per CPU \(4\), got length 3/);
    const other = new Machine({ cpus: 4 });
    expect(() => m.ipiMask(other.cpus[0], new Uint8Array(4), null)).toThrow(RangeError);
  });

  it('a handler that sends an IPI itself gets its own record; the outer send still completes into lastIpi', () => {
    const m = new Machine({ cpus: 8 });
    const inner: number[] = [];
    const h: IpiHandler = {
      run: (t) => {
        if (t.index === 1) inner.push(m.ipiMask(t, maskOf(8, [5, 6]), null).targets);
        if (t.index === 2) inner.push(m.sendIpi(t, [4]).targetCycles.length);
      },
    };
    const rec = m.ipiMask(m.cpus[0], maskOf(8, [1, 2, 3]), h);
    expect(inner).toEqual([2, 1]);
    expect(rec).toBe(m.lastIpi);
    expect(Array.from(rec.order.subarray(0, rec.targets))).toEqual([1, 2, 3]);
    // Target 1's handler paid for its own send (one ICR write and its wait for CPUs 5 and 6).
    expect(rec.targetCycles[0]).toBeGreaterThan(rec.targetCycles[2]);
  });

  it('a handler that throws leaves the machine usable (the nesting count is restored)', () => {
    const m = new Machine({ cpus: 4 });
    const bad: IpiHandler = {
      run: () => {
        throw new Error('handler failed');
      },
    };
    expect(() => m.ipiMask(m.cpus[0], maskOf(4, [1]), bad)).toThrow('handler failed');
    expect(m.ipiMask(m.cpus[0], maskOf(4, [2]), null)).toBe(m.lastIpi);
  });
});

describe('ICR writes in x2APIC cluster mode, for any CPU count the Machine accepts', () => {
  it('equal the number of distinct clusters of 16 holding a target (no shorthand), up to 256 CPUs', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 256 }), fc.array(fc.nat(255), { minLength: 1, maxLength: 80 }), (cpus, raw) => {
        const targets = raw.map((t) => t % cpus).filter((t) => t !== 0);
        const m = new Machine({ cpus, profileOverrides: { ipi: { shorthand: false } } });
        const want = new Set(targets.map((t) => Math.floor(t / 16))).size;
        expect(m.sendIpi(0, targets).icrWrites).toBe(want);
        expect(m.ipiMask(m.cpus[0], maskOf(cpus, targets), null).icrWrites).toBe(want);
      }),
      { seed: 9, numRuns: 60 },
    );
  });

  it('the top clusters of a 256-CPU machine count separately (bits 8..15 of a cluster mask)', () => {
    const m = new Machine({ cpus: 256, profileOverrides: { ipi: { shorthand: false } } });
    expect(m.sendIpi(0, [128, 144, 160, 176, 192, 208, 224, 240, 255]).icrWrites).toBe(8);
    expect(m.sendIpi(255, [0, 16, 32, 48, 64, 80, 96, 112]).icrWrites).toBe(8);
    // Every other CPU without the shorthand: all 16 clusters.
    expect(m.sendIpi(0, Array.from({ length: 255 }, (_, i) => i + 1)).icrWrites).toBe(16);
  });

  it('many sends reuse the scratch marks correctly (each send counts its own clusters)', () => {
    const m = new Machine({ cpus: 64, profileOverrides: { ipi: { shorthand: false } } });
    for (let i = 0; i < 1000; i++) {
      const t = [1 + (i % 63), 1 + ((i * 7) % 63)];
      expect(m.sendIpi(0, t).icrWrites).toBe(new Set(t.map((x) => Math.floor(x / 16))).size);
    }
  });
});
