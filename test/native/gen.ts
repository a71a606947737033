/**
 * Random straight-line instruction sequences for the semantics differential harness, encoded with iced-x86's
 * Encoder from a list of forms named as iced's Code values (`Add_rm32_r32`, `Shl_rm8_CL`...). The operand
 * tokens in each name decide the operands: rmN = a register or [RBX + disp] in the data page, rN a register,
 * immN an immediate, CL/AL/AX/EAX/RAX and 1 fixed. RBX (the data base) and RSP are never written. Counts for
 * shifts, dividends for divisions and RSI/RDI/RCX for string instructions are set up by MOVs in the sequence.
 * iced's flags info gives, per instruction, the flags it leaves undefined (SDM); a flag stays undefined until an
 * instruction defines it, and an instruction that would read an undefined flag is not generated.
 */
import { Code, Encoder, Instruction, MemoryOperand, Register } from 'iced-x86';

export const CODE_VA = 0x10000000n;
export const DATA_VA = 0x20000000n;
export const DATA_SIZE = 1024;

/** xorshift32: a fixed-seed generator (the same cases every run). */
export class Rng {
  constructor(private s: number) {
    if (this.s === 0) this.s = 1;
  }
  u32(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s;
  }
  int(n: number): number {
    return this.u32() % n;
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  u64(): bigint {
    return (BigInt(this.u32()) << 32n) | BigInt(this.u32());
  }
}

const ALU = ['Add', 'Or', 'Adc', 'Sbb', 'And', 'Sub', 'Xor', 'Cmp'];
const SHIFTS = ['Rol', 'Ror', 'Rcl', 'Rcr', 'Shl', 'Shr', 'Sar'];
const CC = ['o', 'no', 'b', 'ae', 'e', 'ne', 'be', 'a', 's', 'ns', 'p', 'np', 'l', 'ge', 'le', 'g'];
const SZ = [8, 16, 32, 64];

function forms(host: Set<string>): string[] {
  const f: string[] = [];
  for (const op of ALU) {
    for (const n of SZ) f.push(`${op}_rm${n}_r${n}`, `${op}_r${n}_rm${n}`, `${op}_rm${n}_imm${n === 64 ? 32 : n}`);
    f.push(`${op}_rm16_imm8`, `${op}_rm32_imm8`, `${op}_rm64_imm8`, `${op}_AL_imm8`, `${op}_EAX_imm32`, `${op}_RAX_imm32`);
  }
  for (const n of SZ) {
    f.push(`Test_rm${n}_r${n}`, `Test_rm${n}_imm${n === 64 ? 32 : n}`, `Inc_rm${n}`, `Dec_rm${n}`, `Neg_rm${n}`, `Not_rm${n}`);
    for (const s of SHIFTS) f.push(`${s}_rm${n}_1`, `${s}_rm${n}_CL`, `${s}_rm${n}_imm8`);
    f.push(`Mul_rm${n}`, `Imul_rm${n}`, `Div_rm${n}`, `Idiv_rm${n}`);
    f.push(`Mov_rm${n}_r${n}`, `Mov_r${n}_rm${n}`, `Xchg_rm${n}_r${n}`, `Xadd_rm${n}_r${n}`, `Cmpxchg_rm${n}_r${n}`);
  }
  for (const n of [16, 32, 64]) {
    f.push(`Shld_rm${n}_r${n}_imm8`, `Shld_rm${n}_r${n}_CL`, `Shrd_rm${n}_r${n}_imm8`, `Shrd_rm${n}_r${n}_CL`);
    f.push(`Imul_r${n}_rm${n}`, `Imul_r${n}_rm${n}_imm8`, `Imul_r${n}_rm${n}_imm${n === 16 ? 16 : 32}`);
    for (const b of ['Bt', 'Bts', 'Btr', 'Btc']) f.push(`${b}_rm${n}_r${n}`, `${b}_rm${n}_imm8`);
    f.push(`Bsf_r${n}_rm${n}`, `Bsr_r${n}_rm${n}`);
    if (host.has('popcnt')) f.push(`Popcnt_r${n}_rm${n}`);
    if (host.has('bmi1')) f.push(`Tzcnt_r${n}_rm${n}`);
    if (host.has('abm')) f.push(`Lzcnt_r${n}_rm${n}`);
    if (host.has('movbe')) f.push(`Movbe_r${n}_m${n}`, `Movbe_m${n}_r${n}`);
    for (const c of CC) f.push(`Cmov${c}_r${n}_rm${n}`);
    f.push(`Lea_r${n}_m`);
  }
  for (const c of CC) f.push(`Set${c}_rm8`);
  if (host.has('adx')) f.push('Adcx_r32_rm32', 'Adcx_r64_rm64', 'Adox_r32_rm32', 'Adox_r64_rm64');
  f.push('Movzx_r16_rm8', 'Movzx_r32_rm8', 'Movzx_r64_rm8', 'Movzx_r32_rm16', 'Movzx_r64_rm16');
  f.push('Movsx_r16_rm8', 'Movsx_r32_rm8', 'Movsx_r64_rm8', 'Movsx_r32_rm16', 'Movsx_r64_rm16', 'Movsxd_r64_rm32');
  f.push('Mov_r8_imm8', 'Mov_r16_imm16', 'Mov_r32_imm32', 'Mov_r64_imm64', 'Mov_rm64_imm32');
  f.push('Bswap_r32', 'Bswap_r64', 'Cbw', 'Cwde', 'Cdqe', 'Cwd', 'Cdq', 'Cqo', 'Clc', 'Stc', 'Cmc', 'Cld', 'Std', 'Lahf', 'Sahf');
  f.push('Push_r64', 'Pop_r64', 'Pop_r64', 'Pushfq', 'Cmpxchg8b_m64', 'Cmpxchg16b_m128', 'Xlat_m8');
  for (let k = 0; k < 8; k++) f.push('STRING');
  return f.filter((n) => n === 'STRING' || typeof (Code as unknown as Record<string, number>)[n] === 'number');
}

const R64 = [Register.RAX, Register.RCX, Register.RDX, Register.RSI, Register.RDI, Register.RBP, Register.R8, Register.R9, Register.R10, Register.R11, Register.R12, Register.R13, Register.R14, Register.R15];
const R32 = [Register.EAX, Register.ECX, Register.EDX, Register.ESI, Register.EDI, Register.EBP, Register.R8D, Register.R9D, Register.R10D, Register.R11D, Register.R12D, Register.R13D, Register.R14D, Register.R15D];
const R16 = [Register.AX, Register.CX, Register.DX, Register.SI, Register.DI, Register.BP, Register.R8W, Register.R9W, Register.R10W, Register.R11W, Register.R12W, Register.R13W, Register.R14W, Register.R15W];
const R8 = [Register.AL, Register.CL, Register.DL, Register.AH, Register.CH, Register.DH, Register.SIL, Register.DIL, Register.BPL, Register.R8L, Register.R9L, Register.R10L, Register.R11L, Register.R12L, Register.R15L];
const REGS: Record<number, Register[]> = { 8: R8, 16: R16, 32: R32, 64: R64 };
const FIXED: Record<string, Register> = { AL: Register.AL, AX: Register.AX, EAX: Register.EAX, RAX: Register.RAX, CL: Register.CL };

/** RflagsBits (iced) -> RFLAGS bit positions. */
export function rflagsOf(bits: number): number {
  let r = 0;
  if (bits & 1) r |= 1 << 11; // OF
  if (bits & 2) r |= 1 << 7; // SF
  if (bits & 4) r |= 1 << 6; // ZF
  if (bits & 8) r |= 1 << 4; // AF
  if (bits & 16) r |= 1 << 0; // CF
  if (bits & 32) r |= 1 << 2; // PF
  if (bits & 64) r |= 1 << 10; // DF
  return r;
}
/** Flags the harness compares: the status flags and DF. */
export const COMPARED_FLAGS = 0x1 | 0x4 | 0x10 | 0x40 | 0x80 | 0x400 | 0x800;

/** An immediate operand (registers are plain Register numbers). */
class Imm {
  constructor(readonly v: number) {}
}

const COUNTS = [0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 255];

function interesting(r: Rng): bigint {
  switch (r.int(10)) {
    case 0: return 0n;
    case 1: return 1n;
    case 2: return (1n << 64n) - 1n;
    case 3: return BigInt(r.pick([0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff]));
    case 4: return 0x8000000000000000n + BigInt(r.int(3)) - 1n;
    case 5: return BigInt(r.int(100));
    default: return r.u64();
  }
}

export interface Case {
  regs: bigint[]; // 16 GPRs then RFLAGS
  code: Uint8Array;
  data: Uint8Array;
  /** Flags undefined before each instruction and (last) at the end (RFLAGS bit positions). */
  undefAt: number[];
  /** Address of each instruction (to find which one a fault stopped at). */
  starts: bigint[];
  /** Known interpreter bugs this case would hit (the test skips such cases and says so). */
  knownBugs: string[];
  /** The sequence, for messages. */
  text: string[];
}

/** Generate cases from a fixed seed; `host` is the set of CPU feature names of the host (from /proc/cpuinfo). */
export function generate(seed: number, count: number, host: Set<string>, maxLen = 6): Case[] {
  const r = new Rng(seed);
  const list = forms(host);
  const enc = new Encoder(64);
  const cases: Case[] = [];
  while (cases.length < count) {
    const insns: Instruction[] = [];
    let undef = 0;
    let pushes = 0;
    const undefAt: number[] = [];
    const bugs: string[] = [];
    const emit = (i: Instruction, o: { flagsUnchanged?: boolean; extraUndef?: number } = {}): boolean => {
      enc.encode(i, CODE_VA); // throws on operand combinations that cannot be encoded (AH with REX)
      enc.takeBuffer();
      const read = rflagsOf(i.rflagsRead);
      if (read & undef) return false;
      undefAt.push(undef);
      if (!o.flagsUnchanged) {
        const def = rflagsOf(i.rflagsWritten | i.rflagsCleared | i.rflagsSet);
        undef = (undef & ~def) | rflagsOf(i.rflagsUndefined) | (o.extraUndef ?? 0);
      }
      insns.push(i);
      return true;
    };
    const mem = (): MemoryOperand => {
      const d = r.int(0x2f8);
      return new MemoryOperand(Register.RBX, Register.None, 1, BigInt(d), d === 0 ? 0 : d < 0x80 ? 1 : 8, false, Register.None);
    };
    const n = 1 + r.int(maxLen);
    for (let k = 0; k < n; k++) {
      for (let attempt = 0; attempt < 20; attempt++) {
        const name = r.pick(list);
        const before = insns.length;
        const undefBefore = undef;
        const bugsBefore = bugs.length;
        let ok: boolean;
        try {
          ok = build(name);
        } catch {
          ok = false; // an operand combination the encoder refuses (AH with REX): pick again
        }
        if (ok) break;
        insns.length = before;
        undefAt.length = before;
        bugs.length = bugsBefore;
        undef = undefBefore;
      }
    }
    function build(name: string): boolean {
      if (name === 'STRING') return buildString();
      if (name === 'Push_r64' || name === 'Pushfq') {
        if (pushes >= 8) return false;
        pushes++;
        return emit(name === 'Pushfq' ? Instruction.create(Code.Pushfq) : Instruction.createReg(Code.Push_r64, r.pick([...R64, Register.RBX])));
      }
      if (name === 'Pop_r64') {
        if (pushes <= 0) return false;
        pushes--;
        return emit(Instruction.createReg(Code.Pop_r64, r.pick(R64)));
      }
      if (name === 'Xlat_m8') return emit(Instruction.createMem(Code.Xlat_m8, new MemoryOperand(Register.RBX, Register.AL, 1, 0n, 0, false, Register.None)));
      if (name === 'Cmpxchg16b_m128') {
        const d = r.int(0x2f) * 16; // 16-byte aligned, or #GP
        return emit(Instruction.createMem(Code.Cmpxchg16b_m128, new MemoryOperand(Register.RBX, Register.None, 1, BigInt(d), d === 0 ? 0 : d < 0x80 ? 1 : 8, false, Register.None)));
      }
      const code = (Code as unknown as Record<string, number>)[name]!;
      const toks = name.split('_').slice(1);
      const mnem = name.split('_')[0]!;
      const ops: (Register | MemoryOperand | Imm | bigint)[] = [];
      let memUsed = false;
      for (const [i, t] of toks.entries()) {
        let m: RegExpExecArray | null;
        if (t in FIXED) ops.push(FIXED[t]!);
        else if (t === '1') ops.push(new Imm(1));
        else if ((m = /^rm(\d+)$/.exec(t))) {
          // BT* with a register bit offset on memory would address beyond the page: register forms only
          const regOnly = /^Bt/.test(mnem) && toks[1]?.startsWith('r') && !toks[1].startsWith('rm');
          if (!regOnly && !memUsed && r.int(3) === 0) {
            ops.push(mem());
            memUsed = true;
          } else ops.push(r.pick(REGS[+m[1]!]!));
        } else if ((m = /^r(\d+)$/.exec(t))) ops.push(r.pick(REGS[+m[1]!]!));
        else if (/^m\d*$/.test(t)) ops.push(mem());
        else if ((m = /^imm(\d+)$/.exec(t))) {
          const bits = +m[1]!;
            const shiftish = /^(Rol|Ror|Rcl|Rcr|Shl|Shr|Sar|Shld|Shrd)$/.test(mnem);
          if (shiftish) ops.push(new Imm(r.pick(COUNTS)));
          else if (bits === 64) ops.push(interesting(r));
          else if (/^Bt/.test(mnem)) ops.push(new Imm(r.int(256)));
          else {
            const v = Number(BigInt.asIntN(bits, interesting(r)));
            ops.push(new Imm(bits === 8 ? (v << 24) >> 24 : bits === 16 ? (v << 16) >> 16 : v | 0));
          }
        } else throw new Error(`bad token ${t} in ${name}`);
        void i;
      }
      // set-up instructions that make the interesting cases likely
      // shifts and rotates: the count is always known (an immediate, or CL set just before), so the flags
      // rules that depend on it apply (SDM Vol. 2B SAL/SAR/SHL/SHR, RCL/RCR/ROL/ROR, SHLD, SHRD)
      let shiftOpts: { flagsUnchanged?: boolean; extraUndef?: number } = {};
      if (/^(Rol|Ror|Rcl|Rcr|Shl|Shr|Sar|Shld|Shrd)$/.test(mnem)) {
        const size = +/\d+/.exec(toks[0]!)![0];
        let count: number;
        if (toks.includes('CL')) {
          count = r.pick(COUNTS);
          emit(Instruction.createRegI32(Code.Mov_r32_imm32, Register.ECX, count));
        } else if (toks.includes('1')) count = 1;
        else count = (ops.find((o) => o instanceof Imm) as Imm).v;
        const masked = count & (size === 64 ? 63 : 31);
        if ((mnem === 'Shld' || mnem === 'Shrd') && size === 16 && masked > 16) return false; // result undefined (SDM)
        if (masked === 0) {
          shiftOpts = { flagsUnchanged: true };
        } else if ((mnem === 'Shl' || mnem === 'Shr') && size < 32 && masked >= size) shiftOpts = { extraUndef: 1 }; // CF undefined
      }
      if ((mnem === 'Div' || mnem === 'Idiv') && r.int(3) !== 0) {
        const sz = +toks[0]!.slice(2);
        if (sz === 8) emit(Instruction.createRegI32(Code.Mov_r32_imm32, Register.EAX, r.int(0x10000)));
        else if (mnem === 'Div') emit(Instruction.createRegReg(Code.Xor_r32_rm32, Register.EDX, Register.EDX));
        else emit(Instruction.create(sz === 64 ? Code.Cqo : sz === 32 ? Code.Cdq : Code.Cwd));
      }
      const kinds = ops.map((o) => (o instanceof MemoryOperand ? 'M' : typeof o === 'bigint' ? 'Q' : o instanceof Imm ? 'I' : 'R')).join('');
      const a = ops.map((o) => (o instanceof Imm ? o.v : o)) as never[];
      let ins: Instruction;
      switch (kinds) {
        case '': ins = Instruction.create(code); break;
        case 'R': ins = Instruction.createReg(code, a[0]); break;
        case 'M': ins = Instruction.createMem(code, a[0]); break;
        case 'RR': ins = Instruction.createRegReg(code, a[0], a[1]); break;
        case 'RM': ins = Instruction.createRegMem(code, a[0], a[1]); break;
        case 'MR': ins = Instruction.createMemReg(code, a[0], a[1]); break;
        case 'RI': ins = Instruction.createRegI32(code, a[0], a[1]); break;
        case 'MI': ins = Instruction.createMemI32(code, a[0], a[1]); break;
        case 'RQ': ins = Instruction.createRegU64(code, a[0], a[1]); break;
        case 'RRI': ins = Instruction.createRegRegI32(code, a[0], a[1], a[2]); break;
        case 'RMI': ins = Instruction.createRegMemI32(code, a[0], a[1], a[2]); break;
        case 'MRI': ins = Instruction.createMemRegI32(code, a[0], a[1], a[2]); break;
        case 'RRR': ins = Instruction.createRegRegReg(code, a[0], a[1], a[2]); break;
        case 'MRR': ins = Instruction.createMemRegReg(code, a[0], a[1], a[2]); break;
        default: throw new Error(`no constructor for ${name} (${kinds})`);
      }
      // never write RBX/RSP (data base, stack) or through a register into RBX's bytes
      const written = [ins.op0Kind === 0 ? ins.op0Register : Register.None];
      if (mnem === 'Xchg' || mnem === 'Xadd') written.push(ins.op1Register);
      if (written.some((w) => [Register.RBX, Register.EBX, Register.BX, Register.BL, Register.BH, Register.RSP, Register.ESP, Register.SP, Register.SPL].includes(w))) return false;
      const lockable = /^(Add|Or|Adc|Sbb|And|Sub|Xor|Inc|Dec|Neg|Not|Bts|Btr|Btc|Xadd|Cmpxchg|Cmpxchg8b|Xchg)$/.test(mnem);
      if (lockable && ops[0] instanceof MemoryOperand && r.int(3) === 0) ins.hasLockPrefix = true;
      return emit(ins, shiftOpts);
    }
    function buildString(): boolean {
      const size = r.pick(['b', 'w', 'd', 'q']);
      const kind = r.pick(['Movs', 'Stos', 'Lods', 'Cmps', 'Scas']);
      const rep = kind === 'Cmps' || kind === 'Scas' ? r.pick(['', 'Repe', 'Repne']) : kind === 'Lods' ? r.pick(['', 'Rep']) : r.pick(['', 'Rep']);
      const ctor = (Instruction as unknown as Record<string, (a: number) => Instruction>)[`create${rep}${kind}${size}`];
      if (ctor === undefined) return false;
      emit(Instruction.createRegI32(Code.Mov_r32_imm32, Register.ESI, Number(DATA_VA) + 0x100 + r.int(0x1c0)));
      emit(Instruction.createRegI32(Code.Mov_r32_imm32, Register.EDI, Number(DATA_VA) + 0x100 + r.int(0x1c0)));
      const count = r.int(13);
      emit(Instruction.createRegI32(Code.Mov_r32_imm32, Register.ECX, count));
      if (r.int(3) === 0) emit(Instruction.create(r.int(2) ? Code.Std : Code.Cld));
      // a REP prefix with RCX = 0 runs no iteration: the flags stay as they were
      return emit(ctor(64), { flagsUnchanged: rep !== '' && count === 0 });
    }
    // encode
    const bytes: number[] = [];
    let rip = CODE_VA;
    for (const i of insns) {
      const len = enc.encode(i, rip);
      bytes.push(...enc.takeBuffer());
      rip += BigInt(len);
    }
    undefAt.push(undef);
    const starts: bigint[] = [];
    {
      let a = CODE_VA;
      for (const i of insns) {
        starts.push(a);
        a += BigInt(enc.encode(i, a));
        enc.takeBuffer();
      }
    }
    const regs: bigint[] = [];
    for (let k = 0; k < 16; k++) regs.push(interesting(r));
    regs[3] = DATA_VA; // RBX: data base
    regs[4] = DATA_VA + 0x3f0n; // RSP: a stack at the top of the data page
    let flags = 0x202;
    for (const b of [0, 2, 4, 6, 7, 11]) if (r.int(2)) flags |= 1 << b;
    regs.push(BigInt(flags));
    const data = new Uint8Array(DATA_SIZE);
    for (let k = 0; k < DATA_SIZE; k++) data[k] = r.int(256);
    cases.push({ regs, code: new Uint8Array(bytes), data, undefAt, starts, knownBugs: [...new Set(bugs)], text: insns.map((i) => i.toString()) });
  }
  return cases;
}
