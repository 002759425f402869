// `resnet eval`: accuracy, per-class precision and recall and the confusion matrix of a model on
// Fashion-MNIST's test set or on any labelled folder (src/train/evaluate.ts).
import { availableParallelism } from 'node:os';
import { DEFAULT_DATA_DIR } from '../../train/data';
import { EVAL_ENGINES, evaluateOn } from '../../train/evaluate';
import { reportLines } from '../../train/metrics';
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
    const report = await evaluateOn(modelBytes(values['model']), (values['data'] as string | undefined) ?? DEFAULT_DATA_DIR, engine, {
      limit: values['limit'] === undefined ? undefined : intOption(values['limit'], 'limit', 1, 1e9, 0),
      threads: intOption(values['threads'], 'threads', 1, 256, availableParallelism()),
    });
    if (values['json']) {
      io.out(JSON.stringify(report, null, 2));
      return;
    }
    for (const line of report.skipped) io.err(line);
    io.out(`${report.model} on ${report.engine}: accuracy ${(100 * report.accuracy).toFixed(2)}% (${report.correct}/${report.images} ${report.dataset} images) in ${report.seconds.toFixed(1)} s`);
    // Per class, then the worst mistakes of a folder (Fashion-MNIST's are image numbers), then the confusion matrix.
    const lines = reportLines({ ...report, mistakes: report.dataset.startsWith('Fashion-MNIST') ? [] : report.mistakes });
    const confusionAt = lines.findIndex((l) => l.startsWith('confusion matrix'));
    const mistakesAt = lines.findIndex((l) => l.startsWith('most confident mistakes'));
    const ordered = mistakesAt < 0 ? lines : [...lines.slice(0, confusionAt), ...lines.slice(mistakesAt), ...lines.slice(confusionAt, mistakesAt)];
    for (const line of ordered) io.out(line);
  },
};
