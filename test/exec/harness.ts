/** Run one instruction (encoded by iced-x86) followed by HLT on a fresh-state CPU; read registers and flags back. */

import { Code, Encoder, Instruction, Register } from 'iced-x86';
import { rig, CODE, type Rig } from '../interp/rig.js';
import type { RunResult } from '../../src/cpu/run-types.js';

export { Code, Register, Instruction };

let shared: Rig | null = null;
export function cpuRig(): Rig {
  shared ??= rig();
  return shared;
}

export function encode(...ins: Instruction[]): Uint8Array {
  const parts: number[] = [];
  let ip = CODE;
  for (const x of ins) {
    const e = new Encoder(64);
    const n = e.encode(x, ip);
    parts.push(...e.takeBuffer());
    ip += BigInt(n);
    e.free();
  }
  return Uint8Array.from(parts);
}

export interface Exec {
  res: RunResult;
  regs: Record<string, bigint>;
  flags: number;
}

export function exec(bytes: Uint8Array, regs: Record<string, bigint>, flags = 0): Exec {
  const r = cpuRig();
  const code = Uint8Array.from([...bytes, 0xf4]);
  r.m.load(CODE, code);
  r.cpu.rip = CODE;
  for (const n of ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi']) r.cpu.setReg(n as 'rax', regs[n] ?? 0n);
  r.cpu.setReg('rsp', 0x800000n);
  r.cpu.rflags = BigInt(flags | 2);
  const res = r.cpu.run({ maxInstructions: 10 });
  const out: Record<string, bigint> = {};
  for (const n of ['rax', 'rbx', 'rcx', 'rdx', 'rsi', 'rdi']) out[n] = r.cpu.getReg(n as 'rax');
  return { res, regs: out, flags: Number(r.cpu.rflags) };
}
