// Draws the paper's Figure 6 for the four shipped Fashion-MNIST nets from their training logs:
//   node --import tsx src/train/draw-curves.ts [--logs DIR] [--out FILE.svg]
// Logs are looked up as DIR/NAME.json, DIR/NAME.log.json or DIR/NAME/NAME.log.json (a `resnet train --out`
// directory), so the figure can be drawn from the committed logs or from runs still in progress.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { type CurveRun, curveRun, figure6 } from '../figures/figure6';
import { figure6Svg } from '../figures/figure6-svg';
import { parseTrainingLog, type Recipe } from '../sidecar';
import { MAX_JSON_BYTES, readRegularTextFile } from '../read-file';

const SHIPPED = ['plain20', 'plain56', 'resnet20', 'resnet56'] as const;

function readRun(dir: string, name: string): { run: CurveRun; recipe: Recipe } | null {
  for (const p of [join(dir, `${name}.json`), join(dir, `${name}.log.json`), join(dir, name, `${name}.log.json`)]) {
    if (!existsSync(p)) continue;
    const log = parseTrainingLog(JSON.parse(readRegularTextFile(p, { maxBytes: MAX_JSON_BYTES })), p);
    const run = curveRun(name, log.history);
    if (run) return { run, recipe: log.recipe };
  }
  return null;
}

export function figure(dir: string): { svg: string; found: string[] } {
  const read = SHIPPED.flatMap((n) => {
    const r = readRun(dir, n);
    return r ? [r] : [];
  });
  if (read.length === 0) throw new Error(`no training logs of ${SHIPPED.join(', ')} in ${dir}`);
  const r = read[0]!.recipe;
  const caption = `Fashion-MNIST, ${r.epochs} epochs, batch ${r.batch}, lr ${r.lr} /10 at 50% and 75%, option ${r.shortcut} shortcuts; dashed: training error (augmented, running), bold: test error`;
  return { svg: figure6Svg(figure6(read.map((x) => x.run)), caption), found: read.map((x) => x.run.id) };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) {
  const { values } = parseArgs({ options: { logs: { type: 'string' }, out: { type: 'string' } } });
  const dir = values.logs ?? 'models/curves';
  const out = values.out ?? 'models/curves/fashion-mnist-fig6.svg';
  const { svg, found } = figure(dir);
  writeFileSync(out, svg);
  process.stdout.write(`wrote ${out} (${found.join(', ')})\n`);
}
