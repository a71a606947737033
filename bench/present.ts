/** How a question is shown in the report: tables, charts, a reading computed from its rows. */
import type { BenchRow } from '../src/index.js';
import type { Chart } from './charts.js';

export interface ReportMeta {
  profile: string;
  cpus: number[];
  quick: boolean;
}

export interface Table {
  caption?: string;
  headers: string[];
  lines: string[][];
}

export interface Presentation {
  tables(rows: BenchRow[], meta: ReportMeta): Table[];
  charts(rows: BenchRow[], meta: ReportMeta): Chart[];
  /** One paragraph, every figure in it taken from the rows. */
  reading(rows: BenchRow[], meta: ReportMeta): string;
}

/** A number for people: thousands separated, at most 2 decimals (1 below 100, none above). */
export function fmt(x: number | string | boolean | null | undefined): string {
  if (x === null || x === undefined) return '-';
  if (typeof x !== 'number') return String(x);
  const a = Math.abs(x);
  const d = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return x.toLocaleString('en-US', { maximumFractionDigits: d });
}

/** Rows to a table with one line per value of `rowKey` and one column per value of `colKey`. */
export function pivot(rows: BenchRow[], rowKey: string, rowTitle: string, colKey: string, cols: string[], field: string): Table {
  const keys = [...new Set(rows.map((r) => r[rowKey]))];
  return {
    headers: [rowTitle, ...cols],
    lines: keys.map((k) => [String(k), ...cols.map((c) => fmt(rows.find((r) => r[rowKey] === k && r[colKey] === c)?.[field]))]),
  };
}

/** Every field of every row (questions without a presentation of their own). */
export function plainTable(rows: BenchRow[]): Table {
  const headers = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  return { headers, lines: rows.map((r) => headers.map((h) => fmt(r[h]))) };
}

export function markdownTable(t: Table): string {
  const esc = (s: string) => s.replace(/\|/g, '\\|');
  const out = [`| ${t.headers.map(esc).join(' | ')} |`, `|${t.headers.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`];
  for (const l of t.lines) out.push(`| ${l.map(esc).join(' | ')} |`);
  return (t.caption ? `${t.caption}:\n\n` : '') + out.join('\n');
}
