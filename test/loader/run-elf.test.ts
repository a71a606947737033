/** runElf: the syscall shim, limits, exceptions, CPL, the initial process state and option checking. */
import { describe, expect, it } from 'vitest';
import { ENOSYS, EBADF, EFAULT, EINVAL } from '../../src/loader/syscalls.js';
import { runElf } from '../../src/loader/index.js';
import { codeElf, X } from './elf-builder.js';

const text = (b: Uint8Array): string => Buffer.from(b).toString('latin1');

/** write(fd, 0x402000, len) with "hello\n" in an R data segment at 0x402000, then exit(-rax) or exit(rax). */
function writeProg(fd: number, len: number, buf = 0x402000, exitWithErrno = false): Uint8Array {
  const code = [...X.movEax(1), ...X.movEdi(fd), ...X.movEsi(buf), ...X.movEdx(len), ...X.syscall, ...(exitWithErrno ? X.negEaxToEdi : X.eaxToEdi), ...X.movEax(60), ...X.syscall];
  return codeElf(code, [{ vaddr: 0x402000n, bytes: new Uint8Array(Buffer.from('hello\n')), flags: 4 }]);
}

describe('runElf syscall shim', () => {
  it('write(1) goes to stdout and returns the count; exit status is the low byte', () => {
    const seen: string[] = [];
    const r = runElf(writeProg(1, 6), { onStdout: (b) => seen.push(text(b)) });
    expect(r.reason).toBe('exit');
    expect(text(r.stdout)).toBe('hello\n');
    expect(seen).toEqual(['hello\n']);
    expect(r.exitCode).toBe(6);
    expect(r.instructions).toBe(8);
  });

  it('write(2) goes to stderr', () => {
    const r = runElf(writeProg(2, 5));
    expect(text(r.stderr)).toBe('hello');
    expect(r.stdout.length).toBe(0);
  });

  it('write to another fd is -EBADF; from an unmapped buffer -EFAULT; length 0 writes nothing', () => {
    expect(runElf(writeProg(7, 6, 0x402000, true)).exitCode).toBe(EBADF);
    expect(runElf(writeProg(1, 6, 0x900000, true)).exitCode).toBe(EFAULT);
    const straddle = runElf(writeProg(1, 8000, 0x402000, true));
    expect(straddle.exitCode).toBe(EFAULT);
    expect(straddle.stdout.length).toBe(0);
    const zero = runElf(writeProg(1, 0));
    expect(zero.exitCode).toBe(0);
    expect(zero.stdout.length).toBe(0);
  });

  it('an unknown syscall returns -ENOSYS and sets RCX/R11 as SYSCALL does', () => {
    const r = runElf(codeElf([...X.movEax(9999), ...X.syscall, ...X.jmpSelf]), { maxInstructions: 5 });
    expect(r.reason).toBe('limit');
    expect(r.cpu.getReg('rax')).toBe(BigInt.asUintN(64, -BigInt(ENOSYS)));
    expect(r.cpu.getReg('rcx')).toBe(0x401007n);
    expect(r.cpu.getReg('r11') & 0x200n).toBe(0x200n);
  });

  it('a syscall number with high bits set is not truncated: -ENOSYS, not write', () => {
    const movRax = [0x48, 0xb8, 1, 0, 0, 0, 1, 0, 0, 0]; // mov rax, 0x100000001
    const r = runElf(codeElf([...movRax, ...X.movEdi(1), ...X.syscall, ...X.negEaxToEdi, ...X.movEax(60), ...X.syscall]));
    expect(r.exitCode).toBe(ENOSYS);
    expect(r.stdout.length).toBe(0);
  });

  it('arch_prctl: SET_FS sets the FS base, bad codes are -EINVAL, kernel addresses -EPERM', () => {
    const setFs = (addr: number[]) => codeElf([...X.movEax(158), ...X.movEdi(0x1002), 0x48, 0xbe, ...addr, ...X.syscall, ...X.jmpSelf]);
    const ok = runElf(setFs([0, 0x30, 0x40, 0, 0, 0, 0, 0]), { maxInstructions: 4 });
    expect(ok.cpu.fsBase).toBe(0x403000n);
    expect(ok.cpu.getReg('rax')).toBe(0n);
    const kernel = runElf(setFs([0, 0, 0, 0, 0, 0x80, 0xff, 0xff]), { maxInstructions: 4 });
    expect(kernel.cpu.getReg('rax')).toBe(BigInt.asUintN(64, -1n));
    const bad = runElf(codeElf([...X.movEax(158), ...X.movEdi(0x77), ...X.syscall, ...X.negEaxToEdi, ...X.movEax(60), ...X.syscall]));
    expect(bad.exitCode).toBe(EINVAL);
  });

  it('exit_group and exit both end the run with the low 8 bits of the status', () => {
    expect(runElf(codeElf([...X.movEdi(0x1234), ...X.movEax(231), ...X.syscall])).exitCode).toBe(0x34);
    expect(runElf(codeElf(X.exit(255))).exitCode).toBe(255);
  });

  it('brk: brk(0) returns the page-aligned end of the image; growth is mapped and writable', () => {
    // brk(0) -> rax; brk(rax + 0x3000); mov [rax - 8], rax; exit(0)
    const code = [
      ...X.movEax(12), ...X.movEdi(0), ...X.syscall,
      0x48, 0x8d, 0xb8, 0x00, 0x30, 0x00, 0x00, // lea rdi, [rax + 0x3000]
      ...X.movEax(12), ...X.syscall,
      0x48, 0x89, 0x40, 0xf8, // mov [rax - 8], rax
      ...X.exit(0),
    ];
    const r = runElf(codeElf(code, [{ vaddr: 0x402000n, bytes: new Uint8Array(8), memSize: 0x1800, flags: 6 }]));
    expect(r.exception).toBeUndefined();
    expect(r.reason).toBe('exit');
    expect(r.cpu.read(0x406ff8n, 8)).toBe(0x407000n); // the new break, stored just below it
  });
});

describe('runElf brk shrink', () => {
  it('a page given back by brk is unmapped and its TLB entry dropped: touching it faults', () => {
    // r12 = brk(0); brk(r12 + 0x2000); mov [r12 + 0x1000], r12 (fills the TLB); brk(r12); mov [r12 + 0x1000], r12
    const code = [
      ...X.movEax(12), ...X.movEdi(0), ...X.syscall,
      0x49, 0x89, 0xc4, // mov r12, rax
      0x49, 0x8d, 0xbc, 0x24, 0x00, 0x20, 0x00, 0x00, // lea rdi, [r12 + 0x2000]
      ...X.movEax(12), ...X.syscall,
      0x4d, 0x89, 0xa4, 0x24, 0x00, 0x10, 0x00, 0x00, // mov [r12 + 0x1000], r12
      0x4c, 0x89, 0xe7, // mov rdi, r12
      ...X.movEax(12), ...X.syscall,
      0x4d, 0x89, 0xa4, 0x24, 0x00, 0x10, 0x00, 0x00, // mov [r12 + 0x1000], r12
      ...X.exit(0),
    ];
    const r = runElf(codeElf(code));
    expect(r.reason).toBe('exception');
    expect(r.exception).toMatchObject({ vector: 14, address: 0x403000n });
    expect(r.exception!.errorCode & 1).toBe(0); // not present
  });
});

describe('runElf limits and faults', () => {
  it('maxInstructions bounds an endless loop', () => {
    const r = runElf(codeElf(X.jmpSelf), { maxInstructions: 1000 });
    expect(r).toMatchObject({ reason: 'limit', exitCode: 0, instructions: 1000 });
    expect(r.cycles).toBeGreaterThan(0);
  });

  it('a page fault with no IDT stops the run: vector 14, the address, RIP at the instruction', () => {
    const r = runElf(codeElf([0x90, ...X.loadZero]));
    expect(r.reason).toBe('exception');
    expect(r.exception).toMatchObject({ vector: 14, rip: 0x401001n, address: 0n });
    expect(r.exception!.errorCode & 4).toBe(4); // a user-mode access
  });

  it('at CPL 3, HLT raises #GP(0); writing the read-only code page faults with W|U|P', () => {
    const h = runElf(codeElf(X.hlt));
    expect(h.exception).toMatchObject({ vector: 13, errorCode: 0, rip: 0x401000n });
    const w = runElf(codeElf([0xc6, 0x05, 0xf9, 0xff, 0xff, 0xff, 0x00])); // mov byte [rip - 7], 0
    expect(w.exception).toMatchObject({ vector: 14, errorCode: 7, address: 0x401000n });
  });

  it('the stack is not executable; the data segment without PF_X is not executable', () => {
    const r = runElf(codeElf([0xff, 0xe4])); // jmp rsp
    expect(r.exception?.vector).toBe(14);
    expect(r.exception!.errorCode & 0x10).toBe(0x10);
  });

  it('cpl 0 runs the program in supervisor mode (HLT stops it)', () => {
    const r = runElf(codeElf([...X.movEax(9999), ...X.syscall, ...X.hlt]), { cpl: 0 });
    expect(r.reason).toBe('hlt');
    expect(r.cpu.cpl).toBe(0);
    expect(r.cpu.getReg('rax')).toBe(BigInt.asUintN(64, -BigInt(ENOSYS)));
  });

  it('lays out argc, argv, envp and auxv as Linux does, RSP 16-byte aligned', () => {
    const r = runElf(codeElf(X.jmpSelf), { maxInstructions: 1, argv: ['prog', 'arg1'], env: ['A=1'] });
    const cpu = r.cpu;
    const sp = cpu.getReg('rsp');
    expect(sp % 16n).toBe(0n);
    const rd = (a: bigint) => cpu.read(a, 8);
    const str = (a: bigint) => {
      let s = '';
      for (let c = Number(cpu.read(a, 1)); c !== 0; c = Number(cpu.read((a += 1n), 1))) s += String.fromCharCode(c);
      return s;
    };
    expect(rd(sp)).toBe(2n);
    expect(str(rd(sp + 8n))).toBe('prog');
    expect(str(rd(sp + 16n))).toBe('arg1');
    expect(rd(sp + 24n)).toBe(0n);
    expect(str(rd(sp + 32n))).toBe('A=1');
    expect(rd(sp + 40n)).toBe(0n);
    const aux = new Map<bigint, bigint>();
    for (let a = sp + 48n; ; a += 16n) {
      const k = rd(a);
      if (k === 0n) break;
      aux.set(k, rd(a + 8n));
    }
    expect(aux.get(6n)).toBe(4096n); // AT_PAGESZ
    expect(aux.get(9n)).toBe(0x401000n); // AT_ENTRY
    expect(aux.get(5n)).toBe(1n); // AT_PHNUM
    expect(aux.has(25n)).toBe(true); // AT_RANDOM
  });

  it('checks its options', () => {
    const elf = codeElf(X.exit(0));
    expect(() => runElf(elf, { cpl: 1 as 3 })).toThrow(RangeError);
    expect(() => runElf(elf, { maxInstructions: -1 })).toThrow(RangeError);
    expect(() => runElf(elf, { bogus: 1 } as never)).toThrow(/unknown runElf option 'bogus'/);
    expect(() => runElf(elf, { onStdout: 3 as never })).toThrow(TypeError);
    expect(() => runElf(elf, { argv: [1] as never })).toThrow(TypeError);
  });
});
