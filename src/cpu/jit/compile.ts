/**
 * The block compiler: a hot basic block (block.ts) becomes one JavaScript function that V8 then compiles to
 * machine code. The frequent forms are written inline with the record's fields as constants (templates.ts);
 * every other instruction is a direct call of its handler with its record (both constants of the function), so
 * each call site sees one target and V8 can inline the handler, where the run loop's single `d.fn(s, d)` call
 * site sees them all. Around each instruction the function does exactly what the run loop does for it, in the
 * same order, so that registers, memory, cycles and every statistic come out the same
 * (test/interp/blocks.test.ts checks this against the loop):
 *   - the fetch accounting of a sequential instruction (a new 16-byte fetch block when it starts on a 16-byte
 *     boundary, one more when its bytes run into the next block: an iTLB hit each; see run.ts);
 *   - RIP of the next instruction in s.nxLo/nxHi before a handler call (a handler may read it; branches change
 *     it), and wherever the block leaves;
 *   - the instruction's class cycles, then the handler (the block keeps the cycles in a local, adding the same
 *     amounts in the same order, and writes it back around each call and when it leaves; it counts fetch blocks
 *     and the accesses it does itself in locals, added when it leaves);
 *   - an exception left pending ends the block at that instruction (s.ripLo/ripHi at it);
 *   - a write to a code page (the cache's generation changed) ends the block after the instruction, so that
 *     the loop decodes what follows afresh (self-modifying code).
 * Whether the first instruction starts a new fetch block depends on how execution arrived: the loop decides
 * (`ent`) and the block charges it, after that instruction's memory test (a block that leaves before its first
 * instruction has charged nothing of it); the block charges the rest, its last byte's block included.
 */

import type { Block, BlockFn } from './block.js';
import { MEMO_LOCALS, MEMO_W_LOCALS, template, TEMPLATE_HELPERS, type AluFlags, type Costs } from './templates.js';
import { setR } from '../exec/state.js';
import { alu } from '../exec/arith.js';
import { cond } from '../exec/flags.js';
import { shiftOp } from '../exec/shift.js';
import { jcc, jmp } from '../exec/control.js';

type Factory = (H: typeof HELPERS, F: unknown[], D: unknown[]) => BlockFn;
const HELPERS = { setR, alu, cond, shiftOp };
/**
 * Block functions shared by every machine of the process, found by the block's start offset, bytes and costs (its
 * records' class costs and the machine's load, store, branch, data-access and TLB-hit costs, constants in the code):
 * these determine its source and its records (decoding is a function of the bytes; a record is never changed
 * after it is prepared), and everything that belongs to a machine is an argument. So the same code run on a new
 * machine (a test suite, a benchmark's repetitions) runs the function V8 has already optimized, instead of a new
 * closure that starts in the interpreter and is compiled again.
 */
const BLOCK_FNS = new Map<string, BlockFn>();
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const MAX_BLOCK_FNS = 4096; // bounded: a few KB of source and its code each
/**
 * What a block does where it leaves: its cycles (kept in the local `cy`: the same additions in the same order, the
 * same value; written back around every call, as handlers add to stats.cycles themselves) back into the
 * statistics, and its counts of fetch blocks and of the accesses it made itself (integers: the same totals in any
 * order). Written out at each exit rather than in a `finally`, which would keep the locals boxed.
 */
const FLUSH = 'stats.cycles = cy; stats.fetches += nF; if (nR !== 0) { stats.reads += nR; stats.translations += nR; stats.tlbHits += nR; } if (nW !== 0) { stats.writes += nW; stats.translations += nW; stats.tlbHits += nW; }';

/**
 * Build the block's function. Throws when the host forbids generating code (`new Function` under a Content
 * Security Policy); the caller turns compilation off then.
 */
export function compileBlock(b: Block, frame: DataView, k: Costs): BlockFn {
  // The cache key: a block met again (on this machine after its page was rewritten, or on another) is not
  // generated and compiled again.
  const insns = b.insns;
  let key = `${b.start}`;
  for (const d of insns) key += `,${d.cost}`;
  key += `;${k.load},${k.store},${k.taken},${k.notTaken},${k.data},${k.l1Hit}`;
  key += ':';
  for (let o = b.start; o < b.ends[insns.length - 1]!; o++) key += HEX[frame.getUint8(o)];
  let fn = BLOCK_FNS.get(key);
  if (fn === undefined) {
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const make = new Function('H', 'F', 'D', blockSource(b, k)) as Factory;
    fn = make(
      HELPERS,
      insns.map((d) => d.fn),
      insns.slice(),
    );
    // full: forget the oldest (a Map iterates in insertion order), not all: the test corpus alone has ~5,000 blocks
    if (BLOCK_FNS.size >= MAX_BLOCK_FNS) BLOCK_FNS.delete(BLOCK_FNS.keys().next().value!);
    BLOCK_FNS.set(key, fn);
  }
  return fn;
}

/**
 * The source of a block's factory: `(H, F, D) => block function` (H the helpers, F the handlers, D the records).
 * A block whose last instruction branches back to its first (a loop that is one block, the common inner loop)
 * runs its iterations inside the function: at the back edge it does what the run loop's chaining would (the
 * taken branch's fetch accounting, the instruction bound `room`, the stop and staleness checks) and goes round
 * again; its return values then count every instruction retired (the run loop finds the last one's record modulo
 * the block's length).
 */
function blockSource(b: Block, k: Costs): string {
  const insns = b.insns;
  const lines: string[] = [];
  const last = insns.length - 1;
  const len = insns.length;
  const lastD = insns[last]!;
  const lastEnd = b.ends[last]!;
  const loops = (lastD.fn === jcc || lastD.fn === jmp) && lastEnd !== 4096 && lastEnd + (lastD.immLo | 0) === b.start;
  const retired = (n: number): string => (loops ? `lp + ${n}` : `${n}`);
  let off = b.start;
  let flags: AluFlags | null = null;
  for (let i = 0; i <= last; i++) {
    const d = insns[i]!;
    const end = off + d.len;
    lines.push(`  // +${off.toString(16)} ${d.len} bytes: ${d.fn.name}`);
    // Next RIP: within the page, so only an instruction that ends at the page's end can carry into the high half.
    // A handler may read it (RIP-relative operands, branches), so it is set before a call; an inline form uses
    // the constant expression and the block sets s.nxLo/nxHi only where the loop will read them: when leaving.
    const nxSet = end === 4096 ? 'nl = pageLo + 4096; s.nxLo = nl >>> 0; s.nxHi = nl > 0xffffffff ? (pageHi + 1) >>> 0 : pageHi;' : `s.nxLo = pageLo + ${end}; s.nxHi = pageHi;`;
    const X = `{ s.ripLo = pageLo + ${off}; s.ripHi = pageHi; ${FLUSH} return -(${retired(i + 1)}); }`;
    const t = template(d, { off, end, nxLo: end === 4096 ? 's.nxLo' : `(pageLo + ${end})`, nxHi: end === 4096 ? 's.nxHi' : 'pageHi', X, flags, k });
    // The ALU operation whose flags are now in effect (a handler call may have changed them: unknown).
    flags = t === null || t.flags === 'other' ? null : t.flags === 'keep' ? flags : t.flags;
    // The memory accesses' test first: when a compiled access cannot be made, leave before anything of the
    // instruction happened (its fetch accounting included); the run loop executes it.
    if (t !== null && t.guard !== null) lines.push(`  ${t.guard.pre} if (!(${t.guard.ok})) { s.nxLo = pageLo + ${off}; s.nxHi = pageHi; ${FLUSH} return ${retired(i)}; }`);
    // A new fetch block: at the entry as the run loop decided (`ent`: 2 charges the iTLB hit, 1 not: the page-entry
    // translation did), then for a sequential instruction starting a fetch block, and one whose last byte runs into
    // the next block.
    if (i === 0) lines.push('  if (ent !== 0) { nF++; if (ent === 2) cy += itlbHit; }');
    if (i > 0 && (off & 15) === 0) lines.push('  nF++; cy += itlbHit;');
    if (d.xblk !== 0) lines.push('  nF++; cy += itlbHit;');
    const nxBefore = t === null || end === 4096;
    if (nxBefore) lines.push(`  ${nxSet}`);
    if (d.cost !== 0) lines.push(`  cy += ${String(d.cost)};`);
    if (t !== null) lines.push(`  ${t.js}`);
    else {
      lines.push(`  stats.cycles = cy; f${i}(s, d${i}); cy = stats.cycles;`);
      lines.push(`  if (cpu.xv >= 0) ${X}`);
    }
    // A write into a code page (this block's included) drops its records: leave, the loop decodes afresh.
    // (a compiled store never writes a frame that holds decoded code: see Guard)
    if (i < last && t === null) lines.push(`  if (ic.gen !== gen) { ${FLUSH} return ${retired(i + 1)}; }`);
    if (i === last && !nxBefore && !t.branch) lines.push(`  ${nxSet}`);
    off = end;
  }
  if (loops) {
    // Taken back to the start: again, when the run loop's chaining would enter this block again (a taken branch
    // starts a new fetch block, an iTLB hit; the whole block fits in the instruction bound; nothing stopped the
    // run, made the fetch stale or dropped code).
    lines.push(`  if (s.nxLo === pageLo + ${b.start} && lp + ${2 * len} <= room && s.stop === 0 && !s.fetchStale && ic.gen === gen) { lp += ${len}; ent = 2; continue; }`);
  }
  lines.push(`  ${FLUSH} return ${retired(len)};`);
  const consts = insns.map((_, i) => `const f${i} = F[${i}], d${i} = D[${i}];`).join('\n');
  const name = `block_${b.start.toString(16)}`;
  const helpers = TEMPLATE_HELPERS.map((h) => `const ${h} = H.${h};`).join(' ');
  // The scratch locals are declared in the loop's body: each round starts with its own, and no value is carried
  // from one round to the next (nothing reads a scratch local before the round writes it).
  const scratch = 'let f = null, o = 0, mi = 0, nl = 0, eLo = 0, eHi = 0, lo = 0, hi = 0, v = 0, vh = 0, t = 0, fa = 0, fah = 0, fb = 0, fbh = 0, fr = 0, frh = 0, fw = null, ck = 0;';
  const text = lines.join('\n');
  const memo = (text.includes('MPg[') ? ` ${MEMO_LOCALS}` : '') + (text.includes('MPgW[') ? ` ${MEMO_W_LOCALS}` : '');
  const head = `const L = s.lo, HH = s.hi, M = cpu.mmu;${memo}`;
  const inner = loops ? `let lp = 0;\n  for (;;) {\n  ${scratch}\n${text}\n  }` : `${scratch}\n${text}`;
  const body = `  ${head}\n  let cy = stats.cycles, nF = 0, nR = 0, nW = 0;\n  ${inner}`;
  return `"use strict";\n${helpers}\n${consts}\nreturn function ${name}(s, cpu, stats, ic, gen, pageLo, pageHi, itlbHit, room, ent) {\n${body}\n};`;
}
