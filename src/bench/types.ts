/**
 * The benchmark questions' shared types. A question is a pure function of its options: every figure is
 * emulated cycles or a counter from the kernel model, so the same options give the same rows on any host.
 */
import type { CostProfile } from '../cpu/profile.js';
import type { ProfileOverrides } from '../cpu/profiles.js';

export interface BenchOptions {
  /** Cost profile: a built-in name ('sapphire-rapids', 'skylake-sp') or a full profile. Default 'sapphire-rapids'. */
  profile?: string | CostProfile;
  /** Fields overridden on top of `profile` (e.g. `{ wrmsr: { byMsr: { 0x6e1: 60 } } }`). */
  profileOverrides?: ProfileOverrides;
  /** CPU counts to run at (1..256). Default 1, 2, 4, ..., 256 (quick: 1, 8, 64, 256). */
  cpus?: number[];
  /** Fewer samples and sizes, for smoke tests and CI. */
  quick?: boolean;
  /** Seed of the workloads' pseudo-random choices. Default 1. */
  seed?: number;
}

/** One row: flat fields (numbers, strings, booleans, or null where a configuration cannot run). */
export type BenchRow = Record<string, number | string | boolean | null>;

export interface QuestionResult {
  title: string;
  rows: BenchRow[];
}

/**
 * One question, callable as a function, and split into independent cells (plain, JSON-serializable data) so
 * a runner can spread them over threads: `finish(cells.flatMap(runCell))` is what the function returns.
 */
export interface Question<Cell = unknown> {
  (opts?: BenchOptions): QuestionResult;
  readonly id: string;
  readonly title: string;
  /** A paragraph: what is measured, and how. */
  readonly method: string;
  cells(opts: BenchOptions): Cell[];
  runCell(cell: Cell, opts: BenchOptions): BenchRow[];
  /** Fields derived from all the rows (e.g. overhead against `none`); identity when the question has none. */
  finish(rows: BenchRow[]): BenchRow[];
}

export interface QuestionDef<Cell> {
  id: string;
  title: string;
  method: string;
  cells(opts: BenchOptions): Cell[];
  runCell(cell: Cell, opts: BenchOptions): BenchRow[];
  finish?(rows: BenchRow[]): BenchRow[];
}

/** Make a callable question from its definition. */
export function defineQuestion<Cell>(def: QuestionDef<Cell>): Question<Cell> {
  const fn = (opts: BenchOptions = {}): QuestionResult => {
    const o = checkOptions(opts);
    const rows: BenchRow[] = [];
    for (const cell of def.cells(o)) rows.push(...def.runCell(cell, o));
    return { title: def.title, rows: def.finish ? def.finish(rows) : rows };
  };
  return Object.assign(fn, { id: def.id, title: def.title, method: def.method, cells: (o: BenchOptions) => def.cells(checkOptions(o)), runCell: def.runCell, finish: def.finish ?? ((rows: BenchRow[]) => rows) });
}

export const DEFAULT_CPUS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256];
export const QUICK_CPUS: readonly number[] = [1, 8, 64, 256];

const KNOWN = new Set(['profile', 'profileOverrides', 'cpus', 'quick', 'seed']);

/** Validate the options (TypeError / RangeError naming the bad one). */
export function checkOptions(opts: BenchOptions): BenchOptions {
  if (typeof opts !== 'object' || opts === null) throw new TypeError(`bench options must be an object, got ${String(opts)}`);
  for (const k of Object.keys(opts)) if (!KNOWN.has(k)) throw new RangeError(`unknown bench option '${k}'; known: ${[...KNOWN].join(', ')}`);
  if (opts.cpus !== undefined) {
    if (!Array.isArray(opts.cpus) || opts.cpus.length === 0) throw new TypeError(`cpus must be a non-empty array of CPU counts, got ${String(opts.cpus)}`);
    for (const n of opts.cpus) if (!Number.isInteger(n) || n < 1 || n > 256) throw new RangeError(`cpus: each CPU count must be an integer 1..256, got ${String(n)}`);
  }
  if (opts.seed !== undefined && !Number.isSafeInteger(opts.seed)) throw new RangeError(`seed must be a safe integer, got ${String(opts.seed)}`);
  if (opts.quick !== undefined && typeof opts.quick !== 'boolean') throw new TypeError(`quick must be a boolean, got ${typeof opts.quick}`);
  return opts;
}

/** The CPU counts a question runs at. */
export function cpuCounts(opts: BenchOptions): number[] {
  return [...(opts.cpus ?? (opts.quick ? QUICK_CPUS : DEFAULT_CPUS))];
}
