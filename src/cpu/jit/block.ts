/**
 * Basic blocks over the decoded-instruction cache: a run of instructions in one code page that execution
 * enters at its first instruction and leaves after its last, ended by a control transfer (Jcc, JMP, CALL, RET,
 * LOOP: the last instruction), by an instruction the run loop must execute itself (system instructions,
 * string instructions, anything that stops the run, changes the CPL or the paging state, or raises a software
 * interrupt), by the page end or by MAX_BLOCK instructions. The blocks are formed from the same records the
 * per-instruction loop dispatches (icache.ts), and compiled (compile.ts) once they are hot.
 *
 * This is the structure QEMU's TCG and v86's JIT share: translate a block once, cache it by physical
 * address, drop it with its page when the page is written.
 */

import { Insn, type Handler } from '../decode/insn.js';
import { DEC_OK, decode } from '../decode/decoder.js';
import type { PhysicalMemory } from '../../mmu/physical-memory.js';
import type { CodePage } from '../icache.js';
import { adcxAdox, aluAI, aluEG, aluEI, aluGE, cmpxchg, cmpxchg8b, incDecE, negE, notE, testEG, testEI, xadd } from '../exec/arith.js';
import { FAST_HANDLERS, specialize } from '../exec/fast.js';
import { bitScan, btEG, btEI } from '../exec/bits.js';
import { divE, idivE, imulE, imulGE, mulE } from '../exec/muldiv.js';
import { shiftDouble, shiftECL, shiftEI } from '../exec/shift.js';
import { bswap, cbw, cmovcc, cwd, lea, movbe, movEG, movEI, movGE, movMoffs, movsx, movzx, movZI, setcc, xchg, xlat } from '../exec/move.js';
import { enter, leave, popE, popZ, pushE, pushI, pushZ } from '../exec/stack.js';
import { call, callE, jcc, jmp, jmpE, loop, ret } from '../exec/control.js';
import { clc, cmc, lahf, nop, sahf, stc, xchgZA } from '../exec/misc.js';

/** Longest block (instructions). */
export const MAX_BLOCK = 64;
/** Entries into a block before it is compiled: code run a few times is cheaper to interpret than to compile. */
export const HOT_BLOCK = 24;

/**
 * A compiled block: runs the block's instructions from the first, as the run loop would (see compile.ts), within
 * `room` instructions (at least the block's length), charging the entry's fetch block as `ent` says (2: a new
 * fetch block and its iTLB hit; 1: a new fetch block, the page-entry translation was the lookup; 0: none).
 * Returns the number of instructions retired when it ran to its end or left early (RIP of the next one in
 * s.nxLo/nxHi; 0 when it left before its first instruction, nothing of it done, its fetch block not charged), or
 * -(k + 1) when the instruction after the k retired raised an exception (pending in cpu.xv; s.ripLo/ripHi at it).
 * A block that loops on itself retires more than its length: the last instruction retired is then record
 * (count - 1) modulo the length.
 */
export type BlockFn = (
  s: import('../exec/state.js').St,
  cpu: import('../cpu.js').Cpu,
  stats: import('../cpu.js').CpuStats,
  ic: import('../icache.js').ICache,
  gen: number,
  pageLo: number,
  pageHi: number,
  itlbHit: number,
  room: number,
  ent: number,
) => number;

export class Block {
  /** Entries so far (until compiled). */
  heat = 0;
  /** The compiled function, or null (not hot yet; run.ts's NO_BLOCK marker never gets one). */
  fn: BlockFn | null = null;
  constructor(
    /** Offset of the first instruction in the page. */
    readonly start: number,
    /** The records, in execution order (all cached in the page, none straddling). */
    readonly insns: readonly Insn[],
  ) {
    this.length = insns.length;
    this.ends = new Int32Array(insns.length);
    let o = start;
    for (let i = 0; i < insns.length; i++) this.ends[i] = o += insns[i]!.len;
  }
  /** Instructions in the block. */
  readonly length: number;
  /** Page offset just after each instruction (where sequential fetch continues). */
  readonly ends: Int32Array;
}

/** Handlers that may run inside a block: they only read and write registers, flags and memory (and may fault). */
const BODY = new Set<Handler>([
  aluEG, aluEI, aluGE, aluAI, testEG, testEI, incDecE, negE, notE, xadd, cmpxchg, cmpxchg8b, adcxAdox,
  ...FAST_HANDLERS,
  btEG, btEI, bitScan,
  mulE, imulE, imulGE, divE, idivE,
  shiftEI, shiftECL, shiftDouble,
  movEG, movGE, movEI, movZI, movMoffs, movzx, movsx, lea, xchg, cbw, cwd, bswap, movbe, xlat, setcc, cmovcc,
  pushZ, popZ, pushI, pushE, popE, leave, enter,
  nop, xchgZA, clc, stc, cmc, lahf, sahf,
]);
/** Handlers that end a block (they set the next RIP). */
const ENDS = new Set<Handler>([jcc, jmp, jmpE, call, callE, ret, loop]);

/** May the record be part of a block (as its body, or as its last instruction)? */
export function blockable(d: Insn): boolean {
  return BODY.has(d.fn) || ENDS.has(d.fn);
}

const BUF = new Uint8Array(15);

/**
 * Give a fresh record what the run loop fills in when it caches one: its class's cycles, its specialized
 * handler, and whether its last byte runs into the next 16-byte fetch block.
 */
export function prepare(d: Insn, off: number, cost: Float64Array): void {
  d.cost = cost[d.cls];
  d.fn = specialize(d);
  d.xblk = (off + d.len - 1) >>> 4 !== off >>> 4 ? 1 : 0;
}

/**
 * Form the block that starts at `off` (whose record is in the page): follow the instructions in order,
 * decoding the ones not cached yet from the frame's bytes (without side effects: an instruction that does not
 * decode, or that would run past the page, ends the block before it; the run loop will meet it and raise
 * what it raises). Returns null when the first instruction cannot be in a block.
 */
export function formBlock(page: CodePage, mem: PhysicalMemory, off: number, cost: Float64Array): Block | null {
  const insns: Insn[] = [];
  const frame = mem.readFrame(page.frameNo);
  let o = off;
  while (insns.length < MAX_BLOCK && o < 4096) {
    let d = page.insns[o];
    if (d === undefined) {
      if (frame === null) break;
      const avail = Math.min(15, 4096 - o);
      for (let i = 0; i < avail; i++) BUF[i] = frame.getUint8(o + i);
      const n = new Insn();
      if (decode(BUF, avail, n) !== DEC_OK) break;
      prepare(n, o, cost);
      page.insns[o] = n;
      d = n;
    }
    if (BODY.has(d.fn)) {
      insns.push(d);
      o += d.len;
      continue;
    }
    if (ENDS.has(d.fn)) insns.push(d);
    break;
  }
  return insns.length === 0 ? null : new Block(off, insns);
}
