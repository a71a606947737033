/**
 * The run loop: fetch through the instruction TLB (one translation per code page entered), look the
 * instruction up in the decoded cache by physical address (decode on a miss), charge its class's cycles,
 * dispatch to its handler, then either retire it (RIP = next) or take the exception it left pending
 * (RIP at the faulting instruction; traps after it). Hooks cost one branch each when present and nothing
 * when absent. The loop allocates nothing per instruction; exceptions, hooks and decoding may.
 *
 * Fetch accounting: `stats.fetches` counts 16-byte fetch blocks, as the legacy decode pipeline fetches 16
 * aligned bytes per cycle (Intel Optimization Reference Manual, "Legacy Decode Pipeline"): one when execution
 * enters a block (sequentially or by a taken branch, an exception or an IRET; a branch to the same block
 * fetches it again), plus one when an instruction's bytes run into the next block. Each block fetch is an
 * iTLB lookup and is charged the profile's L1 TLB hit cost (mmu timing `l1TlbHit`); the lookup of the first
 * block after a page entry is the page-entry translation itself (charged by the MMU with its walk if any).
 * The translation is redone when the code page changes and whenever the guest may have changed it
 * (`fetchStale`: MOV CR0/CR3/CR4, INVLPG, INVPCID, WRMSR EFER, a CPL change, IRET, and at every run start
 * or hook return); between those, keeping it is what the iTLB does (SDM Vol. 3A 4.10.4: a PTE change
 * without an invalidation may go unseen). Keys never apply to fetches (SDM 4.6.2), so PKRS/PKRU writes
 * need no re-translation.
 */

import type { Cpu } from './cpu.js';
import { ACC_FETCH, ACC_USER } from '../mmu/rights.js';
import { makeFault, VEC_PF } from './faults.js';
import { Insn } from './decode/insn.js';
import { DEC_GP, DEC_MORE, DEC_OK, decode } from './decode/decoder.js';
import { icacheOf } from './icache.js';
import { St } from './exec/state.js';
import { costTable } from './exec/cost.js';
import { Block, formBlock, HOT_BLOCK, prepare } from './jit/block.js';
import { compileBlock } from './jit/compile.js';
import type { Costs } from './jit/templates.js';
import type { CodePage } from './icache.js';
import { ARITH, F_RAW, getFlags } from './exec/flags.js';
import { deliver, DELIVERED, NO_IDT } from './exceptions.js';
import type { RunHooks, RunOptions, RunResult } from './run-types.js';

export type { RunHooks, RunOptions, RunResult } from './run-types.js';

const STATES = new WeakMap<Cpu, St>();

/**
 * The instructions a compiled block may retire (it loops on itself while a whole round fits), as an int32: a
 * bound past 2^31 - 1 (or Infinity) would be passed as a heap number, one allocated per block entry. A block
 * that reaches 2^31 - 1 returns to the loop, which enters it again.
 */
function room(left: number): number {
  return left > 0x7fffffff ? 0x7fffffff : left | 0;
}

/** The interpreter state of a CPU (created on first use): descriptor-table registers, selectors... */
export function interpState(cpu: Cpu): St {
  let s = STATES.get(cpu);
  if (s === undefined) {
    const p = cpu.profile;
    s = new St(cpu, costTable(p));
    s.costTaken = p.insn.branch;
    s.costLoad = p.insn.load;
    s.costStore = p.insn.store;
    s.costNotTaken = p.insn.branchNotTaken;
    s.costString = p.insn.string;
    s.divCost[1] = p.insn.div8;
    s.divCost[2] = p.insn.div16;
    s.divCost[4] = p.insn.div32;
    s.divCost[8] = p.insn.div;
    s.costPort = p.insn.port;
    s.costStac = p.insn.stac;
    s.costSwapgs = p.insn.swapgs;
    s.costSyscall = p.insn.syscall;
    s.costSysret = p.insn.sysret;
    STATES.set(cpu, s);
  }
  return s;
}

const DEFAULT_MAX = 100_000_000;
const HOOK_NAMES = new Set(['onException', 'onSyscall', 'onHlt', 'onPortWrite', 'onPortRead', 'onCode', 'onMemory']);

function validate(opts: RunOptions | undefined): { max: number; hooks: RunHooks | null } {
  if (opts === undefined) return { max: DEFAULT_MAX, hooks: null };
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`run options must be an object, got ${String(opts)}`);
  for (const k of Object.keys(opts)) if (k !== 'maxInstructions' && k !== 'hooks') throw new RangeError(`unknown run option '${k}'; known: maxInstructions, hooks`);
  const m = opts.maxInstructions ?? DEFAULT_MAX;
  if (typeof m !== 'number') throw new TypeError(`maxInstructions must be a number, got ${typeof m}`);
  if (!(m === Infinity || (Number.isInteger(m) && m >= 0))) throw new RangeError(`maxInstructions must be a non-negative integer or Infinity, got ${m}`);
  const h = opts.hooks;
  if (h === undefined) return { max: m, hooks: null };
  if (typeof h !== 'object' || h === null) throw new TypeError(`hooks must be an object, got ${String(h)}`);
  for (const [k, v] of Object.entries(h)) {
    if (!HOOK_NAMES.has(k)) throw new RangeError(`unknown hook '${k}'; known: ${[...HOOK_NAMES].join(', ')}`);
    if (v === undefined) continue;
    if (k === 'onCode' || k === 'onMemory') {
      const r = v as { start: unknown; end: unknown; hook: unknown };
      if (typeof r !== 'object' || r === null || typeof r.hook !== 'function') throw new TypeError(`hooks.${k} must be { start, end, hook }`);
      if (typeof r.start !== 'bigint' || typeof r.end !== 'bigint') throw new TypeError(`hooks.${k}.start and .end must be bigints`);
      if (r.start < 0n || r.end < r.start || r.end > 1n << 64n) throw new RangeError(`hooks.${k} range [${r.start}, ${r.end}) is not a range of 64-bit addresses`);
    } else if (typeof v !== 'function') throw new TypeError(`hooks.${k} must be a function, got ${typeof v}`);
  }
  return { max: m, hooks: h };
}

function big(lo: number, hi: number): bigint {
  return (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
}

/** Put the lazy state into the Cpu (flags, RIP) so that hooks and callers see the architectural state. */
function syncOut(s: St, ripLo: number, ripHi: number): void {
  const f = getFlags(s);
  s.cpu.setRflagsBits((s.cpu.rflagsNum & ~ARITH) | f);
  s.fOp = F_RAW;
  s.fRaw = f;
  s.cpu.ripLo = ripLo >>> 0;
  s.cpu.ripHi = ripHi >>> 0;
}
/** Take the Cpu's state back after a hook (or at the start of a run). */
function syncIn(s: St): void {
  s.fOp = F_RAW;
  s.fRaw = s.cpu.rflagsNum & ARITH;
  s.ripLo = s.cpu.ripLo >>> 0;
  s.ripHi = s.cpu.ripHi >>> 0;
  s.selectorsForCpl();
  s.cplChanged();
  s.segChanged();
}

function installHooks(s: St, hooks: RunHooks | null): void {
  s.hooks = hooks;
  const cpu = s.cpu;
  s.watch = hooks?.onMemory !== undefined;
  s.portRead = (st, port, size) => {
    const h = hooks?.onPortRead;
    if (h === undefined) return 0xffffffff;
    syncOut(st, st.ripLo, st.ripHi);
    const r = h(cpu, port, size as 1 | 2 | 4);
    if (r === 'stop') st.stop = 2;
    return typeof r === 'number' ? r >>> 0 : 0xffffffff;
  };
  s.portWrite = (st, port, size, v) => {
    const h = hooks?.onPortWrite;
    if (h === undefined) return;
    syncOut(st, st.ripLo, st.ripHi);
    if (h(cpu, port, size as 1 | 2 | 4, v >>> 0) === 'stop') st.stop = 2;
  };
  s.syscallHook = (st) => {
    const h = hooks?.onSyscall;
    if (h === undefined) return false;
    syncOut(st, st.nxLo, st.nxHi);
    const r = h(cpu);
    if (r !== 'handled' && r !== 'stop') return false;
    syncIn(st);
    st.nxLo = st.ripLo;
    st.nxHi = st.ripHi;
    st.ripLo = cpu.ripLo; // (same value: the run loop retires to nx)
    if (r === 'stop') st.stop = 2;
    return true;
  };
  s.memHook = (st, write, lo, hi, size, vLo, vHi) => {
    const w = hooks?.onMemory;
    if (w === undefined) return;
    const a = big(lo, hi);
    if (a + BigInt(size) <= w.start || a >= w.end) return;
    syncOut(st, st.ripLo, st.ripHi);
    const ev = write ? { access: 'write' as const, address: a, size, value: BigInt.asUintN(size * 8, big(vLo, vHi)) } : { access: 'read' as const, address: a, size };
    if (w.hook(cpu, ev) === 'stop') st.stop = 2;
  };
}

/** cpu.run(): execute until HLT, the instruction limit, an exception without an IDT, a triple fault or a hook's stop. */
export function runCpu(cpu: Cpu, opts?: RunOptions): RunResult {
  const { max, hooks } = validate(opts);
  const s = interpState(cpu);
  installHooks(s, hooks);
  syncIn(s);
  s.stop = 0;
  s.soft = 0;
  s.extra = 0;
  cpu.xv = -1;
  const res = loop(s, max);
  cpu.stats.instructions += res.instructions;
  s.hooks = null;
  s.watch = false;
  return res;
}

function result(s: St, reason: RunResult['reason'], n: number): RunResult {
  syncOut(s, s.ripLo, s.ripHi);
  return { reason, instructions: n, rip: big(s.ripLo, s.ripHi) };
}

const BUF = new Uint8Array(16);
const SCRATCH = new Insn();
/** Marks an offset where no block can start (its first instruction must run through the loop). */
const NO_BLOCK = new Block(-1, []);

function loop(s: St, max: number): RunResult {
  const cpu = s.cpu;
  const mem = cpu.memory;
  const ic = icacheOf(mem);
  const codeHook = s.hooks?.onCode;
  const stats = cpu.stats;
  let n = 0;
  let pageNo = -1;
  let pageHi = 0;
  let pageBase = 0;
  let page: CodePage | null = null;
  let gen = -1;
  // Fetch accounting (see the file comment): the RIP that continues the last instruction sequentially, and
  // whether the first block's iTLB lookup was charged by the page-entry translation.
  let seqLo = -1;
  let entered = 0;
  // After a compiled block left before its first instruction: the fetch decision it was entered with (else -1).
  let resume = -1;
  const itlbHit = cpu.mmu.timing.l1TlbHit;
  // the costs compiled blocks add as constants
  const costs: Costs = { load: s.costLoad, store: s.costStore, taken: s.costTaken, notTaken: s.costNotTaken, data: cpu.dataCost, l1Hit: cpu.mmu.l1HitCost };
  // Exceptions delivered count against the bound too: a handler that faults forever must not hang the host.
  let events = 0;
  // Compiled blocks run only when nothing watches single instructions or accesses (hooks see every one).
  let blocks = ic.compileBlocks && codeHook === undefined && !s.watch;
  while (n + events < max) {
    const ripLo = s.ripLo;
    const ripHi = s.ripHi;
    // ---- fetch: translate the code page on entry (SDM 4.6: fetches are checked like any access) ----
    if (s.fetchStale || ripLo >>> 12 !== pageNo || ripHi !== pageHi) {
      // Translate RIP itself, so that a #PF reports the fetch address in CR2 (SDM Vol. 3A 4.7).
      const pa = cpu.xlate(ripLo >>> 0, ripHi | 0, ACC_FETCH | (cpu.cpl === 3 ? ACC_USER : 0));
      if (pa < 0) {
        pageNo = -1;
        stats.fetches++; // the fetch was attempted (and faulted)
        events++;
        const r = takeException(s, n, max);
        if (r !== null) return r;
        continue;
      }
      pageBase = pa - (ripLo & 0xfff);
      pageNo = ripLo >>> 12;
      pageHi = ripHi;
      page = null;
      s.fetchStale = false;
      entered = 1;
    }
    if (page === null || gen !== ic.gen) {
      page = ic.page(pageBase / 4096);
      gen = ic.gen;
    }
    const off = ripLo & 0xfff;
    // A new fetch block unless this instruction continues the last one sequentially inside the block its
    // predecessor ended in (a taken branch or an event re-steers the fetch even within the same block): `ent` 2
    // (an iTLB hit charged), 1 (the page-entry translation was the lookup) or 0; charged below, or by the compiled
    // block entered here. After a block left before its first instruction (`resume`), the decision it was given,
    // and that instruction runs here.
    const ent = resume >= 0 ? resume : ripLo !== seqLo || (off & 15) === 0 ? (entered === 0 ? 2 : 1) : 0;
    const enter = resume < 0;
    resume = -1;
    entered = 0;
    // ---- a compiled basic block starts here: it runs its instructions as this loop would (jit/compile.ts),
    // charging the first one's fetch block as `ent` says ----
    if (blocks && enter) {
      const bs = page.blocks;
      if (bs !== null) {
        let b = bs[off];
        let left = max - n - events;
        if (b !== undefined && b.fn !== null && b.length <= left) {
          const pageLo = ripLo - off;
          let e = ent;
          let r = b.fn(s, cpu, stats, ic, gen, pageLo, ripHi, itlbHit, room(left), e);
          // Chained: while the next instruction starts a compiled block in the same page and nothing the loop's
          // top checks has changed, enter it here with the same fetch accounting (entered = 0 here).
          while (r > 0) {
            n += r;
            // the last instruction retired (a block that loops on itself retires more than its length)
            seqLo = (pageLo + b.ends[r <= b.length ? r - 1 : (r - 1) % b.length]!) >>> 0;
            const nl = s.nxLo >>> 0;
            const nh = s.nxHi >>> 0;
            s.ripLo = nl;
            s.ripHi = nh;
            if (s.fetchStale || nl >>> 12 !== pageNo || nh !== pageHi || gen !== ic.gen || s.stop !== 0) break;
            const o = nl & 0xfff;
            const next = bs[o];
            const fn = next?.fn;
            left = max - n - events;
            if (next === undefined || fn === null || fn === undefined || next.length > left) break;
            e = nl !== seqLo || (o & 15) === 0 ? 2 : 0;
            b = next;
            r = fn(s, cpu, stats, ic, gen, pageLo, nh, itlbHit, room(left), e);
          }
          if (r > 0) continue;
          if (r === 0) {
            // it left before its first instruction (a memory access it could not make itself): run it here
            s.ripLo = s.nxLo >>> 0;
            s.ripHi = s.nxHi >>> 0;
            resume = e;
            continue;
          }
          // the instruction after the -r - 1 retired raised an exception
          n += -r - 1;
          seqLo = (pageLo + b.ends[(-r - 1) % b.length]!) >>> 0;
          events++;
          const rr = takeException(s, n, max);
          if (rr !== null) return rr;
          continue;
        }
      }
    }
    if (ent !== 0) {
      stats.fetches++;
      if (ent === 2 && itlbHit !== 0) stats.cycles += itlbHit;
    }
    let d: Insn | undefined | null = page.insns[off];
    if (d === undefined) {
      d = fetchDecode(s, pageBase, off, ripLo, ripHi);
      if (d === null) {
        events++;
        const r = takeException(s, n, max);
        if (r !== null) return r;
        continue;
      }
      prepare(d, off, s.cost);
      if (!d.straddles) page.insns[off] = d;
    }
    if (codeHook !== undefined) {
      const a = big(ripLo, ripHi);
      if (a >= codeHook.start && a < codeHook.end) {
        syncOut(s, ripLo, ripHi);
        if (codeHook.hook(cpu, a) === 'stop') return result(s, 'stopped', n);
        syncIn(s);
        if (s.ripLo !== ripLo || s.ripHi !== ripHi) continue;
      }
    }
    // The instruction's last byte in a further block: one more fetch (straddling a page: the next page's block).
    if (d.xblk !== 0) {
      stats.fetches++;
      stats.cycles += itlbHit;
    }
    // ---- basic blocks: formed on the first entry here, compiled once hot (then entered above) ----
    if (blocks) {
      let bs = page.blocks;
      if (bs === null) bs = page.blocks = new Array<Block | undefined>(4096);
      let b = bs[off];
      if (b === undefined) {
        b = formBlock(page, mem, off, s.cost) ?? NO_BLOCK;
        bs[off] = b;
      }
      if (b !== NO_BLOCK && b.fn === null && ++b.heat >= HOT_BLOCK) {
        try {
          b.fn = compileBlock(b, mem.readFrame(page.frameNo)!, costs); // a block's records were decoded from a backed frame
          ic.blocksCompiled++;
        } catch {
          ic.compileBlocks = false; // generated code is not allowed here: interpret
          blocks = false;
        }
      }
    }
    // ---- execute ----
    const nl = ripLo + d.len;
    seqLo = nl >>> 0;
    s.nxLo = nl >>> 0;
    s.nxHi = nl > 0xffffffff ? (ripHi + 1) >>> 0 : ripHi;
    s.budget = max - n - events;
    stats.cycles += d.cost;
    d.fn(s, d);
    if (cpu.xv >= 0) {
      n += s.extra;
      s.extra = 0;
      events++;
      const r = takeException(s, n, max);
      if (s.soft === -1) {
        s.soft = 0;
        n++; // the trap's instruction retired
        events--;
      }
      if (r !== null) return r;
      continue;
    }
    n += 1 + s.extra;
    s.extra = 0;
    s.ripLo = s.nxLo >>> 0;
    s.ripHi = s.nxHi >>> 0;
    if (s.stop !== 0) {
      const why = s.stop;
      s.stop = 0;
      if (why === 1) {
        const h = s.hooks?.onHlt;
        if (h === undefined) return result(s, 'hlt', n);
        syncOut(s, s.ripLo, s.ripHi);
        const r = h(cpu);
        if (r === 'stop') return result(s, 'stopped', n);
        if (r !== 'resume') return result(s, 'hlt', n);
        syncIn(s);
      } else return result(s, 'stopped', n);
    }
  }
  return result(s, 'limit', n);
}

/**
 * Decode the instruction at the fetch address; null with the exception pending (#PF, #UD, #GP). The bytes in
 * the current page are decoded first; only an instruction that runs past the page's end translates the next
 * page (its fetch may fault there, with CR2 at the next page). Decoding has no other effect, so a record
 * decoded ahead by block formation (jit/block.ts) is the same as one decoded here.
 */
function fetchDecode(s: St, pageBase: number, off: number, ripLo: number, ripHi: number): Insn | null {
  const cpu = s.cpu;
  const mem = cpu.memory;
  const f = mem.readFrame(pageBase / 4096);
  const first = Math.min(15, 4096 - off);
  for (let i = 0; i < first; i++) BUF[i] = f === null ? 0xff : f.getUint8(off + i);
  let d = new Insn();
  let rc = decode(BUF, first, d);
  if (rc === DEC_MORE) {
    // The instruction continues on the next page: translate it (a failure is the fetch's fault).
    const l = ((ripLo & ~0xfff) >>> 0) + 4096;
    const nLo = l >>> 0;
    const nHi = l > 0xffffffff ? (ripHi + 1) | 0 : ripHi | 0;
    const pa2 = cpu.xlate(nLo, nHi, ACC_FETCH | (cpu.cpl === 3 ? ACC_USER : 0));
    if (pa2 < 0) return null;
    const f2 = mem.readFrame(pa2 / 4096);
    for (let i = first; i < 15; i++) BUF[i] = f2 === null ? 0xff : f2.getUint8(i - first);
    d = SCRATCH;
    rc = decode(BUF, 15, d);
    if (rc === DEC_OK) d.straddles = true; // never cached: the second page may change mapping
  }
  if (rc === DEC_OK) {
    if (f === null) d.straddles = true; // never cache decodes of unbacked memory
    return d;
  }
  cpu.raise(rc === DEC_GP ? 13 : 6, 0);
  return null;
}

/**
 * The exception left pending by an instruction (or a fetch): hooks first, then delivery through the IDT.
 * Returns a result when the run must stop, or null to go on.
 */
function takeException(s: St, n: number, _max: number): RunResult | null {
  const cpu = s.cpu;
  const vec = cpu.xv;
  const ec = cpu.xec;
  const aLo = cpu.xaddrLo;
  const aHi = cpu.xaddrHi;
  const soft = s.soft;
  // A trap (INT n, INT3, INT1) retires its instruction: the return address is the next one.
  if (soft !== 0) {
    s.ripLo = s.nxLo;
    s.ripHi = s.nxHi;
    s.soft = -1;
    n++;
  }
  cpu.xv = -1;
  syncOut(s, s.ripLo, s.ripHi);
  const h = s.hooks?.onException;
  if (h !== undefined) {
    const fault = makeFault(vec, ec, vec === VEC_PF ? big(aLo, aHi) : undefined);
    const r = h(cpu, { vector: vec, errorCode: ec, rip: big(s.ripLo, s.ripHi), fault });
    if (r === 'stop') return { ...result(s, 'stopped', n), vector: vec, errorCode: ec, fault };
    if (r === 'handled') {
      syncIn(s);
      return null;
    }
  }
  const out = deliver(s, vec, ec, soft === 1, s.ripLo, s.ripHi);
  if (out === DELIVERED) {
    s.ripLo = s.nxLo;
    s.ripHi = s.nxHi;
    return null;
  }
  if (out === NO_IDT) {
    const fault = makeFault(vec, ec, vec === VEC_PF ? big(aLo, aHi) : undefined);
    return { ...result(s, 'exception', n), vector: vec, errorCode: ec, fault };
  }
  return { ...result(s, 'triple-fault', n), vector: 8, errorCode: 0 };
}
