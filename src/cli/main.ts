// The `resnet` command: the same sessions and preprocessing as the app, from a terminal.
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { benchMain } from '../bench/main';
import { cmdEval, cmdTrain, EVAL_USAGE, TRAIN_USAGE } from '../train/cli';
import { basename } from 'node:path';
import { topK } from '../engine/classify';
import { ModelError } from '../engine/compile';
import { ENGINES, type EngineName, compileModel, loadModel, type ModelInfo } from '../engine/session';
import { NpyError, parseNpy, serializeNpy } from '../npy';
import { OnnxError, parseOnnx } from '../onnx/read';
import { serializeOnnx } from '../onnx/write';
import { decodeImageFile, ImageError } from '../preprocess/sharp';
import { preprocessSpecFor } from '../preprocess/for-model';
import { buildModel } from '../zoo/build';
import { specDepth, zooNames, zooSpec, type ShortcutOption } from '../zoo/spec';
import { CliError, choice, intOption, parse } from './args';
import { cmdImport, IMPORT_USAGE, ImportError } from './import';
import { modelBytes, readModelFile, shippedModelPath } from './models';
import { parseMeta } from '../model-meta';

const CLI_ENGINES = ENGINES.filter((e) => e !== 'ort-webgpu');
const DEFAULT_ENGINE: EngineName = 'wasm';

const USAGE = `usage: resnet <command> [options]

  models [--json]                       the zoo: depth, shortcut, parameters, multiply-adds
  info NAME|FILE.onnx [--json]          layer table: output shape, parameters, multiply-adds
  export NAME [--shortcut A|B|C] [--bottleneck-stride 1x1|3x3] [--out FILE.onnx]
  ${IMPORT_USAGE.replace(/^resnet /, '')}
  run MODEL --input X.npy [--engine ${CLI_ENGINES.join('|')}] [--out Y.npy] [--threads N]
  classify IMAGE... --model NAME|FILE.onnx [--engine ${CLI_ENGINES.join('|')}] [--top K] [--json] [--threads N]
  bench [--models resnet18,resnet50,resnet20,resnet56] [--engines ts,wasm,ort-wasm] [--threads 1,2] [--batch N] [--json]
  bench --train [--models resnet20,resnet56] [--threads 1,2] [--json]   training images/s
  ${TRAIN_USAGE.replace(/^resnet /, '')}
  ${EVAL_USAGE.replace(/^resnet /, '')}
`;

type Out = (line: string) => void;

export interface CliIO {
  readonly out: Out;
  readonly err: Out;
}

const defaultIO: CliIO = {
  out: (l) => process.stdout.write(l + '\n'),
  err: (l) => process.stderr.write(l + '\n'),
};

export function formatCount(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)}G`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(2)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}K`;
  return String(n);
}

function table(rows: string[][], rightAlign: (col: number) => boolean): string[] {
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => r[c]!.length)));
  return rows.map((r) => r.map((cell, c) => (rightAlign(c) ? cell.padStart(widths[c]!) : cell.padEnd(widths[c]!))).join('  ').trimEnd());
}

function zooOptions(values: Record<string, unknown>): { shortcut?: ShortcutOption; bottleneckStride?: '1x1' | '3x3' } {
  const shortcut = values['shortcut'] === undefined ? undefined : choice(values['shortcut'], 'shortcut', ['A', 'B', 'C'] as const, 'A');
  const bs = values['bottleneck-stride'];
  const bottleneckStride = bs === undefined ? undefined : choice(bs, 'bottleneck-stride', ['1x1', '3x3'] as const, '1x1');
  return { ...(shortcut && { shortcut }), ...(bottleneckStride && { bottleneckStride }) };
}

function untrainedNote(info: ModelInfo, io: CliIO): void {
  if (!info.trained) io.err(`note: ${info.name} has untrained (seeded random) weights: its predictions mean nothing`);
}

async function cmdModels(argv: string[], io: CliIO): Promise<void> {
  const { values } = parse(argv, { json: { type: 'boolean' } });
  const rows = zooNames().map((name) => {
    const spec = zooSpec(name);
    const { plan } = compileModel(serializeOnnx(buildModel(spec, { name, init: 'zeros' })));
    return {
      name, family: spec.family, depth: specDepth(spec), block: spec.block, residual: spec.residual,
      shortcut: spec.residual ? spec.shortcut : null,
      params: plan.stats.reduce((s, l) => s + l.params, 0),
      macs: plan.stats.reduce((s, l) => s + l.macs, 0),
      ...shippedTraining(name),
    };
  });
  if (values['json']) return io.out(JSON.stringify(rows, null, 2));
  const head = ['name', 'family', 'depth', 'block', 'shortcut', 'params', 'mult-adds', 'weights'];
  const body = rows.map((r) => [r.name, r.family, String(r.depth), r.block, r.shortcut ?? 'none (plain)',
    formatCount(r.params), formatCount(r.macs), r.trained ? `trained: ${r.trainedOn}` : 'untrained']);
  for (const l of table([head, ...body], (c) => c === 2 || c === 5 || c === 6)) io.out(l);
}

/** Whether a zoo name has a shipped trained file, and what it was trained on (dataset and input shape). */
function shippedTraining(name: string): { trained: boolean; trainedOn?: string } {
  const path = shippedModelPath(name);
  if (!path) return { trained: false };
  const meta = parseMeta(parseOnnx(readModelFile(path)).metadata);
  return { trained: true, trainedOn: `${meta?.training?.dataset ?? 'unknown data'} ${meta?.input.join('x') ?? ''}`.trim() };
}

async function cmdInfo(argv: string[], io: CliIO): Promise<void> {
  const { values, positionals } = parse(argv, {
    json: { type: 'boolean' }, shortcut: { type: 'string' }, 'bottleneck-stride': { type: 'string' },
  });
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
}

async function cmdExport(argv: string[], io: CliIO): Promise<void> {
  const { values, positionals } = parse(argv, {
    shortcut: { type: 'string' }, 'bottleneck-stride': { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' },
  });
  if (positionals.length !== 1) throw new CliError('export takes one zoo model name: resnet export NAME [--out FILE.onnx]');
  const name = positionals[0]!;
  const spec = { ...zooSpec(name), ...zooOptions(values) };
  const seed = intOption(values['seed'], 'seed', 0, 2 ** 31 - 1, 1);
  const opts = zooOptions(values);
  const shipped = Object.keys(opts).length === 0 && values['seed'] === undefined ? shippedModelPath(name) : undefined;
  const bytes = shipped ? readFileSync(shipped) : serializeOnnx(buildModel(spec, { name, seed }));
  const out = (values['out'] as string | undefined) ?? `${name}.onnx`;
  writeFileSync(out, bytes);
  io.out(`wrote ${out} (${(bytes.length / 1e6).toFixed(1)} MB, ${shipped ? 'trained weights' : `untrained, seed ${seed}`}, shortcut ${spec.residual ? spec.shortcut : 'none'})`);
}

async function cmdRun(argv: string[], io: CliIO): Promise<void> {
  const { values, positionals } = parse(argv, {
    input: { type: 'string' }, engine: { type: 'string' }, out: { type: 'string' }, threads: { type: 'string' }, top: { type: 'string' },
  });
  if (positionals.length !== 1) throw new CliError('run takes one model: resnet run MODEL.onnx --input X.npy');
  if (typeof values['input'] !== 'string') throw new CliError('run needs --input X.npy');
  const engine = choice(values['engine'], 'engine', CLI_ENGINES, DEFAULT_ENGINE);
  const threads = intOption(values['threads'], 'threads', 1, 64, defaultThreads());
  const top = intOption(values['top'], 'top', 1, 1000, 5);
  let x;
  try {
    x = parseNpy(new Uint8Array(readFileSync(values['input'])));
  } catch (e) {
    if (e instanceof NpyError) throw new CliError(`${values['input']}: ${e.message}`);
    throw new CliError(`${values['input']}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const session = await loadModel(modelBytes(positionals[0]!), { engine, threads });
  try {
    untrainedNote(session.info, io);
    const r = await session.run(x);
    io.out(`output [${r.output.shape.join(',')}] in ${r.ms.toFixed(1)} ms on ${engine}`);
    r.outputs.slice(1).forEach((o, i) => io.out(`output ${i + 2} '${session.info.outputs[i + 1]!.name}' [${o.shape.join(',')}]${typeof values['out'] === 'string' ? ' (not written: --out takes the first output)' : ''}`));
    const rows = r.output.shape[0]!;
    const width = r.output.data.length / rows;
    for (let n = 0; n < rows; n++) {
      const best = topK(r.output, n, top, []).map((c) => `${c.index}: ${c.probability.toPrecision(6)}`);
      io.out(`  [${n}] top ${Math.min(top, width)}: ${best.join(', ')}`);
    }
    if (typeof values['out'] === 'string') {
      writeFileSync(values['out'], serializeNpy(r.output));
      io.out(`wrote ${values['out']}`);
    }
  } finally {
    await session.dispose();
  }
}

async function cmdClassify(argv: string[], io: CliIO): Promise<void> {
  const { values, positionals } = parse(argv, {
    model: { type: 'string' }, engine: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean' }, threads: { type: 'string' },
  });
  if (positionals.length === 0) throw new CliError('classify needs at least one image: resnet classify IMAGE... --model NAME|FILE.onnx');
  if (typeof values['model'] !== 'string') throw new CliError('classify needs --model NAME|FILE.onnx');
  const engine: EngineName = choice(values['engine'], 'engine', CLI_ENGINES, DEFAULT_ENGINE);
  const top = intOption(values['top'], 'top', 1, 1000, 5);
  const threads = intOption(values['threads'], 'threads', 1, 64, defaultThreads());
  const session = await loadModel(modelBytes(values['model']), { engine, threads });
  const results: unknown[] = [];
  let failures = 0;
  try {
    const spec = preprocessSpecFor(session.info);
    if (!values['json']) untrainedNote(session.info, io);
    for (const path of positionals) {
      let decoded;
      try {
        decoded = await decodeImageFile(path, spec);
      } catch (e) {
        if (!(e instanceof ImageError)) throw e;
        failures++;
        io.err(e.message);
        if (values['json']) results.push({ image: path, error: e.message });
        continue;
      }
      const r = await session.run(decoded.tensor);
      const best = topK(r.probs, 0, top, session.info.labels);
      if (values['json']) {
        results.push({ image: path, model: session.info.name, engine, trained: session.info.trained, ms: r.ms, top: best });
      } else {
        io.out(`${basename(path)}  (${session.info.name}, ${engine}, ${r.ms.toFixed(1)} ms)`);
        for (const c of best) io.out(`  ${(c.probability * 100).toFixed(2).padStart(6)}%  ${c.label}`);
      }
    }
  } finally {
    await session.dispose();
  }
  if (values['json']) io.out(JSON.stringify(results, null, 2));
  if (failures === positionals.length) throw new CliError(failures === 1 ? 'the image could not be read' : 'no image could be read');
}

async function cmdBench(argv: string[], io: CliIO): Promise<void> {
  try {
    await benchMain(argv, io.out);
  } catch (e) {
    // The bench's own argument errors are user mistakes.
    if (e instanceof Error && /^bench:/.test(e.message)) throw new CliError(e.message.replace(/^bench: /, ''));
    throw e;
  }
}

function defaultThreads(): number {
  return Math.max(1, availableParallelism());
}

const COMMANDS: Record<string, (argv: string[], io: CliIO) => Promise<void>> = {
  models: cmdModels,
  info: cmdInfo,
  export: cmdExport,
  import: cmdImport,
  run: cmdRun,
  classify: cmdClassify,
  bench: cmdBench,
  train: cmdTrain,
  eval: cmdEval,
};

/** Runs one command; returns the exit code. Known failures print one line, never a stack trace. */
export async function main(argv: string[], io: CliIO = defaultIO): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || cmd === '--help' || cmd === '-h' || cmd === 'help') {
    io.out(USAGE);
    return cmd === undefined ? 1 : 0;
  }
  const fn = COMMANDS[cmd];
  if (!fn) {
    io.err(`resnet: unknown command '${cmd}' (commands: ${Object.keys(COMMANDS).join(', ')})`);
    return 1;
  }
  try {
    await fn(rest, io);
    return 0;
  } catch (e) {
    if (e instanceof CliError || e instanceof OnnxError || e instanceof ModelError || e instanceof ImageError || e instanceof NpyError || e instanceof ImportError) {
      io.err(`resnet ${cmd}: ${e.message}`);
      return 1;
    }
    if (e instanceof Error && /^unknown model|input has shape|images need/.test(e.message)) {
      io.err(`resnet ${cmd}: ${e.message}`);
      return 1;
    }
    io.err(`resnet ${cmd}: internal error: ${e instanceof Error ? e.message : String(e)}`);
    return 2;
  }
}
