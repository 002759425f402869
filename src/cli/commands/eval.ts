// `resnet eval`: test accuracy and confusion matrix on Fashion-MNIST (src/train/evaluate.ts).
import { availableParallelism } from 'node:os';
import { DEFAULT_DATA_DIR } from '../../train/data';
import { EVAL_ENGINES, evaluateModel } from '../../train/evaluate';
import { CliError, choice, intOption, parse } from '../args';
import type { Command } from '../command';
import { modelBytes } from '../models';

const USAGE = 'eval --model FILE.onnx|NAME [--data DIR] [--engine wasm|ts|ort-wasm] [--json] [--limit N] [--threads N]';

export const evalCommand: Command = {
  name: 'eval',
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parse(argv, {
      model: { type: 'string' }, data: { type: 'string' }, engine: { type: 'string' }, json: { type: 'boolean' },
      limit: { type: 'string' }, threads: { type: 'string' },
    });
    if (positionals.length > 0) throw new CliError(`eval takes no positional arguments (got '${positionals[0]}'): resnet ${USAGE}`);
    if (typeof values['model'] !== 'string') throw new CliError(`eval needs --model FILE.onnx|NAME: resnet ${USAGE}`);
    const engine = choice(values['engine'], 'engine', EVAL_ENGINES, 'wasm');
    const report = await evaluateModel(modelBytes(values['model']), (values['data'] as string | undefined) ?? DEFAULT_DATA_DIR, engine, {
      limit: values['limit'] === undefined ? undefined : intOption(values['limit'], 'limit', 1, 1e9, 0),
      threads: intOption(values['threads'], 'threads', 1, 256, availableParallelism()),
    });
    if (values['json']) {
      io.out(JSON.stringify(report, null, 2));
      return;
    }
    io.out(`${report.model} on ${report.engine}: accuracy ${(100 * report.accuracy).toFixed(2)}% (${report.correct}/${report.images} Fashion-MNIST test images) in ${report.seconds.toFixed(1)} s`);
    io.out('confusion matrix (rows: true class, columns: predicted):');
    const w = Math.max(5, ...report.confusion.flat().map((v) => String(v).length + 1));
    const nameW = Math.max(...report.labels.map((l) => l.length));
    io.out(`${''.padEnd(nameW)}  ${report.labels.map((_, i) => String(i).padStart(w)).join('')}`);
    report.confusion.forEach((row, i) => io.out(`${report.labels[i]!.padEnd(nameW)}  ${row.map((v) => String(v).padStart(w)).join('')}   ${i}`));
  },
};
