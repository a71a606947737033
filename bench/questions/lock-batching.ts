/** Report presentation of question 2 (lock-batching): WRMSRs and cycles per operation, by policy. */
import type { BenchRow } from '../../src/index.js';
import { chartConfig, COMPACT_LABELS, decadeTicks, POLICY_SCALE } from '../charts.js';
import { fmt, type Presentation } from '../present.js';

const POLICIES = ['none', 'pks', 'pks-lock', 'paging-ro', 'poke'];

const label = (r: BenchRow) => {
  const op = r.operation as string;
  const pages = r.pages as number;
  if (op === 'fork' || op === 'exit') return `${op} ${pages >= 262144 ? `${pages / 262144} GiB` : `${pages / 256} MiB`}`;
  if (op === 'page-fault' || op === 'cow-fault') return op;
  return `${op} ${pages} page${pages > 1 ? 's' : ''}`;
};

function byOp(rows: BenchRow[]): [string, BenchRow[]][] {
  const m = new Map<string, BenchRow[]>();
  for (const r of rows) m.set(label(r), [...(m.get(label(r)) ?? []), r]);
  return [...m];
}

export const lockBatching: Presentation = {
  tables: (rows) => [
    {
      caption: 'WRMSRs to PKRS and write windows per operation (pks flips around each entry, pks-lock once per lock hold)',
      headers: ['operation', 'entries written', 'pks WRMSRs', 'pks-lock WRMSRs', 'pks-lock windows'],
      lines: byOp(rows).map(([op, rs]) => {
        const p = rs.find((r) => r.policy === 'pks');
        const l = rs.find((r) => r.policy === 'pks-lock');
        return [op, fmt(p?.entryWrites), fmt(p?.wrmsr), fmt(l?.wrmsr), fmt(l?.windows)];
      }),
    },
    {
      caption: 'Cycles of the CPU doing the operation',
      headers: ['operation', ...POLICIES],
      lines: byOp(rows).map(([op, rs]) => [op, ...POLICIES.map((p) => fmt(rs.find((r) => r.policy === p)?.cycles))]),
    },
  ],
  charts: (rows) => [
    {
      file: 'lock-batching.svg',
      title: 'Cycles per operation by policy',
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        title: 'Cycles per operation, by policy',
        width: { step: 12 },
        height: 320,
        config: chartConfig,
        data: { values: rows.filter((r) => r.cycles !== null).map((r) => ({ ...r, op: label(r) })) },
        mark: 'bar',
        encoding: {
          x: { field: 'op', type: 'nominal', title: 'operation', sort: null, axis: { labelAngle: -40 } },
          xOffset: { field: 'policy', type: 'nominal', sort: POLICIES },
          y: { field: 'cycles', type: 'quantitative', title: 'cycles per operation (operating CPU, symmetric log scale)', scale: { type: 'symlog' }, axis: { labelExpr: COMPACT_LABELS, values: decadeTicks(Math.max(...rows.map((r) => (r.cycles as number) ?? 0))) } },
          color: { field: 'policy', type: 'nominal', title: 'policy', sort: POLICIES, scale: POLICY_SCALE },
        },
      },
    },
  ],
  reading: (rows) => {
    const get = (op: string, pages: number, policy: string) => rows.find((r) => r.operation === op && r.pages === pages && r.policy === policy);
    const parts: string[] = [];
    const pf = get('page-fault', 1, 'pks');
    const pfl = get('page-fault', 1, 'pks-lock');
    if (pf && pfl) {
      const w = (n: unknown) => `${fmt(n as number)} WRMSR${n === 1 ? '' : 's'}`;
      const cmp = pfl.wrmsr === pf.wrmsr ? 'as many as' : (pfl.wrmsr as number) > (pf.wrmsr as number) ? 'more than' : 'fewer than';
      parts.push(`A page fault writes ${fmt(pf.entryWrites)} entr${pf.entryWrites === 1 ? 'y' : 'ies'}: pks-lock makes ${w(pfl.wrmsr)} in ${fmt(pfl.windows)} lock hold${pfl.windows === 1 ? '' : 's'}, ${cmp} pks's ${w(pf.wrmsr)}, so holding the window for the lock buys nothing there.`);
    }
    const big = rows.filter((r) => r.operation === 'mmap').reduce((a, r) => Math.max(a, r.pages as number), 0);
    const mp = get('mmap', big, 'pks');
    const ml = get('mmap', big, 'pks-lock');
    if (mp && ml) parts.push(`An mmap of ${big} pages takes ${fmt(mp.wrmsr)} WRMSRs under pks and ${fmt(ml.wrmsr)} under pks-lock (${fmt(mp.cycles)} against ${fmt(ml.cycles)} cycles; none: ${fmt(get('mmap', big, 'none')?.cycles)}).`);
    const fk = rows.filter((r) => r.operation === 'fork').reduce((a, r) => Math.max(a, r.pages as number), 0);
    const fp = get('fork', fk, 'pks');
    const fl = get('fork', fk, 'pks-lock');
    const fn = get('fork', fk, 'none');
    if (fp && fl && fn) parts.push(`A fork of a process with ${fk >= 262144 ? `${fk / 262144} GiB` : `${fk / 256} MiB`} mapped costs ${fmt(fp.cycles)} cycles under pks (${fmt(((fp.cycles as number) / (fn.cycles as number) - 1) * 100)}% over none) and ${fmt(fl.cycles)} under pks-lock (${fmt(((fl.cycles as number) / (fn.cycles as number) - 1) * 100)}%).`);
    parts.push('Per-lock flips pay off in proportion to the entries written per lock hold; paging-ro and poke pay per entry whatever the batching, as their windows are per page.');
    return parts.join(' ');
  },
};
