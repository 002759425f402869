// Telling images, checkpoints and ONNX models apart by their bytes, on real files of every kind.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { SNIFF_BYTES, sniffFileKind } from './file-kind';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const kindOf = (path: string, name = path.split('/').pop()!): string => {
  const bytes = new Uint8Array(readFileSync(path));
  return sniffFileKind(bytes.subarray(0, SNIFF_BYTES), bytes.length, name);
};

describe('sniffFileKind', () => {
  it('reads every image fixture as an image, whatever it is called', () => {
    for (const f of ['marker.png', 'marker.webp', 'marker.avif', 'marker.tiff', 'cmyk.jpg', 'animated.gif', 'rgb16.png']) {
      const p = join(ROOT, 'src', 'testdata', 'images', f);
      assert.equal(kindOf(p), 'image', f);
      assert.equal(kindOf(p, 'renamed.onnx'), 'image', `${f} renamed .onnx`);
      assert.equal(kindOf(p, 'renamed.pth'), 'image', `${f} renamed .pth`);
    }
  });

  it('reads every checkpoint fixture (zip, legacy pickle, safetensors) as a checkpoint, renamed too', () => {
    const dir = join(ROOT, 'src', 'import', 'testdata');
    const files = readdirSync(dir).filter((f) => /\.(pt|pth\.tar|safetensors)$/.test(f) && !f.startsWith('bad-'));
    assert.ok(files.length >= 10);
    for (const f of files) {
      assert.equal(kindOf(join(dir, f)), 'checkpoint', f);
      assert.equal(kindOf(join(dir, f), 'photo.jpg'), 'checkpoint', `${f} renamed .jpg`);
    }
  });

  it('reads ONNX models as ONNX, renamed too', () => {
    for (const f of ['resnet20.onnx', 'plain56.onnx']) {
      assert.equal(kindOf(join(ROOT, 'models', f)), 'onnx', f);
      assert.equal(kindOf(join(ROOT, 'models', f), 'weights.bin'), 'onnx', `${f} renamed .bin`);
    }
  });

  it('goes by the name only for content it does not know', () => {
    const junk = join(ROOT, 'e2e', 'fixtures', 'garbage.onnx');
    assert.equal(kindOf(junk), 'onnx');
    assert.equal(kindOf(junk, 'garbage.pth'), 'checkpoint');
    assert.equal(kindOf(junk, 'garbage.jpg'), 'image');
    assert.equal(kindOf(join(ROOT, 'e2e', 'fixtures', 'notes.txt')), 'image');
    assert.equal(sniffFileKind(new Uint8Array(0), 0, 'empty.png'), 'image');
  });
});
