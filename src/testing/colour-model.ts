// Test fixtures for folder training and evaluation whose answers can be worked out by hand: a tiny classifier
// (global average pooling + an identity fully-connected layer: the class is the image's strongest colour
// channel) and folders of plain-coloured images. Node only (sharp).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { f32, type Graph, int } from '../graph/ir';
import { META_KEY, type ModelMeta } from '../model-meta';
import { serializeOnnx } from '../onnx/write';

export const COLOURS = ['red', 'green', 'blue'] as const;

/** [C=3,8,8] -> mean of each channel -> logits = 10 x means: predicts the image's dominant colour. */
export function colourModel(): Uint8Array {
  const weight = new Float32Array(9);
  for (let k = 0; k < 3; k++) weight[k * 3 + k] = 10;
  const meta: ModelMeta = { name: 'colours', input: [3, 8, 8], mean: [0, 0, 0], std: [1, 1, 1], labels: [...COLOURS], trained: true };
  const graph: Graph = {
    name: 'colours', opset: 13,
    inputs: [{ name: 'input', dtype: 'float32', shape: ['N', 3, 8, 8] }],
    outputs: [{ name: 'logits', dtype: 'float32', shape: ['N', 3] }],
    nodes: [
      { op: 'GlobalAveragePool', name: 'pool', inputs: ['input'], outputs: ['pooled'], attrs: {} },
      { op: 'Flatten', name: 'flatten', inputs: ['pooled'], outputs: ['flat'], attrs: { axis: int(1) } },
      { op: 'Gemm', name: 'fc', inputs: ['flat', 'fc.weight', 'fc.bias'], outputs: ['logits'], attrs: { transB: int(1) } },
    ],
    initializers: new Map([['fc.weight', f32([3, 3], weight)], ['fc.bias', f32([3], new Float32Array(3))]]),
    metadata: { [META_KEY]: JSON.stringify(meta) },
  };
  return serializeOnnx(graph);
}

/** An RGB colour, mostly one channel, a little of the others (varied by i). */
export function colourOf(name: (typeof COLOURS)[number], i: number): [number, number, number] {
  const rgb: [number, number, number] = [20 + ((i * 37) % 60), 20 + ((i * 53) % 60), 20 + ((i * 71) % 60)];
  rgb[COLOURS.indexOf(name)] = 160 + ((i * 29) % 90);
  return rgb;
}

/** Writes a w x h PNG of one colour. */
export async function writeColourImage(path: string, rgb: readonly [number, number, number], size = 12): Promise<void> {
  const px = Buffer.alloc(size * size * 3);
  for (let p = 0; p < size * size; p++) px.set(rgb, p * 3);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, await sharp(px, { raw: { width: size, height: size, channels: 3 } }).png().toBuffer());
}
