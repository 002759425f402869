// Training curves as an SVG in the manner of the paper's Figure 6: error (%) against epochs, plain nets on
// the left, residual nets on the right; dashed lines are training error, bold lines test error.
export interface CurveRun {
  /** e.g. 'plain20', 'resnet56' */
  readonly name: string;
  readonly epochs: readonly number[];
  readonly trainError: readonly number[];
  readonly testError: readonly number[];
}

export interface CurvePanel {
  readonly title: string;
  readonly runs: readonly CurveRun[];
}

const W = 420;
const H = 300;
const M = { left: 48, right: 12, top: 28, bottom: 40 };
/** Colours by depth, as in the paper (20: one colour, 56: another). */
const COLOURS = ['#e8a33c', '#2a6fb0', '#c0392b', '#27ae60'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (v: number): string => (Math.round(v * 10) / 10).toString();

function niceStep(range: number, ticks: number): number {
  const raw = range / ticks;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** The y range (in %) that shows every curve of every panel, from 0 to a rounded maximum. */
function yMax(panels: readonly CurvePanel[]): number {
  let max = 1;
  for (const p of panels) for (const r of p.runs) for (const v of [...r.trainError, ...r.testError]) if (Number.isFinite(v)) max = Math.max(max, 100 * v);
  const step = niceStep(max, 5);
  return Math.ceil(max / step) * step;
}

function panel(p: CurvePanel, x0: number, top: number, maxEpoch: number, ymax: number): string[] {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (e: number): number => x0 + M.left + (e / maxEpoch) * pw;
  const sy = (err: number): number => top + M.top + ph - ((100 * err) / ymax) * ph;
  const out: string[] = [];
  out.push(`<text x="${fmt(x0 + M.left + pw / 2)}" y="${fmt(top + 18)}" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
  // Axes, grid and ticks.
  const ystep = niceStep(ymax, 5);
  for (let v = 0; v <= ymax + 1e-9; v += ystep) {
    const y = sy(v / 100);
    out.push(`<line x1="${fmt(sx(0))}" y1="${fmt(y)}" x2="${fmt(sx(maxEpoch))}" y2="${fmt(y)}" stroke="#ddd"/>`);
    out.push(`<text x="${fmt(sx(0) - 6)}" y="${fmt(y + 4)}" text-anchor="end">${fmt(v)}</text>`);
  }
  const xstep = Math.max(1, Math.ceil(maxEpoch / 10));
  for (let e = 0; e <= maxEpoch; e += xstep) {
    out.push(`<text x="${fmt(sx(e))}" y="${fmt(sy(0) + 16)}" text-anchor="middle">${e}</text>`);
  }
  out.push(`<rect x="${fmt(sx(0))}" y="${fmt(sy(ymax / 100))}" width="${fmt(pw)}" height="${fmt(ph)}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${fmt(x0 + M.left + pw / 2)}" y="${fmt(top + H - 6)}" text-anchor="middle">epochs</text>`);
  out.push(`<text transform="translate(${fmt(x0 + 13)},${fmt(top + M.top + ph / 2)}) rotate(-90)" text-anchor="middle">error (%)</text>`);
  // Curves: start each at epoch 0 with nothing (the paper's curves start at iteration 0 too, but we have
  // no measurement there), so they begin at epoch 1.
  p.runs.forEach((r, i) => {
    const colour = COLOURS[i % COLOURS.length]!;
    const pts = (ys: readonly number[]): string => r.epochs.map((e, j) => `${fmt(sx(e))},${fmt(sy(ys[j]!))}`).join(' ');
    out.push(`<polyline class="train" data-run="${esc(r.name)}" points="${pts(r.trainError)}" fill="none" stroke="${colour}" stroke-width="1.2" stroke-dasharray="4 3"/>`);
    out.push(`<polyline class="test" data-run="${esc(r.name)}" points="${pts(r.testError)}" fill="none" stroke="${colour}" stroke-width="2.6"/>`);
    const last = r.epochs.length - 1;
    if (last >= 0) {
      out.push(`<text x="${fmt(sx(maxEpoch) - 4)}" y="${fmt(top + M.top + 14 + 14 * i)}" text-anchor="end" fill="${colour}">${esc(r.name)}: ${(100 * r.testError[last]!).toFixed(1)}% test, ${(100 * r.trainError[last]!).toFixed(1)}% train</text>`);
    }
  });
  return out;
}

/** The whole figure: panels side by side, one legend line under them. */
export function drawCurves(panels: readonly CurvePanel[], caption: string): string {
  const maxEpoch = Math.max(1, ...panels.flatMap((p) => p.runs.flatMap((r) => r.epochs)));
  const ymax = yMax(panels);
  const width = W * panels.length;
  const height = H + 24;
  const body = panels.flatMap((p, i) => panel(p, i * W, 0, maxEpoch, ymax));
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...body,
    `<text x="${width / 2}" y="${height - 6}" text-anchor="middle" fill="#555">${esc(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
