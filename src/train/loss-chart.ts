import type { MetricsRecord } from './metrics.js';

/**
 * The loss curve as a standalone SVG (`loss.svg`): training and validation
 * loss against the step.
 *
 * Why our own ~100 lines rather than a chart library: the well-kept libraries
 * either need a DOM or canvas (Chart.js, Plotly, ECharts' default renderer,
 * d3's selection API) or bring a large runtime to render headless (Vega +
 * vega-lite, dozens of packages, for two polylines). This chart has two
 * series, linear axes and "nice" ticks; plain string building stays readable
 * and dependency-free, and the output is checked for well-formed XML in the tests.
 */

/** One series of the chart. */
export interface ChartSeries {
  label: string;
  color: string;
  /** `[step, loss]` points; non-finite losses are left out. */
  points: [number, number][];
  /** Draw a dot on every point (for sparse series such as validation loss). */
  markers?: boolean;
}

/** Layout options of {@link lossCurveSvg}. */
export interface ChartOptions {
  title?: string;
  /** Pixel size (default 720 × 420). */
  width?: number;
  height?: number;
}

/**
 * About `count` round tick values covering `[lo, hi]` (steps of 1, 2 or 5 × 10ⁿ,
 * as d3's `ticks` and matplotlib's `MaxNLocator` choose them).
 * @returns ascending ticks inside `[lo, hi]`; `[lo]` when the range is empty
 */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function fmt(v: number): string {
  return Number(v.toFixed(2)).toString();
}

/**
 * Render the series as an SVG document (UTF-8 text, `image/svg+xml`). Each
 * series is one `<polyline>` with one coordinate pair per finite point; series
 * with `markers` also get one `<circle>` per point.
 */
export function lossCurveSvg(series: ChartSeries[], opts: ChartOptions = {}): string {
  const width = opts.width ?? 720;
  const height = opts.height ?? 420;
  const m = { left: 64, right: 20, top: opts.title ? 40 : 20, bottom: 48 };
  const pw = width - m.left - m.right;
  const ph = height - m.top - m.bottom;
  const clean = series.map((s) => ({ ...s, points: s.points.filter(([x, y]) => Number.isFinite(x) && Number.isFinite(y)) }));
  const all = clean.flatMap((s) => s.points);
  let [x0, x1] = all.length ? [Math.min(...all.map((p) => p[0])), Math.max(...all.map((p) => p[0]))] : [0, 1];
  let [y0, y1] = all.length ? [Math.min(...all.map((p) => p[1])), Math.max(...all.map((p) => p[1]))] : [0, 1];
  x0 = Math.min(x0, 0);
  if (x1 <= x0) x1 = x0 + 1;
  const pad = y1 > y0 ? 0.05 * (y1 - y0) : Math.max(Math.abs(y0) * 0.05, 0.5);
  y0 -= pad;
  y1 += pad;
  const sx = (x: number): number => m.left + ((x - x0) / (x1 - x0)) * pw;
  const sy = (y: number): number => m.top + (1 - (y - y0) / (y1 - y0)) * ph;

  const out: string[] = [];
  out.push(`<?xml version="1.0" encoding="UTF-8"?>`);
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`);
  out.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="white"/>`);
  if (opts.title) out.push(`<text x="${width / 2}" y="24" text-anchor="middle" font-size="15">${esc(opts.title)}</text>`);
  out.push(`<g class="grid" stroke="#e5e5e5">`);
  const yTicks = niceTicks(y0, y1, 6);
  const xTicks = niceTicks(x0, x1, 8);
  for (const t of yTicks) out.push(`<line x1="${m.left}" y1="${fmt(sy(t))}" x2="${m.left + pw}" y2="${fmt(sy(t))}"/>`);
  for (const t of xTicks) out.push(`<line x1="${fmt(sx(t))}" y1="${m.top}" x2="${fmt(sx(t))}" y2="${m.top + ph}"/>`);
  out.push(`</g>`);
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<g class="y-ticks" text-anchor="end">`);
  for (const t of yTicks) out.push(`<text x="${m.left - 6}" y="${fmt(sy(t) + 4)}">${esc(t.toString())}</text>`);
  out.push(`</g>`);
  out.push(`<g class="x-ticks" text-anchor="middle">`);
  for (const t of xTicks) out.push(`<text x="${fmt(sx(t))}" y="${m.top + ph + 16}">${esc(t.toString())}</text>`);
  out.push(`</g>`);
  out.push(`<text x="${m.left + pw / 2}" y="${height - 10}" text-anchor="middle">step</text>`);
  out.push(`<text transform="translate(16 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle">loss</text>`);
  for (const s of clean) {
    const pts = s.points.map(([x, y]) => `${fmt(sx(x))},${fmt(sy(y))}`).join(' ');
    out.push(`<polyline class="series" data-label="${esc(s.label)}" fill="none" stroke="${esc(s.color)}" stroke-width="1.5" points="${pts}"/>`);
    if (s.markers) {
      out.push(`<g class="markers" fill="${esc(s.color)}">`);
      for (const [x, y] of s.points) out.push(`<circle cx="${fmt(sx(x))}" cy="${fmt(sy(y))}" r="3"/>`);
      out.push(`</g>`);
    }
  }
  out.push(`<g class="legend">`);
  clean.forEach((s, i) => {
    const ly = m.top + 14 + i * 18;
    const lx = m.left + pw - 150;
    out.push(`<line x1="${lx}" y1="${ly - 4}" x2="${lx + 22}" y2="${ly - 4}" stroke="${esc(s.color)}" stroke-width="2"/>`);
    out.push(`<text x="${lx + 28}" y="${ly}">${esc(s.label)}</text>`);
  });
  out.push(`</g>`);
  out.push(`</svg>`);
  return out.join('\n') + '\n';
}

/**
 * At most `maxPoints` points: consecutive points are averaged in equal buckets
 * (mean step, mean loss), which smooths a long noisy curve instead of aliasing it.
 */
export function downsample(points: [number, number][], maxPoints: number): [number, number][] {
  if (points.length <= maxPoints) return points;
  const out: [number, number][] = [];
  for (let b = 0; b < maxPoints; b++) {
    const lo = Math.floor((b * points.length) / maxPoints);
    const hi = Math.floor(((b + 1) * points.length) / maxPoints);
    let sx = 0;
    let sy = 0;
    for (let i = lo; i < hi; i++) {
      sx += points[i][0];
      sy += points[i][1];
    }
    out.push([sx / (hi - lo), sy / (hi - lo)]);
  }
  return out;
}

/**
 * The chart of a training run from its metrics: train loss from the `train`
 * records (one point each, bucket-averaged down to `maxPoints` — default
 * 2000 — for long runs), validation loss from the `eval` records (one point
 * and a marker each).
 */
export function lossCurveFromMetrics(records: readonly MetricsRecord[], opts: ChartOptions & { maxPoints?: number } = {}): string {
  const train: [number, number][] = [];
  const val: [number, number][] = [];
  for (const r of records) {
    if (r.event === 'train' && r.trainLoss !== null) train.push([r.step, r.trainLoss]);
    if (r.event === 'eval' && r.valLoss !== null && r.valLoss !== undefined) val.push([r.step, r.valLoss]);
  }
  return lossCurveSvg(
    [
      { label: 'train loss', color: '#1f77b4', points: downsample(train, opts.maxPoints ?? 2000) },
      { label: 'val loss', color: '#d62728', points: val, markers: true },
    ],
    { title: 'loss', ...opts },
  );
}
