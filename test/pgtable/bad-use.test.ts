import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/index.js';
import { Kernel } from '../../src/pgtable/kernel.js';
import { boot, expectTranslations, pageAccount } from './helpers.js';

const VA = 0x400000n;

describe('bad use of the kernel model', () => {
  it('unmapping or protecting what is not mapped: RangeError naming the address, nothing changed', () => {
    const { m, k } = boot('pks');
    const mm = k.createAddressSpace();
    mm.switchTo(m.cpus[0]);
    mm.map(VA, 2, { write: true });
    const total = pageAccount(k);
    expect(() => mm.unmap(VA, 3)).toThrow(/unmap: 0x402000 is not mapped/);
    expect(() => mm.protect(VA + 0x1000n, 2, {})).toThrow(/protect: 0x402000 is not mapped/);
    expect(mm.size).toBe(2);
    expect(mm.translate(VA)?.write).toBe(true);
    expectTranslations(m.cpus[0], mm, [VA, VA + 0x1000n, VA + 0x2000n]);
    expect(pageAccount(k)).toBe(total);
    expect(k.check()).toEqual([]);
  });

  it('mapping over a mapping is refused', () => {
    const { k } = boot('none');
    const mm = k.createAddressSpace();
    mm.map(VA, 2);
    expect(() => mm.map(VA + 0x1000n, 2)).toThrow(/already mapped/);
    expect(mm.size).toBe(2);
  });

  it('misaligned, non-canonical, kernel-half and out-of-range addresses; bad counts and prot', () => {
    const { k } = boot('none');
    const mm = k.createAddressSpace();
    expect(() => mm.map(VA + 8n, 1)).toThrow(/not 4 KiB aligned/);
    expect(() => mm.map(0x0000800000000000n, 1)).toThrow(/non-canonical/);
    expect(() => mm.map(0xffff888000000000n, 1)).toThrow(/kernel address/);
    expect(() => mm.map(0x7ffffffff000n, 2)).toThrow(/past the user half/);
    expect(() => mm.map(VA, 0)).toThrow(RangeError);
    expect(() => mm.map(VA, 1.5)).toThrow(RangeError);
    expect(() => mm.map(-4096, 1)).toThrow(RangeError);
    expect(() => mm.map('0x1000' as never, 1)).toThrow(TypeError);
    expect(() => mm.map(VA, 1, { writable: true } as never)).toThrow(/unknown prot field 'writable'/);
    expect(() => mm.translate(0x0000800000000000n)).toThrow(RangeError);
    expect(mm.size).toBe(0);
  });

  it('double destroy and use after destroy', () => {
    const { k } = boot('pks-lock');
    const total = pageAccount(k);
    const mm = k.createAddressSpace();
    mm.map(VA, 1);
    mm.destroy();
    expect(() => mm.destroy()).toThrow(/already destroyed/);
    expect(() => mm.map(VA, 1)).toThrow(/destroyed/);
    expect(() => mm.switchTo(k.machine.cpus[0])).toThrow(/destroyed/);
    expect(mm.pageTables()).toEqual([]);
    expect(pageAccount(k)).toBe(total);
    expect(k.check()).toEqual([]);
  });

  it('boot options', () => {
    const noPks = new Machine({ cpus: 1, memory: 2 ** 30, features: { pks: false } });
    expect(() => Kernel.boot(noPks, { protection: 'pks' })).toThrow(/needs a CPU with PKS/);
    const m = new Machine({ cpus: 1, memory: 2 ** 30 });
    expect(() => Kernel.boot(m, { protection: 'bogus' as never })).toThrow(/protection must be one of/);
    expect(() => Kernel.boot(m, { colour: 'red' } as never)).toThrow(/unknown Kernel.boot option 'colour'/);
    expect(() => Kernel.boot(m, { soft: 'yes' } as never)).toThrow(TypeError);
    expect(() => Kernel.boot(m, { directMap: '3M' } as never)).toThrow(RangeError);
  });

  it('stray writes with a bad address', () => {
    const { k } = boot('pks');
    expect(() => k.strayWrite(-8, 0n)).toThrow(RangeError);
    expect(() => k.strayWrite(3, 0n)).toThrow(/8-byte aligned/);
    expect(() => k.strayWrite(2 ** 40, 0n)).toThrow(/beyond installed memory/);
  });
});
