/** bench/REPORT.md and bench/results.json from the questions' results. */
import { bench, type QuestionResult } from '../src/index.js';
import type { Chart } from './charts.js';
import { markdownTable, plainTable, type Presentation, type ReportMeta } from './present.js';
import { writeCost } from './questions/write-cost.js';
import { guestWriteCost } from './questions/guest-write-cost.js';
import { sensitivity } from './questions/sensitivity.js';
import { lockBatching } from './questions/lock-batching.js';
import { directMap, cache } from './questions/direct-map.js';
import { workloads } from './questions/workloads.js';

/** Presentations by question id; a question without one gets a plain table of its rows. */
export const PRESENTATIONS: Readonly<Record<string, Presentation>> = {
  'write-cost': writeCost,
  'guest-write-cost': guestWriteCost,
  'lock-batching': lockBatching,
  workloads,
  'direct-map': directMap,
  cache,
  sensitivity,
};

export interface ResultsMeta extends ReportMeta {
  version: string;
  node: string;
  seed: number;
  /** Profile overrides given (`--set`), as name=value. */
  overrides: string[];
  command: string;
  /** Versions of the charting libraries, or null when charts were not drawn. */
  charts: string | null;
}

export interface Results {
  meta: ResultsMeta;
  questions: Record<string, QuestionResult>;
}

/** The charts every question's presentation asks for. */
export function chartsOf(results: Results): Chart[] {
  return Object.entries(results.questions).flatMap(([id, q]) => PRESENTATIONS[id]?.charts(q.rows, results.meta) ?? []);
}

/** The Markdown report. `drawn`: chart files written beside it. */
export function renderReport(results: Results, drawn: ReadonlySet<string>): string {
  const m = results.meta;
  const out: string[] = [
    '# pksim benchmark report',
    '',
    `- Profile: \`${m.profile}\`${m.overrides.length ? ` with ${m.overrides.map((o) => `\`${o}\``).join(', ')}` : ''}`,
    `- CPU counts: ${m.cpus.join(', ')}`,
    `- Versions: pksim ${m.version}, Node ${m.node}${m.charts ? `, ${m.charts}` : ' (charts not drawn: install the optional dependencies vega and vega-lite)'}`,
    `- Command: \`${m.command}\``,
    '',
    `Seed ${m.seed}${m.quick ? '; a quick run (fewer samples and CPU counts)' : ''}. Every figure is emulated cycles or a counter of the model, computed from the cost profile: the same on every machine and every run.`,
    '',
  ];
  const ids = Object.keys(results.questions);
  out.push('## Questions', '');
  ids.forEach((id, i) => out.push(`${i + 1}. [${results.questions[id].title}](#${anchor(results.questions[id].title)}) (\`${id}\`)`));
  for (const id of ids) {
    const q = results.questions[id];
    const p = PRESENTATIONS[id];
    const method = bench.questions[id]?.method;
    out.push('', `## ${q.title}`, '');
    if (method) out.push(`*How:* ${method}`, '');
    if (p) {
      out.push(p.reading(q.rows, m), '');
      for (const c of p.charts(q.rows, m)) if (drawn.has(c.file)) out.push(`![${c.title}](${c.file})`, '');
      for (const t of p.tables(q.rows, m)) out.push(markdownTable(t), '');
    } else out.push(markdownTable(plainTable(q.rows)), '');
    out.push(`Raw rows: \`results.json\`, \`questions["${id}"]\`.`);
  }
  out.push('', '## Not in this report yet', '', 'The emulator\'s own speed (host MIPS on the program corpus, walks and page-table operations per second, beside native and qemu-user) and the cross-check of the write cost by x86-64 routines run at CPL 0 on the emulated CPU both need the interpreter, which has not landed.');
  return out.join('\n') + '\n';
}

/** GitHub's heading anchor. */
function anchor(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
}
