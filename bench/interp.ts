/**
 * Interpreter throughput (host MIPS: guest instructions retired per host second) on loop-heavy guest programs,
 * with every fetch and data access translated and rights-checked and every cycle charged.
 *
 *   npm run bench:interp [-- --quick] [-- --only alu-loop]    (or: npx tsx bench/interp.ts)
 */
import { performance } from 'node:perf_hooks';
import { enterLongMode, Machine, PageTableBuilder } from '../src/index.js';
import { Asm, Code, Register as R, mem, imm } from '../test/interp/asm.js';

const quick = process.argv.includes('--quick');
const CODE = 0x100000n;

function machine() {
  const m = new Machine({ memory: 256 * 2 ** 20 });
  const pt = new PageTableBuilder(m.memory, { start: 0x4000000, end: 0x4100000 });
  // 4 KiB pages over the program's code, data and stack (the TLB's fast path is for 4 KiB translations)
  for (const base of [0x100000n, 0x200000n, 0x300000n, 0x7f0000n]) for (let i = 0n; i < 16n; i++) pt.map(base + i * 4096n, base + i * 4096n, 4096, { write: true, user: true });
  const cpu = m.cpus[0];
  enterLongMode(cpu, { cr3: pt.root });
  return { m, cpu };
}

const programs: Record<string, (a: Asm) => void> = {
  // register-only ALU work and a loop branch (dispatch overhead)
  'alu-loop': (a) => {
    const top = a.label();
    a.i(Code.Mov_r64_imm64, R.RCX, 1n << 40n).i(Code.Xor_r32_rm32, R.EAX, R.EAX).i(Code.Mov_r32_imm32, R.EBX, imm(7));
    a.bind(top)
      .i(Code.Add_r64_rm64, R.RAX, R.RBX)
      .i(Code.Xor_r64_rm64, R.RAX, R.RCX)
      .i(Code.Shl_rm64_imm8, R.RBX, imm(1))
      .i(Code.Or_rm64_imm8, R.RBX, imm(1))
      .i(Code.Dec_rm64, R.RCX)
      .br(Code.Jne_rel8_64, top);
  },
  // ALU + load: sum of a table, with index arithmetic
  'sum-loop': (a) => {
    const top = a.label();
    a.i(Code.Mov_r64_imm64, R.RSI, 0x200000n).i(Code.Xor_r32_rm32, R.EAX, R.EAX).i(Code.Mov_r64_imm64, R.RCX, 1n << 40n);
    a.bind(top)
      .i(Code.Mov_r32_rm32, R.EDX, R.ECX)
      .i(Code.And_rm32_imm32, R.EDX, imm(1023))
      .i(Code.Add_r64_rm64, R.RAX, mem(R.RSI, 0, R.RDX, 8))
      .i(Code.Xor_r64_rm64, R.RAX, R.RCX)
      .i(Code.Dec_rm64, R.RCX)
      .br(Code.Jne_rel8_64, top);
  },
  // calls and returns, stack traffic
  'call-ret': (a) => {
    const top = a.label();
    const f = a.label();
    a.i(Code.Mov_r64_imm64, R.RSP, 0x800000n).i(Code.Mov_r64_imm64, R.RCX, 1n << 40n).i(Code.Xor_r32_rm32, R.EAX, R.EAX);
    const body = a.label();
    a.bind(top).br(Code.Call_rel32_64, f).i(Code.Dec_rm64, R.RCX).br(Code.Jne_rel32_64, top).i(Code.Hlt);
    a.bind(f).i(Code.Push_r64, R.RBX).i(Code.Lea_r64_m, R.RBX, mem(R.RAX, 1)).i(Code.Mov_r64_rm64, R.RAX, R.RBX).i(Code.Pop_r64, R.RBX).i(Code.Retnq);
    void body;
  },
  // byte-wise string hashing with stores (FNV-1a style)
  'hash-store': (a) => {
    const top = a.label();
    a.i(Code.Mov_r64_imm64, R.RSI, 0x200000n).i(Code.Mov_r64_imm64, R.RDI, 0x300000n).i(Code.Mov_r64_imm64, R.RAX, 0xcbf29ce484222325n).i(Code.Mov_r64_imm64, R.R8, 0x100000001b3n).i(Code.Mov_r64_imm64, R.RCX, 1n << 40n);
    a.bind(top)
      .i(Code.Movzx_r32_rm8, R.EDX, mem(R.RSI, 0, R.None))
      .i(Code.Xor_r64_rm64, R.RAX, R.RDX)
      .i(Code.Imul_r64_rm64, R.RAX, R.R8)
      .i(Code.Mov_rm64_r64, mem(R.RDI), R.RAX)
      .i(Code.Inc_rm64, R.RSI)
      .i(Code.And_rm64_imm32, R.RSI, imm(0x200fff))
      .i(Code.Dec_rm64, R.RCX)
      .br(Code.Jne_rel8_64, top);
  },
};

const N = quick ? 5_000_000 : 30_000_000;
const rows: { name: string; mips: number; cpuMips: number }[] = [];
const only = process.argv.indexOf('--only') >= 0 ? process.argv[process.argv.indexOf('--only') + 1] : null;
for (const [name, build] of Object.entries(programs)) {
  if (only !== null && name !== only) continue;
  const { m, cpu } = machine();
  const a = new Asm();
  build(a);
  m.load(CODE, a.encode(CODE));
  cpu.rip = CODE;
  cpu.run({ maxInstructions: 1_000_000 }); // warm up (decode, JIT)
  let best = 0;
  let bestCpu = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const r = cpu.run({ maxInstructions: N });
    const dt = (performance.now() - t0) / 1000;
    const c1 = process.cpuUsage(c0);
    if (r.reason !== 'limit') throw new Error(`${name}: ${r.reason}`);
    best = Math.max(best, r.instructions / dt / 1e6);
    // CPU time of this process (user + system): less disturbed than wall time when other jobs share the cores
    bestCpu = Math.max(bestCpu, r.instructions / ((c1.user + c1.system) / 1e6) / 1e6);
  }
  rows.push({ name, mips: best, cpuMips: bestCpu });
}
const geo = Math.exp(rows.reduce((s, r) => s + Math.log(r.mips), 0) / rows.length);
const geoCpu = Math.exp(rows.reduce((s, r) => s + Math.log(r.cpuMips), 0) / rows.length);
console.log('| program | host MIPS (wall) | host MIPS (CPU time) |\n|---|---|---|');
for (const r of rows) console.log(`| ${r.name} | ${r.mips.toFixed(1)} | ${r.cpuMips.toFixed(1)} |`);
console.log(`| geometric mean | ${geo.toFixed(1)} | ${geoCpu.toFixed(1)} |`);
