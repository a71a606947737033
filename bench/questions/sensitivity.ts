/** Report presentation of question 6 (sensitivity): the sweep chart with its crossings, break-even table. */
import { bench, resolveProfile, type BenchRow } from '../../src/index.js';
import { chartConfig } from '../charts.js';
import { fmt, type Presentation, type ReportMeta } from '../present.js';

const SCALES = [0.5, 1, 2];

function sweepPoints(rows: BenchRow[]): number[] {
  return [...new Set(rows.filter((r) => r.policy === 'pks').map((r) => r.pkrsWrite as number))].sort((a, b) => a - b);
}

export const sensitivity: Presentation = {
  tables(rows, meta) {
    const cpus = meta.cpus;
    const be = (other: string, c: number, s: number) => {
      const x = bench.breakEven(rows, 'pks', other, c, s);
      if (x !== null) return `${x}`;
      const pts = sweepPoints(rows);
      const first = rows.find((r) => r.policy === 'pks' && r.cpus === c && r.pkrsWrite === pts[0]);
      const o = rows.find((r) => r.policy === other && r.cpus === c && (r.ipiScale === s || r.ipiScale === 1));
      if (!first || !o || o.cyclesPerWrite === null) return '-';
      return (first.cyclesPerWrite as number) > (o.cyclesPerWrite as number) ? `< ${pts[0]}` : `> ${pts[pts.length - 1]}`;
    };
    const pts = sweepPoints(rows);
    return [
      {
        caption: 'PKRS WRMSR cost (cycles) up to which `pks` writes a page-table entry more cheaply than the other policy (break-even; "> 300": pks is cheaper over the whole sweep)',
        headers: ['CPUs', 'vs poke', ...SCALES.map((s) => `vs paging-ro, IPI costs x${s}`)],
        lines: cpus.map((c) => [String(c), be('poke', c, 1), ...SCALES.map((s) => be('paging-ro', c, s))]),
      },
      {
        caption: `Cycles of the writing CPU per write as the PKRS WRMSR cost varies (IPI costs as profiled; at ${Math.max(...cpus)} CPUs)`,
        headers: ['PKRS WRMSR (cycles)', 'pks', 'pks-lock', 'poke', 'paging-ro'],
        lines: pts.map((p) => {
          const c = Math.max(...cpus);
          const v = (pol: string) => rows.find((r) => r.policy === pol && r.cpus === c && r.ipiScale === 1 && (r.pkrsWrite === p || r.pkrsWrite === null))?.cyclesPerWrite;
          return [String(p), fmt(v('pks')), fmt(v('pks-lock')), fmt(v('poke')), fmt(v('paging-ro'))];
        }),
      },
    ];
  },
  charts(rows, meta) {
    const pts = sweepPoints(rows);
    const values: Record<string, unknown>[] = [];
    for (const p of pts) {
      const pks = rows.find((r) => r.policy === 'pks' && r.pkrsWrite === p && r.ipiScale === 1);
      if (pks) values.push({ pkrsWrite: p, cycles: pks.cyclesPerWrite, line: 'pks (any CPU count)' });
      const poke = rows.find((r) => r.policy === 'poke' && r.ipiScale === 1 && r.cyclesPerWrite !== null);
      if (poke) values.push({ pkrsWrite: p, cycles: poke.cyclesPerWrite, line: 'poke (any CPU count)' });
      for (const c of meta.cpus) {
        const ro = rows.find((r) => r.policy === 'paging-ro' && r.cpus === c && r.ipiScale === 1);
        if (ro) values.push({ pkrsWrite: p, cycles: ro.cyclesPerWrite, line: `paging-ro, ${c} CPU${c > 1 ? 's' : ''}` });
      }
    }
    return [
      {
        file: 'sensitivity.svg',
        title: 'Break-even: cycles per write as the PKRS WRMSR cost varies',
        spec: {
          $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
          title: 'Where pks stops beating poke and paging-ro',
          width: 560,
          height: 320,
          config: chartConfig,
          data: { values },
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'pkrsWrite', type: 'quantitative', title: 'cost of one PKRS WRMSR (cycles, swept)', axis: { values: pts } },
            y: { field: 'cycles', type: 'quantitative', title: 'cycles per page-table write (writing CPU, log scale)', scale: { type: 'log' }, axis: { format: '~s' } },
            color: { field: 'line', type: 'nominal', title: 'policy' },
            strokeDash: { field: 'line', type: 'nominal', title: 'policy' },
          },
        },
      },
    ];
  },
  reading(rows, meta: ReportMeta) {
    const prof = resolveProfile(meta.profile);
    const est = prof.wrmsr.byMsr[0x6e1];
    const poke = bench.breakEven(rows, 'pks', 'poke', Math.min(...meta.cpus), 1);
    const parts: string[] = [];
    if (poke !== null) parts.push(`pks writes an entry more cheaply than poke as long as a PKRS WRMSR costs less than about ${poke} cycles; the profile's figure is ${est} cycles, an estimate (no latency has been published).`);
    else parts.push(`Within the sweep the order of pks and poke does not change (the profile's PKRS figure is ${est} cycles, an estimate).`);
    const multi = meta.cpus.filter((c) => c > 1);
    const beRo = multi.map((c) => ({ c, x: bench.breakEven(rows, 'pks', 'paging-ro', c, 0.5) }));
    const always = beRo.filter((e) => e.x === null).map((e) => e.c);
    if (always.length) parts.push(`Against paging-ro, pks stays cheaper over the whole sweep at ${always.join(', ')} CPUs even with the IPI costs halved: the conclusion does not hang on the PKRS estimate there.`);
    const within = beRo.filter((e) => e.x !== null);
    if (within.length) parts.push(`With the IPI costs halved, paging-ro catches up with pks at a PKRS cost of ${within.map((e) => `${e.x} cycles (${e.c} CPUs)`).join(', ')}.`);
    parts.push('The IPI figures are fitted to measurements on other machines (see the profile notes); the PKRS figure is an estimate; every other figure names its source in the profile (src/cpu/profiles.ts).');
    return parts.join(' ');
  },
};
