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
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'right' },
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
      color: { field: o.series, type: 'nominal', title: o.seriesTitle },
      // dashes tell apart series that coincide (pks and pks-lock outside a lock hold)
      strokeDash: { field: o.series, type: 'nominal', title: o.seriesTitle },
      tooltip: [{ field: o.series }, { field: 'cpus' }, { field: o.y, format: ',.0f' }],
    },
  };
}
