/**
 * The interpreter's public types: what `cpu.run()` / `cpu.step()` accept and return, and the hooks (in the
 * spirit of Unicorn's: each costs nothing when absent; any hook can stop the run by returning 'stop').
 */

import type { ArchFault } from './faults.js';
import type { Cpu } from './cpu.js';

/** Why `run()` returned. */
export type RunStopReason = 'hlt' | 'limit' | 'exception' | 'triple-fault' | 'stopped';

export interface RunResult {
  reason: RunStopReason;
  /** Instructions retired by this call (a REP string instruction counts one per iteration). */
  instructions: number;
  /** RIP at the stop: the next instruction, or the faulting one for 'exception'. */
  rip: bigint;
  /** 'exception' and 'triple-fault': the vector (8 for a triple fault: the #DF that could not be delivered). */
  vector?: number;
  errorCode?: number;
  /** 'exception': the typed fault (a PageFault carries its address; CR2 is set). */
  fault?: ArchFault;
}

/** What a hook returns: 'stop' ends the run with reason 'stopped'; anything else lets it go on. */
export type HookResult = 'stop' | void | undefined;

/** An exception about to be delivered through the IDT (or returned, when there is no IDT). */
export interface ExceptionEvent {
  vector: number;
  errorCode: number;
  /** The faulting instruction (faults) or the next one (traps: INT n, INT3, INT1). */
  rip: bigint;
  fault: ArchFault;
}

/**
 * `'handled'`: the hook dealt with it (it may have changed registers, RIP, memory): no delivery, the run
 * goes on at `cpu.rip`. `'stop'`: the run returns 'stopped' (state as at the fault, nothing delivered).
 * Otherwise the exception is delivered (or, without an IDT, the run returns 'exception').
 */
export type ExceptionHookResult = 'handled' | 'stop' | void | undefined;

export interface MemoryAccessEvent {
  access: 'read' | 'write';
  /** Linear address of the access. */
  address: bigint;
  size: number;
  /** The value written (writes only), before the write is made. */
  value?: bigint;
}

export interface RunHooks {
  /** Every exception (faults, traps, INT n) before delivery. */
  onException?: (cpu: Cpu, ev: ExceptionEvent) => ExceptionHookResult;
  /**
   * SYSCALL, called with `cpu.rip` already past the instruction. `'handled'`: the hook emulated it (as a
   * syscall shim does), the run goes on at `cpu.rip`; `'stop'`: the run returns 'stopped'; otherwise the
   * architectural SYSCALL (through IA32_LSTAR) is made.
   */
  onSyscall?: (cpu: Cpu) => 'handled' | 'stop' | void | undefined;
  /** HLT (at CPL 0), with `cpu.rip` past it. `'resume'` goes on; otherwise the run returns 'hlt'. */
  onHlt?: (cpu: Cpu) => 'resume' | 'stop' | void | undefined;
  /** OUT to a port (value zero-extended, size 1, 2 or 4). Without a hook, writes are ignored. */
  onPortWrite?: (cpu: Cpu, port: number, size: 1 | 2 | 4, value: number) => HookResult;
  /** IN from a port: return the value (truncated to size). Without a hook (or undefined) reads all-ones. */
  onPortRead?: (cpu: Cpu, port: number, size: 1 | 2 | 4) => number | 'stop' | void | undefined;
  /** Before executing each instruction whose address is in [start, end). */
  onCode?: { start: bigint; end: bigint; hook: (cpu: Cpu, rip: bigint) => HookResult };
  /** Before each explicit data access (guest loads and stores) overlapping the linear range [start, end). */
  onMemory?: { start: bigint; end: bigint; hook: (cpu: Cpu, ev: MemoryAccessEvent) => HookResult };
}

export interface RunOptions {
  /** Upper bound on instructions retired (REP iterations count); default 100 000 000 (Infinity allowed: then only a hook or HLT ends the run). */
  maxInstructions?: number;
  hooks?: RunHooks;
}
