/**
 * Argument checks for the bigint API edge of the core (never the hot path). One rule everywhere:
 * - a value of the wrong type, or an option name that does not exist, throws a `TypeError`;
 * - a value of the right type outside what the argument can mean throws a `RangeError`;
 * and every message names the argument and shows the value (`show`). Integers and bigints are shown in hex
 * as well, negative ones also as the unsigned 64-bit value they stand for (two's complement).
 *
 * Values that stand for N-bit quantities may be given as a bigint or an integer number, from -2^(N-1) to
 * 2^N - 1: negative values are taken as N-bit two's complement (`-1` written as 8 bytes is
 * 0xffffffffffffffff), anything outside that range throws a `RangeError`.
 */

const TWO64 = 1n << 64n;
/** What an omitted options object reads as (shared: no allocation per call). */
const NO_OPTIONS: Readonly<Record<string, unknown>> = Object.freeze({});

/** Unsigned hex of a value or a mask, as an N-bit quantity (a negative value is taken as two's complement). */
export function hex(v: bigint | number, bits = 64): string {
  const b = typeof v === 'bigint' ? v : BigInt(Math.trunc(v));
  return `0x${BigInt.asUintN(bits, b).toString(16)}`;
}

/** A value as a message shows it: `300 (0x12c)`, `-0x8 (0xfffffffffffffff8 as unsigned 64-bit)`, `"no"`. */
export function show(v: unknown): string {
  switch (typeof v) {
    case 'bigint':
      return showInteger(v, `${v < 0n ? '-' : ''}0x${(v < 0n ? -v : v).toString(16)}n`);
    case 'number':
      if (!Number.isInteger(v)) return String(v);
      return showInteger(BigInt(v), Math.abs(v) < 10 ? String(v) : `${v} (${v < 0 ? '-' : ''}0x${Math.abs(v).toString(16)})`);
    case 'string':
      return JSON.stringify(v);
    case 'undefined':
    case 'boolean':
      return String(v);
    case 'symbol':
      return v.toString();
    case 'function':
      return `a function${v.name ? ` (${v.name})` : ''}`;
    default:
      if (v === null) return 'null';
      if (Array.isArray(v)) return `an array of length ${v.length}`;
      return `an object${objectName(v as object)}`;
  }
}

function showInteger(v: bigint, text: string): string {
  if (v < 0n && v >= -(1n << 63n)) return `${text} (${hex(v)} as unsigned 64-bit)`;
  return text;
}

function objectName(v: object): string {
  const name = (Object.getPrototypeOf(v) as { constructor?: { name?: string } } | null)?.constructor?.name;
  return name && name !== 'Object' ? ` (${name})` : '';
}

/**
 * Check an options object: `undefined` is `{}` unless `required`; anything but a plain object is a
 * TypeError, and so is a property whose name is not in `known` (the message lists the known names).
 */
export function options(opts: unknown, what: string, known: readonly string[], required = false): Record<string, unknown> {
  if (opts === undefined && !required) return NO_OPTIONS;
  if (typeof opts !== 'object' || opts === null || Array.isArray(opts)) {
    throw new TypeError(`${what} must be an object${required ? ` with ${known.join(', ')}` : ''}, got ${show(opts)}`);
  }
  for (const k of Object.keys(opts)) {
    if (!known.includes(k)) throw new TypeError(`unknown property '${k}' in ${what}; known: ${known.join(', ')}`);
  }
  return opts as Record<string, unknown>;
}

/** An optional boolean: `undefined` or exactly `true`/`false` (no truthiness: `1` and `'no'` are TypeErrors). */
export function optBool(v: unknown, what: string): boolean | undefined {
  if (v === undefined || typeof v === 'boolean') return v;
  throw new TypeError(`${what} must be true or false, got ${show(v)}`);
}

/** An integer number in [min, max]: TypeError if not a number, RangeError otherwise. */
export function intIn(v: unknown, what: string, min: number, max: number): number {
  if (typeof v !== 'number') throw new TypeError(`${what} must be an integer ${min}..${max}, got ${show(v)}`);
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`${what} must be an integer ${min}..${max}, got ${show(v)}`);
  return v;
}

/** One of a list of allowed values (compared with ===). */
export function oneOf<T extends string | number>(v: unknown, what: string, allowed: readonly T[]): T {
  if ((allowed as readonly unknown[]).includes(v)) return v as T;
  const list = allowed.map((a) => (typeof a === 'string' ? `'${a}'` : String(a))).join(', ');
  const wrongType = typeof v !== typeof allowed[0];
  throw new (wrongType ? TypeError : RangeError)(`${what} must be one of ${list}, got ${show(v)}`);
}

/**
 * A bigint or integer number that fits `bits` bits, as an unsigned bigint: values from -2^(bits-1) to
 * 2^bits - 1 are accepted, negative ones taken as two's complement.
 */
export function uint(v: unknown, what: string, bits: number): bigint {
  let b: bigint;
  if (typeof v === 'bigint') b = v;
  else if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new RangeError(`${what} must be an integer, got ${show(v)}`);
    b = BigInt(v);
  } else throw new TypeError(`${what} must be a bigint or an integer number, got ${show(v)}`);
  const top = 1n << BigInt(bits);
  if (b >= top || b < -(top >> 1n)) {
    throw new RangeError(`${what} ${show(v)} does not fit in ${bits} bits (-2^${bits - 1} .. 2^${bits}-1, negative values taken as two's complement)`);
  }
  return BigInt.asUintN(bits, b);
}

/** A 64-bit value (see `uint`). */
export function u64(v: unknown, what: string): bigint {
  return uint(v, what, 64);
}

/** Is a 64-bit linear address canonical for `linearBits` (48 or 57): bits 63:linearBits-1 all equal? */
export function canonical(va: bigint, linearBits: number): boolean {
  const top = BigInt.asUintN(64, va) >> BigInt(linearBits - 1);
  return top === 0n || top === (TWO64 >> BigInt(linearBits - 1)) - 1n;
}

/** A canonical linear address (a 64-bit value, see `uint`) for `linearBits` 48 or 57. */
export function linearAddress(v: unknown, what: string, linearBits: number): bigint {
  const u = u64(v, what);
  if (!canonical(u, linearBits)) {
    throw new RangeError(`${what} ${hex(u)} is not canonical for ${linearBits}-bit linear addresses (bits 63:${linearBits - 1} must all equal bit ${linearBits - 1})`);
  }
  return u;
}
