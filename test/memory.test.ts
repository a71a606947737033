import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../src/index.js';

describe('PhysicalMemory', () => {
  it('is sparse: a 1 TiB machine allocates only touched frames, untouched memory reads zero', () => {
    const m = new PhysicalMemory({ size: 2 ** 40 });
    expect(m.read64(0xff12345678n)).toBe(0n);
    expect(m.stats.framesAllocated).toBe(0);
    m.write64(0xfffffff000n, 0xdeadbeefcafebaben);
    expect(m.read64(0xfffffff000n)).toBe(0xdeadbeefcafebaben);
    expect(m.stats.framesAllocated).toBe(1);
    expect(m.hostBytes).toBe(4096);
  });

  it('reads and writes 1, 2, 4, 8 bytes and byte ranges across frame boundaries, little-endian', () => {
    const m = new PhysicalMemory({ size: 1 << 20 });
    m.write64(0xffdn, 0x0807060504030201n);
    expect(m.readBytes(0xffd, 8)).toEqual(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
    expect(m.read32(0xffe)).toBe(0x05040302);
    expect(m.read16(0xfff)).toBe(0x0403);
    expect(m.read8(0x1000)).toBe(4);
    m.write32(0x1ffe, 0xa1b2c3d4);
    expect(m.read64(0x1ff8)).toBe(0xc3d4_0000_0000_0000n);
    const bytes = new Uint8Array(10000).map((_, i) => i & 0xff);
    m.writeBytes(0x3333, bytes);
    expect(m.readBytes(0x3333, 10000)).toEqual(bytes);
  });

  it('agrees with a flat byte array for random accesses', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ addr: fc.integer({ min: 0, max: 3 * 4096 - 8 }), size: fc.constantFrom(1, 2, 4, 8), value: fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), write: fc.boolean() }), { maxLength: 100 }),
        (ops) => {
          const m = new PhysicalMemory({ size: 4 * 4096 });
          const ref = new Uint8Array(4 * 4096);
          for (const o of ops) {
            if (o.write) {
              const v = BigInt.asUintN(o.size * 8, o.value);
              if (o.size === 1) m.write8(o.addr, v);
              else if (o.size === 2) m.write16(o.addr, v);
              else if (o.size === 4) m.write32(o.addr, v);
              else m.write64(o.addr, v);
              for (let i = 0; i < o.size; i++) ref[o.addr + i] = Number((v >> BigInt(8 * i)) & 0xffn);
            } else {
              let want = 0n;
              for (let i = o.size - 1; i >= 0; i--) want = (want << 8n) | BigInt(ref[o.addr + i]);
              const got = o.size === 1 ? BigInt(m.read8(o.addr)) : o.size === 2 ? BigInt(m.read16(o.addr)) : o.size === 4 ? BigInt(m.read32(o.addr)) : m.read64(o.addr);
              expect(got).toBe(want);
            }
          }
        },
      ),
      { seed: 7, numRuns: 200 },
    );
  });

  it('above installed memory: reads all-ones, writes dropped, both counted', () => {
    const m = new PhysicalMemory({ size: 1 << 20, maxPhysAddr: 40 });
    expect(m.read64(1n << 30n)).toBe(0xffffffffffffffffn);
    m.write32(1n << 30n, 5);
    expect(m.read32(1n << 30n)).toBe(0xffffffff);
    expect(m.stats.unbackedReads).toBe(2 + 1);
    expect(m.stats.unbackedWrites).toBe(1);
    expect(m.stats.framesAllocated).toBe(0);
    // a read straddling the end of memory: backed bytes, then all-ones
    m.write8((1 << 20) - 1, 0x12);
    expect(m.read16((1 << 20) - 1)).toBe(0xff12);
  });

  it('rejects bad arguments with a RangeError naming the value', () => {
    const m = new PhysicalMemory({ size: 1 << 20, maxPhysAddr: 40 });
    expect(() => m.read64(-1n)).toThrow(RangeError);
    expect(() => m.read64(1n << 40n)).toThrow(/0x10000000000/);
    expect(() => m.read64((1n << 40n) - 4n)).toThrow(RangeError);
    expect(() => m.read8(1.5)).toThrow(RangeError);
    expect(() => new PhysicalMemory({ size: 1000 })).toThrow(/1000/);
    expect(() => new PhysicalMemory({ size: 2 ** 41, maxPhysAddr: 40 })).toThrow(RangeError);
    expect(() => new PhysicalMemory({ size: 4096, maxPhysAddr: 60 })).toThrow(/60/);
    expect(() => m.readBytes(0, -1)).toThrow(RangeError);
  });

  it('writableFrame: the view of an allocated frame not holding code, without allocating; markCode tells its listeners', () => {
    const m = new PhysicalMemory({ size: 1 << 20 });
    const marked: number[] = [];
    m.onMarkCode((f) => marked.push(f));
    expect(m.writableFrame(3)).toBeNull(); // never written: not allocated
    expect(m.stats.framesAllocated).toBe(0);
    m.write32(3 * 4096 + 8, 0x11223344);
    const v = m.writableFrame(3);
    expect(v).not.toBeNull();
    expect(v!.getUint32(8, true)).toBe(0x11223344);
    expect(v).toBe(m.writeFrame(3)); // the frame's one view
    m.markCode(3);
    expect(marked).toEqual([3]);
    expect(m.writableFrame(3)).toBeNull(); // holds code: its next write goes through writeFrame
    m.write8(3 * 4096, 1); // (the write unmarks it)
    expect(m.writableFrame(3)).toBe(v);
    expect(m.writableFrame(1 << 20)).toBeNull(); // above installed memory
  });

  it('onAllocate: listeners hear of each first write to a frame only', () => {
    const m = new PhysicalMemory({ size: 1 << 20 });
    const allocated: number[] = [];
    m.onAllocate((f) => allocated.push(f));
    expect(m.read32(5 * 4096)).toBe(0); // a read allocates nothing
    m.write8(5 * 4096 + 1, 1);
    m.write8(5 * 4096 + 2, 2);
    m.write32(7 * 4096, 3);
    m.write8(1 << 20, 4); // above installed memory: dropped, nothing allocated
    expect(allocated).toEqual([5, 7]);
  });
});
