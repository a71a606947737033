/**
 * The API edge: every public entry point of the core, fed bad arguments. Each row must throw a TypeError
 * (wrong type, unknown option name) or a RangeError (a value the argument cannot mean) whose message names
 * the argument and shows the value, or the typed architectural fault the hardware would raise. Nothing is
 * silently accepted, truncated or read by truthiness.
 */
import { describe, expect, it } from 'vitest';
import {
  ArchFault,
  bits,
  Cpu,
  enterLongMode,
  GeneralProtection,
  InvalidOpcode,
  keyDenies,
  Machine,
  MSR,
  PageTableBuilder,
  PhysicalMemory,
  pkeyAdBit,
  pkr,
  pkrRights,
  pkrWith,
  regs,
} from '../src/index.js';

const PAGE = 0xffff888000200000n;

/** A machine in IA-32e paging with one writable 4 KiB page at PAGE (physical 0x200000), key 1. */
function fixture() {
  const m = new Machine({ cpus: 2, memory: 2 ** 30 });
  const pt = new PageTableBuilder(m.memory, { start: 0x100000, end: 0x200000 });
  pt.map(PAGE, 0x200000n, 4096, { write: true, pkey: 1 });
  const cpu = m.cpu(0);
  enterLongMode(cpu, { cr3: pt.root, cr4: regs.CR4_PKS | regs.CR4_PKE });
  return { m, pt, cpu, mem: m.memory };
}

type Fx = ReturnType<typeof fixture>;
type ErrorClass = typeof TypeError | typeof RangeError | typeof GeneralProtection | typeof InvalidOpcode;
/** [what, call, expected class, substrings the message must contain (the argument's name and the value)] */
type Row = [string, (f: Fx) => unknown, ErrorClass, ...string[]];

const A = <T>(v: unknown) => v as T; // pass what the types forbid, as untyped callers do

const rows: Row[] = [
  // ---- Cpu.translate / explain -------------------------------------------------------------------------
  ['translate without options', (f) => A<(va: bigint) => unknown>(f.cpu.translate.bind(f.cpu))(PAGE), TypeError, 'translate(va, options)', 'access', 'no default', 'undefined'],
  ['translate options null', (f) => f.cpu.translate(PAGE, A(null)), TypeError, 'translate options', 'null'],
  ['translate options a string', (f) => f.cpu.translate(PAGE, A('read')), TypeError, 'translate options', '"read"'],
  ['translate access missing', (f) => f.cpu.translate(PAGE, A({ cpl: 0 })), TypeError, 'access', 'undefined'],
  ['translate access unknown', (f) => f.cpu.translate(PAGE, A({ access: 'exec' })), RangeError, 'access', '"exec"'],
  ['translate access a number', (f) => f.cpu.translate(PAGE, A({ access: 1 })), TypeError, 'access', '1'],
  ['translate unknown option', (f) => f.cpu.translate(PAGE, A({ access: 'read', implict: true })), TypeError, "'implict'", 'implicit'],
  ['translate implicit: 1', (f) => f.cpu.translate(PAGE, A({ access: 'read', cpl: 3, implicit: 1 })), TypeError, 'implicit', 'got 1'],
  ['translate probe: "no"', (f) => f.cpu.translate(PAGE, A({ access: 'read', probe: 'no' })), TypeError, 'probe', '"no"'],
  ['translate probe: 1', (f) => f.cpu.translate(PAGE, A({ access: 'read', probe: 1 })), TypeError, 'probe', 'got 1'],
  ['translate stack: "yes"', (f) => f.cpu.translate(PAGE, A({ access: 'read', stack: 'yes' })), TypeError, 'stack', '"yes"'],
  ['translate cpl 4', (f) => f.cpu.translate(PAGE, A({ access: 'read', cpl: 4 })), RangeError, 'cpl', 'got 4'],
  ['translate cpl "3"', (f) => f.cpu.translate(PAGE, A({ access: 'read', cpl: '3' })), TypeError, 'cpl', '"3"'],
  ['translate cpl 1.5', (f) => f.cpu.translate(PAGE, A({ access: 'read', cpl: 1.5 })), RangeError, 'cpl', '1.5'],
  ['translate va 2^64', (f) => f.cpu.translate(1n << 64n, { access: 'read' }), RangeError, 'translate va', '0x10000000000000000n'],
  ['translate va -2^63-1', (f) => f.cpu.translate(-(1n << 63n) - 1n, { access: 'read' }), RangeError, 'translate va', '-0x8000000000000001n'],
  ['translate va 1.5', (f) => f.cpu.translate(1.5, { access: 'read' }), RangeError, 'translate va', '1.5'],
  ['translate va a string', (f) => f.cpu.translate(A('0x1000'), { access: 'read' }), TypeError, 'translate va', '"0x1000"'],
  ['explain without options', (f) => A<(va: bigint) => unknown>(f.cpu.explain.bind(f.cpu))(PAGE), TypeError, 'explain(va, options)', 'undefined'],
  ['explain unknown option', (f) => f.cpu.explain(PAGE, A({ access: 'read', writable: true })), TypeError, "'writable'", 'explain options'],
  ['explain implicit: 0', (f) => f.cpu.explain(PAGE, A({ access: 'read', implicit: 0 })), TypeError, 'implicit', 'got 0'],
  ['explain va 2^64', (f) => f.cpu.explain(1n << 64n, { access: 'read' }), RangeError, 'explain va', '0x10000000000000000n'],

  // ---- Cpu.read / write ----------------------------------------------------------------------------------
  ['read size 3', (f) => f.cpu.read(PAGE, A(3)), RangeError, 'read size', 'got 3'],
  ['read size "8"', (f) => f.cpu.read(PAGE, A('8')), TypeError, 'read size', '"8"'],
  ['read unknown option', (f) => f.cpu.read(PAGE, 8, A({ access: 'read' })), TypeError, "'access'", 'read options'],
  ['read fetch: 1', (f) => f.cpu.read(PAGE, 8, A({ fetch: 1 })), TypeError, 'fetch', 'got 1'],
  ['read implicit: "true"', (f) => f.cpu.read(PAGE, 8, A({ implicit: 'true' })), TypeError, 'implicit', '"true"'],
  ['read cpl 7', (f) => f.cpu.read(PAGE, 8, A({ cpl: 7 })), RangeError, 'cpl', 'got 7'],
  ['read options a number', (f) => f.cpu.read(PAGE, 8, A(3)), TypeError, 'read options', '3'],
  ['read va 2^64', (f) => f.cpu.read(1n << 64n, 8), RangeError, 'read va', '0x10000000000000000n'],
  ['write 0x1ff as 1 byte', (f) => f.cpu.write(PAGE, 1, 0x1ff), RangeError, 'write value', '511 (0x1ff)', '8 bits'],
  ['write 0x10000 as 2 bytes', (f) => f.cpu.write(PAGE, 2, 0x10000n), RangeError, 'write value', '0x10000n', '16 bits'],
  ['write 2^64 as 8 bytes', (f) => f.cpu.write(PAGE, 8, 1n << 64n), RangeError, 'write value', '0x10000000000000000n'],
  ['write -129 as 1 byte', (f) => f.cpu.write(PAGE, 1, -129), RangeError, 'write value', '-129'],
  ['write 1.5', (f) => f.cpu.write(PAGE, 8, 1.5), RangeError, 'write value', '1.5'],
  ['write "1"', (f) => f.cpu.write(PAGE, 8, A('1')), TypeError, 'write value', '"1"'],
  ['write size 16', (f) => f.cpu.write(PAGE, A(16), 0n), RangeError, 'write size', '16'],
  ['write unknown option', (f) => f.cpu.write(PAGE, 8, 0n, A({ writable: true })), TypeError, "'writable'", 'write options'],
  ['write fetch option', (f) => f.cpu.write(PAGE, 8, 0n, A({ fetch: true })), TypeError, "'fetch'", 'write options'],
  ['write stack: 1', (f) => f.cpu.write(PAGE, 8, 0n, A({ stack: 1 })), TypeError, 'stack', 'got 1'],

  // ---- Cpu registers --------------------------------------------------------------------------------------
  ['getReg unknown name', (f) => f.cpu.getReg(A('rxx')), RangeError, 'getReg name', '"rxx"'],
  ['getReg a number', (f) => f.cpu.getReg(A(0)), TypeError, 'getReg name', '0'],
  ['setReg unknown name', (f) => f.cpu.setReg(A('eax'), 0n), RangeError, 'setReg name', '"eax"'],
  ['setReg rax 2^64', (f) => f.cpu.setReg('rax', 1n << 64n), RangeError, 'rax', '0x10000000000000000n'],
  ['setReg rax 1.5', (f) => f.cpu.setReg('rax', 1.5), RangeError, 'rax', '1.5'],
  ['setReg rax null', (f) => f.cpu.setReg('rax', A(null)), TypeError, 'rax', 'null'],
  ['setReg rip non-canonical', (f) => f.cpu.setReg('rip', 0x800000000000n), RangeError, 'rip', '0x800000000000', 'canonical'],
  ['setReg rip non-canonical (negative)', (f) => f.cpu.setReg('rip', -(1n << 50n)), RangeError, 'rip', '0xfffc000000000000', 'canonical'],
  ['rip = non-canonical', (f) => (f.cpu.rip = 0x0000800000000000n), RangeError, 'rip', '0x800000000000'],
  ['setReg rflags reserved bit 3', (f) => f.cpu.setReg('rflags', 0x8n), RangeError, 'rflags', '0x8'],
  ['rflags bit 63', (f) => (f.cpu.rflags = 1n << 63n), RangeError, 'rflags', '0x8000000000000000'],
  ['cpl = 4', (f) => (f.cpu.cpl = A(4)), RangeError, 'cpl', 'got 4'],
  ['cpl = "0"', (f) => (f.cpu.cpl = A('0')), TypeError, 'cpl', '"0"'],
  ['pkru = 2^32', (f) => (f.cpu.pkru = 2 ** 32), RangeError, 'pkru', '4294967296'],
  ['pkru = -1', (f) => (f.cpu.pkru = -1), RangeError, 'pkru', '-1'],
  ['pkru = 1n', (f) => (f.cpu.pkru = A(1n)), TypeError, 'pkru', '0x1n'],
  ['charge(-1)', (f) => f.cpu.charge(-1), RangeError, 'cycles', '-1'],
  ['charge("1")', (f) => f.cpu.charge(A('1')), TypeError, 'cycles', '"1"'],
  ['fsBase non-canonical (57-bit CPU)', (f) => (f.cpu.fsBase = 0x0100000000000000n), GeneralProtection, 'IA32_FS_BASE', '0x100000000000000'],

  // ---- Cpu control registers and MSRs --------------------------------------------------------------------------
  ['writeCr(1)', (f) => f.cpu.writeCr(1, 0n), RangeError, 'control register', 'got 1'],
  ['writeCr("3")', (f) => f.cpu.writeCr(A('3'), 0n), TypeError, 'control register', '"3"'],
  ['writeCr value 2^64', (f) => f.cpu.writeCr(2, 1n << 64n), RangeError, 'CR2 value', '0x10000000000000000n'],
  ['writeCr value 1.5', (f) => f.cpu.writeCr(2, 1.5), RangeError, 'CR2 value', '1.5'],
  ['MOV to CR4 bit 31: mask in unsigned hex', (f) => f.cpu.writeCr(4, f.cpu.cr4 | (1n << 31n)), GeneralProtection, 'reserved or unsupported bits 0x80000000'],
  ['MOV to CR4 bit 32', (f) => f.cpu.writeCr(4, f.cpu.cr4 | (1n << 32n)), GeneralProtection, 'CR4', 'bits 63:32'],
  ['MOV to CR3 bit 63 with PCIDE = 0 (SDM 4.10.4.1: reserved)', (f) => f.cpu.writeCr(3, f.cpu.cr3 | (1n << 63n)), GeneralProtection, 'CR3', '0x8000000000', 'bit 63'],
  ['readCr(5)', (f) => f.cpu.readCr(5), RangeError, 'control register', 'got 5'],
  ['wrmsr index -1', (f) => f.cpu.wrmsr(-1, 0n), RangeError, 'MSR index', '-1'],
  ['wrmsr index 1.5', (f) => f.cpu.wrmsr(1.5, 0n), RangeError, 'MSR index', '1.5'],
  ['wrmsr index "0x6e1"', (f) => f.cpu.wrmsr(A('0x6e1'), 0n), TypeError, 'MSR index', '"0x6e1"'],
  ['wrmsr index 0x6e1n', (f) => f.cpu.wrmsr(A(0x6e1n), 0n), TypeError, 'MSR index', '0x6e1n'],
  ['wrmsr index 2^32', (f) => f.cpu.wrmsr(2 ** 32, 0n), RangeError, 'MSR index', '4294967296'],
  ['wrmsr value 2^64', (f) => f.cpu.wrmsr(MSR.IA32_PKRS, 1n << 64n), RangeError, 'IA32_PKRS', '0x10000000000000000n'],
  ['wrmsr value "0"', (f) => f.cpu.wrmsr(MSR.IA32_PKRS, A('0')), TypeError, 'IA32_PKRS', '"0"'],
  ['wrmsr PKRS bit 32 (reserved)', (f) => f.cpu.wrmsr(MSR.IA32_PKRS, 1n << 32n), GeneralProtection, 'IA32_PKRS', '0x100000000'],
  ['wrmsr PKRS -1 (bits 63:32 set)', (f) => f.cpu.wrmsr(MSR.IA32_PKRS, -1n), GeneralProtection, 'IA32_PKRS', '0xffffffffffffffff'],
  ['wrmsr unknown MSR', (f) => f.cpu.wrmsr(0x12345, 0n), GeneralProtection, 'no such MSR'],
  ['rdmsr index -1', (f) => f.cpu.rdmsr(-1), RangeError, 'MSR index', '-1'],
  ['rdmsr index null', (f) => f.cpu.rdmsr(A(null)), TypeError, 'MSR index', 'null'],
  ['rdmsr unknown MSR', (f) => f.cpu.rdmsr(0x12345), GeneralProtection, 'no such MSR'],

  // ---- Cpu TLB maintenance, CPUID ------------------------------------------------------------------------------
  ['invlpg va 2^64', (f) => f.cpu.invlpg(1n << 64n), RangeError, 'invlpg va', '0x10000000000000000n'],
  ['invlpg va "0"', (f) => f.cpu.invlpg(A('0')), TypeError, 'invlpg va', '"0"'],
  ['invpcid type "1"', (f) => f.cpu.invpcid(A('1')), TypeError, 'invpcid type', '"1"'],
  ['invpcid type 1.5', (f) => f.cpu.invpcid(1.5), RangeError, 'invpcid type', '1.5'],
  ['invpcid type -1', (f) => f.cpu.invpcid(-1), RangeError, 'invpcid type', '-1'],
  ['invpcid type 4 (#GP)', (f) => f.cpu.invpcid(4), GeneralProtection, 'INVPCID type 4'],
  ['invpcid pcid 4096 (#GP)', (f) => f.cpu.invpcid(1, { pcid: 4096 }), GeneralProtection, 'PCID', '4096'],
  ['invpcid pcid -1', (f) => f.cpu.invpcid(1, { pcid: -1 }), RangeError, 'pcid', '-1'],
  ['invpcid pcid 1n', (f) => f.cpu.invpcid(1, { pcid: A(1n) }), TypeError, 'pcid', '0x1n'],
  ['invpcid unknown descriptor field', (f) => f.cpu.invpcid(1, A({ pcid: 0, addr: 0n })), TypeError, "'addr'", 'invpcid descriptor'],
  ['invpcid type 0 without va', (f) => f.cpu.invpcid(0, { pcid: 0 }), TypeError, 'va', 'undefined'],
  ['invpcid type 0 va 2^64', (f) => f.cpu.invpcid(0, { pcid: 0, va: 1n << 64n }), RangeError, 'va', '0x10000000000000000n'],
  ['invpcid type 0 non-canonical va (#GP)', (f) => f.cpu.invpcid(0, { pcid: 0, va: 0x800000000000n }), GeneralProtection, '0x800000000000'],
  ['invpcid descriptor a number', (f) => f.cpu.invpcid(1, A(5)), TypeError, 'invpcid descriptor', '5'],
  ['flushTlb global: 1', (f) => f.cpu.flushTlb(A({ global: 1 })), TypeError, 'global', 'got 1'],
  ['flushTlb unknown option', (f) => f.cpu.flushTlb(A({ all: true })), TypeError, "'all'", 'flushTlb options'],
  ['flushTlb options "global"', (f) => f.cpu.flushTlb(A('global')), TypeError, 'flushTlb options', '"global"'],
  ['cpuid leaf -1', (f) => f.cpu.cpuid(-1), RangeError, 'cpuid leaf', '-1'],
  ['cpuid leaf 2^32', (f) => f.cpu.cpuid(2 ** 32), RangeError, 'cpuid leaf', '4294967296'],
  ['cpuid leaf "7"', (f) => f.cpu.cpuid(A('7')), TypeError, 'cpuid leaf', '"7"'],
  ['cpuid subleaf 0.5', (f) => f.cpu.cpuid(7, 0.5), RangeError, 'cpuid subleaf', '0.5'],
  ['takeException with nothing pending', (f) => f.cpu.takeException(), RangeError, 'takeException', 'no exception'],

  // ---- PhysicalMemory --------------------------------------------------------------------------------------------
  ['read64(-8n): negative shown as unsigned too', (f) => f.mem.read64(-8n), RangeError, 'physical address', '-0x8n', '0xfffffffffffffff8'],
  ['read8(-1)', (f) => f.mem.read8(-1), RangeError, 'physical address', '-1'],
  ['read16(2^46)', (f) => f.mem.read16(2 ** 46), RangeError, 'physical address', '70368744177664'],
  ['read32(1.5)', (f) => f.mem.read32(1.5), RangeError, 'physical address', '1.5'],
  ['read64("0")', (f) => f.mem.read64(A('0')), TypeError, 'physical address', '"0"'],
  ['read64 across 2^46', (f) => f.mem.read64(2n ** 46n - 4n), RangeError, 'physical address', '0x3ffffffffffc'],
  ['write8 300', (f) => f.mem.write8(0, 300), RangeError, 'write8 value', '300 (0x12c)'],
  ['write8 -129', (f) => f.mem.write8(0, -129), RangeError, 'write8 value', '-129'],
  ['write8 "1"', (f) => f.mem.write8(0, A('1')), TypeError, 'write8 value', '"1"'],
  ['write16 0x10000', (f) => f.mem.write16(0, 0x10000), RangeError, 'write16 value', '0x10000'],
  ['write32 2^32', (f) => f.mem.write32(0, 2 ** 32), RangeError, 'write32 value', '0x100000000'],
  ['write32 NaN', (f) => f.mem.write32(0, NaN), RangeError, 'write32 value', 'NaN'],
  ['write64 2^64', (f) => f.mem.write64(0n, 1n << 64n), RangeError, 'write64 value', '0x10000000000000000n'],
  ['write64 1.5', (f) => f.mem.write64(0n, 1.5), RangeError, 'write64 value', '1.5'],
  ['write64 undefined', (f) => f.mem.write64(0n, A(undefined)), TypeError, 'write64 value', 'undefined'],
  ['write64 at -8n', (f) => f.mem.write64(-8n, 0n), RangeError, 'physical address', '0xfffffffffffffff8'],
  ['readBytes length -1', (f) => f.mem.readBytes(0, -1), RangeError, 'readBytes length', '-1'],
  ['writeBytes an array', (f) => f.mem.writeBytes(0, A([1, 2])), TypeError, 'bytes', 'array'],
  ['fill value 256', (f) => f.mem.fill(0, 16, 256), RangeError, 'fill value', '256'],
  ['fill length -1', (f) => f.mem.fill(0, -1), RangeError, 'fill length', '-1'],
  ['new PhysicalMemory maxPhysAddr 60', () => new PhysicalMemory({ size: 4096, maxPhysAddr: 60 }), RangeError, 'maxPhysAddr', '60'],
  ['new PhysicalMemory size "4096"', () => new PhysicalMemory({ size: A('4096') }), TypeError, 'size', '"4096"'],
  ['new PhysicalMemory size 4097', () => new PhysicalMemory({ size: 4097 }), RangeError, 'size', '4097'],
  ['new PhysicalMemory unknown option', () => new PhysicalMemory(A({ size: 4096, maxPhysAdr: 40 })), TypeError, "'maxPhysAdr'", 'PhysicalMemory options'],
  ['new PhysicalMemory()', () => new PhysicalMemory(A(undefined)), TypeError, 'PhysicalMemory options', 'undefined'],

  // ---- PageTableBuilder ------------------------------------------------------------------------------------------
  ['map non-canonical va', (f) => f.pt.map(0x800000000000n, 0x1000n), RangeError, 'map va', '0x800000000000', 'canonical'],
  ['map va 2^64 + 0x5000', (f) => f.pt.map((1n << 64n) + 0x5000n, 0x1000n), RangeError, 'map va', '0x10000000000005000n'],
  ['map va canonical only for 57 bits', (f) => f.pt.map(0x0100000000000000n, 0x1000n), RangeError, 'map va', '0x100000000000000'],
  ['map va "0"', (f) => f.pt.map(A('0'), 0x1000n), TypeError, 'map va', '"0"'],
  ['map pa -4096', (f) => f.pt.map(0x1000n, -4096n), RangeError, 'map pa', '-0x1000n'],
  ['map pa 2^52', (f) => f.pt.map(0x1000n, 1n << 52n), RangeError, 'map pa', '0x10000000000000'],
  ['map size 4097', (f) => f.pt.map(0x1000n, 0x1000n, A(4097)), RangeError, 'map size', '4097'],
  ['map misaligned', (f) => f.pt.map(0x1800n, 0x1000n), RangeError, 'map va', '0x1800'],
  ['map flags unknown', (f) => f.pt.map(0x1000n, 0x1000n, 4096, A({ writable: true })), TypeError, "'writable'", 'map flags'],
  ['map flags write: 1', (f) => f.pt.map(0x1000n, 0x1000n, 4096, A({ write: 1 })), TypeError, 'map flags write', 'got 1'],
  ['map flags xd: "yes"', (f) => f.pt.map(0x1000n, 0x1000n, 4096, A({ xd: 'yes' })), TypeError, 'map flags xd', '"yes"'],
  ['map flags pkey 16', (f) => f.pt.map(0x1000n, 0x1000n, 4096, { pkey: 16 }), RangeError, 'pkey', '16'],
  ['map flags tables unknown', (f) => f.pt.map(0x1000n, 0x1000n, 4096, A({ tables: { rw: true } })), TypeError, "'rw'", 'map flags.tables'],
  ['map flags overrideTables 1', (f) => f.pt.map(0x1000n, 0x1000n, 4096, A({ overrideTables: 1 })), TypeError, 'overrideTables', 'got 1'],
  ['mapRange bytes -1', (f) => f.pt.mapRange(0x1000n, 0x1000n, -1), RangeError, 'mapRange bytes', '-1'],
  ['setEntry level 6', (f) => f.pt.setEntry(0n, A(6), 0n), RangeError, 'setEntry level', '6'],
  ['setEntry level 5 on 4-level tables', (f) => f.pt.setEntry(0n, 5, 0n), RangeError, 'setEntry level', '1..4', '5'],
  ['setEntry level 0', (f) => f.pt.setEntry(0n, A(0), 0n), RangeError, 'setEntry level', '0'],
  ['setEntry value 2^64', (f) => f.pt.setEntry(0n, 1, 1n << 64n), RangeError, 'setEntry value', '0x10000000000000000n'],
  ['setEntry non-canonical va', (f) => f.pt.setEntry(0x800000000000n, 1, 0n), RangeError, 'setEntry va', '0x800000000000'],
  ['getEntry level 0', (f) => f.pt.getEntry(0n, A(0)), RangeError, 'getEntry level', '0'],
  ['getEntry level "1"', (f) => f.pt.getEntry(0n, A('1')), TypeError, 'getEntry level', '"1"'],
  ['entryAddress level 7', (f) => f.pt.entryAddress(0n, A(7)), RangeError, 'entryAddress level', '7'],
  ['new PageTableBuilder levels 3', (f) => new PageTableBuilder(f.mem, { start: 0x300000, end: 0x400000 }, A({ levels: 3 })), RangeError, 'levels', '3'],
  ['new PageTableBuilder unknown option', (f) => new PageTableBuilder(f.mem, { start: 0x300000, end: 0x400000 }, A({ level: 5 })), TypeError, "'level'", 'PageTableBuilder options'],
  ['new PageTableBuilder pool start "0"', (f) => new PageTableBuilder(f.mem, A({ start: '0', end: 0x1000 })), TypeError, 'pool start', '"0"'],
  ['new PageTableBuilder pool misaligned', (f) => new PageTableBuilder(f.mem, { start: 0x300800, end: 0x400000 }), RangeError, 'pool', '0x300800'],

  // ---- keys --------------------------------------------------------------------------------------------------------
  ['keyDenies key 16', () => keyDenies(0, 16, true, false, true), RangeError, 'keyDenies key', '16'],
  ['keyDenies key -1', () => keyDenies(0, -1, true, false, true), RangeError, 'keyDenies key', '-1'],
  ['keyDenies reg 2^32', () => keyDenies(2 ** 32, 0, true, false, true), RangeError, 'keyDenies reg', '4294967296'],
  ['keyDenies write 1', () => keyDenies(0, 0, A(1), false, true), TypeError, 'keyDenies write', 'got 1'],
  ['keyDenies wp undefined', () => keyDenies(0, 0, true, false, A(undefined)), TypeError, 'wp', 'undefined'],
  ['pkr key 16', () => pkr({ 16: 'wd' }), RangeError, 'protection key', '16'],
  ['pkr key "1.0"', () => pkr(A({ '1.0': 'wd' })), RangeError, 'protection key', '"1.0"'],
  ['pkr rights "rx"', () => pkr(A({ 1: 'rx' })), RangeError, 'rights for key 1', '"rx"'],
  ['pkr rights 5', () => pkr(A({ 1: 5 })), TypeError, 'rights for key 1', '5'],
  ['pkr null', () => pkr(A(null)), TypeError, 'pkr rights', 'null'],
  ['pkeyAdBit 16', () => pkeyAdBit(16), RangeError, 'protection key', '16'],
  ['pkrRights value -1', () => pkrRights(-1, 0), RangeError, 'pkrRights value', '-1'],
  ['pkrWith rights "rx"', () => pkrWith(0, 1, A('rx')), RangeError, 'rights for key 1', '"rx"'],

  // ---- Machine, enterLongMode -------------------------------------------------------------------------------------
  ['new Machine unknown option', () => new Machine(A({ cpu: 4 })), TypeError, "'cpu'", 'cpus'],
  ['new Machine cpus 0', () => new Machine({ cpus: 0 }), RangeError, 'cpus', '0'],
  ['new Machine cpus "2"', () => new Machine(A({ cpus: '2' })), TypeError, 'cpus', '"2"'],
  ['new Machine options null', () => new Machine(A(null)), TypeError, 'Machine options', 'null'],
  ['new Machine unknown feature', () => new Machine({ features: A({ pkeys: true }) }), TypeError, "'pkeys'", 'features'],
  ['new Machine feature pks: 1', () => new Machine({ features: A({ pks: 1 }) }), TypeError, 'feature pks', 'got 1'],
  ['new Machine features "all"', () => new Machine({ features: A('all') }), TypeError, 'features', '"all"'],
  ['new Machine memory "4G"', () => new Machine({ memory: A('4G') }), TypeError, 'memory size', '"4G"'],
  ['new Machine memory 1000', () => new Machine({ memory: 1000 }), RangeError, 'memory size', '1000'],
  ['new Machine maxPhysAddr 30', () => new Machine({ maxPhysAddr: 30 }), RangeError, 'maxPhysAddr', '30'],
  ['m.cpu(2) on 2 CPUs', (f) => f.m.cpu(2), RangeError, 'cpu index', '0..1', '2'],
  ['m.cpu(-1)', (f) => f.m.cpu(-1), RangeError, 'cpu index', '-1'],
  ['m.cpu("0")', (f) => f.m.cpu(A('0')), TypeError, 'cpu index', '"0"'],
  ['m.load an array', (f) => f.m.load(0, A([1, 2, 3])), TypeError, 'bytes', 'array'],
  ['enterLongMode cpl 2', (f) => enterLongMode(f.m.cpu(1), A({ cr3: f.pt.root, cpl: 2 })), RangeError, 'cpl', '0, 3', '2'],
  ['enterLongMode cpl "0"', (f) => enterLongMode(f.m.cpu(1), A({ cr3: f.pt.root, cpl: '0' })), TypeError, 'cpl', '"0"'],
  ['enterLongMode unknown option', (f) => enterLongMode(f.m.cpu(1), A({ cr3: f.pt.root, pks: true })), TypeError, "'pks'", 'enterLongMode options'],
  ['enterLongMode la57: 1', (f) => enterLongMode(f.m.cpu(1), A({ cr3: f.pt.root, la57: 1 })), TypeError, 'la57', 'got 1'],
  ['enterLongMode wp: "no"', (f) => enterLongMode(f.m.cpu(1), A({ cr3: f.pt.root, wp: 'no' })), TypeError, 'wp', '"no"'],
  ['enterLongMode nxe: 0', (f) => enterLongMode(f.m.cpu(1), A({ cr3: f.pt.root, nxe: 0 })), TypeError, 'nxe', 'got 0'],
  ['enterLongMode without cr3', (f) => enterLongMode(f.m.cpu(1), A({})), TypeError, 'cr3', 'undefined'],
  ['enterLongMode without options', (f) => enterLongMode(f.m.cpu(1), A(undefined)), TypeError, 'enterLongMode options', 'undefined'],
  ['enterLongMode cr3 2^64', (f) => enterLongMode(f.m.cpu(1), { cr3: 1n << 64n }), RangeError, 'cr3', '0x10000000000000000n'],
  ['enterLongMode cr4 1.5', (f) => enterLongMode(f.m.cpu(1), { cr3: f.pt.root, cr4: 1.5 }), RangeError, 'cr4', '1.5'],
  ['enterLongMode not a Cpu', (f) => enterLongMode(A(f.m), { cr3: f.pt.root }), TypeError, 'enterLongMode cpu', 'Machine'],
];

describe('API edge: bad inputs throw a TypeError/RangeError naming the argument and the value, or the architectural fault', () => {
  it.each(rows.map((r) => [r[0], r] as const))('%s', (_name, [, call, cls, ...parts]) => {
    const f = fixture();
    let thrown: unknown;
    try {
      call(f);
    } catch (e) {
      thrown = e;
    }
    expect(thrown, 'silently accepted').toBeDefined();
    expect(thrown).toBeInstanceOf(cls);
    if (cls === TypeError || cls === RangeError) expect(thrown).not.toBeInstanceOf(ArchFault);
    const msg = (thrown as Error).message;
    for (const p of parts) expect(msg).toContain(p);
  });
});

describe('API edge: what is accepted, and how', () => {
  it('takes negative values as two\'s complement of the access size (memory and cpu.write)', () => {
    const { cpu, mem } = fixture();
    mem.write8(0x1000, -1);
    mem.write16(0x1002, -2n);
    mem.write32(0x1004, -(2 ** 31));
    mem.write64(0x1008, -1n);
    expect(mem.read8(0x1000)).toBe(0xff);
    expect(mem.read16(0x1002)).toBe(0xfffe);
    expect(mem.read32(0x1004)).toBe(0x80000000);
    expect(mem.read64(0x1008)).toBe(0xffffffffffffffffn);
    cpu.write(PAGE, 1, -128);
    expect(cpu.read(PAGE, 1)).toBe(0x80n);
    cpu.write(PAGE, 8, -(1n << 63n));
    expect(cpu.read(PAGE, 8)).toBe(0x8000000000000000n);
  });

  it('takes the full unsigned range at every size', () => {
    const { cpu, mem } = fixture();
    mem.write8(0, 0xff);
    mem.write32(4, 0xffffffff);
    mem.write64(8, 0xffffffffffffffffn);
    expect(mem.read64(8)).toBe(0xffffffffffffffffn);
    cpu.write(PAGE, 2, 0xffff);
    expect(cpu.read(PAGE, 2)).toBe(0xffffn);
  });

  it('reads options as real booleans: implicit: true makes a CPL-3 access supervisor', () => {
    const { cpu } = fixture();
    const user = cpu.translate(PAGE, { access: 'read', cpl: 3 });
    expect(user.ok).toBe(false);
    if (!user.ok) expect(user.fault.errorCode).toBe(0x5); // P | U: a supervisor page
    expect(cpu.translate(PAGE, { access: 'read', cpl: 3, implicit: true }).ok).toBe(true);
    expect(cpu.translate(PAGE, { access: 'read', cpl: 3, implicit: false }).ok).toBe(false);
    expect(cpu.translate(PAGE, { access: 'read', probe: false }).ok).toBe(true);
  });

  it('accepts canonical addresses given as negative bigints, and non-canonical ones at the hardware edge', () => {
    const { cpu, pt } = fixture();
    pt.map(-0x1000n, 0x201000n, 4096, { write: true });
    expect(pt.getEntry(0xfffffffffffff000n, 1)).toBe(pt.getEntry(-0x1000n, 1));
    expect(cpu.translate(-0x1000n, { access: 'read' })).toMatchObject({ ok: true, pa: 0x201000n });
    // A non-canonical address in an access is not misuse but an architectural #GP(0) (or #SS(0)).
    const r = cpu.translate(0x800000000000n, { access: 'read' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.fault).toBeInstanceOf(GeneralProtection);
    expect(() => cpu.read(0x800000000000n, 8)).toThrow(GeneralProtection);
    cpu.invlpg(0x800000000000n); // INVLPG of a non-canonical address is a no-op (SDM Vol. 2A INVLPG)
    cpu.setReg('rip', 0xffffffff81000000n);
    expect(cpu.rip).toBe(0xffffffff81000000n);
  });

  it('with CR4.PCIDE = 1, CR3 bit 63 is the no-flush bit and is not loaded (SDM 4.10.4.1)', () => {
    const { cpu } = fixture();
    cpu.writeCr(4, cpu.cr4 | BigInt(regs.CR4_PCIDE));
    const root = cpu.cr3;
    cpu.writeCr(3, root | 5n | (1n << 63n));
    expect(cpu.cr3).toBe(root | 5n);
  });

  it('a CR3 bit-63 #GP leaves CR3 and the TLB as they were', () => {
    const { cpu } = fixture();
    cpu.read(PAGE, 8);
    const cr3 = cpu.cr3;
    const hits = cpu.stats.tlbHits;
    expect(() => cpu.writeCr(3, cr3 | (1n << 63n))).toThrow(GeneralProtection);
    expect(cpu.cr3).toBe(cr3);
    cpu.read(PAGE, 8);
    expect(cpu.stats.tlbHits).toBe(hits + 1);
  });

  it('m.cpu(i) is m.cpus[i]', () => {
    const { m } = fixture();
    expect(m.cpu(0)).toBe(m.cpus[0]);
    expect(m.cpu(1)).toBe(m.cpus[1]);
    expect(m.cpu(1)).toBeInstanceOf(Cpu);
  });

  it('enterLongMode takes cpl 0 and 3', () => {
    const { m, pt } = fixture();
    enterLongMode(m.cpu(1), { cr3: pt.root, cpl: 3 });
    expect(m.cpu(1).cpl).toBe(3);
  });

  it('pkru without PKU is #UD, like WRPKRU', () => {
    const cpu = new Machine({ features: { pku: false } }).cpu(0);
    expect(() => (cpu.pkru = 0)).toThrow(InvalidOpcode);
  });

  it('every fault a bad input raises is typed, never a bare Error', () => {
    for (const [, call] of rows) {
      try {
        call(fixture());
      } catch (e) {
        expect(e instanceof TypeError || e instanceof RangeError || e instanceof ArchFault, String(e)).toBe(true);
      }
    }
  });
});

describe('API edge: entry builders and decoders', () => {
  const entryRows: [string, () => unknown, typeof TypeError | typeof RangeError, ...string[]][] = [
    ['makeEntry without fields', () => bits.makeEntry(A(undefined)), TypeError, 'entry fields', 'undefined'],
    ['makeEntry unknown field', () => bits.makeEntry(A({ addr: 0n, writable: true })), TypeError, "'writable'", 'entry fields'],
    ['makeEntry write: 1', () => bits.makeEntry(A({ addr: 0n, write: 1 })), TypeError, 'entry field write', 'got 1'],
    ['makeEntry addr -4096', () => bits.makeEntry({ addr: -4096n }), RangeError, 'entry address', '-0x1000n'],
    ['makeEntry addr 2^52', () => bits.makeEntry({ addr: 1n << 52n }), RangeError, 'entry address', '0x10000000000000n'],
    ['makeEntry addr "0"', () => bits.makeEntry({ addr: A('0') }), TypeError, 'entry address', '"0"'],
    ['makeEntry addr 1.5', () => bits.makeEntry({ addr: 1.5 }), RangeError, 'entry address', '1.5'],
    ['makeEntry misaligned', () => bits.makeEntry({ addr: 0x1800n }), RangeError, 'entry address', '0x1800'],
    ['makeEntry pkey 16', () => bits.makeEntry({ addr: 0n, pkey: 16 }), RangeError, 'pkey', '16'],
    ['makeEntry level 6', () => bits.makeEntry({ addr: 0n }, A(6)), RangeError, 'entry level', '6'],
    ['pte flags null', () => bits.pte(0n, A(null)), TypeError, 'pte flags', 'null'],
    ['pte unknown flag', () => bits.pte(0n, A({ rw: true })), TypeError, "'rw'", 'pte flags'],
    ['pde2M misaligned', () => bits.pde2M(0x1000n), RangeError, '2 MiB page address', '0x1000n'],
    ['pdpte1G "0"', () => bits.pdpte1G(A('0')), TypeError, '1 GiB page address', '"0"'],
    ['tableEntry flags a string', () => bits.tableEntry(0n, A('rw')), TypeError, 'tableEntry flags', '"rw"'],
    ['decodeEntry 2^64', () => bits.decodeEntry(1n << 64n), RangeError, 'decodeEntry entry', '0x10000000000000000n'],
    ['decodeEntry level 0', () => bits.decodeEntry(0n, A(0)), RangeError, 'decodeEntry level', '0'],
    ['tableIndex level 9', () => bits.tableIndex(0n, A(9)), RangeError, 'tableIndex level', '9'],
    ['tableIndex va "0"', () => bits.tableIndex(A('0'), 1), TypeError, 'tableIndex va', '"0"'],
  ];
  it.each(entryRows.map((r) => [r[0], r] as const))('%s', (_name, [, call, cls, ...parts]) => {
    expect(call).toThrow(cls);
    let msg = '';
    try {
      call();
    } catch (e) {
      msg = (e as Error).message;
    }
    for (const p of parts) expect(msg).toContain(p);
  });

  it('a negative entry value decodes as its two\'s complement', () => {
    expect(bits.decodeEntry(-1n, 1).xd).toBe(true);
    expect(bits.decodeEntry(bits.pte(0x5000n, { write: true, pkey: 3 }))).toMatchObject({ addr: 0x5000n, write: true, pkey: 3 });
  });
});
