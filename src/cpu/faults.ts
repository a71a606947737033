/**
 * Architectural exceptions as typed values (Intel SDM Vol. 3A 6.15, "Exception and Interrupt Reference").
 * The API edge throws or returns these; they are never bare Errors. Internally (hot paths) exceptions are
 * plain numbers on the CPU and become objects only here.
 */

export const VEC_DE = 0;
export const VEC_DB = 1;
export const VEC_BP = 3;
export const VEC_OF = 4;
export const VEC_BR = 5;
export const VEC_UD = 6;
export const VEC_NM = 7;
export const VEC_DF = 8;
export const VEC_TS = 10;
export const VEC_NP = 11;
export const VEC_SS = 12;
export const VEC_GP = 13;
export const VEC_PF = 14;
export const VEC_AC = 17;

const MNEMONIC: Record<number, string> = {
  0: '#DE',
  1: '#DB',
  3: '#BP',
  4: '#OF',
  5: '#BR',
  6: '#UD',
  7: '#NM',
  8: '#DF',
  10: '#TS',
  11: '#NP',
  12: '#SS',
  13: '#GP',
  14: '#PF',
  17: '#AC',
};

/**
 * Brand of every pksim fault, the same symbol in every copy of the library (`Symbol.for`): the ESM and the
 * CommonJS builds loaded in one process (a test runner with CJS helpers, say) define two sets of classes,
 * and `instanceof` must still recognise a fault made by the other set. Its value on a class's prototype is
 * the fault kind ('ArchFault', 'PageFault', ...).
 */
const FAULT_BRAND = Symbol.for('pksim.fault');

type FaultClass = { prototype: object; faultVector?: number };

/** Base class of every architectural exception a pksim CPU raises. */
export class ArchFault extends Error {
  /**
   * `x instanceof PageFault` is true for a PageFault made by any copy of pksim: the ordinary prototype check
   * first, then the brand (same kind, same vector) for the built-in classes.
   */
  static override [Symbol.hasInstance](x: unknown): boolean {
    if (typeof x !== 'object' || x === null) return false;
    if (Function.prototype[Symbol.hasInstance].call(this, x)) return true;
    if (!Object.prototype.hasOwnProperty.call(this.prototype, FAULT_BRAND)) return false; // a user's subclass
    const kind = (this.prototype as unknown as Record<symbol, unknown>)[FAULT_BRAND];
    const brand = (x as Record<symbol, unknown>)[FAULT_BRAND];
    if (typeof brand !== 'string') return false;
    if (kind === 'ArchFault') return true;
    const vector = (this as FaultClass).faultVector;
    return brand === kind && (x as { vector?: unknown }).vector === vector;
  }

  /** Interrupt vector (0..31). */
  readonly vector: number;
  /** Error code pushed by the exception (0 for those that push none). */
  readonly errorCode: number;

  constructor(vector: number, errorCode = 0, detail?: string) {
    const mn = MNEMONIC[vector] ?? `#${vector}`;
    super(`${mn}${errorCode !== 0 || vector === VEC_GP ? `(0x${errorCode.toString(16)})` : ''}${detail ? `: ${detail}` : ''}`);
    this.name = new.target.name;
    this.vector = vector;
    this.errorCode = errorCode;
  }

  /** '#PF', '#GP', ... */
  get mnemonic(): string {
    return MNEMONIC[this.vector] ?? `#${this.vector}`;
  }
}

/** Decoded page-fault error code bits (SDM 4.7). */
export interface PageFaultBits {
  present: boolean;
  write: boolean;
  user: boolean;
  reserved: boolean;
  fetch: boolean;
  pk: boolean;
}

/** #PF: `address` is what the CPU puts in CR2. */
export class PageFault extends ArchFault {
  static readonly faultVector = VEC_PF;
  readonly address: bigint;
  constructor(errorCode: number, address: bigint) {
    super(VEC_PF, errorCode, `${describePfec(errorCode)} at 0x${address.toString(16)}`);
    this.address = address;
  }
  get bits(): PageFaultBits {
    const e = this.errorCode;
    return { present: (e & 1) !== 0, write: (e & 2) !== 0, user: (e & 4) !== 0, reserved: (e & 8) !== 0, fetch: (e & 16) !== 0, pk: (e & 32) !== 0 };
  }
}

export function describePfec(e: number): string {
  const parts = [(e & 1) !== 0 ? 'P' : 'not-present'];
  if (e & 2) parts.push('W');
  if (e & 4) parts.push('U');
  if (e & 8) parts.push('RSVD');
  if (e & 16) parts.push('I');
  if (e & 32) parts.push('PK');
  return `error code 0x${e.toString(16)} [${parts.join(' ')}]`;
}

export class GeneralProtection extends ArchFault {
  static readonly faultVector = VEC_GP;
  constructor(errorCode = 0, detail?: string) {
    super(VEC_GP, errorCode, detail);
  }
}
export class StackFault extends ArchFault {
  static readonly faultVector = VEC_SS;
  constructor(errorCode = 0, detail?: string) {
    super(VEC_SS, errorCode, detail);
  }
}
export class InvalidOpcode extends ArchFault {
  static readonly faultVector = VEC_UD;
  constructor(detail?: string) {
    super(VEC_UD, 0, detail);
  }
}
export class DivideError extends ArchFault {
  static readonly faultVector = VEC_DE;
  constructor(detail?: string) {
    super(VEC_DE, 0, detail);
  }
}
export class DoubleFault extends ArchFault {
  static readonly faultVector = VEC_DF;
  constructor(detail?: string) {
    super(VEC_DF, 0, detail);
  }
}

for (const [cls, kind] of [
  [ArchFault, 'ArchFault'],
  [PageFault, 'PageFault'],
  [GeneralProtection, 'GeneralProtection'],
  [StackFault, 'StackFault'],
  [InvalidOpcode, 'InvalidOpcode'],
  [DivideError, 'DivideError'],
  [DoubleFault, 'DoubleFault'],
] as const) {
  Object.defineProperty(cls.prototype, FAULT_BRAND, { value: kind });
}

/** Build the typed fault for a vector. */
export function makeFault(vector: number, errorCode: number, address?: bigint, detail?: string): ArchFault {
  switch (vector) {
    case VEC_PF:
      return new PageFault(errorCode, address ?? 0n);
    case VEC_GP:
      return new GeneralProtection(errorCode, detail);
    case VEC_SS:
      return new StackFault(errorCode, detail);
    case VEC_UD:
      return new InvalidOpcode(detail);
    case VEC_DE:
      return new DivideError(detail);
    case VEC_DF:
      return new DoubleFault(detail);
    default:
      return new ArchFault(vector, errorCode, detail);
  }
}
