// `resnet models`: the zoo, with what ships trained. Counted from the specs and read from the sidecars
// (models/<id>.json), so no model is built or parsed.
import { formatCount } from '../../format';
import { parseMeta } from '../../model-meta';
import { shippedModelPath, shippedSidecar } from '../../models-dir';
import { parseOnnx } from '../../onnx/read';
import { specCounts } from '../../zoo/count';
import { specDepth, zooNames, zooSpec } from '../../zoo/spec';
import { parse } from '../args';
import type { Command } from '../command';
import { readModelFile } from '../models';
import { table } from '../table';

export const models: Command = {
  name: 'models',
  usage: 'models [--json]                       the zoo: depth, shortcut, parameters, multiply-adds',
  async run(argv, io) {
    const { values } = parse(argv, { json: { type: 'boolean' } });
    const rows = zooNames().map((name) => {
      const spec = zooSpec(name);
      return {
        name, family: spec.family, depth: specDepth(spec), block: spec.block, residual: spec.residual,
        shortcut: spec.residual ? spec.shortcut : null,
        ...specCounts(spec),
        ...shippedTraining(name),
      };
    });
    if (values['json']) return io.out(JSON.stringify(rows, null, 2));
    const head = ['name', 'family', 'depth', 'block', 'shortcut', 'params', 'mult-adds', 'weights'];
    const body = rows.map((r) => [r.name, r.family, String(r.depth), r.block, r.shortcut ?? 'none (plain)',
      formatCount(r.params), formatCount(r.macs), r.trained ? `trained: ${r.trainedOn}` : 'untrained']);
    for (const l of table([head, ...body], (c) => c === 2 || c === 5 || c === 6)) io.out(l);
  },
};

/**
 * Whether a zoo name has a shipped trained file, and what it was trained on (dataset and input shape): from
 * its sidecar, or from the file's own metadata when a file was put in models/ without one.
 */
function shippedTraining(name: string): { trained: boolean; trainedOn?: string } {
  const path = shippedModelPath(name);
  if (!path) return { trained: false };
  const meta = shippedSidecar(name) ?? parseMeta(parseOnnx(readModelFile(path)).metadata);
  return { trained: true, trainedOn: `${meta?.training?.dataset ?? 'unknown data'} ${meta?.input.join('x') ?? ''}`.trim() };
}
