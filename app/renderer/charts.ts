// SVG line charts in the DOM for the paper's figures: Figure 7 (layer response std, scaled to its data)
// and Figure 6 (training curves, drawn from the shared drawing description in src/figures/figure6.ts,
// which also gives the repo's SVG). Styling lives in CSS classes; sizes scale with the viewBox.
import { type Axis, type Figure6, niceStep } from '../../src/figures/figure6';
import { h, s } from './dom';

export interface Series {
  readonly name: string;
  readonly x: readonly number[];
  readonly y: readonly number[];
  /** CSS class for colour and dash (e.g. 'series-plain', 'series-residual dashed'). */
  readonly className: string;
  /** Point markers (default circles; squares tell a second series of one colour family apart). */
  readonly marker?: 'circle' | 'square' | 'none';
}

export interface ChartOptions {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly width?: number;
  readonly height?: number;
  readonly yMin?: number;
  readonly formatY?: (v: number) => string;
  /** Fixed axes from 0 (else scaled to the data). */
  readonly xAxis?: Axis;
  readonly yAxis?: Axis;
}

/** About `count` round tick values covering [lo, hi]. */
function niceTicks(lo: number, hi: number, count = 5): number[] {
  if (!(hi > lo)) return [lo];
  const step = niceStep((hi - lo) / count);
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
  const xMin = opts.xAxis ? 0 : Math.min(...xs, 1);
  const xMax = opts.xAxis?.max ?? Math.max(...xs, xMin + 1);
  const yMin = opts.yAxis ? 0 : (opts.yMin ?? Math.min(0, ...ys));
  const yTop = Math.max(...ys, yMin + 1e-6);
  const yTicks = opts.yAxis?.ticks ?? niceTicks(yMin, yTop * 1.05);
  const yMax = opts.yAxis?.max ?? Math.max(yTop, yTicks[yTicks.length - 1] ?? yTop);
  const px = (x: number): number => m.left + ((x - xMin) / (xMax - xMin)) * (W - m.left - m.right);
  const py = (y: number): number => H - m.bottom - ((y - yMin) / (yMax - yMin)) * (H - m.top - m.bottom);
  const fmt = opts.formatY ?? ((v: number) => String(Number(v.toPrecision(3))));
  const xTicks = opts.xAxis?.ticks ?? niceTicks(xMin, xMax, 8).filter((t) => Number.isInteger(t));

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
    if (se.x.length <= 60 && se.marker !== 'none') {
      for (const [i, x] of se.x.entries()) {
        svg.append(se.marker === 'square'
          ? s('rect', { class: `dot ${se.className}`, x: px(x) - 2.4, y: py(se.y[i]!) - 2.4, width: 4.8, height: 4.8 })
          : s('circle', { class: `dot ${se.className}`, cx: px(x), cy: py(se.y[i]!), r: 2.6 }));
      }
    }
  }
  return svg;
}

/** Figure 6's panels as charts; the runs in `inPair` (the pair on screen) drawn thicker; a legend in the first. */
/** `heldOut` names the bold lines: the test set's error, or (for a user's folder) the validation images'. */
export function figure6Charts(fig: Figure6, inPair: ReadonlySet<string>, heldOut: 'test' | 'validation' = 'test'): HTMLElement[] {
  return fig.panels.map((p, n) => {
    const series: Series[] = p.lines.map((l) => ({
      name: `${l.run} ${l.kind}`, x: l.x, y: l.y,
      className: `series-depth${l.depthIndex}${inPair.has(l.run) ? ' in-pair' : ''}${l.kind === 'train' ? ' dashed' : ''}`,
      marker: l.kind === 'train' ? 'none' : l.depthIndex % 2 === 0 ? 'circle' : 'square',
    }));
    const svg = lineChart(series, { title: p.title, xLabel: fig.xLabel, yLabel: fig.yLabel, xAxis: fig.x, yAxis: fig.y, width: 340, height: 250 });
    if (n === 0) svg.append(figure6Legend(fig.depths, heldOut, 340, legendAtBottom(p.lines, fig.y.max)));
    return h('div', {}, h('div', { class: 'panel-title' }, p.title), svg);
  });
}

/**
 * Whether the lines' right half runs high and never low (as on a small folder's first epochs): the legend
 * then goes to the bottom right, off the lines.
 */
function legendAtBottom(lines: readonly { readonly x: readonly number[]; readonly y: readonly number[] }[], yMax: number): boolean {
  const xMax = Math.max(...lines.flatMap((l) => l.x));
  const right = lines.flatMap((l) => l.y.filter((_, i) => l.x[i]! >= xMax / 2));
  return right.some((y) => y > 0.55 * yMax) && !right.some((y) => y < 0.45 * yMax);
}

/** In the chart, top right (or bottom right): a colour (and marker) per depth, and which line is test (bold) and training (dashed) error. */
function figure6Legend(depths: readonly number[], heldOut: 'test' | 'validation', width: number, bottom = false): SVGGElement {
  const rows: [string, string, 'circle' | 'square' | 'none'][] = [
    ...depths.slice(0, 4).map((d, i): [string, string, 'circle' | 'square'] => [`${d} layers`, `series-depth${i}`, i % 2 === 0 ? 'circle' : 'square']),
    [`${heldOut} error`, 'legend-ink', 'none'],
    ['training error', 'legend-ink dashed', 'none'],
  ];
  const x0 = width - 14 - 120;
  // The plot area ends 40 units above the chart's 250-unit bottom (lineChart's margin).
  const top = bottom ? 250 - 40 - (rows.length * 15 + 8) - 4 : 14;
  const g = s('g', { class: 'chart-legend', 'data-testid': 'fig6-legend' });
  g.append(s('rect', { class: 'legend-box', x: x0 - 6, y: top, width: 126, height: rows.length * 15 + 8, rx: 4 }));
  rows.forEach(([label, cls, marker], i) => {
    const y = top + 12 + i * 15;
    g.append(s('line', { class: `line ${cls}`, x1: x0, x2: x0 + 24, y1: y - 4, y2: y - 4 }));
    if (marker === 'circle') g.append(s('circle', { class: `dot ${cls}`, cx: x0 + 12, cy: y - 4, r: 2.6 }));
    if (marker === 'square') g.append(s('rect', { class: `dot ${cls}`, x: x0 + 9.6, y: y - 6.4, width: 4.8, height: 4.8 }));
    g.append(s('text', { class: 'legend-text', x: x0 + 30, y }, label));
  });
  return g;
}
