/**
 * `import 'pksim/vitest'`: matchers for users' own vitest suites.
 *
 *   expect(cpu.translate(va, { access: 'write' })).toPageFault({ pk: true, write: true });
 *   expect(() => cpu.write(va, 8, 1n)).toPageFault({ pk: true, address: va });
 *   expect(cpu.translate(va, { access: 'read' })).toTranslateTo(0x800123n);
 *
 * On failure the message shows the walk decoded from memory (`cpu.explain`): each entry read, its flags and
 * key, the key's rights in PKRS/PKRU, and the outcome. To know which CPU and which access a result came from,
 * this module records the origin of every `Cpu.translate` result and of every fault thrown by `Cpu.read` /
 * `Cpu.write` (a WeakMap, so nothing is retained); only suites that import it pay for that. The hot path
 * (`cpu.load`, `cpu.store`, `cpu.xlate`) is untouched.
 *
 * This module is a separate package entry and needs vitest (an optional peer dependency); the core does not.
 */
import { expect } from 'vitest';
import { Cpu, type TranslateOptions, type TranslateResult } from './index.js';
import { pkrRights } from './pks/keys.js';
import { describePfec } from './cpu/faults.js';

/** Expected bits of a #PF (SDM Vol. 3A 4.7); each one given is checked, the others are free. */
export interface PageFaultExpectation {
  /** Error-code bit 5: a protection key denied the access. */
  pk?: boolean;
  /** Error-code bit 1: the access was a write. */
  write?: boolean;
  /** Error-code bit 2: a user-mode access (CPL 3, not implicit). */
  user?: boolean;
  /** Error-code bit 0: the fault was a rights violation on a present page (clear: not present). */
  present?: boolean;
  /** Error-code bit 3: a reserved bit was set in an entry. */
  reserved?: boolean;
  /** Error-code bit 4: an instruction fetch. */
  fetch?: boolean;
  /** The linear address the CPU puts in CR2. */
  address?: bigint | number;
}

interface PksimMatchers<R = unknown> {
  /** The received translate result, thrown fault, or function that throws, is a #PF with these bits. */
  toPageFault(expected?: PageFaultExpectation): R;
  /** The received translate result succeeded and gave this physical address. */
  toTranslateTo(pa: bigint | number): R;
}

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type
  interface Matchers<T = any> extends PksimMatchers<T> {}
}

interface Origin {
  cpu: Cpu;
  va: bigint;
  opts: TranslateOptions;
}

const origins = new WeakMap<object, Origin>();
const PATCHED = Symbol.for('pksim.vitest.patched');

/** Record where translate results and thrown faults come from (once per Cpu class). */
function recordOrigins(): void {
  const proto = Cpu.prototype as unknown as Record<PropertyKey, unknown>;
  if (proto[PATCHED]) return;
  proto[PATCHED] = true;
  const translate = Cpu.prototype.translate;
  Cpu.prototype.translate = function (this: Cpu, va, opts) {
    const r = translate.call(this, va, opts);
    origins.set(r, { cpu: this, va: BigInt(va), opts });
    if (!r.ok) origins.set(r.fault, { cpu: this, va: BigInt(va), opts });
    return r;
  };
  const read = Cpu.prototype.read;
  Cpu.prototype.read = function (this: Cpu, va, size, opts) {
    try {
      return read.call(this, va, size, opts);
    } catch (e) {
      if (typeof e === 'object' && e !== null) origins.set(e, { cpu: this, va: BigInt(va), opts: { ...opts, access: opts?.fetch ? 'fetch' : 'read' } });
      throw e;
    }
  };
  const write = Cpu.prototype.write;
  Cpu.prototype.write = function (this: Cpu, va, size, value, opts) {
    try {
      write.call(this, va, size, value, opts);
    } catch (e) {
      if (typeof e === 'object' && e !== null) origins.set(e, { cpu: this, va: BigInt(va), opts: { ...opts, access: 'write' } });
      throw e;
    }
  };
}

const hex = (v: bigint | number): string => `0x${BigInt(v).toString(16)}`;

function flagList(f: ReturnType<Cpu['explain']>['levels'][number]['fields']): string {
  const on: string[] = [];
  if (f.present) on.push('P');
  if (f.write) on.push('W');
  if (f.user) on.push('U');
  if (f.accessed) on.push('A');
  if (f.dirty) on.push('D');
  if (f.ps) on.push('PS');
  if (f.global) on.push('G');
  if (f.xd) on.push('XD');
  return on.length ? on.join(' ') : '-';
}

/** The walk of one access, decoded, as lines of text (for failure messages). */
export function describeWalk(cpu: Cpu, va: bigint | number, opts: TranslateOptions): string {
  const { levels, result } = cpu.explain(va, opts);
  const snap = cpu.snapshot();
  const cpl = opts.cpl ?? snap.cpl;
  const lines = [`walk of ${hex(va)} (${opts.access}, CPL ${cpl}${opts.implicit ? ', implicit' : ''}) on CPU ${cpu.index}, CR3 ${hex(snap.cr3)}:`];
  if (levels.length === 0) lines.push('  (no walk: paging off or non-canonical address)');
  let user = true;
  for (const l of levels) {
    const f = l.fields;
    user &&= f.user;
    const leaf = l.level === 1 || f.ps;
    const key = leaf && f.present ? ` key ${f.pkey}` : '';
    lines.push(`  ${l.name.padEnd(6)} @${hex(l.entryAddress)} = ${hex(l.entry).padEnd(20)} [${flagList(f)}] -> ${hex(f.addr)}${key}`);
  }
  const last = levels[levels.length - 1];
  if (last && last.fields.present && (last.level === 1 || last.fields.ps)) {
    const k = last.fields.pkey;
    const reg = user ? 'PKRU' : 'PKRS';
    const rights = pkrRights(user ? snap.pkru : snap.pkrs, k).toUpperCase();
    lines.push(`  ${user ? 'user' : 'supervisor'}-mode address: ${reg} ${hex(user ? snap.pkru : snap.pkrs)} gives key ${k} ${rights}; CR0.WP=${(snap.cr0 >> 16n) & 1n}`);
  }
  lines.push(`  in memory now: ${describeResult(result)}`);
  return lines.join('\n');
}

function describeResult(r: TranslateResult): string {
  if (r.ok) return `translates to ${hex(r.pa)} (${r.pageSize === 4096 ? '4 KiB' : r.pageSize === 2097152 ? '2 MiB' : '1 GiB'} page, key ${r.pkey})`;
  return describeFault(r.fault);
}

function describeFault(f: unknown): string {
  if (isPageFault(f)) return `#PF ${describePfec(f.errorCode)} at ${hex(f.address)}`;
  if (f instanceof Error) return `${f.name}: ${f.message}`;
  return String(f);
}

interface PageFaultLike {
  vector: 14;
  errorCode: number;
  address: bigint;
}

function isPageFault(v: unknown): v is PageFaultLike {
  return typeof v === 'object' && v !== null && (v as PageFaultLike).vector === 14 && typeof (v as PageFaultLike).errorCode === 'number' && typeof (v as PageFaultLike).address === 'bigint';
}

function isTranslateResult(v: unknown): v is TranslateResult {
  return typeof v === 'object' && v !== null && typeof (v as { ok?: unknown }).ok === 'boolean';
}

const BITS: [keyof PageFaultExpectation, number][] = [
  ['present', 1],
  ['write', 2],
  ['user', 4],
  ['reserved', 8],
  ['fetch', 16],
  ['pk', 32],
];

function describeExpectation(e: PageFaultExpectation): string {
  const parts = BITS.filter(([k]) => e[k] !== undefined).map(([k]) => `${k}: ${e[k]}`);
  if (e.address !== undefined) parts.push(`address: ${hex(e.address)}`);
  return parts.length ? `#PF { ${parts.join(', ')} }` : 'a #PF';
}

function withWalk(text: string, origin: Origin | undefined): string {
  if (!origin) return `${text}\n(no walk to show: the value did not come from Cpu.translate, Cpu.read or Cpu.write)`;
  return `${text}\n\n${describeWalk(origin.cpu, origin.va, origin.opts)}`;
}

expect.extend({
  toPageFault(received: unknown, expected: PageFaultExpectation = {}) {
    if (typeof expected !== 'object' || expected === null) throw new TypeError(`toPageFault: expected must be an object, got ${String(expected)}`);
    let fault: unknown;
    let got: string;
    let origin: Origin | undefined;
    if (typeof received === 'function') {
      try {
        const v = (received as () => unknown)();
        got = `the call returned ${typeof v === 'bigint' ? hex(v) : String(v)} without a fault`;
      } catch (e) {
        fault = e;
        got = `the call threw ${describeFault(e)}`;
        origin = typeof e === 'object' && e !== null ? origins.get(e) : undefined;
      }
    } else if (isTranslateResult(received)) {
      origin = origins.get(received);
      if (received.ok) got = `the translation succeeded: ${describeResult(received)}`;
      else {
        fault = received.fault;
        got = `the translation raised ${describeFault(received.fault)}`;
      }
    } else if (isPageFault(received)) {
      fault = received;
      origin = origins.get(received);
      got = describeFault(received);
    } else {
      throw new TypeError(`toPageFault: received must be a translate result, a fault or a function, got ${typeof received}`);
    }
    const mismatches: string[] = [];
    if (isPageFault(fault)) {
      for (const [k, bit] of BITS) {
        const want = expected[k];
        if (want !== undefined && ((fault.errorCode & bit) !== 0) !== want) mismatches.push(`${k} is ${!want}`);
      }
      if (expected.address !== undefined && BigInt.asUintN(64, BigInt(expected.address)) !== fault.address) mismatches.push(`address is ${hex(fault.address)}`);
    }
    const pass = isPageFault(fault) && mismatches.length === 0;
    const want = describeExpectation(expected);
    return {
      pass,
      message: () =>
        pass
          ? withWalk(`expected not ${want}, but ${got}`, origin)
          : withWalk(`expected ${want}, but ${got}${mismatches.length ? ` (${mismatches.join(', ')})` : ''}`, origin),
    };
  },

  toTranslateTo(received: unknown, pa: bigint | number) {
    if (typeof pa !== 'bigint' && typeof pa !== 'number') throw new TypeError(`toTranslateTo: pa must be a bigint or number, got ${typeof pa}`);
    if (!isTranslateResult(received)) throw new TypeError(`toTranslateTo: received must be a translate result ({ ok, ... }), got ${typeof received}`);
    const want = BigInt(pa);
    const origin = origins.get(received);
    const pass = received.ok && received.pa === want;
    const got = received.ok ? `it translates to ${hex(received.pa)}` : `it raised ${describeFault(received.fault)}`;
    return {
      pass,
      message: () => withWalk(pass ? `expected not to translate to ${hex(want)}, but it does` : `expected to translate to ${hex(want)}, but ${got}`, origin),
    };
  },
});

recordOrigins();
