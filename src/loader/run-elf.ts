/**
 * runElf: run a static ELF64 x86-64 executable in its own machine and address space, at CPL 3 (or 0), with the
 * Linux syscall shim. The initial stack is laid out as Linux's execve does (fs/binfmt_elf.c create_elf_tables;
 * x86-64 psABI 3.4.1): argc, argv[], NULL, envp[], NULL, auxv pairs ending in AT_NULL, then the strings and
 * AT_RANDOM's 16 bytes near the top; RSP 16-byte aligned at argc. EFER.SCE is on and STAR/LSTAR/FMASK point
 * at a supervisor page holding UD2, so a SYSCALL the shim did not take would fault visibly rather than run
 * anything.
 */

import type { Cpu } from '../cpu/cpu.js';
import { enterLongMode, Machine } from '../cpu/machine.js';
import type { CostProfile } from '../cpu/profile.js';
import { MSR } from '../cpu/msr.js';
import type { RunHooks } from '../cpu/run-types.js';
import { parseElf, PF_W, PF_X, type ElfImage } from './elf.js';
import { SyscallShim } from './syscalls.js';
import { UserSpace } from './user-space.js';

export interface RunElfOptions {
  /** Privilege level to run at; default 3. */
  cpl?: 3 | 0;
  /** Bound on instructions retired (REP iterations count); default 1e9. */
  maxInstructions?: number;
  /** Cost profile: a built-in name or a full profile; default 'sapphire-rapids'. */
  profile?: string | CostProfile;
  /** Called with each write(1, ...) as it happens. */
  onStdout?: (b: Uint8Array) => void;
  /** Called with each write(2, ...). */
  onStderr?: (b: Uint8Array) => void;
  /** argv (argv[0] included); default ['prog']. */
  argv?: string[];
  /** Environment strings 'NAME=value'; default none. */
  env?: string[];
  /** Called before each instruction (tracing: `pksim run --trace`); slows the run. */
  onInstruction?: (cpu: Cpu, rip: bigint) => void;
  /** Called with the CPU before the run starts (to set breakpoints, PKRU, extra mappings...). */
  onStart?: (cpu: Cpu, machine: Machine) => void;
}

export interface RunElfResult {
  reason: 'exit' | 'limit' | 'exception' | 'hlt';
  /** The guest's exit status (0..255); 0 unless reason is 'exit'. */
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
  instructions: number;
  cycles: number;
  /** reason 'exception': the fault the guest could not take (no IDT), at the faulting instruction. */
  exception?: { vector: number; errorCode: number; rip: bigint; address?: bigint; message: string };
  /** The CPU at the stop (registers, stats: TLB hits and misses, walks...). */
  cpu: Cpu;
}

const KNOWN = new Set(['cpl', 'maxInstructions', 'profile', 'onStdout', 'onStderr', 'argv', 'env', 'onInstruction', 'onStart']);

/** Virtual layout (Linux-like for 4-level paging). */
const STACK_TOP = 0x7ffffffff000n;
const STACK_BYTES = 8n << 20n;
const BRK_MAX = 1n << 30n;
const KERNEL_TRAP_VA = 0xffffffff81000000n;
/** Physical layout: page tables in [1 MiB, 8 MiB), frames from 8 MiB to the top of memory. */
const MEMORY = 4 * 2 ** 30;
const TABLES = { start: 1 << 20, end: 8 << 20 };
const FRAMES = { start: 8 << 20, end: MEMORY };

const AT = { NULL: 0, PHDR: 3, PHENT: 4, PHNUM: 5, PAGESZ: 6, BASE: 7, FLAGS: 8, ENTRY: 9, UID: 11, EUID: 12, GID: 13, EGID: 14, HWCAP: 16, CLKTCK: 17, SECURE: 23, RANDOM: 25, EXECFN: 31 } as const;

function validate(opts: RunElfOptions): void {
  if (opts === null || typeof opts !== 'object') throw new TypeError(`runElf options must be an object, got ${String(opts)}`);
  for (const k of Object.keys(opts)) if (!KNOWN.has(k)) throw new RangeError(`unknown runElf option '${k}'; known: ${[...KNOWN].join(', ')}`);
  if (opts.cpl !== undefined && opts.cpl !== 0 && opts.cpl !== 3) throw new RangeError(`cpl must be 0 or 3, got ${String(opts.cpl)}`);
  const m = opts.maxInstructions;
  if (m !== undefined && (typeof m !== 'number' || !(m === Infinity || (Number.isInteger(m) && m >= 0)))) throw new RangeError(`maxInstructions must be a non-negative integer, got ${String(m)}`);
  for (const k of ['onStdout', 'onStderr', 'onInstruction', 'onStart'] as const) if (opts[k] !== undefined && typeof opts[k] !== 'function') throw new TypeError(`${k} must be a function, got ${typeof opts[k]}`);
  for (const k of ['argv', 'env'] as const) {
    const v = opts[k];
    if (v !== undefined && (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))) throw new TypeError(`${k} must be an array of strings`);
  }
}

/** Load the segments: pages zeroed, file bytes copied, rights from p_flags (NX where not PF_X). */
function loadSegments(space: UserSpace, img: ElfImage, user: boolean): void {
  for (const s of img.segments) {
    space.mapRange(s.vaddr, s.vaddr + BigInt(s.memSize), { write: (s.flags & PF_W) !== 0, exec: (s.flags & PF_X) !== 0, user });
    space.copyIn(s.vaddr, s.fileBytes);
  }
}

/** UTF-8 bytes of a string (no TextEncoder: src/ runs in a bare JS context). */
function utf8(s: string): Uint8Array {
  const out: number[] = [];
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
  }
  return new Uint8Array(out);
}

/** Build the initial process stack; returns RSP. */
function buildStack(space: UserSpace, img: ElfImage, argv: string[], env: string[], user: boolean): bigint {
  space.mapRange(STACK_TOP - STACK_BYTES, STACK_TOP, { write: true, exec: false, user });
  let sp = STACK_TOP - 16n; // Linux leaves a gap word at the very top
  const putString = (s: string): bigint => {
    const b = utf8(s + '\0');
    sp -= BigInt(b.length);
    space.copyIn(sp, b);
    return sp;
  };
  const execfn = putString(argv[0] ?? 'prog');
  const envPtrs = env.map(putString);
  const argPtrs = argv.map(putString);
  // AT_RANDOM: 16 fixed bytes (deterministic runs)
  sp -= 16n;
  const random = sp;
  space.copyIn(random, utf8('pksim-at-random!'));
  sp &= ~15n;
  const aux: [number, bigint][] = [
    [AT.PHDR, img.phdrAddr], [AT.PHENT, BigInt(img.phentsize)], [AT.PHNUM, BigInt(img.phnum)], [AT.PAGESZ, 4096n],
    [AT.BASE, 0n], [AT.FLAGS, 0n], [AT.ENTRY, img.entry], [AT.UID, 0n], [AT.EUID, 0n], [AT.GID, 0n], [AT.EGID, 0n],
    [AT.HWCAP, 0n], [AT.CLKTCK, 100n], [AT.SECURE, 0n], [AT.RANDOM, random], [AT.EXECFN, execfn], [AT.NULL, 0n],
  ];
  const words: bigint[] = [BigInt(argv.length), ...argPtrs, 0n, ...envPtrs, 0n];
  for (const [k, v] of aux) words.push(BigInt(k), v);
  if (words.length % 2 === 1) sp -= 8n; // keep RSP 16-byte aligned at argc
  sp -= BigInt(words.length * 8);
  const block = new Uint8Array(words.length * 8);
  const dv = new DataView(block.buffer);
  words.forEach((w, i) => dv.setBigUint64(i * 8, w, true));
  space.copyIn(sp, block);
  return sp;
}

/** Run a static ELF64 x86-64 executable; see RunElfOptions and RunElfResult. */
export function runElf(elfBytes: Uint8Array, opts: RunElfOptions = {}): RunElfResult {
  validate(opts);
  const img = parseElf(elfBytes);
  const cpl = opts.cpl ?? 3;
  const user = cpl === 3;
  const machine = new Machine({ cpus: 1, memory: MEMORY, profile: opts.profile ?? 'sapphire-rapids' });
  const cpu = machine.cpus[0]!;
  const space = new UserSpace(machine.memory, TABLES, FRAMES);
  loadSegments(space, img, user);
  const rsp = buildStack(space, img, opts.argv ?? ['prog'], opts.env ?? [], user);
  space.map(KERNEL_TRAP_VA, { write: false, exec: true, user: false });
  space.copyIn(KERNEL_TRAP_VA, new Uint8Array([0x0f, 0x0b])); // UD2

  enterLongMode(cpu, { cr3: space.tables.root, cpl: 0 });
  cpu.wrmsr(MSR.IA32_LSTAR, KERNEL_TRAP_VA);
  cpu.wrmsr(MSR.IA32_STAR, (0x10n << 48n) | (0x08n << 32n)); // SYSRET CS base 0x10 (user CS 0x23), SYSCALL CS 0x08
  cpu.wrmsr(MSR.IA32_FMASK, 0x47700n); // Linux: TF DF IF IOPL AC NT cleared on entry
  cpu.cpl = cpl;
  cpu.rip = img.entry;
  cpu.setReg('rsp', rsp);
  cpu.rflags = 0x202n; // IF, reserved bit 1 (as after execve)

  const brkStart = (img.end + 4095n) & ~4095n;
  const shim = new SyscallShim({ space, brkStart, brkMax: BRK_MAX, onStdout: opts.onStdout, onStderr: opts.onStderr });
  const hooks: RunHooks = { onSyscall: shim.hook };
  if (opts.onInstruction) {
    const f = opts.onInstruction;
    hooks.onCode = { start: 0n, end: 1n << 64n, hook: (c, rip) => void f(c, rip) };
  }
  opts.onStart?.(cpu, machine);

  const budget = opts.maxInstructions ?? 1e9;
  const instr0 = cpu.stats.instructions;
  const r = cpu.run({ maxInstructions: budget, hooks });
  const base = { stdout: shim.stdout, stderr: shim.stderr, instructions: cpu.stats.instructions - instr0, cycles: cpu.stats.cycles, cpu };
  if (r.reason === 'stopped' && shim.exited) return { reason: 'exit', exitCode: shim.exitCode, ...base };
  if (r.reason === 'limit') return { reason: 'limit', exitCode: 0, ...base };
  if (r.reason === 'hlt') return { reason: 'hlt', exitCode: 0, ...base };
  const vector = r.vector ?? 8;
  const fault = r.fault as { address?: bigint; message?: string } | undefined;
  const exception: RunElfResult['exception'] = { vector, errorCode: r.errorCode ?? 0, rip: r.rip, message: r.reason === 'triple-fault' ? 'triple fault' : fault?.message ?? `vector ${vector}` };
  if (fault?.address !== undefined) exception.address = fault.address;
  return { reason: 'exception', exitCode: 0, exception, ...base };
}
