// Figure 6 (src/figures/figure6.ts) as a standalone SVG document, for the repo
// (models/curves/fashion-mnist-fig6.svg, written by src/train/draw-curves.ts): panels side by side, each
// run's final errors written in its panel, a caption under them.
import type { Figure6, Figure6Panel } from './figure6';

const W = 420;
const H = 300;
const M = { left: 48, right: 12, top: 28, bottom: 40 };
/** By depth index, as in the paper (one colour per depth). */
const COLOURS = ['#e8a33c', '#2a6fb0', '#c0392b', '#27ae60'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const fmt = (v: number): string => (Math.round(v * 10) / 10).toString();

function panel(fig: Figure6, p: Figure6Panel, x0: number): string[] {
  const pw = W - M.left - M.right;
  const ph = H - M.top - M.bottom;
  const sx = (e: number): number => x0 + M.left + (e / fig.x.max) * pw;
  const sy = (pct: number): number => M.top + ph - (pct / fig.y.max) * ph;
  const out: string[] = [];
  out.push(`<text x="${fmt(x0 + M.left + pw / 2)}" y="18" text-anchor="middle" font-weight="bold">${esc(p.title)}</text>`);
  for (const v of fig.y.ticks) {
    out.push(`<line x1="${fmt(sx(0))}" y1="${fmt(sy(v))}" x2="${fmt(sx(fig.x.max))}" y2="${fmt(sy(v))}" stroke="#ddd"/>`);
    out.push(`<text x="${fmt(sx(0) - 6)}" y="${fmt(sy(v) + 4)}" text-anchor="end">${fmt(v)}</text>`);
  }
  for (const e of fig.x.ticks) out.push(`<text x="${fmt(sx(e))}" y="${fmt(sy(0) + 16)}" text-anchor="middle">${e}</text>`);
  out.push(`<rect x="${fmt(sx(0))}" y="${fmt(sy(fig.y.max))}" width="${fmt(pw)}" height="${fmt(ph)}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${fmt(x0 + M.left + pw / 2)}" y="${fmt(H - 6)}" text-anchor="middle">${esc(fig.xLabel)}</text>`);
  out.push(`<text transform="translate(${fmt(x0 + 13)},${fmt(M.top + ph / 2)}) rotate(-90)" text-anchor="middle">${esc(fig.yLabel)}</text>`);
  for (const l of p.lines) {
    const points = l.x.map((e, j) => `${fmt(sx(e))},${fmt(sy(l.y[j]!))}`).join(' ');
    const stroke = l.kind === 'test' ? 'stroke-width="2.6"' : 'stroke-width="1.2" stroke-dasharray="4 3"';
    out.push(`<polyline class="${l.kind}" data-run="${esc(l.run)}" points="${points}" fill="none" stroke="${COLOURS[l.depthIndex]}" ${stroke}/>`);
  }
  p.finals.forEach((f, i) => {
    out.push(`<text x="${fmt(sx(fig.x.max) - 4)}" y="${fmt(M.top + 14 + 14 * i)}" text-anchor="end" fill="${COLOURS[f.depthIndex]}">${esc(f.run)}: ${f.test.toFixed(1)}% test, ${f.train.toFixed(1)}% train</text>`);
  });
  return out;
}

export function figure6Svg(fig: Figure6, caption: string): string {
  const width = W * fig.panels.length;
  const height = H + 24;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    ...fig.panels.flatMap((p, i) => panel(fig, p, i * W)),
    `<text x="${width / 2}" y="${height - 6}" text-anchor="middle" fill="#555">${esc(caption)}</text>`,
    '</svg>',
    '',
  ].join('\n');
}
