// The importer against PyTorch itself: fixtures written by torch.save (zip and legacy) and by the
// safetensors layout (src/import/testdata/make-fixtures.py), imported, run on our engines and ONNX
// Runtime, and compared with PyTorch's logits; hostile and broken files refused in one line; every
// torchvision ResNet's real key layout read as its name and asked for, key by key, by our builder.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'fflate';
import { compileGraph } from '../engine/compile';
import { loadModel, modelInfo, type EngineName } from '../engine/session';
import { parseMeta } from '../model-meta';
import { parseNpy } from '../npy';
import { serializeOnnx } from '../onnx/write';
import { preprocessSpecFor } from '../preprocess/for-model';
import { maxAbs, maxAbsDiff } from '../../kernels/core/tensor';
import { buildModel } from '../zoo/build';
import { readStateDict, sniffCheckpoint, type StateDict } from './checkpoint';
import { ImportError } from './error';
import {
  archSpec, importCheckpoint, importStateDict, inferResnetArch, parseLabels, torchvisionName,
} from './index';
import { bfloat16ToFloat, type CheckpointTensor, contiguousStrides, halfToFloat, tensorToFloat32 } from './tensor';
import imagenetLabels from '../../models/labels/imagenet.json';

const DIR = join(dirname(fileURLToPath(import.meta.url)), 'testdata');
const read = (name: string): Uint8Array => new Uint8Array(readFileSync(join(DIR, name)));

interface Fixture {
  readonly logits: string;
  readonly arch: { block: string; stages: number[]; stem: number; widths: number[]; innerWidths: number[]; classes: number };
  readonly format: string;
  readonly dtypes: string[];
  readonly entry: string;
  readonly dataParallel: boolean;
}
const FIXTURES = JSON.parse(new TextDecoder().decode(read('fixtures.json'))) as Record<string, Fixture>;
/** The fixtures are tiny ImageNet-layout nets; PyTorch ran them on 1x3x32x32. */
const INPUT_SIZE = 32;
/** ONNX Runtime too, for one file of each container. */
const ORT_TOO = new Set(['basic.pt', 'basic-legacy.pt', 'wide.safetensors', 'bottleneck.pt']);

function expectImportError(f: () => unknown, pattern: RegExp, what: string): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof ImportError, `${what}: threw ${String(e)}, not an ImportError`);
    assert.match(e.message, pattern, what);
    assert.ok(!e.message.includes('\n'), `${what}: message has more than one line`);
    return true;
  });
}

describe('importing PyTorch checkpoints: our logits match PyTorch\'s', () => {
  const input = parseNpy(read('input.npy'));
  for (const [file, fx] of Object.entries(FIXTURES)) {
    it(`${file} (${fx.format}, ${fx.dtypes.join('/')})`, async () => {
      const m = importCheckpoint(read(file), { inputSize: INPUT_SIZE });
      assert.equal(m.format, fx.format);
      assert.equal(m.entry, fx.entry);
      assert.equal(m.dataParallel, fx.dataParallel);
      assert.deepEqual(m.dtypes, fx.dtypes);
      const { block, stages, stem, widths, innerWidths, classes } = m.arch;
      assert.deepEqual({ block, stages, stem, widths, innerWidths, classes }, fx.arch);
      assert.ok(m.ignored.every((k) => k.endsWith('num_batches_tracked')), m.ignored.join(', '));

      const bytes = serializeOnnx(m.graph);
      const want = parseNpy(read(fx.logits));
      const scale = maxAbs(want.data);
      const engines: EngineName[] = ORT_TOO.has(file) ? ['ts', 'wasm', 'ort-wasm'] : ['ts', 'wasm'];
      for (const engine of engines) {
        const session = await loadModel(bytes, { engine, threads: 1 });
        try {
          const got = (await session.run(input)).output;
          assert.deepEqual(got.shape, want.shape);
          const rel = maxAbsDiff(got, want) / scale;
          assert.ok(rel <= 1e-4, `${file} on ${engine}: differs from PyTorch by ${rel.toExponential(2)} of the largest logit ${scale}`);
        } finally {
          await session.dispose();
        }
      }
    });
  }
});

describe('refusing broken and hostile checkpoints with one line', () => {
  const cases: [string, RegExp][] = [
    ['bad-os-system.pt', /^checkpoint refers to 'posix\.system', which a weights-only load does not allow$/],
    ['bad-os-system-legacy.pt', /^checkpoint refers to 'posix\.system', which a weights-only load does not allow$/],
    ['bad-truncated.pt', /zip archive is truncated or corrupt/],
    ['bad-huge.pt', /storage 'data\/0' declares 1250000000 float64 elements \(10000000000 bytes\), but its record has 16 bytes/],
    ['bad-huge-legacy.pt', /storage '0' declares 1250000000 float64 elements \(10000000000 bytes\), but only 16 bytes remain/],
    ['bad-huge.safetensors', /'conv1\.weight': data_offsets \[0, 10000000000\] reach past the 16 data bytes/],
    ['bad-missing-key.pt', /^missing 'layer2\.0\.bn1\.running_var': .* needs a \[4\] tensor there$/],
    ['bad-wrong-shape.pt', /^'fc\.bias' has shape \[9\], where .* needs \[10\]$/],
    ['bad-complex.pt', /^'conv1\.weight' has dtype complex64: only float32, float16, bfloat16 and float64/],
    ['bad-unknown-dtype.safetensors', /tensor 'conv1\.weight' has dtype 'Q4', which is not a safetensors dtype we know/],
  ];
  for (const [file, pattern] of cases) {
    it(file, () => {
      const bytes = read(file);
      const t0 = performance.now();
      expectImportError(() => importCheckpoint(bytes), pattern, file);
      // Refused from the declared sizes, not after trying to allocate them.
      assert.ok(performance.now() - t0 < 2000, `${file} took ${performance.now() - t0} ms to refuse`);
    });
  }

  it('a whole pickled model, by name, with what to save instead', () => {
    const pickle = [0x80, 0x02, ...global('torchvision.models.resnet', 'ResNet'), 0x29, 0x81, 0x2e]; // GLOBAL, EMPTY_TUPLE, NEWOBJ, STOP
    expectImportError(() => readStateDict(legacyFile(pickle)), /'torchvision\.models\.resnet\.ResNet'.*save model\.state_dict\(\) instead/, 'whole model');
  });

  it('every opcode and global outside the whitelist, without executing anything', () => {
    const cases: [number[], RegExp][] = [
      // Protocol 4's STACK_GLOBAL naming builtins.exec, then REDUCE: refused at the name.
      [[0x80, 0x04, ...shortUnicode('builtins'), ...shortUnicode('exec'), 0x93, ...shortUnicode('x'), 0x85, 0x52, 0x2e], /'builtins\.exec'/],
      [[0x80, 0x02, 0x69, ...ascii('os\nsystem\n'), 0x2e], /opcode INST is not one torch\.save writes/],
      [[0x80, 0x02, 0x58, 0xff, 0xff, 0xff, 0x7f, 0x41], /pickle is truncated/],
      [[0x80, 0x02, 0x68, 0x05, 0x2e], /memo entry 5 is read before it is written/],
      [[0x80, 0x02, 0x52, 0x2e], /stack is empty/],
      [[0x80, 0x02, ...global('collections', 'OrderedDict'), 0x29, 0x52, 0x4b, 0x01, 0x61, 0x2e], /APPEND to something that is not a list/],
      [[0x80, 0x02, ...global('torch', 'FloatStorage'), 0x29, 0x52, 0x2e], /torch\.FloatStorage cannot be called/],
      [[0x80, 0x02, 0xff], /byte 0xff is not a pickle opcode/],
    ];
    for (const [pickle, pattern] of cases) expectImportError(() => readStateDict(legacyFile(pickle)), pattern, pattern.source);
  });

  it('files that are not checkpoints, and a dict without a state dict', () => {
    expectImportError(() => readStateDict(new TextEncoder().encode('{"not": "a checkpoint"}')), /not a PyTorch checkpoint/, 'json');
    expectImportError(() => readStateDict(Uint8Array.of(0x80, 0x02, 0x4b, 0x01, 0x2e)), /not a torch\.save file/, 'plain pickle');
    const noTensors = [0x80, 0x02, 0x7d, ...shortUnicode('epoch'), 0x4b, 0x07, 0x73, 0x2e]; // {'epoch': 7}
    expectImportError(() => readStateDict(legacyFile(noTensors)), /no state dict in the checkpoint: it is a dict with keys epoch/, 'no tensors');
  });

  it('a tensor whose strides reach past its storage, before allocating it', () => {
    const t: CheckpointTensor = {
      dtype: 'float32', shape: [1000, 1000], strides: [1000, 1], offset: 0,
      storage: { bigEndian: false, bytes: () => new Uint8Array(64) },
    };
    expectImportError(() => tensorToFloat32(t, "'x'"), /reach element 999999, but its storage has 16/, 'strides');
  });
});

describe('telling checkpoint files apart by content', () => {
  it('zip, legacy pickle and safetensors whatever the extension; ONNX and text are not checkpoints', () => {
    for (const [file, fx] of Object.entries(FIXTURES)) assert.equal(sniffCheckpoint(read(file)), fx.format, file);
    const onnx = serializeOnnx(buildModel(archSpec(importCheckpoint(read('basic.pt')).arch, 32), { name: 'x', init: 'zeros' }));
    assert.equal(sniffCheckpoint(onnx), undefined);
    assert.equal(sniffCheckpoint(new TextEncoder().encode('<html></html>')), undefined);
    // The first 16 bytes and the file size are enough (the CLI sniffs before reading a whole file).
    const st = read('basic.safetensors');
    assert.equal(sniffCheckpoint(st.subarray(0, 16), st.length), 'safetensors');
  });
});

describe('element conversion', () => {
  it('float64 narrows, and strides and offsets pick the right elements', () => {
    // A 2x3 float64 tensor stored transposed (strides [1, 2]) after one element of padding (offset 1).
    const stored = new Float64Array([99, 0, 3, 1, 4, 2, 5]);
    const t: CheckpointTensor = {
      dtype: 'float64', shape: [2, 3], strides: [1, 2], offset: 1,
      storage: { bigEndian: false, bytes: () => new Uint8Array(stored.buffer) },
    };
    assert.deepEqual([...tensorToFloat32(t, "'t'")], [0, 1, 2, 3, 4, 5]);
  });

  it('float16 and bfloat16 widen exactly, subnormals, infinities and NaN included', () => {
    assert.equal(halfToFloat(0x3c00), 1);
    assert.equal(halfToFloat(0xc000), -2);
    assert.equal(halfToFloat(0x7bff), 65504);
    assert.equal(halfToFloat(0x0001), 2 ** -24);
    assert.equal(halfToFloat(0x7c00), Infinity);
    assert.ok(Number.isNaN(halfToFloat(0x7e00)));
    assert.equal(bfloat16ToFloat(0x3f80), 1);
    assert.equal(bfloat16ToFloat(0xc0a0), -5);
    assert.equal(bfloat16ToFloat(0x0001), new Float32Array(new Uint32Array([0x00010000]).buffer)[0]);
  });
});

/** A state dict of the given shapes, every tensor reading zeros from one shared storage. */
function zerosStateDict(entries: readonly (readonly [string, readonly number[]])[]): StateDict {
  const largest = Math.max(...entries.map(([, s]) => s.reduce((a, b) => a * b, 1)));
  const zeros = new Uint8Array(largest * 4);
  const tensors = new Map<string, CheckpointTensor>(entries.map(([k, shape]) => [k, {
    dtype: shape.length === 0 ? 'int64' : 'float32', shape, strides: contiguousStrides(shape), offset: 0,
    storage: { bigEndian: false, bytes: () => zeros },
  }]));
  return { format: 'safetensors', tensors, entry: '', dataParallel: false };
}

describe('torchvision\'s ResNets, from their real key layout', () => {
  const layouts = JSON.parse(new TextDecoder().decode(gunzipSync(read('torchvision-shapes.json.gz')))) as Record<string, [string, number[]][]>;

  it('every torchvision ResNet is read as its name, and our builder asks for exactly its parameters', () => {
    assert.deepEqual(Object.keys(layouts).sort(), ['resnet101', 'resnet152', 'resnet18', 'resnet34', 'resnet50', 'wide_resnet101_2', 'wide_resnet50_2']);
    for (const [name, entries] of Object.entries(layouts)) {
      const shapes = new Map(entries.map(([k, s]) => [k, s] as const));
      const arch = inferResnetArch(shapes);
      assert.equal(torchvisionName(arch), name);
      const asked = new Map<string, readonly number[]>();
      buildModel(archSpec(arch, 224), { name, weights: (k, dims) => {
        asked.set(k, dims);
        return new Float32Array(0);
      } });
      const params = entries.filter(([k]) => !k.endsWith('num_batches_tracked'));
      assert.deepEqual([...asked.keys()].sort(), params.map(([k]) => k).sort(), name);
      for (const [k, s] of params) assert.deepEqual(asked.get(k), s, `${name} ${k}`);
    }
  });

  it('resnet18 imports with ImageNet labels, torchvision\'s preprocessing, and as trained', () => {
    const m = importStateDict(zerosStateDict(layouts['resnet18']!), { source: 'r18.pth' });
    assert.equal(m.archName, 'resnet18');
    assert.equal(m.labels, 'imagenet');
    const meta = parseMeta(m.graph.metadata)!;
    assert.equal(meta.trained, true);
    assert.deepEqual(meta.input, [3, 224, 224]);
    assert.deepEqual(meta.labels, imagenetLabels);
    assert.equal(meta.resize, 256);
    assert.equal(meta.source, 'r18.pth (safetensors, resnet18)');
    const info = modelInfo(m.graph, compileGraph(m.graph));
    assert.equal(info.params, 11_689_512); // torchvision's resnet18: 11,689,512 parameters
    const pre = preprocessSpecFor(info);
    assert.equal(pre.resizeShorter, 256);
    assert.deepEqual([pre.height, pre.width], [224, 224]);
    assert.deepEqual(pre.mean, [0.485, 0.456, 0.406]);
    assert.deepEqual(pre.std, [0.229, 0.224, 0.225]);
  });

  it('--arch is checked against the weights, key by key', () => {
    const r18 = layouts['resnet18']!;
    assert.equal(importStateDict(zerosStateDict(r18), { arch: 'resnet18' }).archName, 'resnet18');
    expectImportError(() => importStateDict(zerosStateDict(r18), { arch: 'resnet34' }),
      /^missing 'layer1\.2\.conv1\.weight': resnet34 needs a \[64, 64, 3, 3\] tensor there$/, 'fewer blocks');
    expectImportError(() => importStateDict(zerosStateDict(r18), { arch: 'resnet50' }),
      /^'layer1\.0\.conv1\.weight' has shape \[64, 64, 3, 3\], where resnet50 needs \[64, 64, 1, 1\]$/, 'other block');
    expectImportError(() => importStateDict(zerosStateDict([...r18, ['layer1.2.conv1.weight', [64, 64, 3, 3]]]), { arch: 'resnet18' }),
      /^unexpected 'layer1\.2\.conv1\.weight' \[64, 64, 3, 3\]: resnet18 has no such parameter$/, 'extra key');
    expectImportError(() => importStateDict(zerosStateDict(r18), { arch: 'resnet19' }), /unknown --arch 'resnet19' \(known: resnet18, /, 'unknown');
  });

  it('keys that are not a torchvision ResNet, and ResNeXt\'s grouped convs, are named', () => {
    expectImportError(() => importStateDict(zerosStateDict([['features.0.weight', [64, 3, 3, 3]]])), /no 'conv1\.weight'.*its keys begin features\.0\.weight/, 'vgg');
    const resnext = layouts['resnet50']!.map(([k, s]) => [k, k === 'layer1.0.conv2.weight' ? [64, 2, 3, 3] : s] as const);
    expectImportError(() => importStateDict(zerosStateDict(resnext)), /grouped 3x3 convs \(ResNeXt, groups=32\) are not supported/, 'resnext');
  });
});

describe('labels', () => {
  it('come from a file (one per line or a JSON array) and must match the classes', () => {
    assert.deepEqual(parseLabels('cat\r\ndog\n'), ['cat', 'dog']);
    assert.deepEqual(parseLabels(' ["a b", "c"] '), ['a b', 'c']);
    assert.throws(() => parseLabels('a\n\nb'), /empty line/);
    const ten = Array.from({ length: 10 }, (_, i) => `c${i}`);
    const m = importCheckpoint(read('basic.safetensors'), { labels: ten, name: 'tiny' });
    assert.deepEqual(parseMeta(m.graph.metadata)!.labels, ten);
    assert.equal(m.graph.name, 'tiny');
    expectImportError(() => importCheckpoint(read('basic.safetensors'), { labels: ten.slice(1) }), /9 labels given for the checkpoint's 10 classes/, 'count');
    expectImportError(() => importCheckpoint(read('basic.safetensors'), { labels: 'imagenet' }), /ImageNet labels need 1000 classes, the checkpoint's classifier has 10/, 'imagenet');
    assert.deepEqual(parseMeta(importCheckpoint(read('basic.safetensors')).graph.metadata)!.labels, []);
  });
});

// ---- hand-made pickles ------------------------------------------------------------------------------

function ascii(s: string): number[] {
  return [...s].map((c) => c.charCodeAt(0));
}

function shortUnicode(s: string): number[] {
  return [0x8c, s.length, ...ascii(s)];
}

function global(module: string, name: string): number[] {
  return [0x63, ...ascii(`${module}\n${name}\n`)];
}

/** A legacy torch.save file around one hand-made main pickle: magic, protocol, sys info, main, no storages. */
function legacyFile(main: number[]): Uint8Array {
  const magic = [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e];
  const protocol = [0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e];
  const sysInfo = [0x80, 0x02, 0x7d, 0x2e];
  const keys = [0x80, 0x02, 0x5d, 0x2e];
  return Uint8Array.from([...magic, ...protocol, ...sysInfo, ...main, ...keys]);
}
