/**
 * The opcode table in SDM notation (Vol. 2D Appendix A: Eb/Ev ModRM r/m, Gb/Gv ModRM.reg, Ib/Iw/Iz/Iv
 * immediates, Jb/Jz relative branches, Ob/Ov moffs, Zb/Zv register in the opcode's low 3 bits, M memory only,
 * R/C control register forms). One row per form: opcode (with mandatory prefix, map, /digit or exact ModRM,
 * m = memory only, r = register only), mnemonic, operands, handler, flags (checks as data), sub-operation.
 *
 * Departures from the SDM, all deliberate: x87, SSE/AVX (VEX/EVEX), far transfers, segment-register moves,
 * string I/O, IRET/SYSRET without REX.W (compatibility-mode returns) are not implemented and raise #UD. The
 * 0F 0D and 0F 18..1F hint/NOP space decodes as NOP Ev whatever the prefixes.
 */

import type { Handler } from './insn.js';
import { CL_ALU, CL_BY_HANDLER, CL_FENCE, CL_MUL, CL_PAUSE, CL_SERIAL } from '../exec/cost.js';
import { adcxAdox, aluAI, aluEG, aluEI, aluGE, cmpxchg, cmpxchg8b, incDecE, negE, notE, testEG, testEI, xadd } from '../exec/arith.js';
import { shiftDouble, shiftECL, shiftEI } from '../exec/shift.js';
import { divE, idivE, imulE, imulGE, mulE } from '../exec/muldiv.js';
import { bswap, cbw, cmovcc, cwd, lea, movbe, movEG, movEI, movGE, movMoffs, movsx, movzx, movZI, setcc, xchg, xlat } from '../exec/move.js';
import { bitScan, btEG, btEI } from '../exec/bits.js';
import { enter, leave, popE, popf, popZ, pushE, pushf, pushI, pushZ } from '../exec/stack.js';
import { call, callE, jcc, jmp, jmpE, loop, ret } from '../exec/control.js';
import { stringOp } from '../exec/string.js';
import * as sys from '../exec/system.js';
import * as misc from '../exec/misc.js';

// Row flags
export const F_B = 1; // byte operation (operand size 1)
export const F_D64 = 2; // operand size 64 by default in 64-bit mode (66 gives 16)
export const F_F64 = 4; // operand size forced to 64
export const F_LOCK = 8; // LOCK allowed (with a memory destination)
export const F_REGONLY = 16; // ModRM.mod is ignored: always a register (MOV CR)
export const F_W16 = 32; // operand size 16 whatever the prefixes
export const F_ACC = 64; // the r/m operand is the accumulator (A8, A9: TEST AL/eAX, imm)
export const F_ONE = 128; // immediate 1 (shift by one)
export const F_Z32 = 256; // operand size 16 or 32, never 64 (IN/OUT eAX)
export const F_Y = 512; // operand size 32 or 64 (REX.W), never 16 (SDM 'y' operands)

export const PF_ANY = 0;
export const PF_NONE = 1; // no F2/F3 (66 allowed as operand size)
export const PF_STRICT = 2; // no 66, F2 or F3

// Immediate kinds
export const IMM_NONE = 0;
export const IMM_B = 1; // 8 bits, sign-extended
export const IMM_W = 2; // 16 bits, zero-extended
export const IMM_Z = 3; // 16 (66) or 32 bits, sign-extended
export const IMM_V = 4; // operand size (64 with REX.W: MOVABS)
export const IMM_O = 5; // moffs: address size
export const IMM_WB = 6; // Iw then Ib (ENTER)

export interface OpRow {
  /** map << 8 | opcode (map 0 one-byte, 1 = 0F, 2 = 0F 38). */
  key: number;
  ext: number;
  modrmExact: number;
  /** 0 any, 1 memory only, 2 register only. */
  mod: 0 | 1 | 2;
  pfx: number;
  mn: string;
  spec: string;
  fn: Handler;
  flags: number;
  cc: number;
  aux: number;
  cls: number;
  modrm: boolean;
  imm: number;
  byteRm: boolean;
  byteReg: boolean;
  /** Register number in the opcode's low bits (Zb/Zv rows), or -1. */
  zreg: number;
}

export const ROWS: OpRow[] = [];

interface Opts {
  f?: number;
  cc?: number;
  aux?: number;
  cls?: number;
}

/**
 * Add rows. `opc`: "[NP|66|F3|F2] [0F [38]] XX[+r|+cc] [/n|!XX] [m|r]".
 */
function def(opc: string, mn: string, spec: string, fn: Handler, o: Opts = {}): void {
  const t = opc.split(' ');
  let pfx = PF_ANY;
  if (t[0] === 'NP') pfx = PF_NONE;
  else if (t[0] === 'NP!') pfx = PF_STRICT;
  else if (t[0] === '66' || t[0] === 'F3' || t[0] === 'F2') pfx = parseInt(t[0], 16);
  if (pfx !== PF_ANY) t.shift();
  let map = 0;
  if (t[0] === '0F') {
    map = 1;
    t.shift();
    if ((t[0] as string) === '38') {
      map = 2;
      t.shift();
    }
  }
  let mod: 0 | 1 | 2 = 0;
  if (t[t.length - 1] === 'm') mod = 1;
  else if (t[t.length - 1] === 'r') mod = 2;
  if (mod !== 0) t.pop();
  let opTok = t[0];
  let ext = -1;
  let modrmExact = -1;
  if (t.length > 1) {
    if (t[1].startsWith('!')) modrmExact = parseInt(t[1].slice(1), 16);
    else throw new Error(`bad opcode ${opc}`);
  }
  const slash = opTok.indexOf('/');
  if (slash >= 0) {
    ext = parseInt(opTok.slice(slash + 1), 10);
    opTok = opTok.slice(0, slash);
  }
  let count = 1;
  let plusCc = false;
  if (opTok.endsWith('+r')) {
    count = 8;
    opTok = opTok.slice(0, -2);
  } else if (opTok.endsWith('+cc')) {
    count = 16;
    plusCc = true;
    opTok = opTok.slice(0, -3);
  }
  const base = parseInt(opTok, 16);
  const ops = spec === '' ? [] : spec.split(',');
  const flags = o.f ?? 0;
  const modrm = modrmExact >= 0 || ext >= 0 || ops.some((x) => /^[EGMRC]/.test(x));
  let imm = IMM_NONE;
  if (ops.includes('Iw') && ops.includes('Ib')) imm = IMM_WB;
  else if (ops.some((x) => x === 'Ib' || x === 'Jb')) imm = IMM_B;
  else if (ops.includes('Iw')) imm = IMM_W;
  else if (ops.some((x) => x === 'Iz' || x === 'Jz')) imm = IMM_Z;
  else if (ops.includes('Iv')) imm = IMM_V;
  else if (ops.some((x) => x === 'Ob' || x === 'Ov')) imm = IMM_O;
  for (let i = 0; i < count; i++) {
    ROWS.push({
      key: (map << 8) | (base + i),
      ext,
      modrmExact,
      mod,
      pfx,
      mn: plusCc ? mn.replace('cc', CC_NAMES[i]) : mn,
      spec,
      fn,
      flags,
      cc: plusCc ? i : (o.cc ?? 0),
      aux: o.aux ?? 0,
      cls: o.cls ?? CL_ALU,
      modrm,
      imm,
      byteRm: ops.includes('Eb'),
      byteReg: ops.includes('Gb') || ops.includes('Zb'),
      zreg: count === 8 ? i : -1,
    });
  }
}

export const CC_NAMES = ['O', 'NO', 'B', 'AE', 'E', 'NE', 'BE', 'A', 'S', 'NS', 'P', 'NP', 'L', 'GE', 'LE', 'G'];
const ALU = ['ADD', 'OR', 'ADC', 'SBB', 'AND', 'SUB', 'XOR', 'CMP'];
const SHIFT = ['ROL', 'ROR', 'RCL', 'RCR', 'SHL', 'SHR', 'SAL', 'SAR'];
const B = F_B;
const L = F_LOCK;
const H = CL_BY_HANDLER;

// ---- one-byte map -------------------------------------------------------------------------------------------
for (let i = 0; i < 8; i++) {
  const lk = i === 7 ? 0 : L;
  const x = (n: number) => (i * 8 + n).toString(16).padStart(2, '0');
  def(x(0), ALU[i], 'Eb,Gb', aluEG, { f: B | lk, cc: i });
  def(x(1), ALU[i], 'Ev,Gv', aluEG, { f: lk, cc: i });
  def(x(2), ALU[i], 'Gb,Eb', aluGE, { f: B, cc: i });
  def(x(3), ALU[i], 'Gv,Ev', aluGE, { cc: i });
  def(x(4), ALU[i], 'AL,Ib', aluAI, { f: B, cc: i });
  def(x(5), ALU[i], 'rAX,Iz', aluAI, { cc: i });
  def(`80/${i}`, ALU[i], 'Eb,Ib', aluEI, { f: B | lk, cc: i });
  def(`81/${i}`, ALU[i], 'Ev,Iz', aluEI, { f: lk, cc: i });
  def(`83/${i}`, ALU[i], 'Ev,Ib', aluEI, { f: lk, cc: i });
  if (i !== 6) {
    def(`C0/${i}`, SHIFT[i], 'Eb,Ib', shiftEI, { f: B });
    def(`C1/${i}`, SHIFT[i], 'Ev,Ib', shiftEI);
    def(`D0/${i}`, SHIFT[i], 'Eb,1', shiftEI, { f: B | F_ONE });
    def(`D1/${i}`, SHIFT[i], 'Ev,1', shiftEI, { f: F_ONE });
    def(`D2/${i}`, SHIFT[i], 'Eb,CL', shiftECL, { f: B });
    def(`D3/${i}`, SHIFT[i], 'Ev,CL', shiftECL);
  }
}
def('63', 'MOVSXD', 'Gv,Ed', movsx, { cc: 4 });
def('50+r', 'PUSH', 'Zv', pushZ, { f: F_D64 });
def('58+r', 'POP', 'Zv', popZ, { f: F_D64 });
def('68', 'PUSH', 'Iz', pushI, { f: F_D64 });
def('69', 'IMUL', 'Gv,Ev,Iz', imulGE, { aux: 1, cls: CL_MUL });
def('6A', 'PUSH', 'Ib', pushI, { f: F_D64 });
def('6B', 'IMUL', 'Gv,Ev,Ib', imulGE, { aux: 1, cls: CL_MUL });
def('70+cc', 'Jcc', 'Jb', jcc, { f: F_F64, cls: H });
def('84', 'TEST', 'Eb,Gb', testEG, { f: B });
def('85', 'TEST', 'Ev,Gv', testEG);
def('86', 'XCHG', 'Eb,Gb', xchg, { f: B | L });
def('87', 'XCHG', 'Ev,Gv', xchg, { f: L });
def('88', 'MOV', 'Eb,Gb', movEG, { f: B });
def('89', 'MOV', 'Ev,Gv', movEG);
def('8A', 'MOV', 'Gb,Eb', movGE, { f: B });
def('8B', 'MOV', 'Gv,Ev', movGE);
def('8D m', 'LEA', 'Gv,M', lea);
def('8F/0', 'POP', 'Ev', popE, { f: F_D64 });
def('F3 90', 'PAUSE', '', misc.nop, { cls: CL_PAUSE });
def('90+r', 'XCHG', 'Zv,rAX', misc.xchgZA);
def('98', 'CBW', '', cbw);
def('99', 'CWD', '', cwd);
def('9C', 'PUSHF', '', pushf, { f: F_D64 });
def('9D', 'POPF', '', popf, { f: F_D64 });
def('9E', 'SAHF', '', misc.sahf);
def('9F', 'LAHF', '', misc.lahf);
def('A0', 'MOV', 'AL,Ob', movMoffs, { f: B, cc: 0 });
def('A1', 'MOV', 'rAX,Ov', movMoffs, { cc: 0 });
def('A2', 'MOV', 'Ob,AL', movMoffs, { f: B, cc: 1 });
def('A3', 'MOV', 'Ov,rAX', movMoffs, { cc: 1 });
const STR = ['MOVS', 'CMPS', 'STOS', 'LODS', 'SCAS'];
const STR_OP = [0xa4, 0xa6, 0xaa, 0xac, 0xae];
for (let i = 0; i < 5; i++) {
  def(STR_OP[i].toString(16), STR[i] + 'B', '', stringOp, { f: B, cc: i, cls: H });
  def((STR_OP[i] + 1).toString(16), STR[i], '', stringOp, { cc: i, cls: H });
}
def('A8', 'TEST', 'AL,Ib', testEI, { f: B | F_ACC });
def('A9', 'TEST', 'rAX,Iz', testEI, { f: F_ACC });
def('B0+r', 'MOV', 'Zb,Ib', movZI, { f: B });
def('B8+r', 'MOV', 'Zv,Iv', movZI);
def('C2', 'RET', 'Iw', ret, { f: F_F64, cls: H });
def('C3', 'RET', '', ret, { f: F_F64, cls: H });
def('C6/0', 'MOV', 'Eb,Ib', movEI, { f: B });
def('C7/0', 'MOV', 'Ev,Iz', movEI);
def('C8', 'ENTER', 'Iw,Ib', enter, { f: F_D64 });
def('C9', 'LEAVE', '', leave, { f: F_D64 });
def('CC', 'INT3', '', sys.int3, { cls: H });
def('CD', 'INT', 'Ib', sys.intN, { cls: H });
def('CF', 'IRET', '', sys.iret, { cls: H });
def('D7', 'XLAT', '', xlat, { f: B });
def('E0', 'LOOPNE', 'Jb', loop, { f: F_F64, cc: 0, cls: H });
def('E1', 'LOOPE', 'Jb', loop, { f: F_F64, cc: 1, cls: H });
def('E2', 'LOOP', 'Jb', loop, { f: F_F64, cc: 2, cls: H });
def('E3', 'JRCXZ', 'Jb', loop, { f: F_F64, cc: 3, cls: H });
def('E4', 'IN', 'AL,Ib', sys.inPort, { f: B, cls: H });
def('E5', 'IN', 'eAX,Ib', sys.inPort, { f: F_Z32, cls: H });
def('E6', 'OUT', 'Ib,AL', sys.outPort, { f: B, cls: H });
def('E7', 'OUT', 'Ib,eAX', sys.outPort, { f: F_Z32, cls: H });
def('E8', 'CALL', 'Jz', call, { f: F_F64, cls: H });
def('E9', 'JMP', 'Jz', jmp, { f: F_F64, cls: H });
def('EB', 'JMP', 'Jb', jmp, { f: F_F64, cls: H });
def('EC', 'IN', 'AL,DX', sys.inPort, { f: B, cc: 1, cls: H });
def('ED', 'IN', 'eAX,DX', sys.inPort, { f: F_Z32, cc: 1, cls: H });
def('EE', 'OUT', 'DX,AL', sys.outPort, { f: B, cc: 1, cls: H });
def('EF', 'OUT', 'DX,eAX', sys.outPort, { f: F_Z32, cc: 1, cls: H });
def('F1', 'INT1', '', sys.int1, { cls: H });
def('F4', 'HLT', '', sys.hlt, { cls: H });
def('F5', 'CMC', '', misc.cmc);
for (const [e, f] of [[0, B], [1, B]]) def(`F6/${e}`, 'TEST', 'Eb,Ib', testEI, { f });
def('F6/2', 'NOT', 'Eb', notE, { f: B | L });
def('F6/3', 'NEG', 'Eb', negE, { f: B | L });
def('F6/4', 'MUL', 'Eb', mulE, { f: B, cls: CL_MUL });
def('F6/5', 'IMUL', 'Eb', imulE, { f: B, cls: CL_MUL });
def('F6/6', 'DIV', 'Eb', divE, { f: B, cls: H });
def('F6/7', 'IDIV', 'Eb', idivE, { f: B, cls: H });
def('F7/0', 'TEST', 'Ev,Iz', testEI);
def('F7/1', 'TEST', 'Ev,Iz', testEI);
def('F7/2', 'NOT', 'Ev', notE, { f: L });
def('F7/3', 'NEG', 'Ev', negE, { f: L });
def('F7/4', 'MUL', 'Ev', mulE, { cls: CL_MUL });
def('F7/5', 'IMUL', 'Ev', imulE, { cls: CL_MUL });
def('F7/6', 'DIV', 'Ev', divE, { cls: H });
def('F7/7', 'IDIV', 'Ev', idivE, { cls: H });
def('F8', 'CLC', '', misc.clc);
def('F9', 'STC', '', misc.stc);
def('FA', 'CLI', '', sys.cli);
def('FB', 'STI', '', sys.sti);
def('FC', 'CLD', '', misc.cld);
def('FD', 'STD', '', misc.std);
def('FE/0', 'INC', 'Eb', incDecE, { f: B | L, cc: 0 });
def('FE/1', 'DEC', 'Eb', incDecE, { f: B | L, cc: 1 });
def('FF/0', 'INC', 'Ev', incDecE, { f: L, cc: 0 });
def('FF/1', 'DEC', 'Ev', incDecE, { f: L, cc: 1 });
def('FF/2', 'CALL', 'Ev', callE, { f: F_F64, cls: H });
def('FF/4', 'JMP', 'Ev', jmpE, { f: F_F64, cls: H });
def('FF/6', 'PUSH', 'Ev', pushE, { f: F_D64 });

// ---- two-byte map (0F) ------------------------------------------------------------------------------------------
def('0F 00/3', 'LTR', 'Ev', sys.ltr, { cls: CL_SERIAL }); // reads 16 bits (r32/m16 in the SDM)
def('0F 01/0 m', 'SGDT', 'M', sys.sgdt, { cc: 0 });
def('0F 01/1 m', 'SIDT', 'M', sys.sgdt, { cc: 1 });
def('0F 01/2 m', 'LGDT', 'M', sys.lgdt, { cc: 0, cls: CL_SERIAL });
def('0F 01/3 m', 'LIDT', 'M', sys.lgdt, { cc: 1, cls: CL_SERIAL });
def('0F 01/7 m', 'INVLPG', 'M', sys.invlpg, { cls: H });
def('NP! 0F 01 !CA', 'CLAC', '', sys.stacClac, { cc: 0 });
def('NP! 0F 01 !CB', 'STAC', '', sys.stacClac, { cc: 1 });
def('NP! 0F 01 !EE', 'RDPKRU', '', sys.rdpkru, { cls: H });
def('NP! 0F 01 !EF', 'WRPKRU', '', sys.wrpkru, { cls: H });
def('NP! 0F 01 !F8', 'SWAPGS', '', sys.swapgs, { cls: H });
def('NP! 0F 01 !F9', 'RDTSCP', '', sys.rdtsc, { cc: 1, cls: H });
def('0F 05', 'SYSCALL', '', sys.syscall, { cls: H });
def('0F 07', 'SYSRET', '', sys.sysret, { cls: H });
def('0F 08', 'INVD', '', sys.privNop, { cls: CL_SERIAL });
def('F3 0F 09', 'WBNOINVD', '', sys.privNop, { cls: CL_SERIAL });
def('0F 09', 'WBINVD', '', sys.privNop, { cls: CL_SERIAL });
def('0F 0B', 'UD2', '', misc.ud);
def('0F 0D', 'NOP', 'Ev', misc.nop);
for (let op = 0x18; op <= 0x1f; op++) def(`0F ${op.toString(16)}`, 'NOP', 'Ev', misc.nop);
def('0F 20', 'MOV', 'Rq,Cq', sys.movFromCr, { f: F_F64 | F_REGONLY });
def('0F 22', 'MOV', 'Cq,Rq', sys.movToCr, { f: F_F64 | F_REGONLY, cls: CL_SERIAL });
def('0F 30', 'WRMSR', '', sys.wrmsr, { cls: H });
def('0F 31', 'RDTSC', '', sys.rdtsc, { cc: 0, cls: H });
def('0F 32', 'RDMSR', '', sys.rdmsr, { cls: H });
def('0F 40+cc', 'CMOVcc', 'Gv,Ev', cmovcc);
def('0F 80+cc', 'Jcc', 'Jz', jcc, { f: F_F64, cls: H });
def('0F 90+cc', 'SETcc', 'Eb', setcc, { f: B });
def('0F A2', 'CPUID', '', sys.cpuid, { cls: CL_SERIAL });
def('0F A3', 'BT', 'Ev,Gv', btEG, { cc: 0 });
def('0F A4', 'SHLD', 'Ev,Gv,Ib', shiftDouble, { cc: 0 });
def('0F A5', 'SHLD', 'Ev,Gv,CL', shiftDouble, { cc: 0, aux: 1 });
def('0F AB', 'BTS', 'Ev,Gv', btEG, { f: L, cc: 1 });
def('0F AC', 'SHRD', 'Ev,Gv,Ib', shiftDouble, { cc: 1 });
def('0F AD', 'SHRD', 'Ev,Gv,CL', shiftDouble, { cc: 1, aux: 1 });
def('F3 0F AE/0 r', 'RDFSBASE', 'Ry', sys.fsgsbase, { f: F_Y, cc: 0 });
def('F3 0F AE/1 r', 'RDGSBASE', 'Ry', sys.fsgsbase, { f: F_Y, cc: 1 });
def('F3 0F AE/2 r', 'WRFSBASE', 'Ry', sys.fsgsbase, { f: F_Y, cc: 2 });
def('F3 0F AE/3 r', 'WRGSBASE', 'Ry', sys.fsgsbase, { f: F_Y, cc: 3 });
def('NP! 0F AE/5 r', 'LFENCE', '', misc.nop, { cls: CL_FENCE });
def('NP! 0F AE/6 r', 'MFENCE', '', misc.nop, { cls: CL_FENCE });
def('NP! 0F AE/7 r', 'SFENCE', '', misc.nop, { cls: CL_FENCE });
def('NP 0F AE/7 m', 'CLFLUSH', 'Mb', misc.nop, { cls: CL_FENCE });
def('0F AF', 'IMUL', 'Gv,Ev', imulGE, { cls: CL_MUL });
def('0F B0', 'CMPXCHG', 'Eb,Gb', cmpxchg, { f: B | L });
def('0F B1', 'CMPXCHG', 'Ev,Gv', cmpxchg, { f: L });
def('0F B3', 'BTR', 'Ev,Gv', btEG, { f: L, cc: 2 });
def('0F B6', 'MOVZX', 'Gv,Eb', movzx, { cc: 1 });
def('0F B7', 'MOVZX', 'Gv,Ew', movzx, { cc: 2 });
def('F3 0F B8', 'POPCNT', 'Gv,Ev', bitScan, { cc: 4 });
def('0F BA/4', 'BT', 'Ev,Ib', btEI, { cc: 0 });
def('0F BA/5', 'BTS', 'Ev,Ib', btEI, { f: L, cc: 1 });
def('0F BA/6', 'BTR', 'Ev,Ib', btEI, { f: L, cc: 2 });
def('0F BA/7', 'BTC', 'Ev,Ib', btEI, { f: L, cc: 3 });
def('0F BB', 'BTC', 'Ev,Gv', btEG, { f: L, cc: 3 });
def('F3 0F BC', 'TZCNT', 'Gv,Ev', bitScan, { cc: 2 });
def('0F BC', 'BSF', 'Gv,Ev', bitScan, { cc: 0 });
def('F3 0F BD', 'LZCNT', 'Gv,Ev', bitScan, { cc: 3 });
def('0F BD', 'BSR', 'Gv,Ev', bitScan, { cc: 1 });
def('0F BE', 'MOVSX', 'Gv,Eb', movsx, { cc: 1 });
def('0F BF', 'MOVSX', 'Gv,Ew', movsx, { cc: 2 });
def('0F C0', 'XADD', 'Eb,Gb', xadd, { f: B | L });
def('0F C1', 'XADD', 'Ev,Gv', xadd, { f: L });
def('0F C7/1 m', 'CMPXCHG8B', 'Mq', cmpxchg8b, { f: L });
def('0F C8+r', 'BSWAP', 'Zv', bswap);

// ---- three-byte map (0F 38) ---------------------------------------------------------------------------------------
def('NP 0F 38 F0 m', 'MOVBE', 'Gv,Mv', movbe, { cc: 0 });
def('NP 0F 38 F1 m', 'MOVBE', 'Mv,Gv', movbe, { cc: 1 });
def('66 0F 38 F6', 'ADCX', 'Gy,Ey', adcxAdox, { f: F_Y, cc: 0 });
def('F3 0F 38 F6', 'ADOX', 'Gy,Ey', adcxAdox, { f: F_Y, cc: 1 });
def('66 0F 38 82 m', 'INVPCID', 'Gq,M', sys.invpcid, { f: F_F64, cls: H });

/** Rows by key, in table order (the first row that matches wins). */
export const BY_KEY: OpRow[][] = [];
for (let k = 0; k < 3 * 256; k++) BY_KEY.push([]);
ROWS.forEach((r) => BY_KEY[r.key].push(r));
