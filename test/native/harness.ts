/**
 * Both sides of the semantics differential harness: the native runner (runner.c, built with gcc into a temp
 * dir) and pksim (a fresh machine per case, the code at CODE_VA and the data page at DATA_VA identity-mapped
 * by loadFlat, CPL 0, the sequence followed by HLT). Each returns per case: the signal/vector, the RIP of a
 * fault, the 16 GPRs, RFLAGS and the data page.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Machine } from '../../src/index.js';
import { loadFlat } from '../../src/loader/index.js';
import { CODE_VA, COMPARED_FLAGS, DATA_SIZE, DATA_VA, type Case } from './gen.js';

export interface Outcome {
  /** 'ok', or the vector of the exception that stopped the sequence (0 = #DE). */
  stop: 'ok' | number;
  /** RIP of the faulting instruction (stop !== 'ok'). */
  rip: bigint;
  regs: bigint[];
  rflags: number;
  data: Uint8Array;
}

const here = dirname(fileURLToPath(import.meta.url));

/** Why native runs are impossible here, or null when they are possible. */
export function nativeUnavailable(): string | null {
  if (process.platform !== 'linux' || process.arch !== 'x64') return `host is ${process.platform}/${process.arch}, not x86-64 Linux`;
  const r = spawnSync('gcc', ['--version'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return 'gcc is not installed';
  return null;
}

/** The host CPU's feature flags (from /proc/cpuinfo). */
export function hostFeatures(): Set<string> {
  if (!existsSync('/proc/cpuinfo')) return new Set();
  const m = /^flags\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
  return new Set(m ? m[1]!.split(/\s+/) : []);
}

/** Build runner.c into a temp dir; returns the executable's path. */
export function buildRunner(): string {
  const dir = mkdtempSync(join(tmpdir(), 'pksim-native-'));
  const exe = join(dir, 'runner');
  execFileSync('gcc', ['-O1', '-static', '-no-pie', '-fno-pie', '-o', exe, join(here, 'runner.c')], { stdio: 'pipe' });
  return exe;
}

const SIGILL = 4;
const SIGFPE = 8;

export function runNative(exe: string, cases: Case[]): Outcome[] {
  const dir = dirname(exe);
  const parts: Buffer[] = [];
  const head = Buffer.alloc(4);
  head.writeUInt32LE(cases.length);
  parts.push(head);
  for (const c of cases) {
    const b = Buffer.alloc(17 * 8 + 4);
    c.regs.forEach((v, i) => b.writeBigUInt64LE(v, i * 8));
    b.writeUInt32LE(c.code.length, 17 * 8);
    parts.push(b, Buffer.from(c.code), Buffer.from(c.data));
  }
  const inp = join(dir, 'cases.bin');
  const out = join(dir, 'results.bin');
  writeFileSync(inp, Buffer.concat(parts));
  execFileSync(exe, [inp, out], { stdio: 'pipe', timeout: 60_000 });
  const res = readFileSync(out);
  const rec = 16 + 17 * 8 + DATA_SIZE;
  const outcomes: Outcome[] = [];
  for (let k = 0; k < cases.length; k++) {
    const o = k * rec;
    const sig = Number(res.readBigUInt64LE(o));
    const regs: bigint[] = [];
    for (let i = 0; i < 16; i++) regs.push(res.readBigUInt64LE(o + 16 + i * 8));
    outcomes.push({
      stop: sig === 0 ? 'ok' : sig === SIGFPE ? 0 : sig === SIGILL ? 6 : 1000 + sig,
      rip: res.readBigUInt64LE(o + 8),
      regs,
      rflags: Number(res.readBigUInt64LE(o + 16 + 16 * 8) & 0xffffffffn),
      data: new Uint8Array(res.subarray(o + 16 + 17 * 8, o + rec)),
    });
  }
  return outcomes;
}

const GPRS = ['rax', 'rcx', 'rdx', 'rbx', 'rsp', 'rbp', 'rsi', 'rdi', 'r8', 'r9', 'r10', 'r11', 'r12', 'r13', 'r14', 'r15'] as const;

export function runPksim(c: Case): Outcome {
  const m = new Machine({ memory: 2 ** 30 });
  const code = new Uint8Array(c.code.length + 1);
  code.set(c.code);
  code[c.code.length] = 0xf4; // HLT
  const l = loadFlat(m, code, { address: CODE_VA, map: [{ va: DATA_VA, pa: DATA_VA, bytes: 4096, write: true }] });
  m.load(DATA_VA, c.data);
  const cpu = l.cpu;
  GPRS.forEach((n, i) => cpu.setReg(n, c.regs[i]!));
  cpu.rflags = c.regs[16]!;
  const r = cpu.run({ maxInstructions: 10_000 });
  return {
    stop: r.reason === 'hlt' ? 'ok' : r.reason === 'exception' ? r.vector! : 2000,
    rip: r.reason === 'exception' ? r.rip : 0n,
    regs: GPRS.map((n) => cpu.getReg(n)),
    rflags: Number(cpu.rflags & 0xffffffffn),
    data: m.memory.readBytes(DATA_VA, DATA_SIZE),
  };
}

/** Differences between two outcomes, as readable lines ([] when they agree). */
export function diff(c: Case, nat: Outcome, sim: Outcome): string[] {
  const d: string[] = [];
  if (nat.stop !== sim.stop) d.push(`stop: native ${nat.stop}, pksim ${sim.stop}`);
  if (nat.stop !== 'ok' && nat.rip !== sim.rip) d.push(`fault rip: native 0x${nat.rip.toString(16)}, pksim 0x${sim.rip.toString(16)}`);
  for (let i = 0; i < 16; i++) if (nat.regs[i] !== sim.regs[i]) d.push(`${GPRS[i]!}: native 0x${nat.regs[i]!.toString(16)}, pksim 0x${sim.regs[i]!.toString(16)}`);
  // flags undefined where the sequence stopped: at the end, or before the faulting instruction
  const at = nat.stop === 'ok' ? c.undefAt.length - 1 : c.starts.indexOf(nat.rip);
  const mask = COMPARED_FLAGS & ~(at >= 0 ? c.undefAt[at]! : -1);
  if ((nat.rflags & mask) !== (sim.rflags & mask)) d.push(`rflags (mask 0x${mask.toString(16)}): native 0x${(nat.rflags & mask).toString(16)}, pksim 0x${(sim.rflags & mask).toString(16)}`);
  for (let i = 0; i < nat.data.length; i++) {
    if (nat.data[i] !== sim.data[i]) {
      d.push(`data[0x${i.toString(16)}]: native 0x${nat.data[i]!.toString(16)}, pksim 0x${sim.data[i]!.toString(16)}`);
      break;
    }
  }
  return d;
}
