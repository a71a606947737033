/** The shared argument checks (src/util/validate.ts): ranges, canonical addresses, how values are shown. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonical, hex, intIn, linearAddress, oneOf, optBool, options, show, uint } from '../src/util/validate.js';

const SEED = { seed: 0x5eed12, numRuns: 500 };

describe('uint', () => {
  it('accepts exactly -2^(N-1) .. 2^N-1 and returns the N-bit two\'s complement', () => {
    fc.assert(
      fc.property(fc.constantFrom(8, 16, 32, 64), fc.bigInt({ min: -(1n << 70n), max: 1n << 70n }), (bits, v) => {
        const n = BigInt(bits);
        const fits = v >= -(1n << (n - 1n)) && v < 1n << n;
        if (fits) expect(uint(v, 'v', bits)).toBe(BigInt.asUintN(bits, v));
        else expect(() => uint(v, 'v', bits)).toThrow(RangeError);
      }),
      SEED,
    );
  });

  it('takes integer numbers like bigints, and rejects fractions and non-numbers', () => {
    fc.assert(
      fc.property(fc.integer({ min: -(2 ** 20), max: 2 ** 20 }), (v) => {
        expect(uint(v, 'v', 32)).toBe(BigInt.asUintN(32, BigInt(v)));
      }),
      SEED,
    );
    expect(() => uint(0.5, 'v', 8)).toThrow(RangeError);
    expect(() => uint(Infinity, 'v', 8)).toThrow(RangeError);
    expect(() => uint('1', 'v', 8)).toThrow(TypeError);
    expect(() => uint(true, 'v', 8)).toThrow(TypeError);
  });
});

describe('canonical', () => {
  it('is sign extension from bit 47 (or 56)', () => {
    fc.assert(
      fc.property(fc.constantFrom(48, 57), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), fc.boolean(), (bits, raw, extend) => {
        // half the cases made canonical by construction, so both outcomes are exercised
        const va = extend ? BigInt.asUintN(64, BigInt.asIntN(bits, raw)) : raw;
        const ext = BigInt.asUintN(64, BigInt.asIntN(bits, va));
        expect(canonical(va, bits)).toBe(ext === va);
      }),
      SEED,
    );
  });

  it('linearAddress names the argument and shows the value in unsigned hex', () => {
    expect(linearAddress(-4096n, 'va', 48)).toBe(0xfffffffffffff000n);
    expect(() => linearAddress(0x800000000000n, 'map va', 48)).toThrow(/map va 0x800000000000 is not canonical/);
    expect(linearAddress(0x800000000000n, 'va', 57)).toBe(0x800000000000n);
  });
});

describe('messages', () => {
  it('show: hex for integers, negative ones also as unsigned 64-bit, strings quoted', () => {
    expect(show(300)).toBe('300 (0x12c)');
    expect(show(7)).toBe('7');
    expect(show(-8n)).toBe('-0x8n (0xfffffffffffffff8 as unsigned 64-bit)');
    expect(show(-1)).toBe('-1 (0xffffffffffffffff as unsigned 64-bit)');
    expect(show(1n << 64n)).toBe('0x10000000000000000n');
    expect(show(1.5)).toBe('1.5');
    expect(show('no')).toBe('"no"');
    expect(show(undefined)).toBe('undefined');
    expect(show(null)).toBe('null');
    expect(show([1, 2])).toBe('an array of length 2');
    expect(show(new Map())).toBe('an object (Map)');
    expect(show({})).toBe('an object');
  });

  it('hex: masks as unsigned N-bit values', () => {
    expect(hex(1 << 31, 32)).toBe('0x80000000');
    expect(hex(-1n)).toBe('0xffffffffffffffff');
    expect(hex(-8n)).toBe('0xfffffffffffffff8');
  });
});

describe('options, booleans, integers, choices', () => {
  it('options: undefined is {} unless required; non-objects and unknown names are TypeErrors', () => {
    expect(options(undefined, 'o', ['a'])).toEqual({});
    expect(() => options(undefined, 'o', ['a'], true)).toThrow(TypeError);
    expect(() => options([], 'o', ['a'])).toThrow(TypeError);
    expect(() => options({ b: 1 }, 'o', ['a'])).toThrow(/unknown property 'b' in o; known: a/);
  });

  it('optBool: only true, false or undefined', () => {
    for (const v of [true, false, undefined]) expect(optBool(v, 'b')).toBe(v);
    for (const v of [0, 1, 'true', 'no', null, {}]) expect(() => optBool(v, 'b')).toThrow(TypeError);
  });

  it('intIn and oneOf: TypeError for the wrong type, RangeError for the wrong value', () => {
    expect(intIn(3, 'n', 0, 3)).toBe(3);
    expect(() => intIn(4, 'n', 0, 3)).toThrow(RangeError);
    expect(() => intIn(1.5, 'n', 0, 3)).toThrow(RangeError);
    expect(() => intIn(1n, 'n', 0, 3)).toThrow(TypeError);
    expect(oneOf('b', 'k', ['a', 'b'])).toBe('b');
    expect(() => oneOf('c', 'k', ['a', 'b'])).toThrow(RangeError);
    expect(() => oneOf(1, 'k', ['a', 'b'])).toThrow(TypeError);
  });
});
