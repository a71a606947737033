/**
 * The decoder: legacy prefixes, REX, opcode maps 0F and 0F 38, ModRM, SIB, displacements, immediates and
 * RIP-relative addressing for 64-bit mode (SDM Vol. 2A ch. 2), into an Insn record. Pure function of the
 * bytes: no CPU state. Checks as the SDM orders them: an instruction longer than 15 bytes raises #GP(0)
 * (Vol. 2A 2.3.11), an unknown opcode or a LOCK prefix where LOCK is not allowed raises #UD (Vol. 2A LOCK).
 */

import { Insn, SEG_FS, SEG_GS, SEG_NONE } from './insn.js';
import { BY_KEY, F_ACC, F_B, F_D64, F_F64, F_LOCK, F_ONE, F_REGONLY, F_W16, F_Z32, IMM_B, IMM_NONE, IMM_O, IMM_V, IMM_W, IMM_WB, IMM_Z, PF_ANY, PF_NONE, PF_STRICT, F_Y, ROWS, type OpRow } from './opcodes.js';

export const DEC_OK = 0;
/** #UD: not a supported instruction, or LOCK where not allowed. */
export const DEC_UD = 1;
/** #GP(0): longer than 15 bytes. */
export const DEC_GP = 2;
/** The bytes given ran out before the instruction ended (the caller fetches the next page). */
export const DEC_MORE = 3;

export const MAX_INSN_LEN = 15;

/** Byte register numbering for 8-bit operands: without REX, 4..7 are AH CH DH BH (16..19 here). */
function reg8(r: number, rex: boolean): number {
  return !rex && r >= 4 && r < 8 ? r + 12 : r;
}

/**
 * Decode one instruction from buf[0..avail) into d. Returns DEC_OK, DEC_UD, DEC_GP or DEC_MORE. Reading
 * stops at 15 bytes: an instruction that would need more is #GP(0) even when the bytes are there.
 */
export function decode(buf: Uint8Array, avail: number, d: Insn): number {
  let p = 0;
  let opsz16 = false;
  let adsz32 = false;
  let lock = false;
  let repPfx = 0; // last of F2/F3
  let seg = SEG_NONE;
  let rex = 0;
  let b = 0;
  // Prefixes (SDM Vol. 2A 2.1.1): any order, a REX counts only directly before the opcode.
  for (;;) {
    if (p >= MAX_INSN_LEN) return DEC_GP;
    if (p >= avail) return DEC_MORE;
    b = buf[p++];
    if (b >= 0x40 && b <= 0x4f) {
      rex = b;
      continue;
    }
    let isPfx = true;
    switch (b) {
      case 0x66:
        opsz16 = true;
        break;
      case 0x67:
        adsz32 = true;
        break;
      case 0xf0:
        lock = true;
        break;
      case 0xf2:
      case 0xf3:
        repPfx = b;
        break;
      case 0x26:
      case 0x2e:
      case 0x36:
      case 0x3e:
        break; // ignored in 64-bit mode (SDM Vol. 1 3.3.7.1), without cancelling an FS/GS override

      case 0x64:
        seg = SEG_FS;
        break;
      case 0x65:
        seg = SEG_GS;
        break;
      default:
        isPfx = false;
    }
    if (!isPfx) break;
    rex = 0; // a REX followed by a legacy prefix is ignored
  }
  const rexW = (rex & 8) !== 0;
  const rexR = (rex & 4) !== 0 ? 8 : 0;
  const rexX = (rex & 2) !== 0 ? 8 : 0;
  const rexB = (rex & 1) !== 0 ? 8 : 0;
  let map = 0;
  if (b === 0x0f) {
    if (p >= MAX_INSN_LEN) return DEC_GP;
    if (p >= avail) return DEC_MORE;
    b = buf[p++];
    map = 1;
    if (b === 0x38) {
      if (p >= MAX_INSN_LEN) return DEC_GP;
      if (p >= avail) return DEC_MORE;
      b = buf[p++];
      map = 2;
    } else if (b === 0x3a) return DEC_UD;
  }
  const rows = BY_KEY[(map << 8) | b];
  if (rows.length === 0) return DEC_UD;
  let modrm = -1;
  if (rows[0].modrm) {
    if (p >= MAX_INSN_LEN) return DEC_GP;
    if (p >= avail) return DEC_MORE;
    modrm = buf[p++];
  }
  const mod = modrm >>> 6;
  const regField = (modrm >>> 3) & 7;
  let row: OpRow | null = null;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (r.ext >= 0 && r.ext !== regField) continue;
    if (r.modrmExact >= 0 && r.modrmExact !== modrm) continue;
    if (r.mod === 1 && mod === 3) continue;
    if (r.mod === 2 && mod !== 3) continue;
    // Mandatory prefixes: F2/F3 take precedence over 66 (SDM Vol. 2A 2.1.2)
    if (r.pfx === PF_STRICT ? repPfx !== 0 || opsz16 : r.pfx === PF_NONE ? repPfx !== 0 : r.pfx !== PF_ANY && !(r.pfx === 0x66 ? opsz16 && repPfx === 0 : repPfx === r.pfx)) continue;
    row = r;
    break;
  }
  if (row === null) return DEC_UD;
  const f = row.flags;
  // Operand size (SDM Vol. 2A 2.2.1.2, Table 2-4)
  const mandatory66 = row.pfx === 0x66;
  let osz: number;
  if ((f & F_B) !== 0) osz = 1;
  else if ((f & F_W16) !== 0) osz = 2;
  else if ((f & F_F64) !== 0) osz = 8;
  else if ((f & F_D64) !== 0) osz = opsz16 && !rexW ? 2 : 8;
  else if ((f & F_Y) !== 0) osz = rexW ? 8 : 4;
  else if (rexW) osz = (f & F_Z32) !== 0 ? 4 : 8;
  else osz = opsz16 && !mandatory66 ? 2 : 4;
  d.osz = osz;
  d.asz = adsz32 ? 4 : 8;
  d.seg = seg;
  d.lock = lock;
  d.rep = row.pfx === 0xf3 || row.pfx === 0xf2 ? 0 : repPfx === 0xf3 ? 3 : repPfx === 0xf2 ? 2 : 0;
  d.cc = row.cc;
  d.imm2 = row.aux;
  d.ext = regField;
  d.base = -1;
  d.index = -1;
  d.scale = 0;
  d.dispLo = 0;
  d.dispHi = 0;
  d.ripRel = false;
  d.rm = -1;
  d.reg = 0;
  d.immLo = 0;
  d.immHi = 0;
  const hasRex = rex !== 0;
  if (row.zreg >= 0) d.reg = row.byteReg ? reg8(row.zreg | rexB, hasRex) : row.zreg | rexB;
  if (modrm >= 0) {
    const rm = modrm & 7;
    d.reg = row.byteReg ? reg8(regField | rexR, hasRex) : regField | rexR;
    if ((f & F_REGONLY) !== 0 && (d.reg === 1 || (d.reg > 4 && d.reg !== 8))) return DEC_UD; // no such CR (Vol. 2B MOV CR)
    if (mod === 3 || (f & F_REGONLY) !== 0) {
      d.rm = row.byteRm ? reg8(rm | rexB, hasRex) : rm | rexB;
    } else {
      // Memory operand (SDM Vol. 2A 2.1.5, Tables 2-2 and 2-3; 2.2.1 for REX)
      let dispSize = mod === 1 ? 1 : mod === 2 ? 4 : 0;
      if (rm === 4) {
        if (p >= MAX_INSN_LEN) return DEC_GP;
        if (p >= avail) return DEC_MORE;
        const sib = buf[p++];
        const base = sib & 7;
        const index = ((sib >>> 3) & 7) | rexX;
        d.scale = sib >>> 6;
        d.index = index === 4 ? -1 : index; // no index (RSP cannot be one; R12 can)
        if (base === 5 && mod === 0) {
          d.base = -1;
          dispSize = 4;
        } else d.base = base | rexB;
      } else if (rm === 5 && mod === 0) {
        d.ripRel = true;
        dispSize = 4;
      } else d.base = rm | rexB;
      if (dispSize !== 0) {
        if (p + dispSize > MAX_INSN_LEN) return DEC_GP;
        if (p + dispSize > avail) return DEC_MORE;
        if (dispSize === 1) d.dispLo = (buf[p] << 24) >> 24;
        else d.dispLo = buf[p] | (buf[p + 1] << 8) | (buf[p + 2] << 16) | (buf[p + 3] << 24);
        d.dispHi = d.dispLo < 0 ? -1 : 0;
        p += dispSize;
      }
    }
  }
  if ((f & F_ACC) !== 0) d.rm = 0;
  // Immediates
  let immSize = 0;
  switch (row.imm) {
    case IMM_NONE:
      break;
    case IMM_B:
      immSize = 1;
      break;
    case IMM_W:
      immSize = 2;
      break;
    case IMM_Z:
      immSize = osz === 2 ? 2 : 4;
      break;
    case IMM_V:
      immSize = osz;
      break;
    case IMM_O:
      immSize = adsz32 ? 4 : 8;
      break;
    default: // IMM_WB
      immSize = 3;
  }
  if (immSize !== 0) {
    if (p + immSize > MAX_INSN_LEN) return DEC_GP;
    if (p + immSize > avail) return DEC_MORE;
    const b0 = buf[p], b1 = buf[p + 1], b2 = buf[p + 2], b3 = buf[p + 3];
    switch (row.imm) {
      case IMM_B:
        d.immLo = (b0 << 24) >> 24;
        d.immHi = d.immLo < 0 ? -1 : 0;
        break;
      case IMM_W:
        d.immLo = b0 | (b1 << 8);
        break;
      case IMM_WB:
        d.immLo = b0 | (b1 << 8);
        d.imm2 = b2;
        break;
      case IMM_O:
      case IMM_V:
      case IMM_Z:
        if (immSize === 2) {
          d.immLo = ((b0 | (b1 << 8)) << 16) >> 16;
          d.immHi = d.immLo < 0 ? -1 : 0;
        } else {
          d.immLo = b0 | (b1 << 8) | (b2 << 16) | (b3 << 24);
          d.immHi = d.immLo < 0 ? -1 : 0;
          if (immSize === 8) d.immHi = buf[p + 4] | (buf[p + 5] << 8) | (buf[p + 6] << 16) | (buf[p + 7] << 24);
          if (row.imm === IMM_O && immSize === 4) d.immHi = 0; // a 32-bit moffs is zero-extended
        }
        break;
    }
    p += immSize;
  }
  if ((f & F_ONE) !== 0) {
    d.immLo = 1;
    d.immHi = 0;
  }
  if (row.imm === IMM_O) {
    // moffs: the address is the immediate; no base or index
    d.dispLo = d.immLo;
    d.dispHi = d.immHi;
  }
  // LOCK: only on the listed read-modify-write forms, with a memory destination (SDM Vol. 2A LOCK: #UD).
  if (lock && ((f & F_LOCK) === 0 || d.rm >= 0)) return DEC_UD;
  d.immLo |= 0;
  d.immHi |= 0;
  d.dispLo |= 0;
  d.dispHi |= 0;
  d.fn = row.fn;
  d.id = ROW_INDEX.get(row) ?? -1;
  d.cls = row.cls;
  d.len = p;
  return DEC_OK;
}

const ROW_INDEX = new Map<OpRow, number>(ROWS.map((r, i) => [r, i]));
