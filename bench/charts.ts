/**
 * Charts: Vega-Lite specs rendered to SVG headless by Vega (no canvas, no browser). Both are optional
 * dependencies: without them the report is written with its tables only, and says so.
 */

/** A Vega-Lite spec (kept loose: the charting library validates it). */
export type ChartSpec = Record<string, unknown>;

export interface Chart {
  /** File name beside the report, e.g. 'write-cost.svg'. */
  file: string;
  /** Alt text and caption. */
  title: string;
  spec: ChartSpec;
}

type Renderer = (spec: ChartSpec) => Promise<string>;

/** Load vega + vega-lite if installed; null when either is missing. */
export async function loadRenderer(): Promise<Renderer | null> {
  try {
    const vega = await import('vega');
    const vl = await import('vega-lite');
    return async (spec) => {
      const compiled = vl.compile(spec as never).spec;
      const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
      const svg = await view.toSVG();
      view.finalize();
      return svg;
    };
  } catch {
    return null;
  }
}

const FONT = 'Helvetica, Arial, sans-serif';

/** Shared look: readable on GitHub's light and dark backgrounds (white plot background, dark text). */
export const chartConfig = {
  background: 'white',
  font: FONT,
  axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridOpacity: 0.4 },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'right', labelLimit: 0 },
  title: { fontSize: 14, anchor: 'start' },
} as const;

/**
 * Lines over CPU counts (log scale, base 2) for each series, with points; y linear or log.
 */
export function cpuLineChart(o: { title: string; values: Record<string, unknown>[]; y: string; yTitle: string; series: string; seriesTitle: string; yLog?: boolean; cpus: number[] }): ChartSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: 560,
    height: 320,
    config: chartConfig,
    data: { values: o.values },
    mark: { type: 'line', point: true },
    encoding: {
      x: { field: 'cpus', type: 'quantitative', title: 'CPUs (log scale)', scale: { type: 'log', base: 2 }, axis: { values: o.cpus, format: 'd' } },
      y: { field: o.y, type: 'quantitative', title: o.yTitle, scale: o.yLog ? { type: 'log' } : { zero: true }, axis: { format: '~s' } },
      color: { field: o.series, type: 'nominal', title: o.seriesTitle, ...(o.series === 'policy' ? { scale: POLICY_SCALE } : {}) },
      // dashes tell apart series that coincide (pks and pks-lock outside a lock hold)
      strokeDash: { field: o.series, type: 'nominal', title: o.seriesTitle },
      tooltip: [{ field: o.series }, { field: 'cpus' }, { field: o.y, format: ',.0f' }],
    },
  };
}

/** One colour per policy in every chart. */
export const POLICY_SCALE = {
  domain: ['none', 'pks', 'pks-lock', 'paging-ro', 'poke'],
  range: ['#4c78a8', '#e45756', '#f58518', '#72b7b2', '#54a24b'],
};

/** Tick values 0, 1, 10, 100, ... up to the first power of ten at or above `max` (symlog axes label poorly). */
export function decadeTicks(max: number): number[] {
  const out = [0, 1];
  for (let v = 10; v < max * 10 && v <= 1e15; v *= 10) out.push(v);
  return out;
}

/** Axis labels 1, 10, 100, 1k, 10k, ... 1M, 1G (the SI format of a symlog axis picks one prefix for all). */
export const COMPACT_LABELS =
  "datum.value >= 1e9 ? (datum.value / 1e9) + 'G' : datum.value >= 1e6 ? (datum.value / 1e6) + 'M' : datum.value >= 1e3 ? (datum.value / 1e3) + 'k' : '' + datum.value";
