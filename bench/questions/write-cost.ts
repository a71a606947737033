/** Report presentation of question 1 (write-cost): pivot tables, two charts, a reading drawn from the rows. */
import type { BenchRow } from '../../src/index.js';
import { cpuLineChart } from '../charts.js';
import { fmt, pivot, type Presentation } from '../present.js';

const POLICIES = ['none', 'pks', 'pks-lock', 'paging-ro', 'poke'];

const cell = (rows: BenchRow[], cpus: number, policy: string) => rows.find((r) => r.cpus === cpus && r.policy === policy);

export const writeCost: Presentation = {
  tables: (rows) => [
    { caption: 'Cycles of the writing CPU per page-table write', ...pivot(rows, 'cpus', 'CPUs', 'policy', POLICIES, 'cyclesPerWrite') },
    { caption: 'Cycles of all CPUs together per page-table write', ...pivot(rows, 'cpus', 'CPUs', 'policy', POLICIES, 'systemCyclesPerWrite') },
  ],
  charts: (rows, meta) => {
    const values = rows.filter((r) => r.cyclesPerWrite !== null);
    return [
      {
        file: 'write-cost.svg',
        title: 'Cycles per protected page-table write on the writing CPU',
        spec: cpuLineChart({ title: 'One page-table write: the writing CPU', values, y: 'cyclesPerWrite', yTitle: 'cycles per write (writing CPU, log scale)', series: 'policy', seriesTitle: 'policy', yLog: true, cpus: meta.cpus }),
      },
      {
        file: 'write-cost-system.svg',
        title: 'Cycles per protected page-table write summed over all CPUs',
        spec: cpuLineChart({ title: 'One page-table write: all CPUs together', values, y: 'systemCyclesPerWrite', yTitle: 'cycles per write (sum over all CPUs, log scale)', series: 'policy', seriesTitle: 'policy', yLog: true, cpus: meta.cpus }),
      },
    ];
  },
  reading: (rows, meta) => {
    const lo = Math.min(...meta.cpus);
    const hi = Math.max(...meta.cpus);
    const v = (cpus: number, p: string, f = 'cyclesPerWrite') => cell(rows, cpus, p)?.[f] as number | null | undefined;
    const parts: string[] = [];
    const none = v(lo, 'none');
    const pks = v(lo, 'pks');
    const flips = v(lo, 'pks', 'wrmsrPerWrite');
    if (none != null && pks != null) parts.push(`At ${lo} CPU${lo > 1 ? 's' : ''} a plain write costs ${fmt(none)} cycles and a PKS-protected one ${fmt(pks)} (${fmt(flips)} PKRS WRMSRs per write, and the store).`);
    const pksHi = v(hi, 'pks');
    const pksIpis = v(hi, 'pks', 'ipisPerWrite');
    if (pks != null && pksHi != null) parts.push(pksHi === pks && pksIpis === 0 ? `pks sends no IPI, so its cost is the same ${fmt(pks)} cycles at ${hi} CPUs.` : `pks costs ${fmt(pksHi)} cycles at ${hi} CPUs (${fmt(pksIpis)} IPIs per write).`);
    const ro = v(lo, 'paging-ro');
    const roHi = v(hi, 'paging-ro');
    const roSys = v(hi, 'paging-ro', 'systemCyclesPerWrite');
    if (ro != null && roHi != null && roSys != null && pksHi != null)
      parts.push(`paging-ro (CPA to writable and back, each with a kernel TLB shootdown) costs ${fmt(ro)} cycles at ${lo} CPU${lo > 1 ? 's' : ''} and ${fmt(roHi)} at ${hi} (${fmt(roHi / pksHi)}x pks) on the writing CPU, ${fmt(roSys)} over all CPUs.`);
    const poke = v(lo, 'poke');
    const pokeHi = [...meta.cpus].reverse().map((c) => ({ c, x: v(c, 'poke') })).find((e) => e.x != null);
    if (poke != null && pokeHi) parts.push(`poke (the temporary-mm alias: two CR3 writes and a local INVLPG, no IPI) costs ${fmt(poke)} cycles at ${lo} CPU${lo > 1 ? 's' : ''} and ${fmt(pokeHi.x as number)} at ${pokeHi.c}.`);
    parts.push('These figures depend on the PKRS WRMSR cost, which no source has published (an estimate in the profile; question 6 sweeps it), and on the IPI costs, fitted to published measurements on other machines.');
    return parts.join(' ');
  },
};
