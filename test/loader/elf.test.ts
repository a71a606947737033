/** ELF64 validation: every malformed input gives an ElfError naming the problem, never another error. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ElfError, parseElf } from '../../src/loader/index.js';
import { readElf } from '../programs/corpus.js';
import { codeElf, makeElf, X } from './elf-builder.js';

function expectElfError(bytes: Uint8Array, match: RegExp): void {
  let err: unknown;
  try {
    parseElf(bytes);
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(ElfError);
  expect((err as Error).message).toMatch(match);
}

const good = (): Uint8Array => codeElf(X.exit(0), [{ vaddr: 0x402000n, bytes: new Uint8Array([1, 2, 3]), memSize: 0x3000, flags: 6 }]);

describe('parseElf', () => {
  it('parses a built executable: entry, segments, bss, end', () => {
    const img = parseElf(good());
    expect(img.entry).toBe(0x401000n);
    expect(img.segments).toHaveLength(2);
    expect(img.segments[1]).toMatchObject({ vaddr: 0x402000n, memSize: 0x3000, flags: 6 });
    expect([...img.segments[1]!.fileBytes]).toEqual([1, 2, 3]);
    expect(img.end).toBe(0x405000n);
  });

  it('parses every corpus program and finds the program headers in the image', () => {
    for (const name of ['crc', 'sys', 'vm']) {
      const img = parseElf(readElf(name, 'O2'));
      expect(img.entry >= 0x400000n).toBe(true);
      expect(img.phdrAddr).toBe(0x400040n);
      expect(img.phnum).toBeGreaterThan(1);
    }
  });

  it('rejects a non-Uint8Array with a TypeError', () => {
    expect(() => parseElf('ELF' as unknown as Uint8Array)).toThrow(TypeError);
  });

  it('names what is wrong', () => {
    const g = good();
    const mut = (f: (b: Uint8Array, dv: DataView) => void): Uint8Array => {
      const b = g.slice();
      f(b, new DataView(b.buffer));
      return b;
    };
    expectElfError(new Uint8Array(10), /truncated ELF header/);
    expectElfError(mut((b) => (b[0] = 0x7e)), /bad magic/);
    expectElfError(mut((b) => (b[4] = 1)), /ELFCLASS64/);
    expectElfError(mut((b) => (b[5] = 2)), /little-endian/);
    expectElfError(mut((_, d) => d.setUint16(18, 3, true)), /e_machine is 3/);
    expectElfError(mut((_, d) => d.setUint16(16, 3, true)), /e_type is 3.*ET_EXEC/);
    expectElfError(mut((_, d) => d.setUint16(56, 0, true)), /e_phnum is 0/);
    expectElfError(mut((_, d) => d.setUint16(54, 32, true)), /e_phentsize/);
    expectElfError(mut((_, d) => d.setBigUint64(32, 0xffffffffffffff00n, true)), /program headers .* run past the end/);
    expectElfError(g.subarray(0, 100), /program headers .* run past the end/);
    expectElfError(mut((_, d) => d.setBigUint64(64 + 32, 0x10000n, true)), /p_filesz .* exceeds p_memsz/);
    expectElfError(mut((_, d) => d.setBigUint64(64 + 8, 0x100000n, true)), /runs past the end of the file/);
    expectElfError(mut((_, d) => d.setBigUint64(24, 0x402000n, true)), /e_entry 0x402000 is not inside an executable/);
    expectElfError(mut((_, d) => d.setUint32(64, 3, true)), /PT_INTERP/);
    expectElfError(mut((_, d) => d.setUint32(64 + 56, 2, true)), /PT_DYNAMIC/);
  });

  it('rejects overlapping segments, kernel addresses, page 0, huge images and no PT_LOAD', () => {
    const seg = (vaddr: bigint, memSize = 0x1000, flags = 5) => ({ vaddr, bytes: new Uint8Array(16), memSize, flags });
    expectElfError(makeElf({ entry: 0x401000n, segments: [seg(0x401000n, 0x2000), seg(0x402000n)] }), /overlaps another PT_LOAD/);
    expectElfError(makeElf({ entry: 0xffffffff81000000n, segments: [seg(0xffffffff81000000n)] }), /not in the user half/);
    expectElfError(makeElf({ entry: 0x10n, segments: [seg(0n)] }), /page 0/);
    expectElfError(makeElf({ entry: 0x401000n, segments: [seg(0x401000n, 2 ** 31)] }), /span more than/);
    expectElfError(makeElf({ entry: 0x401000n, segments: [{ ...seg(0x401000n), type: 4 }] }), /no PT_LOAD/);
    expectElfError(makeElf({ entry: 0x401000n, segments: [seg(0x401000n, 0x1000, 4)] }), /not inside an executable/);
  });

  it('fuzz: truncations and byte corruptions give an image or an ElfError, nothing else (fixed seed)', () => {
    const base = readElf('hash', 'O2');
    for (let len = 0; len < 600; len += 7) {
      try {
        parseElf(base.subarray(0, len));
      } catch (e) {
        expect(e).toBeInstanceOf(ElfError);
      }
    }
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(400), fc.nat(255)), { minLength: 1, maxLength: 8 }), (edits) => {
        const b = base.slice();
        for (const [i, v] of edits) b[i] = v;
        try {
          const img = parseElf(b);
          expect(img.segments.length).toBeGreaterThan(0);
        } catch (e) {
          expect(e).toBeInstanceOf(ElfError);
        }
      }),
      { seed: 1234, numRuns: 2000 },
    );
  });
});
