/**
 * A small 64-bit "kernel" environment for system tests: a GDT laid out as Linux's (0x10 kernel CS, 0x18 kernel
 * DS, 0x2b user DS, 0x33 user CS, 0x40 the TSS), an IDT, a TSS with RSP0 and IST1, all loaded by guest code
 * (LGDT, LIDT, LTR). Handlers and programs are assembled with iced-x86.
 */

import { Asm, Code, Register as R, mem, imm } from './asm.js';
import { rig, type Rig } from './rig.js';
import { MSR } from '../../src/cpu/msr.js';

export const GDT = 0x200000n;
export const IDT = 0x201000n;
export const TSS = 0x202000n;
export const DESC = 0x203000n; // pseudo-descriptors for LGDT/LIDT
export const KSTACK = 0x600000n; // TSS.RSP0
export const ISTACK = 0x680000n; // TSS.IST1
export const KCODE = 0x110000n; // kernel routines
export const UCODE = 0x300000n; // user code
export const HANDLERS = 0x120000n; // handler stubs, 0x100 apart by vector

export const KERNEL_CS = 0x10, KERNEL_DS = 0x18, USER_DS = 0x2b, USER_CS = 0x33, TSS_SEL = 0x40;

export function gate(handler: bigint, o: { ist?: number; dpl?: number; trap?: boolean; present?: boolean; sel?: number } = {}): [bigint, bigint] {
  const lo =
    (handler & 0xffffn) |
    (BigInt(o.sel ?? KERNEL_CS) << 16n) |
    (BigInt(o.ist ?? 0) << 32n) |
    (BigInt(o.trap ? 0xf : 0xe) << 40n) |
    (BigInt(o.dpl ?? 0) << 45n) |
    ((o.present ?? true) ? 1n << 47n : 0n) |
    (((handler >> 16n) & 0xffffn) << 48n);
  return [lo, handler >> 32n];
}

export function setGate(r: Rig, vector: number, g: [bigint, bigint]): void {
  r.m.memory.write64(IDT + BigInt(vector * 16), g[0]);
  r.m.memory.write64(IDT + BigInt(vector * 16 + 8), g[1]);
}

/** Machine + tables in memory + a boot stub at CODE that loads GDTR, IDTR and TR, then jumps to `next`. */
export function sysRig(): Rig {
  const r = rig();
  const mm = r.m.memory;
  mm.write64(GDT + 0x10n, 0x00af9a000000ffffn); // kernel code, L = 1
  mm.write64(GDT + 0x18n, 0x00cf92000000ffffn); // kernel data
  mm.write64(GDT + 0x20n, 0x00cffa000000ffffn); // user 32-bit code (STAR base)
  mm.write64(GDT + 0x28n, 0x00cff2000000ffffn); // user data
  mm.write64(GDT + 0x30n, 0x00affa000000ffffn); // user code, L = 1
  const tssLo = 0x67n | ((TSS & 0xffffffn) << 16n) | (0x89n << 40n) | (((TSS >> 24n) & 0xffn) << 56n);
  mm.write64(GDT + 0x40n, tssLo);
  mm.write64(GDT + 0x48n, TSS >> 32n);
  mm.write64(TSS + 4n, KSTACK);
  mm.write64(TSS + 0x24n, ISTACK);
  // pseudo-descriptors: limit (2 bytes), base (8 bytes)
  mm.write16(DESC, 0x4f);
  mm.write64(DESC + 2n, GDT);
  mm.write16(DESC + 16n, 256 * 16 - 1);
  mm.write64(DESC + 18n, IDT);
  // Every vector: a stub that records the vector in R15, then HLT (tests override the ones they need).
  for (let v = 0; v < 32; v++) {
    const h = HANDLERS + BigInt(v * 0x100);
    const a = new Asm().i(Code.Mov_r64_imm64, R.R15, BigInt(v)).i(Code.Hlt);
    mm.writeBytes(h, a.encode(h));
    setGate(r, v, gate(h));
  }
  const boot = new Asm()
    .i(Code.Lgdt_m1664, mem(R.None, Number(DESC)))
    .i(Code.Lidt_m1664, mem(R.None, Number(DESC + 16n)))
    .i(Code.Mov_r32_imm32, R.EAX, imm(TSS_SEL))
    .i(Code.Ltr_r32m16, R.EAX)
    .i(Code.Hlt);
  r.m.load(0x100000n, boot.encode(0x100000n));
  r.cpu.rip = 0x100000n;
  const res = r.cpu.run({ maxInstructions: 10 });
  if (res.reason !== 'hlt') throw new Error(`boot stub: ${res.reason} ${res.vector ?? ''}`);
  // SYSCALL/SYSRET selectors as Linux: STAR[47:32] = kernel CS, STAR[63:48] = user CS32 base
  r.cpu.wrmsr(MSR.IA32_STAR, (0x23n << 48n) | (BigInt(KERNEL_CS) << 32n));
  return r;
}

/** Load code at `at` and make it the current user-mode (CPL 3) context. */
export function enterUser(r: Rig, a: Asm, at: bigint = UCODE, rsp = 0x700000n): void {
  r.m.load(at, a.encode(at));
  r.cpu.rip = at;
  r.cpu.cpl = 3;
  r.cpu.setReg('rsp', rsp);
}

export { Asm, Code, R, mem, imm };
