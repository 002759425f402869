// `resnet classify`: images through a model, top-K classes each; with --cam, where the net looked.
import { basename, extname, join } from 'node:path';
import type { Tensor } from '../../../kernels/core/tensor';
import { argmax, type CamHead, classActivationMap, findCamHead, overlayHeatmap, resizeMap } from '../../analysis/cam';
import { topK } from '../../engine/classify';
import { printable } from '../../format';
import { type EngineName, loadModel } from '../../engine/session';
import { parseOnnx } from '../../onnx/read';
import { preprocessSpecFor } from '../../preprocess/for-model';
import { type PreprocessSpec, tensorToPixels } from '../../preprocess/normalize';
import { decodeImageFile, ImageError, sharp } from '../../preprocess/sharp';
import { ensureUserFolder, writeUserFile } from '../../write-file';
import { CliError, choice, intOption, parse } from '../args';
import type { Command } from '../command';
import { CLI_ENGINES, DEFAULT_ENGINE, defaultThreads, untrainedNote } from '../engines';
import { modelSource } from '../models';

export const classify: Command = {
  name: 'classify',
  usage: `classify IMAGE... --model NAME|FILE.onnx [--engine ${CLI_ENGINES.join('|')}] [--top K] [--json] [--threads N] [--cam DIR]`,
  async run(argv, io) {
    const { values, positionals } = parse(argv, {
      model: { type: 'string' }, engine: { type: 'string' }, top: { type: 'string' }, json: { type: 'boolean' }, threads: { type: 'string' },
      cam: { type: 'string' },
    });
    if (positionals.length === 0) throw new CliError('classify needs at least one image: resnet classify IMAGE... --model NAME|FILE.onnx');
    if (typeof values['model'] !== 'string') throw new CliError('classify needs --model NAME|FILE.onnx');
    const engine: EngineName = choice(values['engine'], 'engine', CLI_ENGINES, DEFAULT_ENGINE);
    const top = intOption(values['top'], 'top', 1, 1000, 5);
    // One image runs on one thread unless asked: the worker a second thread needs costs about 10 MB of
    // resident memory, for about 0.1 s less on a ResNet-50 (README: `resnet classify`).
    const threads = intOption(values['threads'], 'threads', 1, 64, positionals.length === 1 ? 1 : defaultThreads());
    const camDir = typeof values['cam'] === 'string' ? values['cam'] : undefined;
    // An .onnx file is read layer by layer as the engine packs it, not held whole (models.ts: modelSource).
    const source = modelSource(values['model']);
    let session: Awaited<ReturnType<typeof loadModel>>;
    let head: CamHead | null;
    try {
      head = camDir === undefined ? null : findCamHead(parseOnnx(source.model));
      if (camDir !== undefined && !head) throw new CliError(`--cam needs a net that ends in global average pooling and one fully-connected layer; ${values['model']} does not`);
      if (camDir !== undefined) ensureUserFolder(camDir);
      session = await loadModel(source.model, { engine, threads, ...(head && { extraOutputs: [head.features] }) });
    } catch (e) {
      source.close();
      throw e;
    }
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
          io.err(printable(e.message));
          if (values['json']) results.push({ image: path, error: e.message });
          continue;
        }
        const r = await session.run(decoded.tensor);
        const best = topK(r.probs, 0, top, session.info.labels);
        const cam = camDir !== undefined && head ? join(camDir, `${basename(path, extname(path))}.cam.png`) : undefined;
        if (cam && head) await writeCamOverlay(cam, decoded.tensor, r.outputs.at(-1)!, head, argmax(r.probs.data), spec);
        if (values['json']) {
          results.push({ image: path, model: session.info.name, engine, threads, trained: session.info.trained, ms: r.ms, top: best, ...(cam && { cam }) });
        } else {
          io.out(`${basename(path)}  (${session.info.name}, ${engine}, ${r.ms.toFixed(1)} ms)`);
          for (const c of best) io.out(`  ${(c.probability * 100).toFixed(2).padStart(6)}%  ${c.label}`);
          if (cam) io.out(`  where it looked for ${best[0]!.label}: ${cam}`);
        }
      }
    } finally {
      await session.dispose();
      source.close();
    }
    if (values['json']) io.out(JSON.stringify(results, null, 2));
    const n = positionals.length;
    if (failures > 0) throw new CliError(n === 1 ? 'the image could not be read' : `${failures} of ${n} images could not be read`);
  },
};

/** Smallest side of a written heat-map: a 28x28 input is drawn 8x, so the map is legible. */
const CAM_MIN_SIDE = 224;

/** The class's activation map over what the net saw (its input, denormalised), as a PNG. */
async function writeCamOverlay(path: string, input: Tensor, features: Tensor, head: CamHead, cls: number, spec: PreprocessSpec): Promise<void> {
  const [, , h, w] = features.shape as [number, number, number, number];
  const [, , H, W] = input.shape as [number, number, number, number];
  const map = resizeMap(classActivationMap(features, head, cls), h, w, H, W);
  const rgba = overlayHeatmap(tensorToPixels(input, spec), map, H, W);
  const scale = Math.max(1, Math.ceil(CAM_MIN_SIDE / Math.min(H, W)));
  const png = await sharp(Buffer.from(rgba.buffer, rgba.byteOffset, rgba.byteLength), { raw: { width: W, height: H, channels: 4 } })
    .resize(W * scale, H * scale, { kernel: 'nearest' })
    .png()
    .toBuffer();
  writeUserFile(path, png);
}
