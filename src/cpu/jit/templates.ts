/**
 * Inline code for the most frequent instruction forms of compiled blocks (compile.ts): MOV load, store and
 * register forms, MOV immediate, LEA, MOVZX, MOVSX, the ALU group with a memory operand and its register forms
 * (exec/fast.ts), TEST, NEG, shifts and rotates by an immediate, SETcc, PUSH/POP, Jcc, JMP (direct and through
 * r/m64), CALL, RET. Each template is the handler it replaces (exec/move.ts, arith.ts, fast.ts, control.ts)
 * written out with the record's fields and the machine's costs as constants:
 * the same memory accesses (made by the block when the MMU's hit memo has their page, as `cpu.loadSigned` /
 * `cpu.store` would make them, with the same cycles, statistics and LRU marks; tested before the instruction, see
 * Guard: otherwise the block leaves there and the run loop executes the instruction),
 * the same flags recording (`alu`, `cond`), the same order of effects, so that a fault leaves the same state.
 * test/interp/blocks.test.ts runs every form both ways. Other instructions are called through their handler.
 *
 * A template is JavaScript source: a guard (the memory test) and statements that end with the exception exit
 * `X` (a string the compiler gives: set RIP to the instruction, leave the block) when the instruction raised one.
 */

import type { Insn } from '../decode/insn.js';
import { SEG_FS, SEG_GS } from '../decode/insn.js';
import { aluAI, aluEG, aluEI, aluGE, ALU_ADD, ALU_AND, ALU_CMP, ALU_OR, ALU_SUB, ALU_XOR, negE, testEG, testEI } from '../exec/arith.js';
import { call, jcc, jmp, jmpE, ret } from '../exec/control.js';
import { leave, popZ, pushZ } from '../exec/stack.js';
import { F_ADD, F_EXPL, F_LOGIC, F_SUB, OF } from '../exec/flags.js';
import { cbw, lea, movEG, movEI, movGE, movsx, movZI, movzx, setcc } from '../exec/move.js';
import { shiftEI } from '../exec/shift.js';
import { MEMO_MASK } from '../../mmu/mmu.js';
import { aluEG32r, aluEG64r, aluEI32r, aluEI64r, aluGE32r, aluGE64r } from '../exec/fast.js';

/** The helpers a template calls (the compiler binds them as constants of the block function). */
export const TEMPLATE_HELPERS = ['setR', 'alu', 'cond', 'shiftOp'] as const;

/** Where the instruction is: its page offset and the offset after it; `nx` is the next RIP's source. */
export interface Site {
  off: number;
  end: number;
  /** JS expressions of the next instruction's RIP halves (s.nxLo/nxHi themselves at a page end, where the
   * compiler sets them before the template; elsewhere constants off pageLo/pageHi). */
  nxLo: string;
  nxHi: string;
  /** The exception exit. */
  X: string;
  /** The ALU operation whose flags are in effect (its operands and result in fa/fah, fb/fbh, fr/frh), or null. */
  flags: AluFlags | null;
  /** The machine's costs, written into the code as constants (they are part of the block function's key). */
  k: Costs;
}

/**
 * The costs a block's code adds as constants: the issue costs of a load and a store, a taken and a not-taken
 * branch (St), a data access (Cpu.dataCost) and an L1 TLB hit (Mmu.l1HitCost).
 */
export interface Costs {
  load: number;
  store: number;
  taken: number;
  notTaken: number;
  data: number;
  l1Hit: number;
}

/** `cy += c;` for a cost (nothing for 0: adding 0 leaves a cycle count as it is). */
const add = (c: number): string => (c === 0 ? '' : `cy += ${String(c)};`);

/** An ALU group operation (arith.ts ALU_*) at an operand size. */
export interface AluFlags {
  op: number;
  sz: number;
}

const hex = (n: number): string => (n < 0 ? `-0x${(-n).toString(16)}` : `0x${n.toString(16)}`);

/** Effective address into eLo/eHi (exec/state.ts `ea`; `lea` ignores the segment base). */
function ea(d: Insn, site: Site, segment: boolean): string {
  if (!d.ripRel && d.base >= 0 && d.index < 0 && d.asz === 8 && (!segment || d.seg === 0)) {
    // base + disp, the common form: int32 halves only (the low sum is below 2^33: a carry of 0 or 1)
    const b = d.base;
    const dLo = d.dispLo >>> 0;
    if (dLo === 0 && d.dispHi === 0) return `eLo = L[${b}] >>> 0; eHi = HH[${b}];`;
    return `t = (L[${b}] >>> 0) + ${hex(dLo)}; eLo = t >>> 0; eHi = (HH[${b}] + ${d.dispHi} + (t > 0xffffffff ? 1 : 0)) | 0;`;
  }
  const out: string[] = [];
  out.push(`lo = ${hex(d.dispLo >>> 0)}; hi = ${d.dispHi};`);
  if (d.ripRel) out.push(`lo += ${site.nxLo}; hi += ${site.nxHi};`);
  else {
    if (d.base >= 0) out.push(`lo += L[${d.base}] >>> 0; hi += HH[${d.base}];`);
    if (d.index >= 0) out.push(d.scale === 0 ? `lo += L[${d.index}] >>> 0; hi += HH[${d.index}];` : `lo += (L[${d.index}] >>> 0) * ${1 << d.scale}; hi += HH[${d.index}] * ${1 << d.scale};`);
  }
  if (d.asz === 4) out.push('hi = 0;');
  else out.push('if (lo > 0xffffffff) hi += (lo - (lo >>> 0)) / 4294967296;');
  out.push('lo >>>= 0;');
  if (segment && d.seg !== 0) {
    const b = d.seg === SEG_FS ? 'fs' : d.seg === SEG_GS ? 'gs' : null;
    if (b === null) throw new Error(`segment ${d.seg}`);
    out.push(`lo += s.${b}Lo; hi += s.${b}Hi; if (lo > 0xffffffff) hi += 1; lo >>>= 0;`);
  }
  out.push('eLo = lo; eHi = hi | 0;');
  return out.join(' ');
}

/** Write register r at size sz from the expressions lo/hi (exec/state.ts `setR`). */
function setR(r: number, sz: number, lo: string, hi: string): string {
  if (sz === 8) return `L[${r}] = ${lo}; HH[${r}] = ${hi};`;
  if (sz === 4) return `L[${r}] = ${lo}; HH[${r}] = 0;`;
  return `setR(s, ${r}, ${sz}, ${lo}, ${hi});`;
}

/** Read register r at size sz (low half) and its high half (0 below 8 bytes), as exec/state.ts `getR` does (AH CH DH BH are 16-19). */
function getR(r: number, sz: number): [string, string] {
  if (sz === 8) return [`L[${r}]`, `HH[${r}]`];
  if (sz === 4) return [`L[${r}]`, '0'];
  if (sz === 2) return [`(L[${r}] & 0xffff)`, '0'];
  return [r < 16 ? `(L[${r}] & 0xff)` : `((L[${r - 16}] >>> 8) & 0xff)`, '0'];
}

/**
 * The test, made before anything of the instruction happens, that a compiled access can be made here: an access
 * within one page whose entry is in the MMU's memo of its kind (its access flags, its TLB array unchanged since, a frame
 * view: for reading the frame or the zero view, for writing an allocated frame without decoded code). Then the
 * access is what `cpu.loadSigned`/`cpu.store` and `Mmu.translate`/`l1Hit` would do for it (rdBody, wrBody); else
 * the block leaves before the instruction and the run loop executes it (a TLB miss, a fault, a write into code...).
 * `pre` computes the locals (eLo/eHi and o, mi, f for reading, fw for writing), `ok` is the test.
 */
export interface Guard {
  pre: string;
  ok: string;
}

/** `addr` (code setting eLo/eHi), then the page offset and the memo index of eLo/eHi in o and mi. */
const memoAt = (addr: string): string => `${addr} o = eLo & 0xfff; mi = (eLo >>> 12) & ${MEMO_MASK};`;
/** The write memo's test of entry mi for `sz` bytes at o with access flags `acc` (fw its view). */
const wrOk = (sz: number, acc: string): string => `o <= ${4096 - sz} && MPgW[mi] === eLo >>> 12 && MHiW[mi] === eHi && MAcW[mi] === (${acc} & 15) && fw !== null`;

/** The read-memo test at the address `addr` computes, for `sz` bytes with access flags `acc`. */
function rdGuard(addr: string, sz: number, acc = 's.accR'): Guard {
  return { pre: `${memoAt(addr)} f = MVw[mi];`, ok: `o <= ${4096 - sz} && MPg[mi] === eLo >>> 12 && MHi[mi] === eHi && MAc[mi] === (${acc} & 15) && f !== null` };
}

/** The write-memo test at the address `addr` computes. */
function wrGuard(addr: string, sz: number, acc = 's.accW'): Guard {
  return { pre: `${memoAt(addr)} fw = MVwW[mi];`, ok: wrOk(sz, acc) };
}

/** A read-modify-write of the same bytes: the read's test, then the write memo's. */
function rmwGuard(rd: Guard, sz: number): Guard {
  return { pre: `${rd.pre} fw = MVwW[mi];`, ok: `${rd.ok} && ${wrOk(sz, 's.accW')}` };
}

/**
 * exec/state.ts `load` written out after rdGuard passed (a compiled block never runs with an onMemory hook): the
 * issue cost, then what cpu.loadSigned and Mmu.translate/l1Hit do on a memo hit, effect for effect in their
 * order: the cycles added in their order (to the block's local `cy`, compile.ts), the LRU mark (AssocCache.touch),
 * the counts (reads, translations, TLB hits) in `nR`, added to the statistics when the block leaves (integers: the
 * same totals). Not the MMU's `lastPageShift`/`lastPkey` (only its own `translate` callers read them). Sets v (and
 * vh: the high half for 8 bytes, else 0).
 */
function rdBody(sz: number, k: Costs): string {
  const read = sz === 1 ? 'v = f.getUint8(o);' : sz === 2 ? 'v = f.getUint16(o, true);' : sz === 4 ? 'v = f.getInt32(o, true);' : 'vh = f.getInt32(o + 4, true); v = f.getInt32(o, true);';
  return `${add(k.load)} ${add(k.data)} nR++; ck = RS[RN] + 1; RS[RN] = ck; RS[MSl[mi]] = ck; ${add(k.l1Hit)} ${read}${sz === 8 ? '' : ' vh = 0;'}`;
}

/** exec/state.ts `store` of lo/hi written out after wrGuard passed, as rdBody does for a read (counts in `nW`). */
function wrBody(sz: number, lo: string, hi: string, k: Costs): string {
  const write =
    sz === 1 ? `fw.setUint8(o, ${lo});` : sz === 2 ? `fw.setUint16(o, ${lo}, true);` : sz === 4 ? `fw.setInt32(o, (${lo}) | 0, true);` : `fw.setInt32(o, (${lo}) | 0, true); fw.setInt32(o + 4, (${hi}) | 0, true);`;
  return `${add(k.store)} ${add(k.data)} nW++; ck = WS[WN] + 1; WS[WN] = ck; WS[MSlW[mi]] = ck; ${add(k.l1Hit)} ${write}`;
}

/** The locals rdGuard and rdBody read (the MMU's read memo arrays, the read TLB's stamps), for a block that reads. */
export const MEMO_LOCALS = 'const MPg = M.memoPageR, MHi = M.memoHiR, MAc = M.memoAccR, MSl = M.memoSlotR, MVw = M.memoViewR, RS = M.l1Read.stamp, RN = RS.length - 1;';
/** The locals wrGuard and wrBody read (the MMU's write memo arrays, the write TLB's stamps), for a block that writes. */
export const MEMO_W_LOCALS = 'const MPgW = M.memoPageW, MHiW = M.memoHiW, MAcW = M.memoAccW, MSlW = M.memoSlotW, MVwW = M.memoViewW, WS = M.l1Write.stamp, WN = WS.length - 1;';

/**
 * arith.ts `alu` with its operands and result kept in locals (fa/fah, fb/fbh, fr/frh), so that a Jcc after it in
 * the block can test them directly (fusedCond) instead of deriving the flags from the lazy state.
 */
function aluJs(op: number, sz: number, a: string, ah: string, b: string, bh: string): string {
  const args = `fa = ${a}; fah = ${ah}; fb = ${b}; fbh = ${bh};`;
  // arith.ts alu and record written out for the operations without a carry in at 32 and 64 bits (a call of a
  // helper V8 did not inline costs as much as the operation): the same result, the same lazy flags state.
  const q = sz === 8;
  let res: string | null = null;
  let kind = F_LOGIC;
  if (op === ALU_ADD && (sz === 4 || q)) {
    kind = F_ADD;
    res = `t = (fa >>> 0) + (fb >>> 0); fr = t >>> 0; frh = ${q ? '(fah + fbh + (t > 0xffffffff ? 1 : 0)) >>> 0' : '0'};`;
  } else if ((op === ALU_SUB || op === ALU_CMP) && (sz === 4 || q)) {
    kind = F_SUB;
    res = `t = (fa >>> 0) - (fb >>> 0); fr = t >>> 0; frh = ${q ? '(fah - fbh - (t < 0 ? 1 : 0)) >>> 0' : '0'};`;
  } else if (op === ALU_AND || op === ALU_OR || op === ALU_XOR) {
    const o = op === ALU_AND ? '&' : op === ALU_OR ? '|' : '^';
    res = `fr = (fa ${o} fb) >>> 0; frh = (fah ${o} fbh) >>> 0;`;
  }
  if (res === null) return `${args} alu(s, ${op}, ${sz}, fa, fah, fb, fbh); fr = s.rLo; frh = s.rHi;`;
  // (the result stays in fr/frh: the generated code reads it there, not from s.rLo/rHi; a logical operation's
  // flags come from its result alone (flags.ts F_LOGIC), so its operands and carry in are not recorded)
  if (kind === F_LOGIC) return `${args} ${res} s.fOp = ${kind}; s.fSz = ${sz}; s.fResLo = fr; s.fResHi = frh;`;
  return `${args} ${res} s.fOp = ${kind}; s.fSz = ${sz}; s.fALo = fa; s.fAHi = fah; s.fBLo = fb; s.fBHi = fbh; s.fCin = 0; s.fResLo = fr; s.fResHi = frh;`;
}

/** `op E, b` with E in memory at eLo/eHi, its value in v/vh (arith.ts finishE; the store cannot fault after wrGuard). */
function finishMem(d: Insn, sz: number, bLo: string, bHi: string, k: Costs): string {
  if (d.cc === ALU_CMP) return aluJs(ALU_CMP, sz, 'v', 'vh', bLo, bHi);
  return `${aluJs(d.cc, sz, 'v', 'vh', bLo, bHi)} ${wrBody(sz, 'fr', 'frh', k)}`;
}

/**
 * shift.ts shiftOp for group-2 operation `op` at 32 or 64 bits by the constant count n (masked, nonzero): SHL/SAL,
 * SHR and SAR written out with the count folded (the result in fr/frh, and the lazy flags state as
 * shiftOp and setExplicit leave them: CF the last bit out, OF by the count-1 formula); rotates call shiftOp.
 */
function shiftJs(op: number, sz: number, lo: string, hi: string, n: number): string {
  const call = `shiftOp(s, ${op}, ${sz}, ${lo}, ${hi}, ${n}); fr = s.rLo; frh = s.rHi;`;
  if (op < 4 || (sz !== 4 && sz !== 8)) return call;
  let r: string; // sets fr, frh, t (CF) and fa (OF)
  const bit64 = (k: number) => (k < 32 ? `(fa >>> ${k}) & 1` : `(fah >>> ${k - 32}) & 1`);
  if (sz === 4) {
    if (op === 5) r = `fr = fa >>> ${n}; frh = 0; t = (fa >>> ${n - 1}) & 1; fa = (fa >>> 31) & 1;`;
    else if (op === 7) r = `fr = ((fa | 0) >> ${n}) >>> 0; frh = 0; t = ((fa | 0) >> ${n - 1}) & 1; fa = 0;`;
    else r = `fr = (fa << ${n}) >>> 0; frh = 0; t = (fa >>> ${32 - n}) & 1; fa = ((fr >>> 31) & 1) ^ t;`;
    return `fa = (${lo}) >>> 0; ${r} ${explicit(sz)}`;
  }
  if (op === 5 || op === 7) {
    const a = op === 7;
    const hiShift = a ? '>>' : '>>>';
    r =
      n < 32
        ? `fr = ((fa >>> ${n}) | (fah << ${32 - n})) >>> 0; frh = (fah ${hiShift} ${n}) >>> 0;`
        : `fr = (fah ${hiShift} ${n - 32}) >>> 0; frh = ${a ? '(fah >> 31) >>> 0' : '0'};`;
    r += ` t = ${bit64(n - 1)}; fa = ${a ? '0' : 'fah >>> 31'};`;
  } else {
    r = n < 32 ? `frh = ((fah << ${n}) | (fa >>> ${32 - n})) >>> 0; fr = (fa << ${n}) >>> 0;` : `frh = (fa << ${n - 32}) >>> 0; fr = 0;`;
    r += ` t = ${bit64(64 - n)}; fa = (frh >>> 31) ^ t;`;
  }
  return `fa = ${lo}; fah = ${hi}; ${r} ${explicit(sz)}`;
}

/** shift.ts setExplicit from CF in t and OF in fa, the result in fr/frh. */
function explicit(sz: number): string {
  return `s.fOp = ${F_EXPL}; s.fSz = ${sz}; s.fCin = (t & 1) | (fa ? ${OF} : 0); s.fResLo = fr; s.fResHi = frh;`;
}

/**
 * The condition `cc` (Jcc/SETcc encoding) as a JS expression over the locals aluJs keeps, where the flags are
 * those of `f` and the expression is exact (flags.ts `cond` on the recorded state gives the same); null where
 * only `cond` will do. SUB/CMP: CF is the unsigned borrow, L/LE the signed order (SDM Vol. 1 B.1); AND/OR/XOR:
 * CF = OF = 0 (SDM Vol. 2A AND); ZF and SF from the result for these and ADD.
 */
export function fusedCond(f: AluFlags, cc: number): string | null {
  const { op, sz } = f;
  if (sz !== 4 && sz !== 8) return null;
  const q = sz === 8;
  const zero = q ? '(fr | frh) === 0' : '(fr | 0) === 0';
  const neg = q ? '(frh | 0) < 0' : '(fr | 0) < 0';
  const ltu = q ? '((fah >>> 0) < (fbh >>> 0) || ((fah | 0) === (fbh | 0) && (fa >>> 0) < (fb >>> 0)))' : '(fa >>> 0) < (fb >>> 0)';
  const lts = q ? '((fah | 0) < (fbh | 0) || ((fah | 0) === (fbh | 0) && (fa >>> 0) < (fb >>> 0)))' : '(fa | 0) < (fb | 0)';
  let e: string | null = null;
  const t = cc >> 1;
  if (op === ALU_SUB || op === ALU_CMP) {
    e = t === 1 ? ltu : t === 2 ? zero : t === 3 ? `(${ltu} || ${zero})` : t === 4 ? neg : t === 6 ? lts : t === 7 ? `(${lts} || ${zero})` : null;
  } else if (op === ALU_AND || op === ALU_OR || op === ALU_XOR) {
    e = t === 0 || t === 1 ? 'false' : t === 2 || t === 3 ? zero : t === 4 || t === 6 ? neg : t === 7 ? `(${zero} || ${neg})` : null;
  } else if (op === ALU_ADD) {
    e = t === 2 ? zero : t === 4 ? neg : null;
  }
  if (e === null) return null;
  return (cc & 1) === 0 ? `(${e})` : `!(${e})`;
}

/**
 * An inline form: its source, whether it may write memory (code included), whether it sets the next RIP itself,
 * and what it does to the flags: keeps them, sets them by an ALU operation through aluJs, or otherwise.
 */
export interface Template {
  js: string;
  /** The memory accesses' test, made before the instruction (see Guard), or null: no memory access. */
  guard: Guard | null;
  branch: boolean;
  flags: 'keep' | 'other' | AluFlags;
}
const plain = (js: string, guard: Guard | null = null): Template => ({ js, guard, branch: false, flags: 'keep' });
/** A form whose flags are those of ALU operation `op` at size `sz` (written with aluJs). */
const setsFlags = (t: Template, op: number, sz: number): Template => ({ ...t, flags: { op, sz } });

/** RSP - 8 into eLo/eHi (a push's address). */
const PUSH_EA = 't = (L[4] >>> 0) - 8; eLo = t >>> 0; eHi = t < 0 ? (HH[4] - 1) | 0 : HH[4] | 0;';
/** RSP into eLo/eHi (a pop's address). */
const POP_EA = 'eLo = L[4] >>> 0; eHi = HH[4];';
/** exec/state.ts push of the 8-byte value lo/hi after wrGuard(PUSH_EA) passed: the store, then RSP - 8. */
function push8(lo: string, hi: string, k: Costs): string {
  return `${wrBody(8, lo, hi, k)} L[4] = eLo; HH[4] = eHi;`;
}
/** exec/state.ts pop of 8 bytes into v/vh after rdGuard(POP_EA) passed: the load, then RSP + 8. */
function pop8(k: Costs): string {
  return `${rdBody(8, k)} t = (L[4] >>> 0) + 8; HH[4] = t > 0xffffffff ? (HH[4] + 1) | 0 : HH[4]; L[4] = t >>> 0;`;
}

/**
 * control.ts jumpRel / jumpAbs after the taken cost: target = next RIP + rel8/rel32 (carried into the high half);
 * #GP(0) at the branch when it is not canonical; then `before` (CALL's push, which leaves lo/hi alone) and the
 * jump.
 */
function jumpTaken(d: Insn, site: Site, before = ''): string {
  const target = site.end + (d.immLo | 0);
  if (site.end !== 4096 && target >= 0 && target < 4096) {
    // within the page: no carry into the high half (pageLo + 4096 <= 2^32), which the check still sees
    return `${add(site.k.taken)} if (!cpu.mmu.isCanonical(pageHi | 0)) { cpu.raise(13, 0); ${site.X} } ${before} s.nxLo = pageLo + ${target}; s.nxHi = pageHi;`;
  }
  return (
    `${add(site.k.taken)} ` +
    `t = (${site.nxLo}) + ${d.immLo | 0}; lo = t >>> 0; hi = t < 0 ? ((${site.nxHi}) - 1) | 0 : t > 0xffffffff ? ((${site.nxHi}) + 1) | 0 : (${site.nxHi}) | 0; ` +
    `if (!cpu.mmu.isCanonical(hi | 0)) { cpu.raise(13, 0); ${site.X} } ${before} s.nxLo = lo; s.nxHi = hi >>> 0;`
  );
}

/** The inline form of the record, or null when it is called through its handler. */
export function template(d: Insn, site: Site): Template | null {
  const fn = d.fn;
  const sz = d.osz;
  const X = site.X;
  const k = site.k;
  const mem = d.rm < 0;
  if (fn === movGE) {
    if (!mem) {
      const [lo, hi] = getR(d.rm, sz);
      return sz >= 4 ? plain(setR(d.reg, sz, lo, hi)) : null;
    }
    return plain(`${rdBody(sz, k)} ${setR(d.reg, sz, 'v', 'vh')}`, rdGuard(ea(d, site, true), sz));
  }
  if (fn === movEG) {
    const [lo, hi] = getR(d.reg, sz);
    if (!mem) return sz >= 4 ? plain(setR(d.rm, sz, lo, hi)) : null;
    return plain(wrBody(sz, lo, hi, k), wrGuard(ea(d, site, true), sz));
  }
  if (fn === movEI) {
    if (!mem) return plain(setR(d.rm, sz, String(d.immLo), String(d.immHi)));
    return plain(wrBody(sz, String(d.immLo), String(d.immHi), k), wrGuard(ea(d, site, true), sz));
  }
  if (fn === movZI) return plain(setR(d.reg, sz, String(d.immLo), String(d.immHi)));
  if (fn === lea) return plain(`${ea(d, site, false)} ${setR(d.reg, sz, 'eLo', 'eHi')}`);
  if (fn === movzx) {
    const ssz = d.cc > sz ? sz : d.cc;
    if (sz < 4) return null;
    if (!mem) return plain(setR(d.reg, sz, getR(d.rm, ssz)[0], '0'));
    return plain(`${rdBody(ssz, k)} ${setR(d.reg, sz, 'v', '0')}`, rdGuard(ea(d, site, true), ssz));
  }
  if (fn === negE && (sz === 4 || sz === 8)) {
    // arith.ts negE: SUB(0, x), result and flags (SDM Vol. 2B NEG: CF clear only for a 0 source; the others from
    // the result as for SUB)
    if (!mem) {
      const [lo, hi] = getR(d.rm, sz);
      return setsFlags(plain(`${aluJs(ALU_SUB, sz, '0', '0', lo, hi)} ${setR(d.rm, sz, 'fr', 'frh')}`), ALU_SUB, sz);
    }
    const g = rmwGuard(rdGuard(ea(d, site, true), sz), sz);
    return setsFlags(plain(`${rdBody(sz, k)} ${aluJs(ALU_SUB, sz, '0', '0', 'v', 'vh')} ${wrBody(sz, 'fr', 'frh', k)}`, g), ALU_SUB, sz);
  }
  if (fn === setcc && !mem) {
    // move.ts setcc on a register: the condition (fused where the flags' operation is known)
    const c = (site.flags === null ? null : fusedCond(site.flags, d.cc)) ?? `cond(s, ${d.cc})`;
    return plain(`v = ${c} ? 1 : 0; ${setR(d.rm, 1, 'v', '0')}`);
  }
  if (mem && (fn === aluEI || fn === aluEG)) {
    // the ALU group on memory: read, operate, write the result unless it is CMP
    const [lo, hi] = fn === aluEI ? [String(d.immLo), String(d.immHi)] : getR(d.reg, sz);
    const rd = rdGuard(ea(d, site, true), sz);
    const g = d.cc === ALU_CMP ? rd : rmwGuard(rd, sz);
    return setsFlags(plain(`${rdBody(sz, k)} ${finishMem(d, sz, lo, hi, k)}`, g), d.cc, sz);
  }
  if (mem && fn === aluGE) {
    const [lo, hi] = getR(d.reg, sz);
    const write = d.cc === ALU_CMP ? '' : setR(d.reg, sz, 'fr', 'frh');
    return setsFlags(plain(`${rdBody(sz, k)} ${aluJs(d.cc, sz, lo, hi, 'v', 'vh')} ${write}`, rdGuard(ea(d, site, true), sz)), d.cc, sz);
  }
  // exec/fast.ts: the register forms of the ALU group (32/64-bit, no LOCK); the result into the destination unless CMP
  if (fn === aluGE64r || fn === aluGE32r || fn === aluEG64r || fn === aluEG32r || fn === aluEI64r || fn === aluEI32r) {
    const q = fn === aluGE64r || fn === aluEG64r || fn === aluEI64r;
    const dst = fn === aluGE64r || fn === aluGE32r ? d.reg : d.rm;
    const src = fn === aluGE64r || fn === aluGE32r ? d.rm : d.reg;
    const [b, bh] = fn === aluEI64r || fn === aluEI32r ? [String(d.immLo), String(d.immHi)] : [`L[${src}]`, q ? `HH[${src}]` : '0'];
    const write = d.cc === ALU_CMP ? '' : ` L[${dst}] = fr; HH[${dst}] = ${q ? 'frh' : '0'};`;
    return setsFlags(plain(`${aluJs(d.cc, q ? 8 : 4, `L[${dst}]`, q ? `HH[${dst}]` : '0', b, bh)}${write}`), d.cc, q ? 8 : 4);
  }
  if (fn === aluAI) {
    // arith.ts aluAI: op rAX, imm
    if (sz < 4) return null;
    const [lo, hi] = getR(0, sz);
    const write = d.cc === ALU_CMP ? '' : ` ${setR(0, sz, 'fr', 'frh')}`;
    return setsFlags(plain(`${aluJs(d.cc, sz, lo, hi, String(d.immLo), String(d.immHi))}${write}`), d.cc, sz);
  }
  if (fn === testEG || fn === testEI) {
    // arith.ts testEG / testEI: AND without a result (E read as readE does: register or memory)
    const [bLo, bHi] = fn === testEG ? getR(d.reg, sz) : [String(d.immLo), String(d.immHi)];
    if (!mem) {
      const [lo, hi] = getR(d.rm, sz);
      return setsFlags(plain(aluJs(ALU_AND, sz, lo, hi, bLo, bHi)), ALU_AND, sz);
    }
    return setsFlags(plain(`${rdBody(sz, k)} ${aluJs(ALU_AND, sz, 'v', 'vh', bLo, bHi)}`, rdGuard(ea(d, site, true), sz)), ALU_AND, sz);
  }
  if (fn === movsx) {
    // move.ts movsx: sign-extend the source (ssz bytes) to the operand size
    const ssz = d.cc > sz ? sz : d.cc;
    if (sz < 4) return null;
    const src = mem ? rdBody(ssz, k) : `v = ${getR(d.rm, ssz)[0]};`;
    const sh = 32 - ssz * 8;
    return plain(`${src} t = ${sh === 0 ? 'v | 0' : `(v << ${sh}) >> ${sh}`}; ${setR(d.reg, sz, 't >>> 0', 't < 0 ? 0xffffffff : 0')}`, mem ? rdGuard(ea(d, site, true), ssz) : null);
  }
  if (fn === cbw) {
    // move.ts cbw: CWDE / CDQE (CBW, 16-bit, through the handler)
    if (sz === 4) return plain('L[0] = ((L[0] << 16) >> 16) >>> 0; HH[0] = 0;');
    if (sz === 8) return plain('HH[0] = (L[0] | 0) < 0 ? 0xffffffff : 0;');
    return null;
  }
  if (fn === shiftEI && sz >= 4) {
    // shift.ts shiftBy with its constant count: a masked count of 0 changes neither value nor flags, but still
    // writes a 32-bit register (bits 63:32 cleared) or reads the memory operand
    const n = d.immLo & 0xff & (sz === 8 ? 63 : 31);
    if (!mem) {
      if (n === 0) return plain(sz === 4 ? `HH[${d.rm}] = 0;` : '');
      const [lo, hi] = getR(d.rm, sz);
      return { ...plain(`${shiftJs(d.ext, sz, lo, hi, n)} ${setR(d.rm, sz, 'fr', 'frh')}`), flags: 'other' };
    }
    const rd = rdGuard(ea(d, site, true), sz);
    if (n === 0) return plain(rdBody(sz, k), rd);
    return { ...plain(`${rdBody(sz, k)} ${shiftJs(d.ext, sz, 'v', 'vh', n)} ${wrBody(sz, 'fr', 'frh', k)}`, rmwGuard(rd, sz)), flags: 'other' };
  }
  if (fn === jcc) {
    // control.ts jcc: the condition straight from the operands of the ALU operation before it in the block,
    // where it can.
    const c = (site.flags === null ? null : fusedCond(site.flags, d.cc)) ?? `cond(s, ${d.cc})`;
    return { js: `if (${c}) { ${jumpTaken(d, site)} } else { ${add(k.notTaken)} s.nxLo = ${site.nxLo}; s.nxHi = ${site.nxHi}; }`, guard: null, branch: true, flags: 'keep' };
  }
  if (fn === jmp) return { js: jumpTaken(d, site), guard: null, branch: true, flags: 'keep' };
  if (fn === jmpE) {
    // control.ts jmpE: the target read as readE(8) does, the taken cost, #GP(0) when the target is not canonical
    // (SDM Vol. 2A JMP, 64-Bit Mode Exceptions)
    const get = mem ? rdBody(8, k) : `v = L[${d.rm}]; vh = HH[${d.rm}];`;
    const js = `${get} ${add(k.taken)} if (!cpu.mmu.isCanonical(vh | 0)) { cpu.raise(13, 0); ${X} } s.nxLo = v >>> 0; s.nxHi = vh >>> 0;`;
    return { js, guard: mem ? rdGuard(ea(d, site, true), 8) : null, branch: true, flags: 'keep' };
  }
  // stack.ts pushZ / popZ at 64 bits (POP RSP: the popped value, after the increment)
  if (fn === pushZ && sz === 8) return plain(push8(`L[${d.reg}]`, `HH[${d.reg}]`, k), wrGuard(PUSH_EA, 8, 's.accSW'));
  if (fn === popZ && sz === 8) return plain(`${pop8(k)} L[${d.reg}] = v; HH[${d.reg}] = vh;`, rdGuard(POP_EA, 8, 's.accSR'));
  // stack.ts leave at 64 bits (SDM Vol. 2A LEAVE): the qword at RBP (a stack access), then RSP = RBP + 8 and RBP = that qword
  if (fn === leave && d.osz === 8) {
    const js = `${rdBody(8, k)} t = (L[5] >>> 0) + 8; L[4] = t >>> 0; HH[4] = t > 0xffffffff ? (HH[5] + 1) | 0 : HH[5]; L[5] = v; HH[5] = vh;`;
    return plain(js, rdGuard('eLo = L[5] >>> 0; eHi = HH[5];', 8, 's.accSR'));
  }
  if (fn === call) {
    // control.ts call: the target first (#GP(0) when not canonical, nothing pushed), then the return address
    return { js: jumpTaken(d, site, push8(site.nxLo, site.nxHi, k)), guard: wrGuard(PUSH_EA, 8, 's.accSW'), branch: true, flags: 'keep' };
  }
  if (fn === ret) {
    // control.ts ret: pop the target, #GP(0) when not canonical (RSP as it was), then release imm16 bytes
    const n = d.immLo & 0xffff;
    const release = n === 0 ? '' : ` t = (L[4] >>> 0) + ${n}; HH[4] = t > 0xffffffff ? (HH[4] + 1) | 0 : HH[4]; L[4] = t >>> 0;`;
    return {
      js: `lo = L[4]; hi = HH[4]; ${pop8(k)} ${add(k.taken)} if (!cpu.mmu.isCanonical(vh | 0)) { L[4] = lo; HH[4] = hi; cpu.raise(13, 0); ${X} } s.nxLo = v >>> 0; s.nxHi = vh >>> 0;${release}`,
      guard: rdGuard(POP_EA, 8, 's.accSR'),
      branch: true,
      flags: 'keep',
    };
  }
  return null;
}
