// `resnet export`: a zoo model as an ONNX file (the shipped trained file when there is one).
import { MAX_MODEL_BYTES } from '../../onnx/read';
import { serializeOnnx } from '../../onnx/write';
import { readRegularFile } from '../../read-file';
import { writeUserFile } from '../../write-file';
import { buildModel } from '../../zoo/build';
import { zooSpec } from '../../zoo/spec';
import { CliError, intOption, parse } from '../args';
import type { Command } from '../command';
import { shippedModelPath } from '../../models-dir';
import { ZOO_OPTION_FLAGS, zooOptions } from './zoo-options';

export const exportCommand: Command = {
  name: 'export',
  usage: 'export NAME [--shortcut A|B|C] [--bottleneck-stride 1x1|3x3] [--out FILE.onnx]',
  async run(argv, io) {
    const { values, positionals } = parse(argv, { ...ZOO_OPTION_FLAGS, out: { type: 'string' }, seed: { type: 'string' } });
    if (positionals.length !== 1) throw new CliError('export takes one zoo model name: resnet export NAME [--out FILE.onnx]');
    const name = positionals[0]!;
    const base = zooSpec(name);
    const opts = zooOptions(values);
    const spec = { ...base, ...opts };
    const seed = intOption(values['seed'], 'seed', 0, 2 ** 31 - 1, 1);
    const shipped = Object.keys(opts).length === 0 && values['seed'] === undefined ? shippedModelPath(name) : undefined;
    const bytes = shipped ? readRegularFile(shipped, { maxBytes: MAX_MODEL_BYTES }) : serializeOnnx(buildModel(spec, { name, seed }));
    const out = (values['out'] as string | undefined) ?? `${name}.onnx`;
    writeUserFile(out, bytes);
    io.out(`wrote ${out} (${(bytes.length / 1e6).toFixed(1)} MB, ${shipped ? 'trained weights' : `untrained, seed ${seed}`}, shortcut ${spec.residual ? spec.shortcut : 'none'})`);
  },
};
