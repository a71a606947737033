/**
 * A small Intel-syntax disassembler over the same table and decoder the interpreter uses (for traces and
 * error messages; it reads code without side effects: probe translations, no TLB fill, no A bits).
 */

import type { Cpu } from '../cpu.js';
import { Insn } from './insn.js';
import { decode, DEC_OK } from './decoder.js';
import { ROWS } from './opcodes.js';

const R64 = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'];
const R32 = ['eax', 'ecx', 'edx', 'ebx', 'esp', 'ebp', 'esi', 'edi', 'r8d', 'r9d', 'r10d', 'r11d', 'r12d', 'r13d', 'r14d', 'r15d'];
const R16 = ['ax', 'cx', 'dx', 'bx', 'sp', 'bp', 'si', 'di', 'r8w', 'r9w', 'r10w', 'r11w', 'r12w', 'r13w', 'r14w', 'r15w'];
const R8 = ['al', 'cl', 'dl', 'bl', 'spl', 'bpl', 'sil', 'dil', 'r8b', 'r9b', 'r10b', 'r11b', 'r12b', 'r13b', 'r14b', 'r15b', 'ah', 'ch', 'dh', 'bh'];
const PTR: Record<number, string> = { 1: 'byte', 2: 'word', 4: 'dword', 8: 'qword' };

function regName(r: number, sz: number): string {
  return (sz === 1 ? R8 : sz === 2 ? R16 : sz === 4 ? R32 : R64)[r] ?? `r?${r}`;
}

function hex(v: bigint): string {
  return v < 0n ? `-0x${(-v).toString(16)}` : `0x${v.toString(16)}`;
}

function sizeOf(tok: string, d: Insn): number {
  const c = tok[tok.length - 1];
  if (c === 'b') return 1;
  if (c === 'w') return 2;
  if (c === 'd') return 4;
  if (c === 'q') return 8;
  return d.osz;
}

function mem(d: Insn, sz: number, next: bigint): string {
  const parts: string[] = [];
  const ar = d.asz === 4 ? R32 : R64;
  let disp = (BigInt(d.dispHi) << 32n) | BigInt(d.dispLo >>> 0);
  disp = BigInt.asIntN(64, disp);
  if (d.ripRel) return `${PTR[sz] ?? ''} ptr [${hex(BigInt.asUintN(64, next + disp))}]`.trim();
  if (d.base >= 0) parts.push(ar[d.base]);
  if (d.index >= 0) parts.push(`${ar[d.index]}*${1 << d.scale}`);
  let s = parts.join('+');
  if (disp !== 0n || s === '') s += s === '' ? hex(BigInt.asUintN(64, disp)) : disp < 0n ? hex(disp) : `+${hex(disp)}`;
  const seg = d.seg === 4 ? 'fs:' : d.seg === 5 ? 'gs:' : '';
  return `${PTR[sz] ?? ''} ptr ${seg}[${s}]`.trim();
}

/** Format one decoded instruction at address `at`. */
export function formatInsn(d: Insn, at: bigint): string {
  const row = ROWS[d.id];
  const next = at + BigInt(d.len);
  let mn = row.mn.toLowerCase();
  if (d.rep === 3 && row.fn.name === 'stringOp') mn = (row.cc === 1 || row.cc === 4 ? 'repe ' : 'rep ') + mn;
  if (d.rep === 2 && row.fn.name === 'stringOp') mn = 'repne ' + mn;
  if (d.lock) mn = 'lock ' + mn;
  const imm = BigInt.asIntN(64, (BigInt(d.immHi >>> 0) << 32n) | BigInt(d.immLo >>> 0));
  const ops = row.spec === '' ? [] : row.spec.split(',').map((t) => {
    switch (t[0]) {
      case 'E':
      case 'M':
        return d.rm >= 0 ? regName(d.rm, sizeOf(t, d)) : mem(d, t === 'M' ? 0 : sizeOf(t, d), next);
      case 'G':
        return regName(d.reg, sizeOf(t, d));
      case 'R':
        return regName(d.rm, 8);
      case 'C':
        return `cr${d.reg}`;
      case 'Z':
        return regName(d.reg, sizeOf(t, d));
      case 'I':
        return hex(t === 'Iw' ? imm & 0xffffn : t === 'Ib' && row.imm === 6 ? BigInt(d.imm2) : imm);
      case 'J':
        return hex(BigInt.asUintN(64, next + imm));
      case 'O':
        return mem(d, sizeOf(t, d), next);
      default:
        if (t === 'rAX' || t === 'eAX') return regName(0, d.osz);
        return t.toLowerCase();
    }
  });
  return ops.length === 0 ? mn : `${mn} ${ops.join(', ')}`;
}

/** Disassemble `count` instructions at `rip` of a CPU's address space (reads through probe translations). */
export function disassembleAt(cpu: Cpu, rip: bigint, count: number): string {
  if (typeof rip !== 'bigint') throw new TypeError(`rip must be a bigint, got ${typeof rip}`);
  if (!Number.isInteger(count) || count < 1 || count > 10000) throw new RangeError(`count must be an integer 1..10000, got ${String(count)}`);
  const lines: string[] = [];
  let at = BigInt.asUintN(64, rip);
  const buf = new Uint8Array(15);
  const d = new Insn();
  for (let i = 0; i < count; i++) {
    let avail = 0;
    for (; avail < 15; avail++) {
      const t = cpu.translate(BigInt.asUintN(64, at + BigInt(avail)), { access: 'fetch', probe: true });
      if (!t.ok) break;
      buf[avail] = cpu.memory.read8(t.pa);
    }
    const rc = decode(buf, avail, d);
    const addr = at.toString(16).padStart(16, '0');
    if (rc !== DEC_OK) {
      lines.push(`${addr}  ${avail > 0 ? buf[0].toString(16).padStart(2, '0') : '??'}  (bad)`);
      at += 1n;
      continue;
    }
    const bytes = Array.from(buf.subarray(0, d.len), (b) => b.toString(16).padStart(2, '0')).join(' ');
    lines.push(`${addr}  ${bytes.padEnd(30)}  ${formatInsn(d, at)}`);
    at = BigInt.asUintN(64, at + BigInt(d.len));
  }
  return lines.join('\n');
}
