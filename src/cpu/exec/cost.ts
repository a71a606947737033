/**
 * Instruction cost classes. The loop charges `cost[insn.cls]` for every instruction retired; handlers of
 * classes marked "by handler" charge what depends on the execution (branch taken or not, divide by size,
 * string iterations, system instructions through the core). Figures come from the profile's `insn` block.
 */

import type { CostProfile } from '../profile.js';

export const CL_ALU = 0; // integer ALU, moves, LEA, SETcc, CMOVcc, bit ops, stack ops
export const CL_MUL = 1; // multiplies
export const CL_BY_HANDLER = 2; // branches, divides, strings, system instructions: charged by the handler
export const CL_PAUSE = 3;
export const CL_SERIAL = 4; // serializing (CPUID and MOV to CR charge their own cost on top, in the core)
export const CL_FENCE = 5;
export const CL_COUNT = 6;

export function costTable(p: CostProfile): Float64Array {
  const t = new Float64Array(CL_COUNT);
  t[CL_ALU] = p.insn.alu;
  t[CL_MUL] = p.insn.mul;
  t[CL_BY_HANDLER] = 0;
  t[CL_PAUSE] = p.insn.pause;
  t[CL_SERIAL] = p.insn.serialize;
  t[CL_FENCE] = p.insn.fence;
  return t;
}
