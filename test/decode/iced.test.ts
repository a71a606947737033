/**
 * Differential test of the decoder against iced-x86's Decoder (an independent decoder): for byte strings
 * built around every opcode of pksim's table (random prefixes, REX, ModRM, SIB, displacements, immediates)
 * and for fully random byte strings, pksim must either raise #UD/#GP or decode the same instruction: same
 * length, same mnemonic, same operands (registers, memory base/index/scale/displacement, immediates, branch
 * targets). Seeds are fixed.
 */

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Code, Decoder, DecoderOptions, Mnemonic, OpKind, Register } from 'iced-x86';
import { decode, DEC_OK } from '../../src/cpu/decode/decoder.js';
import { Insn } from '../../src/cpu/decode/insn.js';
import { ROWS, type OpRow } from '../../src/cpu/decode/opcodes.js';

const R64 = ['RAX', 'RCX', 'RDX', 'RBX', 'RSP', 'RBP', 'RSI', 'RDI', 'R8', 'R9', 'R10', 'R11', 'R12', 'R13', 'R14', 'R15'];
const R32 = ['EAX', 'ECX', 'EDX', 'EBX', 'ESP', 'EBP', 'ESI', 'EDI', 'R8D', 'R9D', 'R10D', 'R11D', 'R12D', 'R13D', 'R14D', 'R15D'];
const R16 = ['AX', 'CX', 'DX', 'BX', 'SP', 'BP', 'SI', 'DI', 'R8W', 'R9W', 'R10W', 'R11W', 'R12W', 'R13W', 'R14W', 'R15W'];
const R8 = ['AL', 'CL', 'DL', 'BL', 'SPL', 'BPL', 'SIL', 'DIL', 'R8L', 'R9L', 'R10L', 'R11L', 'R12L', 'R13L', 'R14L', 'R15L', 'AH', 'CH', 'DH', 'BH'];
const M64 = (1n << 64n) - 1n;

function reg(r: number, sz: number): string {
  return (sz === 1 ? R8 : sz === 2 ? R16 : sz === 4 ? R32 : R64)[r];
}
function size(t: string, d: Insn): number {
  const c = t[t.length - 1];
  return c === 'b' ? 1 : c === 'w' ? 2 : c === 'd' ? Math.min(4, d.osz) : c === 'q' ? 8 : d.osz;
}

/** pksim's mnemonic as iced spells it. */
function mnemonic(row: OpRow, d: Insn): string {
  const o = d.osz;
  switch (row.mn) {
    case 'CBW':
      return o === 2 ? 'CBW' : o === 4 ? 'CWDE' : 'CDQE';
    case 'CWD':
      return o === 2 ? 'CWD' : o === 4 ? 'CDQ' : 'CQO';
    case 'MOVS':
    case 'CMPS':
    case 'STOS':
    case 'LODS':
    case 'SCAS':
      return row.mn + (o === 2 ? 'W' : o === 4 ? 'D' : 'Q');
    case 'IRET':
      return o === 8 ? 'IRETQ' : o === 4 ? 'IRETD' : 'IRET';
    case 'SYSRET':
      return o === 8 ? 'SYSRETQ' : 'SYSRET';
    case 'PUSHF':
    case 'POPF':
      return row.mn + (o === 8 ? 'Q' : '');
    case 'XCHG':
      return row.zreg >= 0 && d.reg === 0 ? 'NOP' : 'XCHG';
    case 'CMPXCHG8B':
      return o === 8 ? 'CMPXCHG16B' : 'CMPXCHG8B';
    case 'JRCXZ':
      return d.asz === 4 ? 'JECXZ' : 'JRCXZ';
    case 'XLAT':
      return 'XLATB';
    default:
      return row.mn;
  }
}

function memStr(base: string, index: string, scale: number, disp: bigint): string {
  return `mem(${base},${index},${index === 'None' ? 1 : scale},0x${(disp & M64).toString(16)})`;
}

/** pksim's operands in iced's terms. */
function ours(row: OpRow, d: Insn): string[] {
  if (row.spec === '' || (row.mn === 'XCHG' && row.zreg >= 0 && d.reg === 0)) return [];
  const disp = BigInt.asIntN(64, (BigInt(d.dispHi >>> 0) << 32n) | BigInt(d.dispLo >>> 0));
  const imm = BigInt.asIntN(64, (BigInt(d.immHi >>> 0) << 32n) | BigInt(d.immLo >>> 0));
  const m = (): string => {
    if (d.ripRel) {
      const t = BigInt(d.len) + disp;
      return d.asz === 4 ? memStr('EIP', 'None', 1, t & 0xffffffffn) : memStr('RIP', 'None', 1, t);
    }
    const rs = d.asz === 4 ? R32 : R64;
    return memStr(d.base >= 0 ? rs[d.base] : 'None', d.index >= 0 ? rs[d.index] : 'None', 1 << d.scale, d.asz === 4 ? disp & 0xffffffffn : disp);
  };
  return row.spec.split(',').map((t) => {
    if (t === 'CL' || t === 'DX' || t === 'AL') return t;
    switch (t[0]) {
      case 'E':
      case 'M':
      case 'R':
        return d.rm >= 0 ? reg(d.rm, t === 'Rq' ? 8 : size(t, d)) : m();
      case 'G':
      case 'Z':
        return reg(d.reg, size(t, d));
      case 'C':
        return `CR${d.reg}`;
      case 'I':
        return t === 'Ib' && row.imm === 6 ? `imm(${d.imm2})` : `imm(${imm})`;
      case 'J':
        return `br(0x${((BigInt(d.len) + imm) & M64).toString(16)})`;
      case 'O':
        return memStr('None', 'None', 1, d.asz === 4 ? disp & 0xffffffffn : disp);
      case '1':
        return 'imm(1)';
      default:
        if (t === 'rAX' || t === 'eAX') return reg(0, d.osz);
        return t;
    }
  });
}

const WIDTH: Partial<Record<OpKind, number>> = {
  [OpKind.Immediate8]: 8,
  [OpKind.Immediate8_2nd]: 8,
  [OpKind.Immediate16]: 16,
  [OpKind.Immediate32]: 32,
  [OpKind.Immediate8to16]: 16,
  [OpKind.Immediate8to32]: 32,
};

/** iced's operands, immediates sign-interpreted the way pksim keeps them (64-bit sign-extension). */
function theirs(x: ReturnType<Decoder['decode']>, d: Insn): string[] {
  const out: string[] = [];
  for (let i = 0; i < x.opCount; i++) {
    const k = x.opKind(i);
    if (k === OpKind.Register) out.push(Register[x.opRegister(i)]);
    else if (k === OpKind.Memory) out.push(memStr(Register[x.memoryBase], Register[x.memoryIndex], x.memoryIndexScale, x.memoryDisplacement));
    else if (k === OpKind.NearBranch64) out.push(`br(0x${x.nearBranch64.toString(16)})`);
    else if (k >= OpKind.Immediate8 && k <= OpKind.Immediate32to64) {
      const w = WIDTH[k] ?? 64;
      const v = x.immediate(i);
      out.push(`imm(${BigInt.asIntN(w, v)})`);
    } else out.push(`kind${k}`);
  }
  void d;
  return out;
}

function normImm(ops: string[], ice: string[], d: Insn): string[] {
  // pksim keeps every immediate sign-extended to 64 bits; compare at iced's width.
  return ops.map((o, i) => {
    const t = ice[i];
    if (o.startsWith('imm(') && t?.startsWith('imm(')) {
      const a = BigInt(o.slice(4, -1));
      const b = BigInt(t.slice(4, -1));
      for (const w of [8, 16, 32, 64]) if (BigInt.asIntN(w, a) === b || BigInt.asUintN(w, a) === BigInt.asUintN(w, b)) if (BigInt.asUintN(w, a) === BigInt.asUintN(w, b) && w >= (d.osz === 1 ? 8 : 8)) return t;
    }
    return o;
  });
}

const insn = new Insn();
let decodedOk = 0;

/** Compare one byte string; returns a description of the disagreement, or null. */
function check(bytes: Uint8Array): string | null {
  const dec = new Decoder(64, bytes, DecoderOptions.None);
  dec.ip = 0n;
  const x = dec.decode();
  const rc = decode(bytes, bytes.length, insn);
  const hex = Array.from(bytes.subarray(0, 15), (b) => b.toString(16).padStart(2, '0')).join(' ');
  try {
    if (rc !== DEC_OK) return null; // #UD or #GP: allowed for anything (pksim implements a subset)
    decodedOk++;
    if (x.code === Code.INVALID) return `${hex}: pksim decodes ${ROWS[insn.id].mn} (len ${insn.len}) but iced says invalid`;
    if (x.length !== insn.len) return `${hex}: length ${insn.len} vs iced ${x.length} (${Mnemonic[x.mnemonic]})`;
    const row = ROWS[insn.id];
    if (row.mn === 'NOP') return null; // the hint space: iced names each (prefetch, bnd*, endbr...)
    const mn = mnemonic(row, insn);
    if (mn !== Mnemonic[x.mnemonic].toUpperCase()) return `${hex}: mnemonic ${mn} vs iced ${Mnemonic[x.mnemonic]}`;
    if (row.fn.name === 'stringOp' || row.mn === 'XLAT') return null; // implicit memory operands
    const ice = theirs(x, insn);
    const mine = normImm(ours(row, insn), ice, insn);
    if (mine.join(' ') !== ice.join(' ')) return `${hex}: ${mn} operands [${mine.join(', ')}] vs iced [${ice.join(', ')}]`;
    const seg = insn.seg === 4 ? 'FS' : insn.seg === 5 ? 'GS' : '';
    const iseg = x.segmentPrefix === Register.FS ? 'FS' : x.segmentPrefix === Register.GS ? 'GS' : '';
    if (insn.rm < 0 && ice.some((o) => o.startsWith('mem')) && seg !== iseg) return `${hex}: segment ${seg} vs iced ${iseg}`;
    return null;
  } finally {
    x.free();
    dec.free();
  }
}

const PREFIXES = [0x66, 0x67, 0xf0, 0xf2, 0xf3, 0x2e, 0x3e, 0x26, 0x64, 0x65];
const OPCODES: number[][] = [...new Set(ROWS.map((r) => r.key))].map((k) => (k >> 8 === 0 ? [k & 0xff] : k >> 8 === 1 ? [0x0f, k & 0xff] : [0x0f, 0x38, k & 0xff]));

const arbInsnBytes = fc
  .record({
    pfx: fc.array(fc.constantFrom(...PREFIXES), { maxLength: 3 }),
    rex: fc.option(fc.integer({ min: 0x40, max: 0x4f }), { nil: undefined }),
    op: fc.constantFrom(...OPCODES),
    tail: fc.uint8Array({ minLength: 14, maxLength: 14 }),
  })
  .map(({ pfx, rex, op, tail }) => Uint8Array.from([...pfx, ...(rex === undefined ? [] : [rex]), ...op, ...tail]));

describe('decoder vs iced-x86', () => {
  it('every opcode of the table, with random prefixes, REX, ModRM, SIB, displacement and immediate bytes', () => {
    const bad: string[] = [];
    decodedOk = 0;
    fc.assert(
      fc.property(arbInsnBytes, (b) => {
        const e = check(b);
        if (e !== null && bad.length < 20) bad.push(e);
        return true;
      }),
      { seed: 20261129, numRuns: 40000 },
    );
    expect(bad).toEqual([]);
    expect(decodedOk).toBeGreaterThan(25000); // most samples are supported instructions, compared in full
  });

  it('every ModRM byte of every opcode (with and without REX.RXB, with a SIB and a 32-bit displacement)', () => {
    const bad: string[] = [];
    for (const op of OPCODES) {
      for (let modrm = 0; modrm < 256; modrm++) {
        for (const rex of [-1, 0x47, 0x48, 0x4d]) {
          const b = Uint8Array.from([...(rex < 0 ? [] : [rex]), ...op, modrm, 0x94, 0x78, 0x56, 0x34, 0x12, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77]);
          const e = check(b);
          if (e !== null && bad.length < 20) bad.push(e);
        }
      }
    }
    expect(bad).toEqual([]);
  });

  it('random byte strings: the same length as iced, or #UD/#GP', () => {
    const bad: string[] = [];
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        const e = check(b);
        if (e !== null && bad.length < 20) bad.push(e);
        return true;
      }),
      { seed: 7, numRuns: 30000 },
    );
    expect(bad).toEqual([]);
  });

  it('an instruction longer than 15 bytes is #GP(0), a LOCK on a register destination #UD', () => {
    const long = Uint8Array.from([0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x48, 0x81, 0xc0, 1, 0, 0, 0]);
    expect(decode(long, long.length, insn)).toBe(2);
    expect(decode(Uint8Array.from([0xf0, 0x01, 0xc0]), 3, insn)).toBe(1);
    expect(decode(Uint8Array.from([0xf0, 0x01, 0x00]), 3, insn)).toBe(DEC_OK);
    expect(decode(Uint8Array.from([0xf0, 0x8b, 0x00]), 3, insn)).toBe(1); // LOCK MOV
  });
});
