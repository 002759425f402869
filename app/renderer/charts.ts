// SVG line charts for the paper's figures (layer response std, training curves). Styling lives in CSS
// classes; sizes scale with the viewBox.
import { s } from './dom';

export interface Series {
  readonly name: string;
  readonly x: readonly number[];
  readonly y: readonly number[];
  /** CSS class for colour and dash (e.g. 'series-plain', 'series-residual dashed'). */
  readonly className: string;
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly width?: number;
  readonly height?: number;
  readonly yMin?: number;
  /** Top of the y axis at least this (charts drawn side by side share a scale). */
  readonly yMax?: number;
  readonly formatY?: (v: number) => string;
}

/** About five round tick values covering [lo, hi]. */
export function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((st) => st >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  return out;
}

export function lineChart(series: readonly Series[], opts: ChartOptions): SVGSVGElement {
  const W = opts.width ?? 560;
  const H = opts.height ?? 260;
  const m = { left: 52, right: 14, top: 12, bottom: 40 };
  const xs = series.flatMap((se) => se.x);
  const ys = series.flatMap((se) => se.y);
  const xMin = Math.min(...xs, 1);
  const xMax = Math.max(...xs, xMin + 1);
  const yMin = opts.yMin ?? Math.min(0, ...ys);
  const yTop = Math.max(...ys, opts.yMax ?? -Infinity, yMin + 1e-6);
  const yTicks = niceTicks(yMin, yTop * 1.05);
  const yMax = Math.max(yTop, yTicks[yTicks.length - 1] ?? yTop);
  const px = (x: number): number => m.left + ((x - xMin) / (xMax - xMin)) * (W - m.left - m.right);
  const py = (y: number): number => H - m.bottom - ((y - yMin) / (yMax - yMin)) * (H - m.top - m.bottom);
  const fmt = opts.formatY ?? ((v: number) => String(Number(v.toPrecision(3))));
  const xTicks = niceTicks(xMin, xMax, 8).filter((t) => Number.isInteger(t));

  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': opts.title });
  svg.append(s('title', {}, opts.title));
  for (const t of yTicks) {
    svg.append(s('line', { class: 'grid', x1: m.left, x2: W - m.right, y1: py(t), y2: py(t) }));
    svg.append(s('text', { class: 'tick', x: m.left - 6, y: py(t) + 4, 'text-anchor': 'end' }, fmt(t)));
  }
  for (const t of xTicks) {
    svg.append(s('text', { class: 'tick', x: px(t), y: H - m.bottom + 16, 'text-anchor': 'middle' }, String(t)));
  }
  svg.append(s('line', { class: 'axis', x1: m.left, x2: W - m.right, y1: H - m.bottom, y2: H - m.bottom }));
  svg.append(s('line', { class: 'axis', x1: m.left, x2: m.left, y1: m.top, y2: H - m.bottom }));
  svg.append(s('text', { class: 'axis-label', x: (m.left + W - m.right) / 2, y: H - 6, 'text-anchor': 'middle' }, opts.xLabel));
  svg.append(s('text', { class: 'axis-label', x: 12, y: (m.top + H - m.bottom) / 2, 'text-anchor': 'middle', transform: `rotate(-90 12 ${(m.top + H - m.bottom) / 2})` }, opts.yLabel));
  for (const se of series) {
    const pts = se.x.map((x, i) => `${px(x).toFixed(1)},${py(se.y[i]!).toFixed(1)}`).join(' ');
    svg.append(s('polyline', { class: `line ${se.className}`, points: pts, 'data-series': se.name, 'data-points': se.x.length }));
    if (se.x.length <= 60) {
      for (const [i, x] of se.x.entries()) svg.append(s('circle', { class: `dot ${se.className}`, cx: px(x), cy: py(se.y[i]!), r: 2.2 }));
    }
  }
  return svg;
}
