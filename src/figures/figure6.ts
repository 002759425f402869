// The paper's Figure 6 as data: training curves -> a drawing description (panels, lines, axes, legend),
// which src/figures/figure6-svg.ts draws as the repo's SVG (models/curves/fashion-mnist-fig6.svg) and
// app/renderer/charts.ts draws into the app. Plain nets on the left, ResNets on the right, on one scale;
// a colour per depth; a bold line for test error and a dashed one for training error. Pure: no Node or DOM.

/** Per-epoch error of one training run; errors are fractions in [0,1]. */
export interface TrainingCurves {
  readonly epochs: readonly number[];
  readonly trainError: readonly number[];
  readonly testError: readonly number[];
}

/** A trained plainN or resnetN net with its curves. */
export interface CurveRun {
  readonly id: string;
  readonly family: 'plain' | 'residual';
  readonly depth: number;
  readonly curves: TrainingCurves;
}

/** An axis from 0 to `max`, labelled at `ticks`. */
export interface Axis {
  readonly max: number;
  readonly ticks: readonly number[];
}

export interface CurveLine {
  /** The run's id ('plain20'). */
  readonly run: string;
  /** 'test' lines are drawn bold, 'train' lines dashed. */
  readonly kind: 'test' | 'train';
  /** Colour: the run's depth among the figure's depths, shallowest 0 (at most 3). */
  readonly depthIndex: number;
  readonly x: readonly number[];
  /** Error in percent. */
  readonly y: readonly number[];
}

export interface Figure6Panel {
  readonly family: CurveRun['family'];
  readonly title: string;
  /** Per run, shallowest first: its test line, then its training line. */
  readonly lines: readonly CurveLine[];
  /** Each run's final test and training error, in percent. */
  readonly finals: readonly { readonly run: string; readonly depthIndex: number; readonly test: number; readonly train: number }[];
}

export interface Figure6 {
  /** Only families with runs. */
  readonly panels: readonly Figure6Panel[];
  /** The depths drawn, shallowest first (a line's depthIndex indexes this). */
  readonly depths: readonly number[];
  readonly x: Axis;
  readonly y: Axis;
  readonly xLabel: string;
  readonly yLabel: string;
}

const TITLES: Readonly<Record<CurveRun['family'], string>> = { plain: 'Plain networks', residual: 'ResNets' };

/** The smallest of 1, 2, 2.5, 5 x 10^k at least `raw` (1, 2, 5 x 10^k, k >= 0, for `integer`): a round step between ticks. */
export function niceStep(raw: number, integer = false): number {
  const mag = 10 ** Math.floor(Math.log10(raw));
  if (integer && mag < 1) return 1;
  return (integer ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10]).map((m) => m * mag).find((st) => st >= raw) ?? 10 * mag;
}

/** An axis from 0 to the first round value at or above `hi`, with about `count` ticks. */
function axisTo(hi: number, count: number, integer = false): Axis {
  const step = niceStep(hi / count, integer);
  const max = Math.ceil(hi / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = 0; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return { max: Number(max.toPrecision(12)), ticks };
}

/** A run from a model id and its per-epoch history; null unless the id is plainN or resnetN and there is a history. */
export function curveRun(id: string, history: readonly { readonly epoch: number; readonly trainError: number; readonly testError: number }[]): CurveRun | null {
  const match = /^(plain|resnet)(\d+)$/.exec(id);
  if (!match || history.length === 0) return null;
  return {
    id, family: match[1] === 'plain' ? 'plain' : 'residual', depth: Number(match[2]),
    curves: { epochs: history.map((h) => h.epoch), trainError: history.map((h) => h.trainError), testError: history.map((h) => h.testError) },
  };
}

/** `epochs`: the x axis spans at least this many (a run still training draws into its whole length). */
export function figure6(runs: readonly CurveRun[], opts: { readonly epochs?: number } = {}): Figure6 {
  const sorted = [...runs].sort((a, b) => a.depth - b.depth || a.id.localeCompare(b.id));
  const depths = [...new Set(sorted.map((r) => r.depth))].sort((a, b) => a - b);
  const depthIndex = (r: CurveRun): number => Math.min(depths.indexOf(r.depth), 3);
  const pct = (xs: readonly number[]): number[] => xs.map((v) => 100 * v);
  const panels = (['plain', 'residual'] as const).flatMap((family): Figure6Panel[] => {
    const mine = sorted.filter((r) => r.family === family);
    if (mine.length === 0) return [];
    return [{
      family,
      title: TITLES[family],
      lines: mine.flatMap((r) => [
        { run: r.id, kind: 'test' as const, depthIndex: depthIndex(r), x: r.curves.epochs, y: pct(r.curves.testError) },
        { run: r.id, kind: 'train' as const, depthIndex: depthIndex(r), x: r.curves.epochs, y: pct(r.curves.trainError) },
      ]),
      finals: mine.map((r) => ({
        run: r.id, depthIndex: depthIndex(r), test: 100 * r.curves.testError.at(-1)!, train: 100 * r.curves.trainError.at(-1)!,
      })),
    }];
  });
  const epochs = sorted.flatMap((r) => r.curves.epochs);
  const errors = sorted.flatMap((r) => [...r.curves.trainError, ...r.curves.testError]).filter(Number.isFinite);
  return {
    panels,
    depths,
    x: axisTo(Math.max(1, opts.epochs ?? 0, ...epochs), 8, true),
    y: axisTo(Math.max(1, ...errors.map((v) => 100 * v)), 5),
    xLabel: 'epochs',
    yLabel: 'error (%)',
  };
}
