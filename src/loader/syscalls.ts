/**
 * A minimal Linux x86-64 syscall shim, run from the interpreter's SYSCALL hook (the guest's SYSCALL never
 * reaches IA32_LSTAR): write, exit, exit_group, brk and arch_prctl; every other number returns -ENOSYS.
 * As Linux does on the SYSCALL path, RAX receives the result, RCX the return RIP and R11 the RFLAGS (SDM Vol. 2B
 * SYSCALL: RCX <- RIP, R11 <- RFLAGS); the other registers are preserved. Guest memory is read and written
 * through the CPU's translations (as copy_from_user/put_user would), so an unmapped or read-only buffer gives
 * -EFAULT, never a host error. The kernel's side costs the profile's SYSRET cycles (the return to user mode).
 */

import type { Cpu } from '../cpu/cpu.js';
import type { UserSpace } from './user-space.js';

export const SYS = { write: 1, brk: 12, exit: 60, arch_prctl: 158, exit_group: 231 } as const;
export const ENOSYS = 38;
export const EFAULT = 14;
export const EBADF = 9;
export const EINVAL = 22;
export const EPERM = 1;
const ARCH_SET_GS = 0x1001;
const ARCH_SET_FS = 0x1002;
const ARCH_GET_FS = 0x1003;
const ARCH_GET_GS = 0x1004;
/** Linux's TASK_SIZE_MAX with 4-level paging: the end of the user half. */
const TASK_SIZE = (1n << 47n) - 4096n;
/** A single write() moves at most this much (Linux caps at MAX_RW_COUNT; we cap lower to bound host memory). */
const MAX_WRITE = 1 << 20;

export interface SyscallShimOptions {
  space: UserSpace;
  /** Start of the heap (page-aligned end of the image) and the most it may grow. */
  brkStart: bigint;
  brkMax: bigint;
  onStdout?: (b: Uint8Array) => void;
  onStderr?: (b: Uint8Array) => void;
  /** Bytes of stdout and of stderr to keep in the result (further output still goes to the callbacks). */
  maxCapture?: number;
}

export class SyscallShim {
  exited = false;
  exitCode = 0;
  /** Calls by number, for statistics. */
  readonly counts = new Map<number, number>();
  private brkCur: bigint;
  private readonly out: Uint8Array[] = [];
  private readonly err: Uint8Array[] = [];
  private outLen = 0;
  private errLen = 0;
  truncated = false;
  private readonly maxCapture: number;

  constructor(private readonly o: SyscallShimOptions) {
    this.brkCur = o.brkStart;
    this.maxCapture = o.maxCapture ?? 64 * 2 ** 20;
  }

  /** The hook to pass as `hooks.onSyscall`. */
  readonly hook = (cpu: Cpu): 'handled' | 'stop' => {
    const rax = cpu.getReg('rax');
    const nr = rax > 0xffffffffn ? -1 : Number(rax); // Linux compares the whole register with NR_syscalls
    this.counts.set(nr, (this.counts.get(nr) ?? 0) + 1);
    const a0 = cpu.getReg('rdi');
    const a1 = cpu.getReg('rsi');
    const a2 = cpu.getReg('rdx');
    let ret: bigint;
    switch (nr) {
      case SYS.write:
        ret = this.write(cpu, a0, a1, a2);
        break;
      case SYS.brk:
        ret = this.brk(cpu, a0);
        break;
      case SYS.arch_prctl:
        ret = this.archPrctl(cpu, a0, a1);
        break;
      case SYS.exit:
      case SYS.exit_group:
        this.exited = true;
        this.exitCode = Number(a0 & 0xffn);
        return 'stop';
      default:
        ret = -BigInt(ENOSYS);
    }
    cpu.setReg('rax', BigInt.asUintN(64, ret));
    cpu.setReg('rcx', cpu.rip);
    cpu.setReg('r11', cpu.rflags);
    cpu.charge(cpu.profile.insn.sysret);
    return 'handled';
  };

  get stdout(): Uint8Array {
    return concat(this.out, this.outLen);
  }
  get stderr(): Uint8Array {
    return concat(this.err, this.errLen);
  }
  get brkValue(): bigint {
    return this.brkCur;
  }

  private write(cpu: Cpu, fd: bigint, buf: bigint, count: bigint): bigint {
    if (fd !== 1n && fd !== 2n) return -BigInt(EBADF);
    if (count === 0n) return 0n;
    const n = count > BigInt(MAX_WRITE) ? MAX_WRITE : Number(count);
    const bytes = this.copyFromUser(cpu, buf, n);
    if (bytes === null) return -BigInt(EFAULT);
    const toStdout = fd === 1n;
    (toStdout ? this.o.onStdout : this.o.onStderr)?.(bytes);
    const have = toStdout ? this.outLen : this.errLen;
    const keep = Math.min(bytes.length, Math.max(0, this.maxCapture - have));
    if (keep < bytes.length) this.truncated = true;
    if (keep > 0) {
      (toStdout ? this.out : this.err).push(bytes.subarray(0, keep));
      if (toStdout) this.outLen += keep;
      else this.errLen += keep;
    }
    return BigInt(bytes.length);
  }

  /** Linux brk(2): below the start or past the limit, the break stays; growing maps zeroed pages, shrinking unmaps. */
  private brk(cpu: Cpu, want: bigint): bigint {
    const start = this.o.brkStart;
    if (want < start || want > start + this.o.brkMax) return this.brkCur;
    const oldTop = pageUp(this.brkCur);
    const newTop = pageUp(want);
    if (newTop > oldTop) this.o.space.mapRange(oldTop, newTop, { write: true, exec: false, user: true });
    else if (newTop < oldTop) this.o.space.unmapRange(newTop, oldTop, cpu);
    this.brkCur = want;
    return want;
  }

  private archPrctl(cpu: Cpu, code: bigint, addr: bigint): bigint {
    const option = Number(code & 0xffffffffn); // an int in the kernel's prototype
    switch (option) {
      case ARCH_SET_FS:
      case ARCH_SET_GS:
        if (addr >= TASK_SIZE) return -BigInt(EPERM);
        if (option === ARCH_SET_FS) cpu.fsBase = addr;
        else cpu.gsBase = addr;
        return 0n;
      case ARCH_GET_FS:
      case ARCH_GET_GS: {
        const v = option === ARCH_GET_FS ? cpu.fsBase : cpu.gsBase;
        return this.putUser64(cpu, addr, v) ? 0n : -BigInt(EFAULT);
      }
      default:
        return -BigInt(EINVAL);
    }
  }

  /** Read n bytes of guest memory through the CPU's translation; null on any fault. */
  private copyFromUser(cpu: Cpu, va: bigint, n: number): Uint8Array | null {
    if (va + BigInt(n) > TASK_SIZE + 4096n) return null;
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const a = va + BigInt(off);
      const t = cpu.translate(a, { access: 'read' });
      if (!t.ok) return null;
      const chunk = Math.min(4096 - Number(a & 0xfffn), n - off);
      out.set(cpu.memory.readBytes(t.pa, chunk), off);
      off += chunk;
    }
    return out;
  }

  private putUser64(cpu: Cpu, va: bigint, v: bigint): boolean {
    if (va + 8n > TASK_SIZE + 4096n) return false;
    // check both pages first, so a fault on the second leaves nothing written
    for (const a of [va, va + 7n]) if (!cpu.translate(a, { access: 'write' }).ok) return false;
    for (let i = 0n; i < 8n; i++) {
      const t = cpu.translate(va + i, { access: 'write' });
      if (!t.ok) return false;
      cpu.memory.write8(t.pa, Number((v >> (8n * i)) & 0xffn));
    }
    return true;
  }
}

function pageUp(v: bigint): bigint {
  return (v + 4095n) & ~4095n;
}

function concat(parts: Uint8Array[], len: number): Uint8Array {
  const r = new Uint8Array(len);
  let o = 0;
  for (const p of parts) {
    r.set(p, o);
    o += p.length;
  }
  return r;
}
