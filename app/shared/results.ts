// Small pure helpers for what the UI shows and exports: medians of timings, agreement between the two
// nets, and the batch table as CSV.

export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of an empty list');
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Index of the run with the median time; of two middle runs, the faster. */
export function medianRunIndex(times: readonly number[]): number {
  if (times.length === 0) throw new Error('median of an empty list');
  const order = times.map((_, i) => i).sort((a, b) => times[a]! - times[b]! || a - b);
  return order[(times.length - 1) >> 1]!;
}

/** How many timed runs to do: at least one, more while cheap (under budgetMs in total), at most maxRuns. */
export function shouldRunAgain(timesMs: readonly number[], maxRuns: number, budgetMs: number): boolean {
  if (timesMs.length === 0) return true;
  if (timesMs.length >= maxRuns) return false;
  const spent = timesMs.reduce((a, b) => a + b, 0);
  const next = timesMs[timesMs.length - 1]!;
  return spent + next <= budgetMs;
}

export interface Top1 {
  readonly index: number;
  readonly label: string;
  readonly probability: number;
}

/** Index of the largest value (first on ties). */
export function argmax(xs: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < xs.length; i++) if (xs[i]! > xs[best]!) best = i;
  return best;
}

/**
 * Whether two nets agree on an image: only meaningful when both classify into the same label set.
 * 'n/a' when their outputs are not comparable (different class counts or names).
 */
export function agreement(a: { top1: Top1; labels: readonly string[]; classes: number }, b: { top1: Top1; labels: readonly string[]; classes: number }): 'agree' | 'disagree' | 'n/a' {
  if (a.classes !== b.classes) return 'n/a';
  if (a.labels.length > 0 && b.labels.length > 0 && a.labels.join('\u0000') !== b.labels.join('\u0000')) return 'n/a';
  return a.top1.index === b.top1.index ? 'agree' : 'disagree';
}

/** RFC 4180 field: quoted when it holds a comma, quote or line break; formula-looking text defused. */
export function csvField(v: string | number | boolean | null | undefined): string {
  if (v === null || v === undefined) return '';
  let s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : String(v);
  // Spreadsheets run cells starting with = + - @ as formulas; a leading quote keeps them as text.
  if (typeof v === 'string' && /^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: readonly string[], rows: readonly (readonly (string | number | boolean | null | undefined)[])[]): string {
  return `${[header, ...rows].map((r) => r.map(csvField).join(',')).join('\r\n')}\r\n`;
}

export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(2)} s`;
  if (ms >= 100) return `${ms.toFixed(0)} ms`;
  if (ms >= 10) return `${ms.toFixed(1)} ms`;
  return `${ms.toFixed(2)} ms`;
}

export function formatBytes(n: number): string {
  if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MB`;
  if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(1)} KB`;
  return `${n} B`;
}
