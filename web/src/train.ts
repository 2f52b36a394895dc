/**
 * The live training view: loss curves of a run's metrics.jsonl, polled
 * every 2 s while training runs (`GET /api/runs/:name/metrics`).
 */
import { getJSON } from './api.js';

interface MetricsRecord {
  event: string;
  step: number;
  trainLoss?: number | null;
  valLoss?: number | null;
  lr?: number;
  tokensPerSec?: number | null;
  elapsedMs?: number;
}

const SVG = 'http://www.w3.org/2000/svg';

function el(name: string, attrs: Record<string, string | number>, text?: string): SVGElement {
  const e = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

/** A line chart of train loss and val loss against the step. */
function chart(records: MetricsRecord[]): SVGSVGElement {
  const W = 760;
  const H = 380;
  const m = { l: 56, r: 16, t: 16, b: 40 };
  const train = records.filter((r) => r.event === 'train' && typeof r.trainLoss === 'number').map((r) => [r.step, r.trainLoss as number] as const);
  const val = records.filter((r) => r.event === 'eval' && typeof r.valLoss === 'number').map((r) => [r.step, r.valLoss as number] as const);
  const all = [...train, ...val];
  const svg = el('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}` }) as SVGSVGElement;
  if (all.length === 0) {
    svg.append(el('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, 'no losses logged yet'));
    return svg;
  }
  const x0 = Math.min(...all.map((p) => p[0]));
  const x1 = Math.max(...all.map((p) => p[0]), x0 + 1);
  const y0 = Math.min(...all.map((p) => p[1]));
  const y1 = Math.max(...all.map((p) => p[1]), y0 + 1e-6);
  const sx = (x: number) => m.l + ((x - x0) / (x1 - x0)) * (W - m.l - m.r);
  const sy = (y: number) => H - m.b - ((y - y0) / (y1 - y0)) * (H - m.t - m.b);
  for (let i = 0; i <= 4; i++) {
    const y = y0 + ((y1 - y0) * i) / 4;
    svg.append(el('line', { x1: m.l, x2: W - m.r, y1: sy(y), y2: sy(y), stroke: '#eee' }));
    svg.append(el('text', { x: m.l - 6, y: sy(y) + 4, 'text-anchor': 'end', 'font-size': 11 }, y.toFixed(2)));
    const x = x0 + ((x1 - x0) * i) / 4;
    svg.append(el('text', { x: sx(x), y: H - m.b + 16, 'text-anchor': 'middle', 'font-size': 11 }, String(Math.round(x))));
  }
  svg.append(el('text', { x: W / 2, y: H - 6, 'text-anchor': 'middle', 'font-size': 12 }, 'step'));
  const line = (pts: readonly (readonly [number, number])[], color: string, label: string, ly: number) => {
    if (pts.length === 0) return;
    svg.append(el('polyline', { points: pts.map(([x, y]) => `${sx(x)},${sy(y)}`).join(' '), fill: 'none', stroke: color, 'stroke-width': 1.6, class: `curve-${label.split(' ')[0]}` }));
    svg.append(el('text', { x: W - m.r - 90, y: ly, fill: color, 'font-size': 12 }, `— ${label}`));
  };
  line(train, '#3a6ee8', 'train loss', m.t + 12);
  line(val, '#e8663a', 'val loss', m.t + 28);
  return svg;
}

async function main(): Promise<void> {
  const select = document.querySelector<HTMLSelectElement>('#run')!;
  const status = document.querySelector<HTMLElement>('#run-status')!;
  const { runs, runsDir } = await getJSON<{ runs: { name: string }[]; runsDir: string }>('/api/runs');
  if (runs.length === 0) status.textContent = `no runs with a metrics.jsonl under ${runsDir}`;
  for (const r of runs) select.append(new Option(r.name, r.name));
  const wanted = new URLSearchParams(location.search).get('run');
  if (wanted && runs.some((r) => r.name === wanted)) select.value = wanted;
  const refresh = async () => {
    if (!select.value) return;
    try {
      const m = await getJSON<{ updatedAt: string; records: MetricsRecord[] }>(`/api/runs/${encodeURIComponent(select.value)}/metrics`);
      document.querySelector('#chart')!.replaceChildren(chart(m.records));
      const last = [...m.records].reverse();
      const lastTrain = last.find((r) => r.event === 'train');
      const lastEval = last.find((r) => r.event === 'eval');
      const rows: [string, string][] = [
        ['step', String(lastTrain?.step ?? '–')],
        ['train loss', lastTrain?.trainLoss?.toFixed(4) ?? '–'],
        ['val loss', lastEval?.valLoss?.toFixed(4) ?? '–'],
        ['tokens/s', lastTrain?.tokensPerSec ? Math.round(lastTrain.tokensPerSec).toString() : '–'],
        ['updated', new Date(m.updatedAt).toLocaleTimeString()],
      ];
      document.querySelector('#latest tbody')!.replaceChildren(
        ...rows.map(([k, v]) => {
          const tr = document.createElement('tr');
          tr.innerHTML = '<th></th><td></td>';
          tr.children[0].textContent = k;
          tr.children[1].textContent = v;
          return tr;
        }),
      );
      status.textContent = '';
    } catch (err) {
      status.textContent = `error: ${(err as Error).message}`;
    }
  };
  select.addEventListener('change', () => void refresh());
  await refresh();
  setInterval(() => void refresh(), 2000);
  document.body.dataset.ready = 'true';
}

void main();
