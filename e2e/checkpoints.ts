// Checkpoints for the e2e tests, made from the importer's fixtures (src/import/testdata, saved by PyTorch):
// basic.pt as it is (10 numbered classes), and the same tiny torchvision-layout ResNet with a 1000-class
// classifier as safetensors, which the app labels with ImageNet's classes. Seeded, so runs repeat.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSafetensors } from '../src/import/safetensors';
import { tensorToFloat32 } from '../src/import/tensor';
import { ROOT } from './harness';

const TESTDATA = join(ROOT, 'src', 'import', 'testdata');

/** A safetensors file of float32 tensors (header padded to 8 bytes, as the format's writer does). */
function writeSafetensors(tensors: ReadonlyMap<string, { shape: readonly number[]; data: Float32Array }>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8);
  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(new TextEncoder().encode(json), 8);
  let at = 8 + json.length;
  for (const t of tensors.values()) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/** The importer's basic.pt: a torch.save zip of a tiny ResNet (basic blocks 2-1-1-1, 10 classes). */
export function basicCheckpoint(): { name: string; bytes: Uint8Array } {
  return { name: 'basic.pt', bytes: new Uint8Array(readFileSync(join(TESTDATA, 'basic.pt'))) };
}

/** The same net with a seeded 1000-way classifier, as safetensors: an "ImageNet ResNet" small enough for every engine. */
export function imagenetCheckpoint(): { name: string; bytes: Uint8Array } {
  const src = readSafetensors(new Uint8Array(readFileSync(join(TESTDATA, 'basic.safetensors'))));
  const tensors = new Map<string, { shape: readonly number[]; data: Float32Array }>();
  for (const [name, t] of src) {
    if (t.dtype !== 'float32') continue; // num_batches_tracked (int64): not needed
    tensors.set(name, { shape: t.shape, data: tensorToFloat32(t, name) });
  }
  const features = tensors.get('fc.weight')!.shape[1]!;
  let x = 20240611;
  const rand = (): number => {
    x = (x * 1103515245 + 12345) >>> 0;
    return (x / 2 ** 32 - 0.5) * 0.5;
  };
  tensors.set('fc.weight', { shape: [1000, features], data: Float32Array.from({ length: 1000 * features }, rand) });
  tensors.set('fc.bias', { shape: [1000], data: Float32Array.from({ length: 1000 }, rand) });
  return { name: 'tiny-imagenet-resnet.safetensors', bytes: writeSafetensors(tensors) };
}

/** A checkpoint cut short: the importer refuses it in one line. */
export function truncatedCheckpoint(): { name: string; bytes: Uint8Array } {
  return { name: 'broken.pth', bytes: new Uint8Array(readFileSync(join(TESTDATA, 'bad-truncated.pt'))) };
}
