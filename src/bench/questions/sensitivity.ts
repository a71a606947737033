/**
 * Question 6: sensitivity to the figures no source has measured on the target machine. The cost of a PKRS
 * WRMSR is swept from 10 to 300 cycles, and the IPI costs (send, perTarget, deliver, handle, ack) are scaled
 * by 0.5, 1 and 2; for each point the cost of one protected page-table write (question 1's measurement) is
 * taken for every policy. The break-even of a PKS policy against paging-ro or poke is the PKRS cost at which
 * their write costs meet (read off these rows; the report interpolates between sweep points).
 */
import type { ProfileOverrides } from '../../cpu/profiles.js';
import { resolveProfile } from '../../cpu/profiles.js';
import { withOverride } from '../overrides.js';
import { POLICIES, type ProtectionPolicy } from '../setup.js';
import { cpuCounts, defineQuestion, type BenchOptions, type BenchRow } from '../types.js';
import { writeCost } from './write-cost.js';

export const PKRS_SWEEP: readonly number[] = [10, 25, 50, 75, 100, 150, 200, 250, 300];
export const PKRS_SWEEP_QUICK: readonly number[] = [10, 50, 150, 300];
export const IPI_SCALES: readonly number[] = [0.5, 1, 2];
const IPI_FIELDS = ['send', 'perTarget', 'deliver', 'handle', 'ack'] as const;

export interface SensitivityCell {
  pkrsWrite: number;
  ipiScale: number;
  cpus: number;
  policy: ProtectionPolicy;
}

/** The options' overrides with the PKRS WRMSR cost set and the IPI costs scaled. */
export function sweepOverrides(opts: BenchOptions, pkrsWrite: number, ipiScale: number): ProfileOverrides {
  let o = withOverride(opts.profileOverrides, 'pkrsWrite', pkrsWrite);
  const base = resolveProfile(opts.profile, opts.profileOverrides).ipi;
  for (const f of IPI_FIELDS) o = withOverride(o, `ipi.${f}`, Math.round(base[f] * ipiScale));
  return o;
}

export const sensitivity = defineQuestion<SensitivityCell>({
  id: 'sensitivity',
  title: 'Sensitivity: the PKRS write cost and the IPI costs against the break-even of each policy',
  method:
    'Question 1\'s write, repeated with the PKRS WRMSR cost set to each point of a 10..300-cycle sweep and the IPI costs (send, perTarget, deliver, handle, ack) scaled by 0.5, 1 and 2 from the profile.',
  cells(opts) {
    const sweep = opts.quick ? PKRS_SWEEP_QUICK : PKRS_SWEEP;
    const cpus = cpuCounts(opts);
    const cells: SensitivityCell[] = [];
    for (const ipiScale of IPI_SCALES) for (const c of cpus) for (const pkrsWrite of sweep) for (const policy of POLICIES) {
      // the IPI scale cannot change a policy that sends no IPI, nor any policy on one CPU: run those at scale 1 only
      if (ipiScale !== 1 && (c === 1 || policy === 'none' || policy === 'pks' || policy === 'pks-lock' || policy === 'poke')) continue;
      // the PKRS cost cannot change a policy that never writes PKRS: run those at the first sweep point only
      if (pkrsWrite !== sweep[0] && (policy === 'none' || policy === 'paging-ro' || policy === 'poke')) continue;
      cells.push({ pkrsWrite, ipiScale, cpus: c, policy });
    }
    return cells;
  },
  runCell(cell, opts): BenchRow[] {
    const o: BenchOptions = { ...opts, profileOverrides: sweepOverrides(opts, cell.pkrsWrite, cell.ipiScale) };
    const [row] = writeCost.runCell({ cpus: cell.cpus, policy: cell.policy }, o);
    const varies = cell.policy === 'pks' || cell.policy === 'pks-lock';
    return [{ pkrsWrite: varies ? cell.pkrsWrite : null, ipiScale: cell.ipiScale, cpus: cell.cpus, policy: cell.policy, cyclesPerWrite: row.cyclesPerWrite, systemCyclesPerWrite: row.systemCyclesPerWrite }];
  },
});

/**
 * Break-even PKRS WRMSR cost of a PKS policy against another policy at one CPU count and IPI scale: the
 * cost at which its write costs as much (linear interpolation between sweep points; null if it never meets
 * within the sweep). `above` tells whether the PKS policy is dearer above that point.
 */
export function breakEven(rows: BenchRow[], pksPolicy: string, other: string, cpus: number, ipiScale: number, field = 'cyclesPerWrite'): number | null {
  // a configuration the IPI scale cannot change was run at scale 1 only
  const at = (s: number) => rows.find((r) => r.policy === other && r.cpus === cpus && r.ipiScale === s);
  const o = at(ipiScale) ?? at(1);
  if (!o || o[field] === null) return null;
  const target = o[field] as number;
  const pts = rows
    .filter((r) => r.policy === pksPolicy && r.cpus === cpus && r.ipiScale === 1)
    .map((r) => [r.pkrsWrite as number, r[field] as number] as const)
    .sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < pts.length; i++) {
    const [x0, y0] = pts[i - 1];
    const [x1, y1] = pts[i];
    if ((y0 - target) * (y1 - target) <= 0 && y1 !== y0) return Math.round(x0 + ((target - y0) * (x1 - x0)) / (y1 - y0));
  }
  return null;
}
