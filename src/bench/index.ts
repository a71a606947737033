/**
 * The benchmark questions, callable from the library (they run in a browser too: no Node import here):
 *
 *   import { bench } from 'pksim';
 *   const { title, rows } = bench.writeCost({ profile: 'skylake-sp', cpus: [1, 64], profileOverrides: { ... } });
 *   bench.questions['write-cost'](opts)   // the same, by id
 *
 * Every figure is emulated cycles or a kernel-model counter: deterministic. The CLI (bench/cli.ts) runs the
 * same questions over worker threads, cell by cell, and writes the report.
 */
import { writeCost } from './questions/write-cost.js';
import { guestWriteCost } from './questions/guest-write-cost.js';
import { sensitivity, breakEven } from './questions/sensitivity.js';
import { lockBatching } from './questions/lock-batching.js';
import { directMap, cache } from './questions/direct-map.js';
import { workloads } from './questions/workloads.js';
import type { Question } from './types.js';
import { parseOverrides } from './overrides.js';
import { cpuCounts } from './types.js';

export { defineQuestion, checkOptions, cpuCounts, DEFAULT_CPUS, QUICK_CPUS, type BenchOptions, type BenchRow, type Question, type QuestionDef, type QuestionResult } from './types.js';
export { Rng } from './rng.js';
export { GUEST_ROUTINES, type GuestRoutineName } from './guest-routines.js';
export { GUEST_MIX, GUEST_POLICIES } from './questions/guest-write-cost.js';
export { parseOverrides, withOverride, overridePath, OVERRIDE_ALIASES } from './overrides.js';

/** Every question by id, in report order. */
export const questions: Readonly<Record<string, Question<any>>> = Object.freeze({
  [writeCost.id]: writeCost,
  [guestWriteCost.id]: guestWriteCost,
  [lockBatching.id]: lockBatching,
  [workloads.id]: workloads,
  [directMap.id]: directMap,
  [cache.id]: cache,
  [sensitivity.id]: sensitivity,
});

export const bench = Object.freeze({
  questions,
  /** Question ids in report order. */
  ids: Object.keys(questions),
  writeCost,
  /** Question 1 cross-checked by x86-64 routines run on the emulated CPU (1 CPU). */
  guestWriteCost,
  lockBatching,
  workloads,
  directMap,
  cache,
  sensitivity,
  /** Break-even PKRS cost of a PKS policy against another, from sensitivity rows. */
  breakEven,
  /** The CPU counts the options ask for (the defaults when none are given). */
  cpuCounts,
  /** `name=value` settings (`pkrsWrite=60`, `ipi.send=500`) to profile overrides. */
  parseOverrides,
});
