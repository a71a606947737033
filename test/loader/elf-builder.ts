/** Build small ELF64 x86-64 executables in memory for loader tests (segments at page-aligned file offsets). */

export interface SegSpec {
  vaddr: bigint;
  bytes: Uint8Array;
  /** p_memsz; default bytes.length. */
  memSize?: number;
  /** PF_R=4 | PF_W=2 | PF_X=1; default 5 (R+X). */
  flags?: number;
  type?: number;
}

export interface ElfSpec {
  entry: bigint;
  segments: SegSpec[];
  type?: number;
  machine?: number;
}

export function makeElf(spec: ElfSpec): Uint8Array {
  const n = spec.segments.length;
  const dataStart = 4096;
  const offsets: number[] = [];
  let off = dataStart;
  for (const s of spec.segments) {
    offsets.push(off + Number(s.vaddr & 0xfffn));
    off += Math.ceil((Number(s.vaddr & 0xfffn) + s.bytes.length) / 4096) * 4096 || 4096;
  }
  const out = new Uint8Array(off);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1, 0]);
  dv.setUint16(16, spec.type ?? 2, true);
  dv.setUint16(18, spec.machine ?? 62, true);
  dv.setUint32(20, 1, true);
  dv.setBigUint64(24, spec.entry, true);
  dv.setBigUint64(32, 64n, true);
  dv.setUint16(52, 64, true);
  dv.setUint16(54, 56, true);
  dv.setUint16(56, n, true);
  spec.segments.forEach((s, i) => {
    const o = 64 + i * 56;
    dv.setUint32(o, s.type ?? 1, true);
    dv.setUint32(o + 4, s.flags ?? 5, true);
    dv.setBigUint64(o + 8, BigInt(offsets[i]!), true);
    dv.setBigUint64(o + 16, s.vaddr, true);
    dv.setBigUint64(o + 24, s.vaddr, true);
    dv.setBigUint64(o + 32, BigInt(s.bytes.length), true);
    dv.setBigUint64(o + 40, BigInt(s.memSize ?? s.bytes.length), true);
    dv.setBigUint64(o + 48, 4096n, true);
    out.set(s.bytes, offsets[i]!);
  });
  return out;
}

/** One R+X code segment at 0x401000 holding `code` (entry at its start). */
export function codeElf(code: number[], extra: SegSpec[] = []): Uint8Array {
  return makeElf({ entry: 0x401000n, segments: [{ vaddr: 0x401000n, bytes: new Uint8Array(code) }, ...extra] });
}

// Hand-encoded x86-64 snippets (SDM Vol. 2 encodings).
export const X = {
  movEax: (v: number) => [0xb8, ...le32(v)],
  movEdi: (v: number) => [0xbf, ...le32(v)],
  movEsi: (v: number) => [0xbe, ...le32(v)],
  movEdx: (v: number) => [0xba, ...le32(v)],
  syscall: [0x0f, 0x05],
  /** neg eax; mov edi, eax: the exit status becomes -rax (an errno). */
  negEaxToEdi: [0xf7, 0xd8, 0x89, 0xc7],
  /** mov edi, eax */
  eaxToEdi: [0x89, 0xc7],
  jmpSelf: [0xeb, 0xfe],
  hlt: [0xf4],
  /** mov rax, [0] */
  loadZero: [0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0],
  exit: (code: number) => [0xbf, ...le32(code), 0xb8, ...le32(60), 0x0f, 0x05],
};

function le32(v: number): number[] {
  return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
}
