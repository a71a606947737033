/** Report presentation of question 3 (workloads): overhead against none, by workload, policy, CPU count. */
import type { BenchRow } from '../../src/index.js';
import { chartConfig, COMPACT_LABELS, decadeTicks, POLICY_SCALE } from '../charts.js';
import { fmt, type Presentation } from '../present.js';

const POLICIES = ['none', 'pks', 'pks-lock', 'paging-ro', 'poke'];
const PROTECTED = POLICIES.slice(1);
const pct = (x: unknown) => (x === null || x === undefined ? '-' : `${fmt(x as number)}%`);

export const workloads: Presentation = {
  tables: (rows) => {
    const keys = [...new Set(rows.map((r) => `${r.workload}|${r.cpus}`))];
    const line = (k: string, f: (r: BenchRow | undefined) => string) => {
      const [w, c] = k.split('|');
      return [w, c, ...POLICIES.map((p) => f(rows.find((r) => r.workload === w && String(r.cpus) === c && r.policy === p)))];
    };
    return [
      { caption: 'Overhead against none, cycles of the CPU running the workload', headers: ['workload', 'CPUs', ...POLICIES], lines: keys.map((k) => line(k, (r) => pct(r?.overheadPct))) },
      { caption: 'Overhead against none, cycles of all CPUs together', headers: ['workload', 'CPUs', ...POLICIES], lines: keys.map((k) => line(k, (r) => pct(r?.systemOverheadPct))) },
      { caption: 'Cycles of the CPU running the workload', headers: ['workload', 'CPUs', ...POLICIES], lines: keys.map((k) => line(k, (r) => fmt(r?.cycles))) },
    ];
  },
  charts: (rows, meta) => {
    const c = Math.max(...rows.map((r) => r.cpus as number));
    return [
      {
        file: 'workloads.svg',
        title: `Workload overhead against none at ${c} CPUs`,
        spec: {
          $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
          title: `Overhead against none (all CPUs' cycles), ${c} CPU${c > 1 ? 's' : ''}, ${meta.profile}`,
          width: { step: 22 },
          height: 300,
          config: chartConfig,
          data: { values: rows.filter((r) => r.cpus === c && r.policy !== 'none' && r.systemOverheadPct !== null) },
          mark: 'bar',
          encoding: {
            x: { field: 'workload', type: 'nominal', title: 'workload', axis: { labelAngle: 0 } },
            xOffset: { field: 'policy', type: 'nominal', sort: PROTECTED },
            y: { field: 'systemOverheadPct', type: 'quantitative', title: 'overhead against none (%, symmetric log scale)', scale: { type: 'symlog' }, axis: { labelExpr: COMPACT_LABELS, values: decadeTicks(Math.max(...rows.map((r) => (r.systemOverheadPct as number) ?? 0))) } },
            color: { field: 'policy', type: 'nominal', title: 'policy', sort: PROTECTED, scale: POLICY_SCALE },
          },
        },
      },
    ];
  },
  reading: (rows) => {
    const c = Math.max(...rows.map((r) => r.cpus as number));
    const get = (w: string, p: string) => rows.find((r) => r.workload === w && r.cpus === c && r.policy === p);
    const parts: string[] = [`At ${c} CPU${c > 1 ? 's' : ''}:`];
    for (const w of ['churn', 'faults', 'kbuild']) {
      const xs = PROTECTED.map((p) => [p, get(w, p)?.systemOverheadPct] as const).filter((e) => e[1] !== null && e[1] !== undefined);
      if (xs.length) parts.push(`${w}: ${xs.map(([p, v]) => `${p} ${pct(v)}`).join(', ')}.`);
    }
    parts.push('Percentages are of the modelled work only (page-table writes, flips, flushes, IPIs, fault delivery), so the real overhead of each workload is smaller; the order of the policies is what carries over.');
    return parts.join(' ');
  },
};
