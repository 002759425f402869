// Draws the Figure-6-style training curves of the four shipped Fashion-MNIST nets from their training logs:
//   node --import tsx src/train/draw-curves.ts [--logs DIR] [--out FILE.svg]
// Logs are looked up as DIR/NAME.json, DIR/NAME.log.json or DIR/NAME/NAME.log.json (a `resnet train --out`
// directory), so the figure can be drawn from the committed logs or from runs still in progress.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MAX_JSON_BYTES, readRegularTextFile } from '../read-file';
import { type CurvePanel, type CurveRun, drawCurves } from './curves';
import type { EpochRecord, Recipe } from './trainer';

export const SHIPPED = { plain: ['plain20', 'plain56'], residual: ['resnet20', 'resnet56'] } as const;

export function readRun(dir: string, name: string): { run: CurveRun; recipe: Recipe } | null {
  for (const p of [join(dir, `${name}.json`), join(dir, `${name}.log.json`), join(dir, name, `${name}.log.json`)]) {
    if (!existsSync(p)) continue;
    const log = JSON.parse(readRegularTextFile(p, { maxBytes: MAX_JSON_BYTES })) as { recipe: Recipe; history: EpochRecord[] };
    if (!Array.isArray(log.history)) continue;
    const h = log.history;
    return { recipe: log.recipe, run: { name, epochs: h.map((r) => r.epoch), trainError: h.map((r) => r.trainError), testError: h.map((r) => r.testError) } };
  }
  return null;
}

export function figure(dir: string): { svg: string; found: string[] } {
  const found: string[] = [];
  let recipe: Recipe | undefined;
  const panelOf = (title: string, names: readonly string[]): CurvePanel => ({
    title,
    runs: names.flatMap((n) => {
      const r = readRun(dir, n);
      if (!r) return [];
      found.push(n);
      recipe ??= r.recipe;
      return [r.run];
    }),
  });
  const panels = [panelOf('plain networks', SHIPPED.plain), panelOf('ResNets (option A)', SHIPPED.residual)];
  if (found.length === 0) throw new Error(`no training logs of ${[...SHIPPED.plain, ...SHIPPED.residual].join(', ')} in ${dir}`);
  const r = recipe!;
  const caption = `Fashion-MNIST, ${r.epochs} epochs, batch ${r.batch}, lr ${r.lr} /10 at 50% and 75%; dashed: training error (augmented, running), bold: test error`;
  return { svg: drawCurves(panels, caption), found };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const { values } = parseArgs({ options: { logs: { type: 'string' }, out: { type: 'string' } } });
  const dir = values.logs ?? 'models/curves';
  const out = values.out ?? 'models/curves/fashion-mnist-fig6.svg';
  const { svg, found } = figure(dir);
  writeFileSync(out, svg);
  process.stdout.write(`wrote ${out} (${found.join(', ')})\n`);
}
