// `resnet info`: the layer table after fusion.
import { compileModel } from '../../engine/session';
import { formatCount } from '../../format';
import { CliError, parse } from '../args';
import type { Command } from '../command';
import { modelBytes } from '../models';
import { table } from '../table';
import { ZOO_OPTION_FLAGS, zooOptions } from './zoo-options';

export const info: Command = {
  name: 'info',
  usage: 'info NAME|FILE.onnx [--json]          layer table: output shape, parameters, multiply-adds',
  async run(argv, io) {
    const { values, positionals } = parse(argv, { json: { type: 'boolean' }, ...ZOO_OPTION_FLAGS });
    if (positionals.length !== 1) throw new CliError('info takes one model: resnet info NAME|FILE.onnx');
    const { info } = compileModel(modelBytes(positionals[0]!, zooOptions(values)));
    if (values['json']) {
      return io.out(JSON.stringify({ name: info.name, input: info.inputShape, classes: info.classes, outputs: info.outputs, params: info.params, macs: info.macs, trained: info.trained, layers: info.layers }, null, 2));
    }
    io.out(`${info.name}: input [${info.inputShape.join(',')}], ${info.classes} classes, ${formatCount(info.params)} parameters, ${formatCount(info.macs)} multiply-adds${info.trained ? '' : ' (untrained weights)'}`);
    // A file whose output is not one class vector says what it returns.
    if (info.outputs.length > 1 || info.outputs[0]!.shape.length !== 1) {
      for (const o of info.outputs) io.out(`output ${o.name} [${o.shape.join(',')}]`);
    }
    const head = ['layer', 'op', 'output', 'params', 'mult-adds'];
    const body = info.layers.map((l) => [l.name, l.detail, `[${l.outShape.join(',')}]`, l.params ? String(l.params) : '-', l.macs ? String(l.macs) : '-']);
    body.push(['total', '', '', String(info.params), String(info.macs)]);
    for (const l of table([head, ...body], (c) => c >= 3)) io.out(l);
  },
};
