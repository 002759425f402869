import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { parseNpy, serializeNpy } from '../npy';
import { parseOnnx } from '../onnx/read';
import { serializeOnnx } from '../onnx/write';
import { buildModel } from '../zoo/build';
import { zooSpec } from '../zoo/spec';
import { printable } from '../format';
import { main } from './main';
import { packageRoot } from '../models-dir';
import { defaultThreads } from './engines';

const dir = mkdtempSync(join(tmpdir(), 'resnet-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const images = join(packageRoot(), 'src/testdata/images');
/** A zoo model that never ships trained weights, so these tests always see the seeded ones. */
const ZOO_ONLY = 'resnet32';

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('resnet CLI', () => {
  it('models --json lists every zoo model with params and macs', async () => {
    const r = await cli('models', '--json');
    assert.equal(r.code, 0, r.err);
    const rows = JSON.parse(r.out) as { name: string; params: number; macs: number; trained: boolean; trainedOn?: string }[];
    // Shipped trained files are named with what they were trained on; the rest are seeded weights.
    assert.deepEqual(rows.filter((x) => x.trained).map((x) => x.trainedOn), rows.filter((x) => x.trained).map(() => 'Fashion-MNIST 1x28x28'));
    assert.ok(rows.find((x) => x.name === 'resnet20')!.trained);
    assert.equal(rows.find((x) => x.name === ZOO_ONLY)!.trained, false);
    const r18 = rows.find((x) => x.name === 'resnet18')!;
    assert.ok(Math.abs(r18.macs - 1.8e9) / 1.8e9 < 0.05);
    assert.equal(rows.find((x) => x.name === 'plain56')!.params, rows.find((x) => x.name === 'resnet56')!.params);
    assert.equal(rows.length, 17);
  });

  it('info prints the layer table with totals', async () => {
    const r = await cli('info', ZOO_ONLY);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /resnet32: input \[3,32,32\], 10 classes, 464\.2K parameters, 68\.86M multiply-adds \(untrained weights\)/);
    assert.match(r.out, /layer1\.0\.conv1\s+conv 3x3 \+relu\s+\[16,32,32\]\s+2336\s+2359296/);
    assert.match(r.out, /layer2\.0\.conv2\s+conv 3x3 \+residual \+relu\s+\[32,16,16\]/);
    assert.match(r.out, /layer2\.0\.shortcut\.subsample\s+shortcut A\/2\s+\[32,16,16\]\s+-\s+-/);
    assert.match(r.out, /total\s+464154\s+68862592/);
  });

  it('exports an ONNX file with the chosen shortcut, which info then reads', async () => {
    const out = join(dir, 'r20b.onnx');
    const r = await cli('export', 'resnet20', '--shortcut', 'B', '--out', out);
    assert.equal(r.code, 0, r.err);
    const g = parseOnnx(new Uint8Array(readFileSync(out)));
    assert.ok(g.opset >= 13);
    assert.ok(g.nodes.some((n) => n.name === 'layer2.0.downsample.0'));
    const info = await cli('info', out, '--json');
    assert.equal(JSON.parse(info.out).params, 269722 + 16 * 32 + 64 + 32 * 64 + 128);
  });

  it('runs a .npy tensor on both engines with the same result', async () => {
    const x = { shape: [2, 3, 32, 32], data: Float32Array.from({ length: 6144 }, (_, i) => Math.sin(i)) };
    writeFileSync(join(dir, 'x.npy'), serializeNpy(x));
    const outs = [];
    for (const engine of ['ts', 'wasm', 'ort-wasm']) {
      const y = join(dir, `y-${engine}.npy`);
      const r = await cli('run', ZOO_ONLY, '--input', join(dir, 'x.npy'), '--engine', engine, '--out', y);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /output \[2,10\]/);
      outs.push(parseNpy(new Uint8Array(readFileSync(y))));
    }
    const ref = outs.at(-1)!;
    for (const a of outs) {
      assert.deepEqual(a.shape, [2, 10]);
      a.data.forEach((v, i) => assert.ok(Math.abs(v - ref.data[i]!) < 1e-4 * Math.max(...ref.data.map(Math.abs)), `${v} vs ${ref.data[i]}`));
    }
  });

  it('info and run agree with the graph on a model whose output is its pooled features, on every engine', async () => {
    const graph = buildModel(zooSpec(ZOO_ONLY), { name: ZOO_ONLY });
    const pooled = graph.nodes.find((n) => n.op === 'GlobalAveragePool')!.outputs[0]!;
    const model = join(dir, 'features.onnx');
    writeFileSync(model, serializeOnnx({ ...graph, outputs: [{ name: pooled, dtype: 'float32', shape: ['N', 64, 1, 1] }] }));
    const info = await cli('info', model);
    assert.equal(info.code, 0, info.err);
    assert.match(info.out, new RegExp(`output ${pooled} \\[64,1,1\\]`));
    for (const engine of ['ts', 'wasm', 'ort-wasm']) {
      const r = await cli('run', model, '--input', join(dir, 'x.npy'), '--engine', engine);
      assert.equal(r.code, 0, r.err);
      assert.match(r.out, /output \[2,64,1,1\]/, `${engine}: ${r.out}`);
    }
  });

  it('classifies images on both engines, says the weights are untrained, and reports bad images', async () => {
    const args = ['classify', join(images, 'marker.png'), join(images, 'orient-6.jpg'), join(images, 'truncated.jpg'), '--model', ZOO_ONLY, '--top', '3'];
    const top1 = [];
    for (const engine of ['ts', 'wasm', 'ort-wasm']) {
      const r = await cli(...args, '--engine', engine, '--json');
      // Every image is reported, and a failed one makes the exit code 1, saying how many failed.
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, /1 of 3 images could not be read/);
      const res = JSON.parse(r.out) as { image: string; error?: string; trained?: boolean; threads?: number; top?: { label: string; probability: number }[] }[];
      assert.equal(res.length, 3);
      assert.equal(res[0]!.trained, false);
      assert.equal(res[0]!.threads, defaultThreads(), 'several images: every core');
      assert.equal(res[0]!.top!.length, 3);
      assert.match(res[2]!.error!, /truncated\.jpg/);
      top1.push(res.slice(0, 2).map((x) => x.top![0]!.label));
    }
    assert.deepEqual(top1[0], top1[2]);
    assert.deepEqual(top1[1], top1[2]);
    const text = await cli(...args);
    assert.match(text.err, /untrained/);
    assert.match(text.out, /marker\.png\s+\(resnet32, wasm, [\d.]+ ms\)\n\s+[\d.]+%\s+\w+/);
  });

  it('--cam writes where the net looked, over what it saw, for nets ending in GAP + FC; refuses other nets', async () => {
    const camDir = join(dir, 'cams');
    const r = await cli('classify', join(images, 'marker.png'), '--model', 'resnet20', '--cam', camDir, '--json');
    assert.equal(r.code, 0, r.err);
    const [res] = JSON.parse(r.out) as { cam: string; threads: number }[];
    assert.equal(res!.cam, join(camDir, 'marker.cam.png'));
    assert.equal(res!.threads, 1, 'one image: one thread');
    // The shipped net sees 28x28 gray: the overlay is drawn at 8x, in colour (a heat-map over gray).
    const meta = await sharp(readFileSync(res!.cam)).raw().toBuffer({ resolveWithObject: true });
    assert.deepEqual([meta.info.width, meta.info.height, meta.info.channels], [224, 224, 4]);
    let coloured = 0;
    for (let i = 0; i < meta.data.length; i += 4) if (meta.data[i] !== meta.data[i + 1] || meta.data[i + 1] !== meta.data[i + 2]) coloured++;
    assert.ok(coloured > 224 * 224 * 0.5, `${coloured} coloured pixels`);
    const graph = buildModel(zooSpec(ZOO_ONLY), { name: ZOO_ONLY });
    const headless = join(dir, 'headless.onnx');
    writeFileSync(headless, serializeOnnx({ ...graph, outputs: [{ name: graph.nodes.find((n) => n.op === 'GlobalAveragePool')!.inputs[0]!, dtype: 'float32', shape: ['N', 64, 8, 8] }] }));
    const bad = await cli('classify', join(images, 'marker.png'), '--model', headless, '--cam', camDir);
    assert.equal(bad.code, 1);
    assert.match(bad.err, /--cam needs a net that ends in global average pooling/);
  });

  it('refuses an output it cannot write with one line and exit 1, leaving no partial file (issue 14.4)', async () => {
    const x = join(dir, 'x1.npy');
    writeFileSync(x, serializeNpy({ shape: [1, 3, 32, 32], data: new Float32Array(3072) }));
    const cases: [string[], RegExp][] = [
      [['run', ZOO_ONLY, '--input', x, '--out', join(dir, 'no-such-folder', 'y.npy')], /cannot write .*y\.npy: its folder does not exist/],
      [['run', ZOO_ONLY, '--input', x, '--out', dir], /cannot write .*: it is a folder/],
      [['export', 'resnet20', '--seed', '1', '--out', join(dir, 'no-such-folder', 'r.onnx')], /cannot write .*r\.onnx: its folder does not exist/],
      [['classify', join(images, 'marker.png'), '--model', ZOO_ONLY, '--cam', join(x, 'cams')], /cannot make the folder .*cams/],
    ];
    for (const [argv, re] of cases) {
      const r = await cli(...argv);
      assert.equal(r.code, 1, `${argv.join(' ')}: ${r.err}`);
      assert.equal(r.err.trim().split('\n').at(-1)!.match(re)?.length, 1, `${argv.join(' ')}: ${r.err}`);
    }
    assert.deepEqual(readdirSync(dir).filter((f) => f.includes('.tmp-')), []);
  });

  it('shows control characters in messages as \\xNN and cuts long ones', () => {
    assert.equal(printable('dtype \u001b[31mred\u0007'), 'dtype \\x1b[31mred\\x07');
    const long = printable('x'.repeat(100_000));
    assert.ok(long.length < 600 && long.endsWith('(99500 more characters)'), long.slice(-40));
  });

  it('gives one line and exit 1 for bad arguments and files, never a stack trace', async () => {
    writeFileSync(join(dir, 'junk.onnx'), '<html><body>not a model</body></html>');
    writeFileSync(join(dir, 'bad.npy'), 'nope');
    writeFileSync(join(dir, 'wrong-shape.npy'), serializeNpy({ shape: [1, 3, 8, 8], data: new Float32Array(192) }));
    const cases: [string[], RegExp][] = [
      [['export', 'resnet99'], /unknown model 'resnet99'/],
      [['export', 'resnet20', '--shortcut', 'D'], /--shortcut must be one of A, B, C/],
      [['info', join(dir, 'missing.onnx')], /missing\.onnx: no such file/],
      [['info', join(dir, 'junk.onnx')], /HTML/i],
      [['run', 'resnet20', '--input', join(dir, 'bad.npy')], /bad\.npy/],
      [['run', 'resnet20', '--input', join(dir, 'nothing.npy')], /nothing\.npy: no such file/],
      // Unbounded or blocking inputs are refused before any read (issue 14.2).
      [['run', 'resnet20', '--input', '/dev/zero'], /\/dev\/zero: not a regular file \(a character device\)/],
      [['info', '/dev/urandom'], /\/dev\/urandom: not a regular file/],
      [['run', ZOO_ONLY, '--input', join(dir, 'wrong-shape.npy')], /input has shape \[1,3,8,8\], the model expects \[N,3,32,32\]/],
      [['classify', join(images, 'not-an-image.jpg'), '--model', 'resnet20'], /not-an-image\.jpg/],
      [['classify', join(images, 'marker.png'), '--model', 'resnet20', '--engine', 'gpu'], /--engine must be one of/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['models', '--colour'], /Unknown option '--colour'/],
    ];
    for (const [argv, pattern] of cases) {
      const r = await cli(...argv);
      assert.equal(r.code, 1, `${argv.join(' ')}: exit ${r.code}, ${r.err}`);
      assert.match(r.err, pattern, argv.join(' '));
      assert.equal(r.err.split('\n').filter((l) => l.startsWith('resnet')).length, 1, r.err);
      assert.doesNotMatch(r.err, /\n\s+at /);
    }
  });

  it('runs as the installed bin with exit codes', { skip: !existsDist() && 'dist/cli.js is not built (npm run build)' }, () => {
    const bin = join(packageRoot(), 'bin/resnet.js');
    const ok = spawnSync(process.execPath, [bin, 'models'], { encoding: 'utf8' });
    assert.equal(ok.status, 0, ok.stderr);
    assert.match(ok.stdout, /resnet152\s+imagenet\s+152\s+bottleneck\s+B\s+60\.19M\s+11\.28G/);
    const bad = spawnSync(process.execPath, [bin, 'info', 'nowhere.onnx'], { encoding: 'utf8' });
    assert.equal(bad.status, 1);
    assert.equal(bad.stderr.trim().split('\n').length, 1, bad.stderr);
  });
});

function existsDist(): boolean {
  try {
    readFileSync(join(packageRoot(), 'dist/cli.js'));
    return true;
  } catch {
    return false;
  }
}
