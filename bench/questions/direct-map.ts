/** Report presentation of questions 4 (direct-map) and 5 (cache). */
import type { BenchRow } from '../../src/index.js';
import { chartConfig, COMPACT_LABELS, decadeTicks } from '../charts.js';
import { fmt, type Presentation } from '../present.js';

const POLICIES = ['none', 'pks', 'pks-lock', 'paging-ro', 'poke'];
const cacheLabel = (r: BenchRow) => (r.groupedCache ? 'grouped' : 'ungrouped');
const sizes = (rows: BenchRow[]) => [...new Set(rows.map((r) => r.allocations as number))].sort((a, b) => a - b);
const byPolicy = (rows: BenchRow[]) => POLICIES.flatMap((p) => [true, false].map((g) => rows.filter((r) => r.policy === p && r.groupedCache === g)));

export const directMap: Presentation = {
  tables: (rows) => [
    {
      caption: 'Direct-map leaf entries by page size and large pages split, after N page-table allocations',
      headers: ['policy', 'cache', 'allocations', '1 GiB', '2 MiB', '4 KiB', '1 GiB splits', '2 MiB splits'],
      lines: byPolicy(rows).flatMap((rs) => rs.map((r) => [String(r.policy), cacheLabel(r), fmt(r.allocations), fmt(r.entries1G), fmt(r.entries2M), fmt(r.entries4K), fmt(r.splits1G), fmt(r.splits2M)])),
    },
  ],
  charts: (rows) => [
    {
      file: 'direct-map.svg',
      title: 'Direct-map 4 KiB entries after the churn, grouped cache or not',
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        title: `4 KiB direct-map entries after ${fmt(Math.max(...sizes(rows)))} page-table allocations`,
        width: { step: 28 },
        height: 280,
        config: chartConfig,
        data: { values: rows.filter((r) => r.allocations === Math.max(...sizes(rows))).map((r) => ({ ...r, cache: cacheLabel(r) })) },
        mark: 'bar',
        encoding: {
          x: { field: 'policy', type: 'nominal', title: 'policy', sort: POLICIES, axis: { labelAngle: 0 } },
          xOffset: { field: 'cache', type: 'nominal' },
          y: { field: 'entries4K', type: 'quantitative', title: '4 KiB leaf entries in the direct map (count)' },
          color: { field: 'cache', type: 'nominal', title: 'page-table cache' },
        },
      },
    },
  ],
  reading: (rows) => {
    const n = Math.max(...sizes(rows));
    const at = (p: string, g: boolean) => rows.find((r) => r.policy === p && r.groupedCache === g && r.allocations === n);
    const parts: string[] = [];
    for (const p of ['pks', 'paging-ro', 'poke']) {
      const g = at(p, true);
      const u = at(p, false);
      if (g && u) parts.push(`${p}: 2 MiB pages split: ${fmt(g.splits2M)} with the grouped cache, ${fmt(u.splits2M)} without (${fmt(g.entries4K)} against ${fmt(u.entries4K)} 4 KiB entries).`);
    }
    parts.push(`After ${fmt(n)} allocations.`);
    parts.push('A split is permanent (Linux does not merge the direct map back), so these counts only grow with uptime; the grouped cache changes a whole 2 MiB block at once, so only policies that change single pages later (paging-ro opens one page per write) split inside a block.');
    return parts.join(' ');
  },
};

export const cache: Presentation = {
  tables: (rows) => [
    {
      caption: 'The page-table cache over the churn (per 10 000 page-table allocations where marked)',
      headers: ['policy', 'cache', 'allocations', 'refills', 'fallbacks', 'kernel flushes /10k', 'IPIs /10k', 'cycles / allocation', 'pages held', 'reserve (KiB per GiB installed)'],
      lines: byPolicy(rows).flatMap((rs) => rs.map((r) => [String(r.policy), cacheLabel(r), fmt(r.allocations), fmt(r.refills), fmt(r.fallbacks), fmt(r.kernelFlushesPer10k), fmt(r.ipisPer10k), fmt(r.cyclesPerAllocation), fmt(r.pagesHeld), fmt(r.reserveKiBPerGiB)])),
    },
  ],
  charts: (rows) => [
    {
      file: 'cache.svg',
      title: 'Kernel range flushes per 10 000 page-table allocations',
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
        title: 'Kernel range flushes per 10 000 page-table allocations',
        width: { step: 28 },
        height: 280,
        config: chartConfig,
        data: { values: rows.filter((r) => r.allocations === Math.max(...sizes(rows)) && r.policy !== 'none').map((r) => ({ ...r, cache: cacheLabel(r) })) },
        mark: 'bar',
        encoding: {
          x: { field: 'policy', type: 'nominal', title: 'policy', sort: POLICIES, axis: { labelAngle: 0 } },
          xOffset: { field: 'cache', type: 'nominal' },
          y: { field: 'kernelFlushesPer10k', type: 'quantitative', title: 'kernel range flushes per 10 000 allocations (log)', scale: { type: 'symlog' }, axis: { labelExpr: COMPACT_LABELS, values: decadeTicks(Math.max(...rows.map((r) => (r.kernelFlushesPer10k as number) ?? 0))) } },
          color: { field: 'cache', type: 'nominal', title: 'page-table cache' },
        },
      },
    },
  ],
  reading: (rows) => {
    const n = Math.max(...sizes(rows));
    const at = (p: string, g: boolean) => rows.find((r) => r.policy === p && r.groupedCache === g && r.allocations === n);
    const parts: string[] = [];
    const g = at('pks', true);
    const u = at('pks', false);
    if (g && u) parts.push(`Under pks the grouped cache takes ${fmt(g.refills)} 2 MiB block${g.refills === 1 ? '' : 's'} for ${fmt(g.allocations)} allocations and makes ${fmt(g.kernelFlushesPer10k)} kernel range flushes per 10 000 allocations, against ${fmt(u.kernelFlushesPer10k)} without it (one set_memory call per page); it holds ${fmt(g.pagesHeld)} free pages (${fmt(((g.pagesHeld as number) * 4) / 1024)} MiB) at the end.`);
    const ro = at('paging-ro', true);
    if (ro) parts.push(`paging-ro's flushes (${fmt(ro.kernelFlushesPer10k)} per 10 000) are mostly the two around every entry write, which no cache removes.`);
    const r = rows.find((x) => (x.reserveKiBPerGiB as number) > 0);
    if (r) parts.push(`The reserve for direct-map splits takes ${fmt(r.reserveKiBPerGiB)} KiB per GiB installed (RFC v2's sizing: about 2 MiB per GiB).`);
    return parts.join(' ');
  },
};
