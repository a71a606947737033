/**
 * The pre-decoded instruction record: decoded once (then cached by physical address, see icache.ts) and
 * executed many times by dispatching on its handler. Plain numeric fields, one shape for every instruction,
 * so V8 keeps it monomorphic; a later block compiler reads the same record.
 */

import type { St } from '../exec/state.js';

/** An instruction's semantics: reads operands from the record and the state, writes the state. */
export type Handler = (s: St, d: Insn) => void;

/** Segment override kinds that matter in 64-bit mode (SDM Vol. 1 3.3.7.1: only FS and GS have bases). */
export const SEG_NONE = 0;
export const SEG_FS = 4;
export const SEG_GS = 5;

export class Insn {
  fn: Handler = () => {};
  /** Row of the opcode table (opcodes.ts), for disassembly and statistics. */
  id = -1;
  /** Length in bytes (1..15). */
  len = 0;
  /** Cost class (index into the profile's instruction classes, see exec/cost.ts). */
  cls = 0;
  /** The class's cycles under the machine's profile (filled when the record is made; the icache is per machine). */
  cost = 0;
  /** Operand size in bytes: 1, 2, 4 or 8. */
  osz = 4;
  /** Address size: 4 (67 prefix) or 8. */
  asz = 8;
  /** ModRM.reg (with REX.R), or the register in the opcode's low bits (with REX.B); 16..19 = AH CH DH BH. */
  reg = 0;
  /** ModRM.rm register (with REX.B) when mod = 3, else -1 (memory operand). 16..19 = AH CH DH BH. */
  rm = -1;
  /** ModRM.reg field alone (group opcodes). */
  ext = 0;
  base = -1;
  index = -1;
  /** SIB scale as a shift count (0..3). */
  scale = 0;
  /** Displacement (or moffs) as halves, sign-extended. */
  dispLo = 0;
  dispHi = 0;
  ripRel = false;
  seg = SEG_NONE;
  /** First immediate (or branch displacement), sign-extended to 64 bits as halves. */
  immLo = 0;
  immHi = 0;
  /** Second immediate (ENTER's nesting level). */
  imm2 = 0;
  /** REP prefix in effect: 0 none, 2 = F2 (REPNE), 3 = F3 (REP/REPE). */
  rep = 0;
  lock = false;
  /** Condition code (Jcc, SETcc, CMOVcc) or sub-operation (ALU group: 0 ADD .. 7 CMP; shift group). */
  cc = 0;
  /** 1 when the instruction's bytes run into the next 16-byte fetch block (set with `cost`, see run.ts). */
  xblk = 0;
  /** The instruction ends in a different page than it starts (not cached). */
  straddles = false;
}
