// `resnet import` and checkpoints given to --model, on the fixtures PyTorch wrote (src/import/testdata).
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { parseMeta } from '../model-meta';
import { parseOnnx } from '../onnx/read';
import { main } from './main';
import { packageRoot } from '../models-dir';

const dir = mkdtempSync(join(tmpdir(), 'resnet-import-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const fixtures = join(packageRoot(), 'src/import/testdata');
const fixture = (name: string): string => join(fixtures, name);
const image = join(packageRoot(), 'src/testdata/images/marker.png');

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('resnet import', () => {
  it('writes an ONNX file with the checkpoint\'s weights, labels and metadata, and says what it read', async () => {
    const out = join(dir, 'wrapped.onnx');
    const labels = join(dir, 'labels.txt');
    writeFileSync(labels, `${Array.from({ length: 10 }, (_, i) => `thing ${i}`).join('\n')}\n`);
    const r = await cli('import', fixture('basic-wrapped.pth.tar'), '--out', out, '--labels', labels, '--name', 'tiny');
    assert.equal(r.code, 0, r.err);
    const lines = r.out.split('\n');
    assert.equal(lines.length, 4, r.out);
    assert.match(lines[0]!, /^read basic-wrapped\.pth\.tar: torch\.save zip, 72 tensors \(float16\), under 'state_dict', 'module\.' prefix removed \(14 num_batches_tracked ignored\)$/);
    assert.match(lines[1]!, /^architecture: ResNet with basic blocks 2-1-1-1, stem 4, widths 4\/8\/16\/32 \(no torchvision name\), 10 classes, input 3x224x224$/);
    assert.match(lines[2]!, /^labels: 10 from .*labels\.txt; preprocessing: resize 256, centre crop 224, ImageNet mean\/std$/);
    assert.match(lines[3]!, /^wrote .*wrapped\.onnx \([\d.]+ MB, 20\.7K parameters, 11\.29M multiply-adds\) in [\d.]+ s$/);
    const g = parseOnnx(new Uint8Array(readFileSync(out)));
    const meta = parseMeta(g.metadata)!;
    assert.equal(meta.name, 'tiny');
    assert.equal(meta.trained, true);
    assert.equal(meta.labels[3], 'thing 3');
    assert.equal(meta.resize, 256);
    assert.equal(meta.source, 'basic-wrapped.pth.tar (torch.save zip, ResNet with basic blocks 2-1-1-1, stem 4, widths 4/8/16/32)');
    // The file runs like any other model: info reads it, and it says nothing about untrained weights.
    const info = await cli('info', out);
    assert.equal(info.code, 0, info.err);
    assert.match(info.out, /^tiny: input \[3,224,224\], 10 classes, 20\.7K parameters, 11\.29M multiply-adds$/m);
  });

  it('classifies with a checkpoint as --model, converted in memory, told by content not extension', async () => {
    const renamed = join(dir, 'weights.onnx');
    copyFileSync(fixture('bottleneck.pt'), renamed);
    for (const model of [fixture('bottleneck.pt'), renamed, fixture('wide.safetensors')]) {
      const r = await cli('classify', image, '--model', model, '--top', '2', '--engine', 'ts', '--json');
      assert.equal(r.code, 0, `${model}: ${r.err}`);
      const [res] = JSON.parse(r.out) as { trained: boolean; top: { label: string }[] }[];
      assert.equal(res!.trained, true);
      assert.match(res!.top[0]!.label, /^class \d$/);
    }
    assert.ok(!existsSync(join(dir, 'bottleneck.onnx')));
  });

  it('gives one line and exit 1 for bad checkpoints and arguments', async () => {
    const cases: [string[], RegExp][] = [
      [['import', fixture('bad-os-system.pt'), '--out', join(dir, 'x.onnx')], /^resnet import: checkpoint refers to 'posix\.system', which a weights-only load does not allow$/],
      [['import', fixture('bad-huge.pt'), '--out', join(dir, 'x.onnx')], /declares 1250000000 float64 elements/],
      [['import', fixture('bad-truncated.pt'), '--out', join(dir, 'x.onnx')], /truncated or corrupt/],
      [['import', fixture('basic.pt'), '--out', join(dir, 'x.onnx'), '--arch', 'resnet50'], /'conv1\.weight' has shape \[4, 3, 7, 7\], where resnet50 needs \[64, 3, 7, 7\]/],
      [['import', fixture('basic.pt'), '--out', join(dir, 'x.onnx'), '--labels', 'imagenet'], /ImageNet labels need 1000 classes/],
      [['import', fixture('input.npy'), '--out', join(dir, 'x.onnx')], /not a PyTorch checkpoint/],
      [['import', fixtures, '--out', join(dir, 'x.onnx')], /testdata: not a regular file/],
      [['import', join(dir, 'nowhere.pt')], /nowhere\.pt: no such file/],
      [['import'], /import takes one checkpoint/],
      [['import', fixture('basic.pt'), '--out', fixture('basic.pt')], /would overwrite the checkpoint/],
      [['classify', image, '--model', fixture('bad-missing-key.pt')], /^resnet classify: missing 'layer2\.0\.bn1\.running_var'/],
    ];
    for (const [argv, pattern] of cases) {
      const r = await cli(...argv);
      assert.equal(r.code, 1, `${argv.join(' ')}: exit ${r.code}, ${r.err}`);
      assert.match(r.err, pattern, argv.join(' '));
      assert.equal(r.err.split('\n').length, 1, r.err);
    }
    assert.ok(!existsSync(join(dir, 'x.onnx')));
  });
});
