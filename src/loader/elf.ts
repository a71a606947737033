/**
 * ELF64 parser for static x86-64 executables (System V gABI "ELF-64 Object File Format"; x86-64 psABI 3.x).
 * It validates what a loader relies on and returns the entry point and the PT_LOAD segments. Malformed input
 * raises an `ElfError` naming the field that is wrong; nothing is allocated beyond the input's own size.
 */

/** A malformed or unsupported ELF file. */
export class ElfError extends Error {
  override readonly name = 'ElfError';
}

export const PF_X = 1;
export const PF_W = 2;
export const PF_R = 4;

export interface ElfSegment {
  /** Virtual address of the first byte (p_vaddr). */
  vaddr: bigint;
  /** Bytes in memory (p_memsz): the part past `fileBytes` is zero (.bss). */
  memSize: number;
  /** The bytes from the file (p_filesz of them). */
  fileBytes: Uint8Array;
  /** PF_R | PF_W | PF_X. */
  flags: number;
}

export interface ElfImage {
  entry: bigint;
  segments: ElfSegment[];
  /** Virtual address of the program headers in the loaded image (for AT_PHDR), or 0n if not loaded. */
  phdrAddr: bigint;
  phnum: number;
  phentsize: number;
  /** Highest address of any segment (end of .bss): the initial program break starts here, page-aligned. */
  end: bigint;
}

const ET_EXEC = 2;
const EM_X86_64 = 62;
const PT_LOAD = 1;
const PT_INTERP = 3;
const PT_DYNAMIC = 2;
const PT_PHDR = 6;
const PT_TLS = 7;
const EHDR_SIZE = 64;
const PHDR_SIZE = 56;
/** Highest user address of 4-level paging (canonical lower half: SDM Vol. 1 3.3.7.1). */
const USER_TOP = 1n << 47n;
/** More headers than this is not a program we run (Linux caps the program headers at 64 KiB). */
const MAX_PHNUM = 65536 / PHDR_SIZE;
/** Cap on the total memory the segments span (1 GiB): the loader maps it in pages. */
export const MAX_IMAGE_BYTES = 1 << 30;

function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

/** Parse and validate a static ELF64 x86-64 executable. */
export function parseElf(bytes: Uint8Array): ElfImage {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`elf bytes must be a Uint8Array, got ${bytes === null ? 'null' : typeof bytes}`);
  if (bytes.length < EHDR_SIZE) throw new ElfError(`truncated ELF header: ${bytes.length} bytes, need ${EHDR_SIZE}`);
  if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) throw new ElfError('bad magic: not an ELF file (expected 7f 45 4c 46)');
  if (bytes[4] !== 2) throw new ElfError(`EI_CLASS is ${bytes[4]}, expected 2 (ELFCLASS64)`);
  if (bytes[5] !== 1) throw new ElfError(`EI_DATA is ${bytes[5]}, expected 1 (little-endian)`);
  if (bytes[6] !== 1) throw new ElfError(`EI_VERSION is ${bytes[6]}, expected 1`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const type = dv.getUint16(16, true);
  const machine = dv.getUint16(18, true);
  if (machine !== EM_X86_64) throw new ElfError(`e_machine is ${machine}, expected ${EM_X86_64} (EM_X86_64)`);
  if (type !== ET_EXEC) throw new ElfError(`e_type is ${type}, expected ${ET_EXEC} (ET_EXEC: a static, non-PIE executable)`);
  const entry = dv.getBigUint64(24, true);
  const phoff = dv.getBigUint64(32, true);
  const ehsize = dv.getUint16(52, true);
  const phentsize = dv.getUint16(54, true);
  const phnum = dv.getUint16(56, true);
  if (ehsize < EHDR_SIZE) throw new ElfError(`e_ehsize is ${ehsize}, expected at least ${EHDR_SIZE}`);
  if (phnum === 0) throw new ElfError('e_phnum is 0: no program headers');
  if (phnum > MAX_PHNUM) throw new ElfError(`e_phnum is ${phnum}, more than ${MAX_PHNUM}`);
  if (phentsize !== PHDR_SIZE) throw new ElfError(`e_phentsize is ${phentsize}, expected ${PHDR_SIZE}`);
  if (phoff + BigInt(phnum * PHDR_SIZE) > BigInt(bytes.length)) throw new ElfError(`program headers at e_phoff ${hex(phoff)} (${phnum} x ${PHDR_SIZE} bytes) run past the end of the file (${bytes.length} bytes)`);
  const segments: ElfSegment[] = [];
  let phdrAddr = 0n;
  let end = 0n;
  let span = 0n;
  for (let i = 0; i < phnum; i++) {
    const o = Number(phoff) + i * PHDR_SIZE;
    const ptype = dv.getUint32(o, true);
    const flags = dv.getUint32(o + 4, true);
    const offset = dv.getBigUint64(o + 8, true);
    const vaddr = dv.getBigUint64(o + 16, true);
    const filesz = dv.getBigUint64(o + 32, true);
    const memsz = dv.getBigUint64(o + 40, true);
    const align = dv.getBigUint64(o + 48, true);
    const what = `program header ${i}`;
    if (ptype === PT_INTERP) throw new ElfError(`${what} is PT_INTERP: a dynamically linked executable (only static ones run)`);
    if (ptype === PT_DYNAMIC) throw new ElfError(`${what} is PT_DYNAMIC: a dynamically linked executable (only static ones run)`);
    if (ptype === PT_TLS || ptype === PT_PHDR || ptype !== PT_LOAD) continue;
    if (filesz > memsz) throw new ElfError(`${what}: p_filesz ${hex(filesz)} exceeds p_memsz ${hex(memsz)}`);
    if (offset + filesz > BigInt(bytes.length)) throw new ElfError(`${what}: file range [${hex(offset)}, ${hex(offset + filesz)}) runs past the end of the file (${bytes.length} bytes)`);
    if (align > 1n && (align & (align - 1n)) !== 0n) throw new ElfError(`${what}: p_align ${hex(align)} is not a power of two`);
    if (align > 1n && (vaddr - offset) % align !== 0n && (vaddr - offset) % 4096n !== 0n) throw new ElfError(`${what}: p_vaddr ${hex(vaddr)} and p_offset ${hex(offset)} disagree modulo the page size`);
    if (memsz === 0n) continue;
    if (vaddr + memsz > USER_TOP) throw new ElfError(`${what}: [${hex(vaddr)}, ${hex(vaddr + memsz)}) is not in the user half of the address space (below ${hex(USER_TOP)})`);
    if (vaddr < 4096n) throw new ElfError(`${what}: p_vaddr ${hex(vaddr)} is in page 0`);
    span += memsz;
    if (span > BigInt(MAX_IMAGE_BYTES)) throw new ElfError(`the PT_LOAD segments span more than ${MAX_IMAGE_BYTES} bytes`);
    for (const s of segments) {
      const a0 = s.vaddr;
      const a1 = s.vaddr + BigInt(s.memSize);
      if (vaddr < a1 && a0 < vaddr + memsz) throw new ElfError(`${what}: [${hex(vaddr)}, ${hex(vaddr + memsz)}) overlaps another PT_LOAD segment [${hex(a0)}, ${hex(a1)})`);
    }
    const off = Number(offset);
    segments.push({ vaddr, memSize: Number(memsz), fileBytes: bytes.subarray(off, off + Number(filesz)), flags });
    if (offset <= phoff && phoff + BigInt(phnum * PHDR_SIZE) <= offset + filesz) phdrAddr = vaddr + (phoff - offset);
    if (vaddr + memsz > end) end = vaddr + memsz;
  }
  if (segments.length === 0) throw new ElfError('no PT_LOAD segment with memory');
  const inExec = segments.some((s) => (s.flags & PF_X) !== 0 && entry >= s.vaddr && entry < s.vaddr + BigInt(s.memSize));
  if (!inExec) throw new ElfError(`e_entry ${hex(entry)} is not inside an executable PT_LOAD segment`);
  return { entry, segments, phdrAddr, phnum, phentsize, end };
}
