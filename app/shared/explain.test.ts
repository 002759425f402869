import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { importCheckpoint } from '../../src/import/index';
import { parseOnnx } from '../../src/onnx/read';
import { explainProblem } from './explain';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const messageOf = (f: () => unknown): string => {
  try {
    f();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('no error');
};

describe('explainProblem', () => {
  it('puts ONNX reader messages in words, keeping the message as the detail', () => {
    const junk = messageOf(() => parseOnnx(new Uint8Array(readFileSync(join(ROOT, 'e2e', 'fixtures', 'garbage.onnx')))));
    assert.deepEqual(explainProblem(junk, 'onnx'), { summary: 'It is not an ONNX model, or the file is damaged.', detail: junk });
    const model = new Uint8Array(readFileSync(join(ROOT, 'models', 'resnet20.onnx')));
    const cut = messageOf(() => parseOnnx(model.subarray(0, 5000)));
    assert.equal(explainProblem(cut, 'onnx').summary, 'The file is damaged or cut short.');
    assert.equal(explainProblem("unsupported op 'Erf' (node 'relu'); supported: Conv, ...", 'onnx').summary, 'It uses an operation this app cannot run yet (Erf).');
    const html = messageOf(() => parseOnnx(new TextEncoder().encode('<!doctype html><html></html>')));
    assert.match(explainProblem(html, 'onnx').summary, /^It is not an ONNX model: it looks like an HTML or XML document/);
  });

  it('explains every broken checkpoint fixture without jargon, the reader\'s message behind it', () => {
    const dir = join(ROOT, 'src', 'import', 'testdata');
    const seen = new Set<string>();
    for (const f of readdirSync(dir).filter((n) => n.startsWith('bad-'))) {
      const raw = messageOf(() => importCheckpoint(new Uint8Array(readFileSync(join(dir, f)))));
      const e = explainProblem(raw, 'checkpoint');
      assert.notEqual(e.summary, 'This app cannot import it.', `${f}: ${raw} has a rule`);
      assert.equal(e.detail, raw);
      assert.doesNotMatch(e.summary, /\[|'|dtype|storage|zip/, `${f}: ${e.summary}`);
      seen.add(e.summary);
    }
    assert.ok(seen.size >= 4, [...seen].join(' | '));
  });

  it('leaves image messages (already plain) and unknown model messages (shown behind a generic sentence) alone', () => {
    assert.deepEqual(explainProblem('a.jpg: not an image', 'image'), { summary: 'a.jpg: not an image' });
    assert.deepEqual(explainProblem('something new', 'model'), { summary: 'This app cannot use it.', detail: 'something new' });
  });
});
