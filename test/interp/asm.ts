/**
 * A tiny assembler over iced-x86's Instruction constructors and BlockEncoder, for test programs: `a.i(Code.X,
 * ...operands)` picks the constructor from the operand kinds (Register, MemoryOperand, number = imm32,
 * bigint = imm64); labels are iced's: a branch targets an instruction's `ip`.
 */

import { BlockEncoder, BlockEncoderOptions, Code, Instruction, MemoryOperand, Register } from 'iced-x86';

export { Code, Register, MemoryOperand };

/** An immediate operand (registers are plain Register numbers). */
export class Imm {
  constructor(readonly v: number) {}
}
export const imm = (v: number): Imm => new Imm(v);

type Op = Register | MemoryOperand | Imm | bigint;

/** [base + index*scale + disp], optionally with a segment (Register.FS / GS). */
export function mem(base: Register, disp = 0, index: Register = Register.None, scale = 1, seg: Register = Register.None): MemoryOperand {
  return new MemoryOperand(base, index, scale, BigInt(disp), disp === 0 ? 0 : 8, false, seg);
}

export class Asm {
  private readonly list: Instruction[] = [];
  private nextLabel = 0x7000_0000_0000n;
  private pending: bigint | null = null;

  label(): bigint {
    return this.nextLabel++;
  }
  /** The next instruction is at `l`. */
  bind(l: bigint): this {
    this.pending = l;
    return this;
  }
  private push(x: Instruction): this {
    if (this.pending !== null) {
      x.ip = this.pending;
      this.pending = null;
    }
    this.list.push(x);
    return this;
  }
  i(code: Code, ...ops: Op[]): this {
    const k = ops.map((o) => (o instanceof MemoryOperand ? 'M' : typeof o === 'bigint' ? 'Q' : o instanceof Imm ? 'I' : 'R')).join('');
    const a = ops.map((o) => (o instanceof Imm ? o.v : o)) as never[];
    let x: Instruction;
    switch (k) {
      case '':
        x = Instruction.create(code);
        break;
      case 'I':
        x = Instruction.createI32(code, a[0]);
        break;
      case 'II':
        x = Instruction.createI32I32(code, a[0], a[1]);
        break;
      case 'R':
        x = Instruction.createReg(code, a[0]);
        break;
      case 'M':
        x = Instruction.createMem(code, a[0]);
        break;
      case 'RR':
        x = Instruction.createRegReg(code, a[0], a[1]);
        break;
      case 'RI':
        x = Instruction.createRegI32(code, a[0], a[1]);
        break;
      case 'RQ':
        x = Instruction.createRegU64(code, a[0], a[1]);
        break;
      case 'RM':
        x = Instruction.createRegMem(code, a[0], a[1]);
        break;
      case 'MR':
        x = Instruction.createMemReg(code, a[0], a[1]);
        break;
      case 'MI':
        x = Instruction.createMemI32(code, a[0], a[1]);
        break;
      case 'IR':
        x = Instruction.createI32Reg(code, a[0], a[1]);
        break;
      case 'RRI':
        x = Instruction.createRegRegI32(code, a[0], a[1], a[2]);
        break;
      case 'RMI':
        x = Instruction.createRegMemI32(code, a[0], a[1], a[2]);
        break;
      case 'MRR':
        x = Instruction.createMemRegReg(code, a[0], a[1], a[2]);
        break;
      case 'RRR':
        x = Instruction.createRegRegReg(code, a[0], a[1], a[2]);
        break;
      default:
        throw new Error(`no constructor for operands ${k}`);
    }
    return this.push(x);
  }
  /** An immediate-only instruction (INT n, PUSH imm, RET imm16...). */
  imm(code: Code, v: number): this {
    return this.push(Instruction.createI32(code, v));
  }
  /** Raw bytes (for forms iced builds only through special constructors, e.g. REP string instructions). */
  raw(...bytes: number[]): this {
    return this.push(Instruction.createDeclareByte(Uint8Array.from(bytes)));
  }
  br(code: Code, target: bigint): this {
    return this.push(Instruction.createBranch(code, target));
  }
  get length(): number {
    return this.list.length;
  }
  encode(rip: bigint): Uint8Array {
    const b = new BlockEncoder(64, BlockEncoderOptions.None);
    for (const x of this.list) b.add(x);
    const out = b.encode(rip);
    b.free();
    return out;
  }
}

