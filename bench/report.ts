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
import { emulatorSpeed } from './questions/emulator-speed.js';
import { EMULATOR_SPEED_ID, EMULATOR_SPEED_METHOD } from './emulator-speed.js';

/** Presentations by question id; a question without one gets a plain table of its rows. */
export const PRESENTATIONS: Readonly<Record<string, Presentation>> = {
  'write-cost': writeCost,
  'guest-write-cost': guestWriteCost,
  'lock-batching': lockBatching,
  workloads,
  'direct-map': directMap,
  cache,
  sensitivity,
  [EMULATOR_SPEED_ID]: emulatorSpeed,
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
    `Seed ${m.seed}${m.quick ? '; a quick run (fewer samples and CPU counts)' : ''}. Every figure is emulated cycles or a counter of the model, computed from the cost profile: the same on every machine and every run${EMULATOR_SPEED_ID in results.questions ? ` (apart from the section on the emulator's own speed, \`${EMULATOR_SPEED_ID}\`: host timings, marked host-dependent)` : ''}. The kernel model runs with data-page zeroing off (\`zeroPages: false\`): it is not page-table work and is the same under every policy.`,
    '',
  ];
  const ids = Object.keys(results.questions);
  out.push('## Questions', '');
  ids.forEach((id, i) => out.push(`${i + 1}. [${results.questions[id].title}](#${anchor(results.questions[id].title)}) (\`${id}\`)`));
  for (const id of ids) {
    const q = results.questions[id];
    const p = PRESENTATIONS[id];
    const method = id === EMULATOR_SPEED_ID ? EMULATOR_SPEED_METHOD : bench.questions[id]?.method;
    out.push('', `## ${q.title}`, '');
    if (method) out.push(`*How:* ${method}`, '');
    if (p) {
      out.push(p.reading(q.rows, m), '');
      for (const c of p.charts(q.rows, m)) if (drawn.has(c.file)) out.push(`![${c.title}](${c.file})`, '');
      for (const t of p.tables(q.rows, m)) out.push(markdownTable(t), '');
    } else out.push(markdownTable(plainTable(q.rows)), '');
    out.push(`Raw rows: \`results.json\`, \`questions["${id}"]\`.`);
  }
  out.push(
    '',
    '## Not in this report yet',
    '',
    `The interpreter has landed, so the write cost is cross-checked in guest code (\`guest-write-cost\`, at 1 CPU) and the emulator's speed is measured (\`${EMULATOR_SPEED_ID}\`${EMULATOR_SPEED_ID in results.questions ? '' : ': not in this run; it runs in a full run or with --question ' + EMULATOR_SPEED_ID}). Still waiting: the guest-code cross-check at more than 1 CPU (the remote CPUs' IPI handlers and the sender's wait run as guest code; today the model charges them from the profile's IPI figures), and the whole CPA sequence (lookup_address, the split, the flush) as guest code rather than its core; PKRS WRMSR's cost itself, which no source has published (question 6 sweeps it).`,
  );
  return out.join('\n') + '\n';
}

/** GitHub's heading anchor. */
function anchor(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
}
