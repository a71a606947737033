/** fast-check arbitraries shared by the randomized conformance tests. */
import fc from 'fast-check';
import type { Controls } from './sdm-oracle.js';

/** A PKRU/PKRS value: all-clear, anything, or exactly AD, WD or both of one key. */
export const keyRegArb = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 0, max: 0xffffffff }),
  fc.integer({ min: 0, max: 15 }).chain((k) => fc.constantFrom(1 << (2 * k), 2 ** (2 * k + 1), 3 * 4 ** k)),
);

/** Every control the access rights depend on. */
export const controlsArb: fc.Arbitrary<Controls> = fc.record({
  wp: fc.boolean(),
  nxe: fc.boolean(),
  smep: fc.boolean(),
  smap: fc.boolean(),
  ac: fc.boolean(),
  pke: fc.boolean(),
  pks: fc.boolean(),
  pkru: keyRegArb,
  pkrs: keyRegArb,
});
