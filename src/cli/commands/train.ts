// `resnet train`: trains a zoo net on Fashion-MNIST with our own engine (src/train).
import { availableParallelism } from 'node:os';
import { DEFAULT_DATA_DIR } from '../../train/data';
import { SHIPPED_RECIPE, trainModel } from '../../train/trainer';
import { CliError, choice, floatOption, intOption, parse } from '../args';
import type { Command } from '../command';

const USAGE = 'train --model NAME [--shortcut A|B] [--data DIR] [--epochs N] [--batch N] [--lr X] --out DIR [--resume] [--threads N] [--limit N] [--warmup STEPS] [--seed N]';

export const train: Command = {
  name: 'train',
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parse(argv, {
      model: { type: 'string' }, shortcut: { type: 'string' }, data: { type: 'string' }, epochs: { type: 'string' },
      batch: { type: 'string' }, lr: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' },
      threads: { type: 'string' }, limit: { type: 'string' }, warmup: { type: 'string' }, seed: { type: 'string' },
    });
    if (positionals.length > 0) throw new CliError(`train takes no positional arguments (got '${positionals[0]}'): resnet ${USAGE}`);
    if (typeof values['model'] !== 'string') throw new CliError(`train needs --model NAME: resnet ${USAGE}`);
    if (typeof values['out'] !== 'string') throw new CliError(`train needs --out DIR (checkpoints, logs and the model go there): resnet ${USAGE}`);
    const shortcut = values['shortcut'] === undefined ? undefined : choice(values['shortcut'], 'shortcut', ['A', 'B'] as const, 'A');
    await trainModel({
      recipe: {
        model: values['model'],
        shortcut,
        epochs: intOption(values['epochs'], 'epochs', 1, 10000, SHIPPED_RECIPE.epochs),
        batch: intOption(values['batch'], 'batch', 2, 4096, SHIPPED_RECIPE.batch),
        lr: floatOption(values['lr'], 'lr', 0, 10, SHIPPED_RECIPE.lr),
        warmupSteps: intOption(values['warmup'], 'warmup', 0, 1e9, 0),
        seed: intOption(values['seed'], 'seed', 0, 2 ** 31 - 1, 1),
        limit: values['limit'] === undefined ? undefined : intOption(values['limit'], 'limit', 1, 1e9, 0),
      },
      dataDir: (values['data'] as string | undefined) ?? DEFAULT_DATA_DIR,
      outDir: values['out'],
      resume: values['resume'] === true,
      threads: intOption(values['threads'], 'threads', 1, 256, Math.min(2, availableParallelism())),
      log: (line) => io.err(line),
    });
  },
};
