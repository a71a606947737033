/**
 * Compiled basic blocks (src/cpu/jit) against the per-instruction loop they replace: the same programs and
 * random code run both ways must end in the same registers, flags, memory, instruction count, cycles and every
 * statistic; blocks must also end exactly where the loop would: at an exception (RIP at the faulting
 * instruction, what came before retired), at the instruction bound, and after a store into code (the rest of
 * the block is decoded afresh).
 */

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Asm, Code, Register as R, mem, imm } from './asm.js';
import { rig, load, CODE, type Rig } from './rig.js';
import { icacheOf } from '../../src/cpu/icache.js';
import { HOT_BLOCK } from '../../src/cpu/jit/block.js';
import { runElf } from '../../src/loader/index.js';
import { OPT_LEVELS, PROGRAM_NAMES, readElf } from '../programs/corpus.js';
import type { Cpu } from '../../src/cpu/cpu.js';
import type { ProfileOverrides } from '../../src/cpu/profiles.js';

/**
 * Linear SMALL.. maps the 64 KiB at physical 0x500000 (the data the state compares) with 4 KiB pages: the rig's
 * identity map uses 2 MiB pages, and the MMU's read and write memos (and the compiled reads that use them) act on
 * 4 KiB L1 hits only.
 */
const SMALL = 0x10000000;
function mapSmall(r: Rig): void {
  for (let i = 0; i < 16; i++) r.pt.map(BigInt(SMALL + i * 4096), BigInt(0x500000 + i * 4096), 4096, { write: true, user: true });
}

const GPRS = ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi', 'rbp', 'rsp', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;

function state(cpu: Cpu): Record<string, unknown> {
  const regs: Record<string, bigint> = {};
  for (const g of GPRS) regs[g] = cpu.getReg(g);
  // the data TLBs' LRU stamps too: compiled accesses mark their slot used as the core's translate does
  const lru = { read: [...cpu.mmu.l1Read.stamp], write: [...cpu.mmu.l1Write.stamp] };
  return { regs, rip: cpu.rip, rflags: cpu.rflags, stats: { ...cpu.stats }, cr2: cpu.readCr(2), lru };
}

/** Run the rig's program with blocks on or off; the machine's state and the run's result. */
function runBoth(build: (blocks: boolean) => Rig, max: number): { on: unknown; off: unknown; compiled: number } {
  const out: unknown[] = [];
  let compiled = 0;
  for (const blocks of [true, false]) {
    const r = build(blocks);
    const ic = icacheOf(r.m.memory);
    ic.compileBlocks = blocks;
    const res = r.cpu.run({ maxInstructions: max });
    if (blocks) compiled = ic.blocksCompiled;
    out.push({ res: { ...res, fault: res.fault?.message }, cpu: state(r.cpu), data: r.m.memory.readBytes(0x500000n, 256) });
  }
  return { on: out[0], off: out[1], compiled };
}

describe('compiled blocks run the program corpus exactly as the loop does', () => {
  for (const name of PROGRAM_NAMES) {
    for (const opt of OPT_LEVELS) {
      it(`${name} -${opt}: same output, instructions, cycles and statistics`, () => {
        const runs = [true, false].map((blocks) => {
          let compiled = 0;
          const r = runElf(readElf(name, opt), {
            maxInstructions: 50_000_000,
            onStart: (_cpu, m) => {
              icacheOf(m.memory).compileBlocks = blocks;
            },
          });
          compiled = icacheOf(r.cpu.memory).blocksCompiled;
          return { out: { reason: r.reason, exitCode: r.exitCode, stdout: r.stdout, instructions: r.instructions, cycles: r.cycles, cpu: state(r.cpu) }, compiled };
        });
        expect(runs[0]!.compiled).toBeGreaterThan(0);
        expect(runs[1]!.compiled).toBe(0);
        expect(runs[0]!.out).toEqual(runs[1]!.out);
      });
    }
  }
});

/**
 * A rig running a hot loop: `setup` once, then ECX = rounds times `body` (which may bind labels), DEC ECX, JNE
 * back; then HLT and `after` (functions the body calls). `small`: data behind the 4 KiB pages at SMALL.
 */
function hotLoop(
  rounds: number,
  body: (a: Asm) => void,
  o: { setup?: (a: Asm, r: Rig) => void; after?: (a: Asm) => void; profile?: string; profileOverrides?: ProfileOverrides; small?: boolean } = {},
): () => Rig {
  return () => {
    const r = rig({ ...(o.profile === undefined ? {} : { profile: o.profile }), ...(o.profileOverrides === undefined ? {} : { profileOverrides: o.profileOverrides }) });
    if (o.small === true) mapSmall(r);
    const a = new Asm();
    const top = a.label();
    a.i(Code.Mov_r32_imm32, R.ECX, imm(rounds));
    o.setup?.(a, r);
    a.bind(top);
    body(a);
    a.i(Code.Dec_rm32, R.ECX);
    a.br(Code.Jne_rel32_64, top);
    a.i(Code.Hlt);
    o.after?.(a);
    load(r, a);
    return r;
  };
}

interface BothWays {
  res: { reason: string; vector?: number };
  cpu: { regs: Record<string, bigint>; rflags: bigint };
}
/** Run both ways: blocks were compiled, and the result and state are the same; the compiled run's. */
function sameBothWays(build: () => Rig, max: number): BothWays {
  const { on, off, compiled } = runBoth(build, max);
  expect(compiled).toBeGreaterThan(0);
  expect(on).toEqual(off);
  return on as BothWays;
}

/** A loop body the blocks compile: loads, stores, ALU with flags, a multiply, the stack, a call and a return. */
function loopProgram(iterations: number, extra: (a: Asm) => void = () => {}): Asm {
  const a = new Asm();
  const top = a.label();
  const fn = a.label();
  a.i(Code.Mov_r32_imm32, R.ECX, imm(iterations));
  a.i(Code.Mov_r64_imm64, R.RSI, imm(0x500000));
  a.bind(top);
  a.i(Code.Mov_r64_rm64, R.RAX, mem(R.RSI, 8));
  a.i(Code.Add_r64_rm64, R.RAX, R.RCX);
  a.i(Code.Imul_r64_rm64_imm8, R.RDX, R.RAX, imm(3));
  a.i(Code.Mov_rm64_r64, mem(R.RSI, 8), R.RDX);
  a.i(Code.Xor_rm32_r32, R.EBX, R.EDX);
  a.i(Code.Push_r64, R.RBX);
  a.i(Code.Pop_r64, R.R8);
  extra(a);
  a.br(Code.Call_rel32_64, fn);
  a.i(Code.Dec_rm32, R.ECX);
  a.br(Code.Jne_rel32_64, top);
  a.i(Code.Hlt);
  a.bind(fn);
  a.i(Code.Add_rm8_imm8, mem(R.RSI, 16), imm(1));
  a.i(Code.Setb_rm8, R.R9L);
  a.i(Code.Retnq);
  return a;
}

/** `mov eax, 7; ret` at physical 0x500000 (run through the identity map), and RSI = SMALL, its 4 KiB alias. */
function patchedFunction(a: Asm, r: Rig): void {
  r.m.load(0x500000n, new Uint8Array([0xb8, 7, 0, 0, 0, 0xc3]));
  a.i(Code.Mov_r64_imm64, R.RSI, imm(SMALL));
}

describe('compiled blocks end where the loop would', () => {
  it('a hot loop: same state, and blocks were compiled', () => {
    const { on, off, compiled } = runBoth(() => {
      const r = rig();
      load(r, loopProgram(200));
      return r;
    }, 100_000);
    expect(compiled).toBeGreaterThan(0);
    expect(on).toEqual(off);
  });

  it('the instruction bound falls inside a block: the same count, RIP and state', () => {
    for (const max of [HOT_BLOCK * 12 + 1, HOT_BLOCK * 12 + 5, 1001, 1337]) {
      const { on, off } = runBoth(() => {
        const r = rig();
        load(r, loopProgram(400));
        return r;
      }, max);
      expect(on).toEqual(off);
      expect((on as { res: { instructions: number } }).res.instructions).toBe(max);
    }
  });

  it('a loop that is one block runs its iterations inside it: the bound still falls where the loop would put it', () => {
    const body = (a: Asm) => {
      a.i(Code.Add_r64_rm64, R.RAX, R.RCX);
      a.i(Code.Mov_rm64_r64, mem(R.RSI, 8), R.RAX);
      a.i(Code.Xor_r64_rm64, R.RBX, mem(R.RSI, 8));
    };
    const setup = (a: Asm) => a.i(Code.Mov_r64_imm64, R.RSI, imm(SMALL));
    // 5 instructions a round (with DEC/JNE); bounds past the compile threshold, on and off a round's end
    for (const max of [HOT_BLOCK * 5 + 403, HOT_BLOCK * 5 + 400, 1999, 2001]) {
      const { on, off, compiled } = runBoth(hotLoop(1000, body, { setup, small: true }), max);
      expect(compiled).toBeGreaterThan(0);
      expect(on).toEqual(off);
      expect((on as { res: { instructions: number; reason: string } }).res).toMatchObject({ instructions: max, reason: 'limit' });
    }
  });

  it('a fault in a later round of a loop that is one block: RIP at the faulting load, the rounds before it counted', () => {
    // RSI walks up 64 bytes a round from SMALL; past its 64 KiB (round 1024, long after the block is hot) the
    // load, the block's second instruction, faults.
    const body = (a: Asm) => {
      a.i(Code.Add_r64_rm64, R.RBX, R.RCX);
      a.i(Code.Mov_r64_rm64, R.RAX, mem(R.RSI, 8));
      a.i(Code.Add_rm64_imm8, R.RSI, imm(64));
    };
    const setup = (a: Asm) => a.i(Code.Mov_r64_imm64, R.RSI, imm(SMALL));
    const on = sameBothWays(hotLoop(3000, body, { setup, small: true }), 100_000) as BothWays & { res: { instructions: number; rip: bigint } };
    expect(on.res).toMatchObject({ reason: 'exception', vector: 14 });
    expect(on.res.instructions).toBe(2 + 1024 * 5 + 1); // MOV ECX, MOV RSI; 1024 rounds; the ADD before the load
  });

  it('a page fault in the middle of a hot block: RIP at the faulting load, the instructions before it retired', () => {
    // After 100 iterations RSI is moved onto an unmapped page: the load at the top of the block faults.
    const { on, off, compiled } = runBoth(() => {
      const r = rig();
      load(
        r,
        loopProgram(300, (a) => {
          const skip = a.label();
          a.i(Code.Cmp_rm32_imm8, R.ECX, imm(100));
          a.br(Code.Jne_rel8_64, skip);
          a.i(Code.Mov_r64_imm64, R.RSI, imm(0x10000000)); // beyond the 64 MiB mapped
          a.bind(skip);
        }),
      );
      return r;
    }, 100_000);
    expect(compiled).toBeGreaterThan(0);
    expect((on as { res: { reason: string; vector: number } }).res).toMatchObject({ reason: 'exception', vector: 14 });
    expect(on).toEqual(off);
  });

  it('a store into the block being executed: the rest runs as rewritten', () => {
    // The loop patches the imm32 of "mov eax, imm32" later in its own block on iteration 150.
    const build = (): Rig => {
      const r = rig();
      // assembled with a placeholder absolute address (disp32) in the patching store, fixed below
      const b = new Asm();
      const top2 = b.label();
      const skip2 = b.label();
      b.i(Code.Mov_r32_imm32, R.ECX, imm(200));
      b.i(Code.Mov_r64_imm64, R.RDI, imm(0x500000));
      b.bind(top2);
      b.i(Code.Add_rm32_imm8, R.EDX, imm(1));
      b.i(Code.Cmp_rm32_imm8, R.ECX, imm(50));
      b.br(Code.Jne_rel8_64, skip2);
      b.i(Code.Mov_rm32_imm32, mem(R.None, 0), imm(7));
      b.bind(skip2);
      b.i(Code.Mov_rm32_imm32, mem(R.RDI, 0), imm(0));
      b.i(Code.Mov_r32_imm32, R.EAX, imm(1));
      b.i(Code.Add_r64_rm64, R.RBX, R.RAX);
      b.i(Code.Dec_rm32, R.ECX);
      b.br(Code.Jne_rel32_64, top2);
      b.i(Code.Hlt);
      let code = b.encode(CODE);
      let imm32 = -1;
      for (let i = 0; i + 4 < code.length; i++) if (code[i] === 0xb8 && code[i + 1] === 1 && code[i + 2] === 0 && code[i + 3] === 0 && code[i + 4] === 0) imm32 = i + 1;
      // patch the placeholder store's disp32 (C7 04 25 disp32 imm32) to address the immediate
      let st = -1;
      for (let i = 0; i + 10 < code.length; i++) if (code[i] === 0xc7 && code[i + 1] === 0x04 && code[i + 2] === 0x25 && code[i + 7] === 7) st = i;
      expect(imm32).toBeGreaterThan(0);
      expect(st).toBeGreaterThan(0);
      code = code.slice();
      new DataView(code.buffer).setUint32(st + 3, Number(CODE) + imm32, true);
      r.m.load(CODE, code);
      r.cpu.rip = CODE;
      return r;
    };
    const { on, off, compiled } = runBoth(build, 100_000);
    expect(compiled).toBeGreaterThan(0);
    expect(on).toEqual(off);
    // 150 iterations add 1, then 50 add 7 (the patched immediate): rbx = 150 + 350
    expect((on as { cpu: { regs: { rbx: bigint } } }).cpu.regs.rbx).toBe(500n);
  });

  it('a shift by a masked count of 0 writes nothing but still clears bits 63:32 of a 32-bit register', () => {
    const on = sameBothWays(
      hotLoop(100, (a) => {
        a.i(Code.Mov_r64_imm64, R.RDX, imm(-1));
        a.i(Code.Mov_r64_imm64, R.RBX, imm(-1));
        a.i(Code.Cmp_rm32_imm8, R.ECX, imm(7));
        a.i(Code.Shr_rm32_imm8, R.EDX, imm(32)); // count 32 & 31 = 0: EDX kept, bits 63:32 cleared, flags kept
        a.i(Code.Shl_rm64_imm8, R.RBX, imm(64)); // count 64 & 63 = 0: nothing changes
        a.i(Code.Sar_rm32_imm8, mem(R.RSI, 0), imm(32)); // memory: read, not written
        a.i(Code.Setb_rm8, R.AL);
      }, { setup: (a) => a.i(Code.Mov_r64_imm64, R.RSI, imm(0x500000)) }),
      10_000,
    );
    expect(on.cpu.regs.rdx).toBe(0xffffffffn);
    expect(on.cpu.regs.rbx).toBe(0xffffffffffffffffn);
  });

  it('a Jcc tested straight from the operands of the ALU operation before it: every condition, edge values', () => {
    // Each case: load two values, an ALU operation, a Jcc over an ADD of a case number into R9 (R9's sum and the
    // state show every branch taken), run hot (compiled) and through the loop.
    const values = [0n, 1n, -1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, -0x8000000000000000n, 0x7fffffffffffffffn, -0x80000000n];
    const pairs: [bigint, bigint][] = [];
    for (let i = 0; i < values.length; i++) for (let j = 0; j < values.length; j += 3) pairs.push([values[i]!, values[(i + j) % values.length]!]);
    const ops = [Code.Cmp_r64_rm64, Code.Cmp_r32_rm32, Code.Sub_r64_rm64, Code.Sub_r32_rm32, Code.Test_rm64_r64, Code.Test_rm32_r32, Code.And_r64_rm64, Code.Or_r32_rm32, Code.Xor_r64_rm64, Code.Add_r32_rm32, Code.Add_r64_rm64];
    const wide = (c: Code) => [Code.Cmp_r64_rm64, Code.Sub_r64_rm64, Code.Test_rm64_r64, Code.And_r64_rm64, Code.Xor_r64_rm64, Code.Add_r64_rm64].includes(c);
    const jccs = [Code.Jo_rel32_64, Code.Jno_rel32_64, Code.Jb_rel32_64, Code.Jae_rel32_64, Code.Je_rel32_64, Code.Jne_rel32_64, Code.Jbe_rel32_64, Code.Ja_rel32_64, Code.Js_rel32_64, Code.Jns_rel32_64, Code.Jp_rel32_64, Code.Jnp_rel32_64, Code.Jl_rel32_64, Code.Jge_rel32_64, Code.Jle_rel32_64, Code.Jg_rel32_64];
    const body = (a: Asm) => {
      let k = 0;
      for (const op of ops)
        for (const jcc of jccs)
          for (const [x, y] of pairs) {
            const skip = a.label();
            a.i(Code.Mov_r64_imm64, R.RAX, BigInt.asUintN(64, x));
            a.i(Code.Mov_r64_imm64, R.RDX, BigInt.asUintN(64, y));
            a.i(op, wide(op) ? R.RAX : R.EAX, wide(op) ? R.RDX : R.EDX);
            a.br(jcc, skip);
            a.i(Code.Add_rm64_imm32, R.R9, imm(++k));
            a.bind(skip);
          }
    };
    sameBothWays(hotLoop(HOT_BLOCK + 2, body), 10_000_000);
  });

  it('SHL/SHR/SAR by an immediate, written out in the block: every count class, edge values, flags after each', () => {
    const values = [1n, -1n, 0x7fffffffn, 0x80000000n, 0xffffffffn, 0x100000000n, -0x8000000000000000n, 0x7fffffffffffffffn, 0x123456789abcdef0n];
    const shifts = [
      [Code.Shl_rm32_imm8, Code.Shr_rm32_imm8, Code.Sar_rm32_imm8],
      [Code.Shl_rm64_imm8, Code.Shr_rm64_imm8, Code.Sar_rm64_imm8],
    ] as const;
    const body = (a: Asm) => {
      for (const [w, codes] of shifts.entries())
        for (const code of codes)
          for (const n of w === 0 ? [1, 2, 16, 31] : [1, 2, 31, 32, 33, 63])
            for (const [i, x] of values.entries()) {
              // register and memory forms alternate; the flags (OF and CF included) and the result go into R9
              a.i(Code.Mov_r64_imm64, R.RAX, BigInt.asUintN(64, x));
              if (i % 2 === 0) a.i(code, w === 0 ? R.EAX : R.RAX, imm(n));
              else {
                a.i(Code.Mov_rm64_r64, mem(R.RSI, 0), R.RAX);
                a.i(code, mem(R.RSI, 0), imm(n));
                a.i(Code.Mov_r64_rm64, R.RAX, mem(R.RSI, 0));
              }
              a.i(Code.Pushfq);
              a.i(Code.Pop_r64, R.RDX);
              a.i(Code.Rol_rm64_imm8, R.R9, imm(7));
              a.i(Code.Xor_r64_rm64, R.R9, R.RAX);
              a.i(Code.Xor_r64_rm64, R.R9, R.RDX);
            }
    };
    const setup = (a: Asm) => {
      a.i(Code.Mov_r64_imm64, R.RSI, imm(SMALL));
      a.i(Code.Mov_r64_imm64, R.RSP, imm(0x700000));
    };
    sameBothWays(hotLoop(HOT_BLOCK + 2, body, { setup, small: true }), 10_000_000);
  });

  it('a compiled read of a page evicted from the L1 TLB under its memo entry takes the TLB path again', () => {
    // SMALL (page P) is read twice, then seven pages of its L1 DTLB set (P + 16 + 32k: 16 sets and at most 6 ways on
    // every profile) evict it; their memo entries are all at another index, so P's entry is still there, made at an older version of
    // the TLB array: the next read of P must not take it.
    const far = (k: number) => (16 + 32 * k) * 4096;
    const setup = (a: Asm, r: Rig) => {
      for (let k = 0; k < 7; k++) r.pt.map(BigInt(SMALL + far(k)), BigInt(0x600000 + k * 4096), 4096, { write: true, user: true });
      a.i(Code.Mov_r64_imm64, R.RSI, imm(SMALL));
      a.i(Code.Mov_rm64_imm32, mem(R.RSI, 8), imm(5)); // P's frame allocated (compiled reads use allocated frames)
    };
    const body = (a: Asm) => {
      a.i(Code.Mov_r64_rm64, R.RAX, mem(R.RSI, 8));
      a.i(Code.Add_r64_rm64, R.RBX, R.RAX);
      a.i(Code.Mov_r64_rm64, R.RAX, mem(R.RSI, 24)); // an L1 hit: P's memo entry
      a.i(Code.Add_r64_rm64, R.RBX, R.RAX);
      for (let k = 0; k < 7; k++) a.i(Code.Mov_r64_rm64, R.RDX, mem(R.RSI, far(k)));
      a.i(Code.Mov_r64_rm64, R.RAX, mem(R.RSI, 16));
      a.i(Code.Add_r64_rm64, R.RBX, R.RAX);
    };
    const on = sameBothWays(hotLoop(100, body, { setup, small: true }), 100_000) as BothWays & { cpu: { stats: { stlbHits: number } } };
    expect(on.cpu.stats.stlbHits).toBeGreaterThan(100); // P came back from the STLB every round
  });

  it('a read of a never-written page, then a write that allocates its frame, then reads: the new bytes', () => {
    // Compiled reads that find the MMU's read memo use the memo'd frame; a frame not yet allocated (it reads as
    // zeros) must not be kept past the write that allocates it. Sapphire Rapids: the write fills the store-only
    // DTLB, so the data TLB the read memo depends on does not change under it.
    const body = (a: Asm) => {
      const skip = a.label();
      a.i(Code.Mov_r64_rm64, R.RAX, mem(R.RSI, 8));
      a.i(Code.Add_r64_rm64, R.RBX, R.RAX);
      a.i(Code.Cmp_rm32_imm8, R.ECX, imm(40)); // the read's block is compiled long before
      a.br(Code.Jne_rel8_64, skip);
      a.i(Code.Mov_rm64_imm32, mem(R.RSI, 8), imm(5));
      a.bind(skip);
    };
    // no byte of physical 0x500000.. written yet
    const setup = (a: Asm) => a.i(Code.Mov_r64_imm64, R.RSI, imm(SMALL));
    const on = sameBothWays(hotLoop(100, body, { setup, small: true, profile: 'sapphire-rapids' }), 100_000);
    expect(on.cpu.regs.rbx).toBe(5n * 39n);
  });

  describe('indirect JMP through memory and a register', () => {
    // The loop calls 0x540000: `jmp [rsi+64]` (the qword at SMALL+64: 0x540100), there `add rbx, 1; jmp r8` (R8 =
    // 0x540200), there `add rbx, 2; ret`. `change` runs at round 50 (ECX = 50) before the call.
    const run = (change: (a: Asm) => void) => {
      const body = (a: Asm) => {
        const skip = a.label();
        a.i(Code.Cmp_rm32_imm8, R.ECX, imm(50));
        a.br(Code.Jne_rel8_64, skip);
        change(a);
        a.bind(skip);
        a.i(Code.Mov_r64_imm64, R.RDX, imm(0x540000));
        a.i(Code.Call_rm64, R.RDX);
      };
      const setup = (a: Asm, r: Rig) => {
        r.m.load(0x540000n, new Uint8Array([0xff, 0x66, 0x40])); // jmp qword [rsi+64]
        r.m.load(0x540100n, new Uint8Array([0x48, 0x83, 0xc3, 0x01, 0x41, 0xff, 0xe0])); // add rbx, 1; jmp r8
        r.m.load(0x540200n, new Uint8Array([0x48, 0x83, 0xc3, 0x02, 0xc3])); // add rbx, 2; ret
        a.i(Code.Mov_r64_imm64, R.RSI, imm(SMALL));
        a.i(Code.Mov_r64_imm64, R.RAX, imm(0x540100));
        a.i(Code.Mov_rm64_r64, mem(R.RSI, 64), R.RAX);
        a.i(Code.Mov_r64_imm64, R.R8, imm(0x540200));
      };
      return sameBothWays(hotLoop(100, body, { setup, small: true }), 100_000) as BothWays & { res: { rip: bigint; instructions: number } };
    };

    it('runs to the end: both targets reached every round', () => {
      const on = run(() => {});
      expect(on.res.reason).toBe('hlt');
      expect(on.cpu.regs.rbx).toBe(300n);
    });

    it('a page fault reading the target: RIP at the JMP, RSP as the call left it', () => {
      const on = run((a) => a.i(Code.Mov_r64_imm64, R.RSI, imm(0x20000000))); // beyond the mapped memory
      expect(on.res).toMatchObject({ reason: 'exception', vector: 14, rip: 0x540000n });
      expect(on.cpu.regs.rbx).toBe(50n * 3n);
    });

    it('a target that is not canonical: #GP(0) at the JMP', () => {
      const on = run((a) => {
        a.i(Code.Mov_r64_imm64, R.RAX, 0x0000800000000000n);
        a.i(Code.Mov_rm64_r64, mem(R.RSI, 64), R.RAX);
      });
      expect(on.res).toMatchObject({ reason: 'exception', vector: 13, errorCode: 0, rip: 0x540000n });
      expect(on.cpu.regs.rbx).toBe(50n * 3n);
    });

    it('a register target that is not canonical: #GP(0) at the JMP', () => {
      const on = run((a) => a.i(Code.Mov_r64_imm64, R.R8, 0xfff0000000000000n));
      expect(on.res).toMatchObject({ reason: 'exception', vector: 13, errorCode: 0, rip: 0x540104n });
      expect(on.cpu.regs.rbx).toBe(50n * 3n + 1n);
    });
  });

  it('a compiled store through a 4 KiB alias into a page of code: the code is decoded afresh', () => {
    // The function at physical 0x500000 (`mov eax, imm32; ret`), run through the identity map, is patched through
    // the 4 KiB alias at SMALL by a compiled store after each call; the next call must run the new immediate.
    const body = (a: Asm) => {
      a.i(Code.Mov_r64_imm64, R.RDX, imm(0x500000));
      a.i(Code.Call_rm64, R.RDX);
      a.i(Code.Add_r64_rm64, R.RBX, R.RAX);
      a.i(Code.Mov_rm32_r32, mem(R.RSI, 1), R.ECX);
    };
    const on = sameBothWays(hotLoop(100, body, { setup: patchedFunction, small: true }), 100_000);
    // round c (100 down to 1) returns what round c + 1 stored: 7 first, then 100, 99, ..., 2
    expect(on.cpu.regs.rbx).toBe(7n + 5049n);
  });

  it('a compiled store to a page whose frame became code since its write-memo entry was made: the code is decoded afresh', () => {
    // `mov eax, imm32; ret` at physical 0x500000 is called, its immediate patched through the 4 KiB alias at SMALL
    // (a compiled store) and called again; then CR3 is reloaded (the TLB flushed) and the frame written twice more
    // through SMALL: the first store's walk refills the TLB (and, through the core, drops the decoded function),
    // the second makes the write-memo entry while the frame holds no decoded code. The next round's first call
    // decodes the function again (the frame is code again), so the patch must not write through the entry's view:
    // it must drop the decoded function, and the second call return this round's ECX.
    const body = (a: Asm) => {
      a.i(Code.Mov_r64_imm64, R.RDX, imm(0x500000));
      a.i(Code.Call_rm64, R.RDX);
      a.i(Code.Add_r64_rm64, R.RBX, R.RAX);
      a.i(Code.Mov_rm32_r32, mem(R.RSI, 1), R.ECX);
      a.i(Code.Call_rm64, R.RDX);
      a.i(Code.Add_r64_rm64, R.RBX, R.RAX);
      a.i(Code.Mov_r64_cr, R.RAX, R.CR3);
      a.i(Code.Mov_cr_r64, R.CR3, R.RAX);
      a.i(Code.Push_r64, R.RAX); // the stack page in the TLB again before the write-memo entry is made
      a.i(Code.Pop_r64, R.RAX);
      a.i(Code.Mov_rm32_r32, mem(R.RSI, 8), R.ECX);
      a.i(Code.Mov_rm32_r32, mem(R.RSI, 12), R.ECX);
    };
    const on = sameBothWays(hotLoop(100, body, { setup: patchedFunction, small: true }), 100_000);
    // round c (100 down to 1): the first call returns the last round's c + 1 (7 in the first), the second c
    expect(on.cpu.regs.rbx).toBe(7n + 5049n + 5050n);
  });

  describe('LEAVE in compiled blocks', () => {
    // Each round builds a frame (push rbp; mov rbp, rsp; sub rsp, 24; a store into it) and leaves it; at round 50
    // `change` runs before the LEAVE.
    const run = (change: (a: Asm) => void) => {
      const body = (a: Asm) => {
        const skip = a.label();
        a.i(Code.Push_r64, R.RBP);
        a.i(Code.Mov_r64_rm64, R.RBP, R.RSP);
        a.i(Code.Sub_rm64_imm8, R.RSP, imm(24));
        a.i(Code.Mov_rm64_r64, mem(R.RBP, -8), R.RCX);
        a.i(Code.Add_r64_rm64, R.RBX, mem(R.RBP, -8));
        a.i(Code.Cmp_rm32_imm8, R.ECX, imm(50));
        a.br(Code.Jne_rel8_64, skip);
        change(a);
        a.bind(skip);
        a.i(Code.Leaveq);
        a.i(Code.Add_r64_rm64, R.RBX, R.RBP);
      };
      const setup = (a: Asm) => a.i(Code.Mov_r64_imm64, R.RBP, imm(0x1234));
      return sameBothWays(hotLoop(100, body, { setup }), 100_000) as BothWays & { res: { rip: bigint; vector?: number } };
    };

    it('restores RSP and RBP every round', () => {
      const on = run(() => {});
      expect(on.res.reason).toBe('hlt');
      expect(on.cpu.regs.rbp).toBe(0x1234n);
      expect(on.cpu.regs.rsp).toBe(0x800000n);
      expect(on.cpu.regs.rbx).toBe(5050n + 100n * 0x1234n);
    });

    it('RBP pointing at unmapped memory: #PF at the LEAVE, RSP and RBP as they were', () => {
      const on = run((a) => a.i(Code.Mov_r64_imm64, R.RBP, 0x20000000n));
      expect(on.res).toMatchObject({ reason: 'exception', vector: 14 });
      expect(on.cpu.regs.rbp).toBe(0x20000000n);
      expect(on.cpu.regs.rsp).toBe(0x800000n - 32n);
    });
  });

  it('CALL and RET imm16 in compiled blocks, then a RET to a non-canonical address: #GP at the RET, RSP as before it', () => {
    const fn = { label: null as ReturnType<Asm['label']> | null };
    const body = (a: Asm) => {
      fn.label = a.label();
      a.i(Code.Push_r64, R.RCX);
      a.br(Code.Call_rel32_64, fn.label);
      a.i(Code.Add_r64_rm64, R.RBX, R.RAX);
    };
    const after = (a: Asm) => {
      const ok = a.label();
      a.bind(fn.label!);
      a.i(Code.Mov_r64_rm64, R.RAX, mem(R.RSP, 8)); // the pushed RCX
      a.i(Code.Cmp_rm32_imm8, R.ECX, imm(HOT_BLOCK + 5));
      a.br(Code.Jne_rel8_64, ok);
      a.i(Code.Mov_rm64_r64, mem(R.RSP, 0), R.RDI); // a return address that is not canonical
      a.bind(ok);
      a.i(Code.Retnq_imm16, imm(8));
    };
    const setup = (a: Asm) => a.i(Code.Mov_r64_imm64, R.RDI, 0x8000000000000000n);
    const on = sameBothWays(hotLoop(HOT_BLOCK * 3, body, { setup, after }), 100_000);
    expect(on.res.reason).toBe('exception');
    expect(on.res.vector).toBe(13);
  });

  it('random straight-line bodies in a hot loop (fast-check): the same state both ways', () => {
    const forms: ((a: Asm, x: number) => void)[] = [
      (a, x) => a.i(Code.Add_r64_rm64, R.RAX, mem(R.RSI, (x & 15) * 8)),
      (a, x) => a.i(Code.Mov_rm64_r64, mem(R.RSI, (x & 15) * 8), R.RBX),
      (a, x) => a.i(Code.Sub_rm32_imm32, R.EDX, imm(x)),
      (a, x) => a.i(Code.Shl_rm64_imm8, R.RBX, imm(x & 63)),
      (a) => a.i(Code.Adc_r64_rm64, R.RBX, R.RAX),
      (a, x) => a.i(Code.Lea_r64_m, R.RDI, mem(R.RAX, x & 0xff, R.RBX, 4)),
      (a) => a.i(Code.Imul_r64_rm64, R.RDX, R.RBX),
      (a) => a.i(Code.Movzx_r32_rm8, R.EAX, R.BL),
      (a) => a.i(Code.Cmovb_r64_rm64, R.RBX, R.RDX),
      (a, x) => a.i(Code.Xchg_rm64_r64, mem(R.RSI, (x & 15) * 8), R.RDX),
      (a) => a.i(Code.Push_r64, R.RAX),
      (a) => a.i(Code.Pop_r64, R.RBX),
      (a) => a.i(Code.Neg_rm64, R.RDX),
      (a) => a.i(Code.Neg_rm32, R.EBX),
      (a, x) => a.i(Code.Neg_rm64, mem(R.RSI, (x & 15) * 8)),
      (a, x) => a.i(Code.Neg_rm32, mem(R.RSI, (x & 15) * 8 + 4)),
      (a) => a.i(Code.Movzx_r32_rm8, R.EDX, R.AH), // a high byte register (no REX)
      (a) => a.i(Code.Movzx_r64_rm16, R.RDI, R.BX),
      (a) => a.i(Code.Movzx_r32_rm8, R.R9D, R.SIL),
      (a) => a.i(Code.Sete_rm8, R.AL),
      (a) => a.i(Code.Setl_rm8, R.BH),
      (a, x) => a.i(Code.Bt_rm64_imm8, R.RBX, imm(x & 63)),
      // a division that may fault (#DE when RCX's low byte makes the divisor 0)
      (a) => a.i(Code.Div_rm8, R.CL),
      // TEST, op rAX,imm, MOVSX/MOVSXD, CWDE/CDQE, shifts and rotates by an immediate (0 included), in register
      // and memory forms
      (a) => a.i(Code.Test_rm64_r64, R.RDX, R.RBX),
      (a, x) => a.i(Code.Test_rm32_imm32, mem(R.RSI, (x & 15) * 8), imm(x * 0x10001)),
      (a, x) => a.i(Code.Test_AL_imm8, R.AL, imm(x & 0xff)),
      (a, x) => a.i(Code.Cmp_EAX_imm32, R.EAX, imm(x * 0x8001)),
      (a, x) => a.i(Code.Add_RAX_imm32, R.RAX, imm(x * 0x10003)),
      (a, x) => a.i(Code.Xor_EAX_imm32, R.EAX, imm(x)),
      (a) => a.i(Code.Movsx_r64_rm8, R.RDX, R.BL),
      (a, x) => a.i(Code.Movsx_r32_rm16, R.EDI, mem(R.RSI, (x & 15) * 8 + 2)),
      (a, x) => a.i(Code.Movsxd_r64_rm32, R.RBX, mem(R.RSI, (x & 15) * 8 + 4)),
      (a) => a.i(Code.Cdqe),
      (a) => a.i(Code.Cwde),
      (a, x) => a.i(Code.Shr_rm32_imm8, R.EDX, imm([0, 1, 31, 32, 33][x % 5]!)),
      (a, x) => a.i(Code.Sar_rm64_imm8, mem(R.RSI, (x & 15) * 8), imm(x & 0x7f)),
      (a, x) => a.i(Code.Rol_rm32_imm8, R.EBX, imm(x & 31)),
      (a, x) => a.i(Code.Sar_rm32_imm8, R.EAX, imm(x & 31)),
      (a, x) => a.i(Code.Shr_rm64_imm8, R.RDX, imm(x & 63)),
      (a, x) => a.i(Code.Shl_rm32_imm8, mem(R.RSI, (x & 15) * 8), imm(x & 31)),
      (a, x) => a.i(Code.Sar_rm64_imm8, R.RBX, imm([1, 31, 32, 33, 63][x % 5]!)),
      (a, x) => a.i(Code.Rcr_rm64_imm8, R.RAX, imm(x & 3)),
      // a flag-setting ALU operation, sometimes a MOV, then a Jcc over an ADD: every condition after every kind
      // of producer (the compiler tests CMP/SUB/TEST/AND/OR/XOR/ADD operands directly, others through the flags)
      (a, x) => {
        const producers = [
          () => a.i(Code.Cmp_r64_rm64, R.RDX, R.RBX),
          () => a.i(Code.Cmp_rm32_imm32, R.EDX, imm(x * 0x9e37)),
          () => a.i(Code.Sub_r32_rm32, R.EDI, R.EAX),
          () => a.i(Code.Sub_rm64_imm32, R.RDI, imm(x - 0x8000)),
          () => a.i(Code.Test_rm64_r64, R.RDX, R.RAX),
          () => a.i(Code.And_rm32_imm32, R.EDI, imm(x * 0x10001)),
          () => a.i(Code.Or_r64_rm64, R.RDI, R.RBX),
          () => a.i(Code.Xor_r32_rm32, R.EDX, R.EBX),
          () => a.i(Code.Add_r64_rm64, R.RDX, R.RBX),
          () => a.i(Code.Cmp_rm64_imm8, mem(R.RSI, (x & 15) * 8), imm((x & 0xff) - 128)),
          () => a.i(Code.Cmp_r32_rm32, R.EAX, mem(R.RSI, (x & 15) * 8)),
          () => a.i(Code.Cmp_EAX_imm32, R.EAX, imm(x)),
          () => a.i(Code.Test_rm8_imm8, R.BL, imm(x & 0xff)),
          () => a.i(Code.Adc_r64_rm64, R.RDX, R.RBX),
          () => a.i(Code.Shl_rm64_imm8, R.RDX, imm(x & 63)),
          () => a.i(Code.Neg_rm64, R.RDX),
          () => a.i(Code.Neg_rm32, R.EDI),
        ];
        const setccs = [Code.Seto_rm8, Code.Setb_rm8, Code.Sete_rm8, Code.Setbe_rm8, Code.Sets_rm8, Code.Setp_rm8, Code.Setl_rm8, Code.Setle_rm8, Code.Setno_rm8, Code.Setae_rm8, Code.Setne_rm8, Code.Seta_rm8, Code.Setns_rm8, Code.Setnp_rm8, Code.Setge_rm8, Code.Setg_rm8];
        const jccs = [Code.Jo_rel8_64, Code.Jno_rel8_64, Code.Jb_rel8_64, Code.Jae_rel8_64, Code.Je_rel8_64, Code.Jne_rel8_64, Code.Jbe_rel8_64, Code.Ja_rel8_64, Code.Js_rel8_64, Code.Jns_rel8_64, Code.Jp_rel8_64, Code.Jnp_rel8_64, Code.Jl_rel8_64, Code.Jge_rel8_64, Code.Jle_rel8_64, Code.Jg_rel8_64];
        const skip = a.label();
        producers[x % producers.length]!();
        if ((x & 0x100) !== 0) a.i(Code.Mov_r64_rm64, R.RDI, mem(R.RSI, 8));
        if ((x & 0x200) !== 0) a.i(setccs[(x >> 10) & 15]!, R.R10L); // a SETcc on the same flags first
        a.br(jccs[(x >> 4) & 15]!, skip);
        a.i(Code.Add_rm64_imm8, R.RBX, imm(5));
        a.bind(skip);
      },
      // a JMP over an instruction (short and near forms)
      (a, x) => {
        const skip = a.label();
        a.br((x & 1) === 0 ? Code.Jmp_rel8_64 : Code.Jmp_rel32_64, skip);
        a.i(Code.Add_rm64_imm8, R.RBX, imm(9));
        a.bind(skip);
      },
    ];
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(forms.length - 1), fc.nat(0xffff)), { minLength: 1, maxLength: 24 }), fc.nat(300), (body, max) => {
        const setup = (a: Asm, r: Rig) => {
          a.i(Code.Mov_r64_imm64, R.RSI, imm(SMALL)); // data through 4 KiB pages
          r.cpu.setReg('rsp', 0x700000n);
        };
        const build = hotLoop(60, (a) => body.forEach(([f, x]) => forms[f]!(a, x)), { setup, small: true });
        // (a short bound may end the run before any block is hot: no sameBothWays here)
        const { on, off } = runBoth(build, 2000 + max * 10);
        expect(on).toEqual(off);
      }),
      { seed: 0xb10c, numRuns: 80 },
    );
  });
});

describe('block functions are shared by the machines that run the same code', () => {
  /** The compiled functions of the blocks in the rig's code page. */
  const compiledFns = (r: Rig): Set<unknown> => {
    const page = icacheOf(r.m.memory).page(Number(CODE >> 12n));
    return new Set((page.blocks ?? []).filter((b) => b?.fn != null).map((b) => b!.fn));
  };
  // ALU, a multiply, a load and a read-modify-write through the 4 KiB pages, a taken and a not-taken branch
  const body = (a: Asm) => {
    const skip = a.label();
    a.i(Code.Mov_r64_rm64, R.RAX, mem(R.RSI, 8));
    a.i(Code.Imul_r64_rm64_imm8, R.RDX, R.RAX, imm(3));
    a.i(Code.Add_r64_rm64, R.RBX, R.RDX);
    a.i(Code.Add_rm64_r64, mem(R.RSI, 8), R.RCX);
    a.i(Code.Test_rm32_imm32, R.ECX, imm(1));
    a.br(Code.Je_rel8_64, skip);
    a.i(Code.Xor_r64_rm64, R.RBX, R.RCX);
    a.bind(skip);
  };
  const setup = (a: Asm) => a.i(Code.Mov_r64_imm64, R.RSI, imm(SMALL));

  it('a second machine runs the first one\'s functions; other costs get other functions, each charging its own', () => {
    const first = hotLoop(200, body, { setup, small: true })();
    first.cpu.run({ maxInstructions: 100_000 });
    const fns = compiledFns(first);
    expect(fns.size).toBeGreaterThan(0);
    const second = hotLoop(200, body, { setup, small: true })();
    second.cpu.run({ maxInstructions: 100_000 });
    expect(compiledFns(second)).toEqual(fns);
    for (const fn of compiledFns(second)) expect(fns.has(fn)).toBe(true);
    expect(state(second.cpu)).toEqual(state(first.cpu));

    // Other class costs: the records' costs are constants of the generated code, so these blocks get their own
    // functions, and the run charges this profile's cycles exactly as the loop does.
    const profileOverrides: ProfileOverrides = { insn: { alu: 3, mul: 7 } };
    const dear = sameBothWays(hotLoop(200, body, { setup, small: true, profileOverrides }), 100_000) as BothWays & { cpu: { stats: { cycles: number } } };
    const third = hotLoop(200, body, { setup, small: true, profileOverrides })();
    third.cpu.run({ maxInstructions: 100_000 });
    const costs = (r: Rig) => new Map((icacheOf(r.m.memory).page(Number(CODE >> 12n)).blocks ?? []).filter((b) => b?.fn != null).map((b) => [b!.fn, b!.insns.map((d) => d.cost).join()]));
    const firstCosts = costs(first);
    const thirdCosts = [...costs(third)];
    expect(thirdCosts.filter(([fn]) => !fns.has(fn)).length).toBeGreaterThan(0);
    // shared only where the costs are the same (a lone Jcc: these overrides leave its costs as they were)
    for (const [fn, c] of thirdCosts) if (fns.has(fn)) expect(c).toBe(firstCosts.get(fn));
    expect(dear.cpu.stats.cycles).toBeGreaterThan(first.cpu.stats.cycles);
    expect(dear.cpu.regs).toEqual(state(first.cpu).regs);

    // Other load, store and branch costs (constants of the generated code too): no function shared, the same
    // cycles both ways
    const ldst: ProfileOverrides = { insn: { load: 2, store: 3, branch: 4, branchNotTaken: 1.5 } };
    const fourth = sameBothWays(hotLoop(200, body, { setup, small: true, profileOverrides: ldst }), 100_000) as BothWays & { cpu: { stats: { cycles: number } } };
    const fifth = hotLoop(200, body, { setup, small: true, profileOverrides: ldst })();
    fifth.cpu.run({ maxInstructions: 100_000 });
    expect(compiledFns(fifth).size).toBeGreaterThan(0);
    for (const fn of compiledFns(fifth)) expect(fns.has(fn)).toBe(false);
    expect(fourth.cpu.stats.cycles).not.toBe(first.cpu.stats.cycles);
    expect(fourth.cpu.regs).toEqual(state(first.cpu).regs);
  });
});

describe('where generated code is not allowed', () => {
  it('the first failed compilation turns blocks off, and the run goes on through the loop with the same result', () => {
    const build = (): Rig => {
      const r = rig();
      // a body no other test compiles (its immediate is unique), so the compiler has no cached factory for it
      load(r, loopProgram(300, (a) => a.i(Code.Add_rm32_imm32, R.EDI, imm(0x5eed1234))));
      return r;
    };
    const off = build();
    icacheOf(off.m.memory).compileBlocks = false;
    const expected = off.cpu.run({ maxInstructions: 100_000 });
    const on = build();
    const ic = icacheOf(on.m.memory);
    const saved = globalThis.Function;
    // a Content Security Policy without 'unsafe-eval' makes the Function constructor throw an EvalError
    globalThis.Function = function csp(): never {
      throw new EvalError('Refused to evaluate a string as JavaScript');
    } as unknown as FunctionConstructor;
    let res;
    try {
      res = on.cpu.run({ maxInstructions: 100_000 });
    } finally {
      globalThis.Function = saved;
    }
    expect(ic.compileBlocks).toBe(false);
    expect(ic.blocksCompiled).toBe(0);
    expect(res).toEqual(expected);
    expect(state(on.cpu)).toEqual(state(off.cpu));
  });
});

describe('blocks at the 4 GiB line', () => {
  it('a block ending at its page end carries the next RIP into the high half, and a Jcc back borrows from it', () => {
    // Code at 0xffffff00: NOP and 85 x "add rax, rcx", the last one ending exactly at 0x1_0000_0000 (two blocks,
    // the second ends at the page end); there: "dec ecx; jne 0xffffff00" (rel32 back across the line); HLT.
    const build = (): Rig => {
      const r = rig();
      r.pt.map(0xffe00000n, 0x2000000n, 2097152, { write: true, user: true });
      r.pt.map(0x100000000n, 0x2200000n, 2097152, { write: true, user: true });
      const low = [0x90];
      for (let i = 0; i < 85; i++) low.push(0x48, 0x01, 0xc8);
      expect(low.length).toBe(256);
      r.m.load(0x21fff00n, Uint8Array.from(low));
      r.m.load(0x2200000n, Uint8Array.of(0xff, 0xc9, 0x0f, 0x85, 0xf8, 0xfe, 0xff, 0xff, 0xf4));
      r.cpu.rip = 0xffffff00n;
      r.cpu.setReg('rcx', 50n);
      return r;
    };
    const { on, off, compiled } = runBoth(build, 100_000);
    expect(compiled).toBeGreaterThan(0);
    expect(on).toEqual(off);
    const o = on as { res: { reason: string }; cpu: { regs: { rax: bigint }; rip: bigint } };
    expect(o.res.reason).toBe('hlt');
    expect(o.cpu.regs.rax).toBe(85n * 1275n); // sum over rcx = 50..1 of 85 * rcx
    expect(o.cpu.rip).toBe(0x100000009n);
  });

  it('[base + disp] carried into and borrowed from the high half: compiled loads and stores at the right addresses', () => {
    // RBX walks down from 0x1_0000_0100 by 8 for 60 rounds (to 0xffff_ff28); the block reads [rbx - 0x48] and
    // [rbx + 0x7ffffff8] and writes [rbx - 0x10] and [rbx + 0x7ffffff0]: the negative displacements cross the 4 GiB
    // line (a borrow from the high half), the positive ones the 6 GiB line (a carry into it); 4 KiB pages there.
    const build = (): Rig => {
      const r = rig();
      for (let i = 0; i < 4; i++) {
        r.pt.map(0xffffc000n + BigInt(i) * 4096n, 0x2000000n + BigInt(i) * 4096n, 4096, { write: true });
        r.pt.map(0x100000000n + BigInt(i) * 4096n, 0x2004000n + BigInt(i) * 4096n, 4096, { write: true });
        r.pt.map(0x17fffe000n + BigInt(i) * 4096n, 0x2008000n + BigInt(i) * 4096n, 4096, { write: true });
      }
      for (let i = 0; i < 0x4000; i += 8) r.m.memory.write64(0x2000000 + i, BigInt(i) * 0x10001n + 0x100000000n);
      const a = new Asm();
      const top = a.label();
      a.i(Code.Mov_r64_imm64, R.RBX, 0x100000100n);
      a.i(Code.Mov_r32_imm32, R.ECX, imm(60));
      a.bind(top);
      a.i(Code.Mov_r64_rm64, R.RAX, mem(R.RBX, -0x48));
      a.i(Code.Add_r64_rm64, R.RDX, R.RAX);
      a.i(Code.Mov_r64_rm64, R.RAX, mem(R.RBX, 0x7ffffff8));
      a.i(Code.Add_r64_rm64, R.RDX, R.RAX);
      a.i(Code.Mov_rm64_r64, mem(R.RBX, -0x10), R.RDX);
      a.i(Code.Mov_rm64_r64, mem(R.RBX, 0x7ffffff0), R.RCX);
      a.i(Code.Sub_rm64_imm8, R.RBX, imm(8));
      a.i(Code.Dec_rm32, R.ECX);
      a.br(Code.Jne_rel32_64, top);
      a.i(Code.Hlt);
      load(r, a);
      return r;
    };
    const { on, off, compiled } = runBoth(build, 100_000);
    expect(compiled).toBeGreaterThan(0);
    expect(on).toEqual(off);
    const o = on as { res: { reason: string } };
    expect(o.res.reason).toBe('hlt');
    // the last round's stores (RBX = 0xffff_ff28): [0xffff_ff18] and [0x1_7fff_ff18]
    const r = build();
    r.cpu.run({ maxInstructions: 100_000 });
    expect(r.m.memory.read64(0x2003f18)).toBe(r.cpu.getReg('rdx'));
    expect(r.m.memory.read64(0x2009f18)).toBe(1n);
    // above the lines: round 30's [0x1_0000_0000] (RDX has read data from below the line since round 24) and the
    // first round's [0x1_8000_00f0]
    expect(r.m.memory.read64(0x2004000)).not.toBe(0n);
    expect(r.m.memory.read64(0x200a0f0)).toBe(60n);
  });
});

describe('a faulting store leaves the flags as they were', () => {
  // cmp ecx, 7 sets the flags; then a read-modify-write of a read-only page faults (#PF, no IDT): the flags must
  // still be cmp's, through the handler (loop) and the inline form (compiled block, hot after 30 rounds).
  for (const [name, rmw] of [
    ['ADD [mem], imm', (a: Asm) => a.i(Code.Add_rm32_imm8, mem(R.RSI), imm(1))],
    ['SHL [mem], imm', (a: Asm) => a.i(Code.Shl_rm32_imm8, mem(R.RSI), imm(3))],
    ['NEG [mem]', (a: Asm) => a.i(Code.Neg_rm64, mem(R.RSI))],
  ] as const) {
    it(name, () => {
      const body = (a: Asm) => {
        const skip = a.label();
        a.i(Code.Cmp_rm32_imm8, R.ECX, imm(10));
        a.br(Code.Jne_rel8_64, skip);
        a.i(Code.Mov_r64_imm64, R.RSI, imm(0x8000000)); // read-only from here
        a.bind(skip);
        a.i(Code.Cmp_rm32_imm8, R.ECX, imm(7));
        rmw(a);
      };
      const setup = (a: Asm, r: Rig) => {
        r.pt.map(0x8000000n, 0x3000000n, 2097152, { write: false, user: true });
        a.i(Code.Mov_r64_imm64, R.RSI, imm(0x500000));
      };
      const o = sameBothWays(hotLoop(40, body, { setup }), 100_000);
      expect(o.res).toMatchObject({ reason: 'exception', vector: 14 });
      expect(o.cpu.regs.rcx).toBe(10n);
      // cmp 10, 7: result 3: CF ZF SF OF AF clear, PF set (two 1 bits)
      expect(o.cpu.rflags & 0x8d5n).toBe(0x4n);
    });
  }
});
