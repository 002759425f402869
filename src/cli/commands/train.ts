// `resnet train`: trains a zoo net with our own engine (src/train) on Fashion-MNIST's IDX files or on the
// user's labelled folder (told apart by content), one net or a plain/residual race; or, with --from, fits
// a new classifier head on a frozen backbone's features (transfer mode).
import { availableParallelism } from 'node:os';
import { DEFAULT_DATA_DIR } from '../../train/data';
import { isIdxFolder } from '../../train/folder';
import { FOLDER_RECIPE } from '../../train/net-trainer';
import { SHIPPED_RECIPE, trainModels } from '../../train/trainer';
import { TRANSFER_DEFAULTS, trainTransfer } from '../../train/transfer';
import { CliError, choice, floatOption, intOption, parse } from '../args';
import type { Command } from '../command';
import { modelBytes } from '../models';
import { existsSync } from 'node:fs';

const USAGE = 'train --model NAME|--from BACKBONE [--data DIR] [--race] [--size N] [--gray] [--val F] [--epochs N] [--batch N] [--lr X] ' +
  '[--schedule steps|cosine] [--warmup STEPS] [--wd X] [--pad N] [--no-flip] [--jitter X] [--zero-gamma on|off] --out DIR [--resume] [--threads N] [--limit N] [--seed N] ' +
  '[--shortcut A|B] [--name NAME] [--steps N]';

/** A number in [min, max]. */
function rangeOption(v: unknown, name: string, min: number, max: number, dflt: number): number {
  if (v === undefined) return dflt;
  const x = Number(v);
  if (typeof v !== 'string' || v.trim() === '' || !Number.isFinite(x) || x < min || x > max) throw new CliError(`--${name} must be a number from ${min} to ${max}, got '${String(v)}'`);
  return x;
}

export const train: Command = {
  name: 'train',
  usage: USAGE,
  async run(argv, io) {
    const { values, positionals } = parse(argv, {
      model: { type: 'string' }, shortcut: { type: 'string' }, data: { type: 'string' }, epochs: { type: 'string' },
      batch: { type: 'string' }, lr: { type: 'string' }, out: { type: 'string' }, resume: { type: 'boolean' },
      threads: { type: 'string' }, limit: { type: 'string' }, warmup: { type: 'string' }, seed: { type: 'string' }, 'zero-gamma': { type: 'string' },
      race: { type: 'boolean' }, size: { type: 'string' }, gray: { type: 'boolean' }, val: { type: 'string' }, schedule: { type: 'string' },
      wd: { type: 'string' }, pad: { type: 'string' }, 'no-flip': { type: 'boolean' }, jitter: { type: 'string' },
      from: { type: 'string' }, name: { type: 'string' }, steps: { type: 'string' },
    });
    if (positionals.length > 0) throw new CliError(`train takes no positional arguments (got '${positionals[0]}'): resnet ${USAGE}`);
    const from = values['from'] as string | undefined;
    if (typeof values['model'] !== 'string' && from === undefined) throw new CliError(`train needs --model NAME (or --from BACKBONE for transfer mode): resnet ${USAGE}`);
    if (typeof values['out'] !== 'string') throw new CliError(`train needs --out DIR (checkpoints, logs and the model go there): resnet ${USAGE}`);
    const dataDir = (values['data'] as string | undefined) ?? DEFAULT_DATA_DIR;
    const folder = existsSync(dataDir) && !isIdxFolder(dataDir);
    const threads = intOption(values['threads'], 'threads', 1, 256, Math.min(2, availableParallelism()));
    const seed = intOption(values['seed'], 'seed', 0, 2 ** 31 - 1, 1);
    const valFraction = rangeOption(values['val'], 'val', 0, 0.9, FOLDER_RECIPE.valFraction);
    const gray = values['gray'] === true;
    const log = (line: string): void => io.err(line);
    if (from !== undefined) {
      if (values['race']) throw new CliError('--race and --from do not go together: transfer mode trains one head on one backbone');
      if (!folder) throw new CliError(`--from needs --data DIR, a folder of class subfolders (${dataDir} is not one)`);
      await trainTransfer({
        backbone: modelBytes(from), backboneName: from, dataDir, outDir: values['out'], name: values['name'] as string | undefined,
        valFraction, seed, threads, log,
        steps: intOption(values['steps'], 'steps', 1, 100000, TRANSFER_DEFAULTS.steps),
        weightDecay: rangeOption(values['wd'], 'wd', 0, 10, TRANSFER_DEFAULTS.weightDecay),
      });
      return;
    }
    const defaults = folder ? FOLDER_RECIPE : SHIPPED_RECIPE;
    const shortcut = values['shortcut'] === undefined ? undefined : choice(values['shortcut'], 'shortcut', ['A', 'B'] as const, 'A');
    const schedule = values['schedule'] === undefined ? undefined : choice(values['schedule'], 'schedule', ['steps', 'cosine'] as const, 'steps');
    const augmentGiven = values['pad'] !== undefined || values['no-flip'] !== undefined || values['jitter'] !== undefined;
    const baseAugment = folder ? FOLDER_RECIPE.augment : { pad: 4, flip: true, jitter: 0 };
    const jitter = rangeOption(values['jitter'], 'jitter', 0, 0.9, baseAugment.jitter);
    const augment = augmentGiven
      ? { pad: intOption(values['pad'], 'pad', 0, 16, baseAugment.pad), flip: values['no-flip'] !== true, ...(jitter > 0 && { jitter }) }
      : undefined;
    await trainModels({
      recipe: {
        model: values['model'] as string,
        shortcut,
        epochs: intOption(values['epochs'], 'epochs', 1, 10000, defaults.epochs),
        batch: intOption(values['batch'], 'batch', 2, 4096, defaults.batch),
        lr: floatOption(values['lr'], 'lr', 0, 10, defaults.lr),
        warmupSteps: values['warmup'] === undefined ? undefined : intOption(values['warmup'], 'warmup', 0, 1e9, 0),
        weightDecay: values['wd'] === undefined ? undefined : rangeOption(values['wd'], 'wd', 0, 1, 0),
        schedule, augment, seed,
        zeroGamma: values['zero-gamma'] === undefined ? undefined : choice(values['zero-gamma'], 'zero-gamma', ['on', 'off'] as const, 'off') === 'on',
        limit: values['limit'] === undefined ? undefined : intOption(values['limit'], 'limit', 1, 1e9, 0),
      },
      dataDir,
      outDir: values['out'],
      resume: values['resume'] === true,
      threads,
      race: values['race'] === true,
      folder: {
        channels: gray ? 1 : 3,
        size: intOption(values['size'], 'size', 8, 64, gray ? FOLDER_RECIPE.graySize : FOLDER_RECIPE.size),
        valFraction,
      },
      log,
    });
  },
};
