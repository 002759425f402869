// `resnet classify`: images through a model, top-K classes each.
import { basename } from 'node:path';
import { topK } from '../../engine/classify';
import { type EngineName, loadModel } from '../../engine/session';
import { preprocessSpecFor } from '../../preprocess/for-model';
import { decodeImageFile, ImageError } from '../../preprocess/sharp';
import { CliError, choice, intOption, parse } from '../args';
import type { Command } from '../command';
import { CLI_ENGINES, DEFAULT_ENGINE, defaultThreads, untrainedNote } from '../engines';
import { modelBytes } from '../models';

export const classify: Command = {
  name: 'classify',
  usage: `classify IMAGE... --model NAME|FILE.onnx [--engine ${CLI_ENGINES.join('|')}] [--top K] [--json] [--threads N]`,
  async run(argv, io) {
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
        let decoded: Awaited<ReturnType<typeof decodeImageFile>>;
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
  },
};
