// ONNX Runtime (onnxruntime-web's wasm build, in Node) is the independent judge of our writer: it must
// load the files we write and compute what the graph says.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import * as ort from 'onnxruntime-web';
import { parseOnnx, parseTensorProto } from './read';
import { convReluGraph, rng, sampleGraph } from './testdata/sample-graphs';
import { serializeOnnx } from './write';

ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';

/** Direct 3x3 convolution, stride 1, zero padding 1, one input channel: the test's own reference. */
function conv3x3Pad1(x: Float32Array, h: number, w: number, weights: Float32Array, bias: number): Float32Array {
  const out = new Float32Array(h * w);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      let acc = bias;
      for (let ki = 0; ki < 3; ki++) {
        for (let kj = 0; kj < 3; kj++) {
          const yi = i + ki - 1, xj = j + kj - 1;
          if (yi >= 0 && yi < h && xj >= 0 && xj < w) acc += x[yi * w + xj]! * weights[ki * 3 + kj]!;
        }
      }
      out[i * w + j] = acc;
    }
  }
  return out;
}

const relu = (a: Float32Array): Float32Array => a.map((v) => Math.max(0, v));

function assertClose(actual: Float32Array, expected: Float32Array, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < actual.length; i++) {
    assert.ok(Math.abs(actual[i]! - expected[i]!) <= tol, `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
  }
}

describe('onnxruntime-web runs what serializeOnnx writes', () => {
  it('Conv(known weights) + Relu, plus an int64 Slice (ends = INT64_MAX) and Reshape', async () => {
    const session = await ort.InferenceSession.create(serializeOnnx(convReluGraph()));
    // x = 1..16 in a 4x4 grid, with a negative hole so the Relu branch is exercised.
    const x = Float32Array.from({ length: 16 }, (_, i) => i + 1);
    x[5] = -30;
    const out = await session.run({ x: new ort.Tensor('float32', x, [1, 1, 4, 4]) });
    const y = out['y']!, z = out['z']!;
    assert.deepStrictEqual(y.dims, [1, 2, 4, 4]);
    assert.deepStrictEqual(z.dims, [1, 16]);

    const ones = new Float32Array(9).fill(1);
    const edge = Float32Array.of(0, -1, 0, -1, 4, -1, 0, -1, 0);
    const expected0 = relu(conv3x3Pad1(x, 4, 4, ones, 0.5));
    const expected1 = relu(conv3x3Pad1(x, 4, 4, edge, -1));
    const yData = y.data as Float32Array;
    assertClose(yData.subarray(0, 16), expected0, 1e-5, 'y channel 0');
    assertClose(yData.subarray(16), expected1, 1e-5, 'y channel 1');
    assertClose(z.data as Float32Array, expected1, 0, 'z (channel 1 flattened)');

    // Spot values worked out by hand. Box filter at (2,2): -30+7+8 + 10+11+12 + 14+15+16 + 0.5 = 63.5.
    assert.equal(yData[2 * 4 + 2], 63.5);
    // Box filter at (0,0): 1+2+(-30)+5 + 0.5 = -21.5 -> Relu -> 0.
    assert.equal(yData[0], 0);
    // Edge filter at (1,1), the -30 hole: 4*(-30) - (2+5+7+10) - 1 = -145 -> 0;
    // at (1,2): 4*7 - (3 + -30 + 8 + 11) - 1 = 35.
    assert.equal(yData[16 + 5], 0);
    assert.equal(yData[16 + 6], 35);
  });

  it('the symbolic batch dimension is dynamic: batch 3 runs through the same file', async () => {
    const session = await ort.InferenceSession.create(serializeOnnx(convReluGraph()));
    const next = rng(7);
    const x = Float32Array.from({ length: 3 * 16 }, () => next() * 4 - 2);
    const y = (await session.run({ x: new ort.Tensor('float32', x, [3, 1, 4, 4]) }))['y']!;
    assert.deepStrictEqual(y.dims, [3, 2, 4, 4]);
    const ones = new Float32Array(9).fill(1);
    for (let n = 0; n < 3; n++) {
      const expected = relu(conv3x3Pad1(x.subarray(n * 16, n * 16 + 16), 4, 4, ones, 0.5));
      assertClose((y.data as Float32Array).subarray(n * 32, n * 32 + 16), expected, 1e-5, `batch ${n} channel 0`);
    }
  });

  it('loads the full sample graph (Pad, Conv, BN, Relu, Add, Slice, GAP, Flatten, Gemm, Constant)', async () => {
    const g = sampleGraph();
    const session = await ort.InferenceSession.create(serializeOnnx(g));
    assert.deepStrictEqual(session.inputNames, ['x']);
    assert.deepStrictEqual(session.outputNames, ['y']);
    const next = rng(11);
    const sample = Float32Array.from({ length: 3 * 8 * 8 }, () => next() * 2 - 1);
    // Two identical images: the rows must match, and every logit must be finite.
    const x = new Float32Array(2 * sample.length);
    x.set(sample, 0);
    x.set(sample, sample.length);
    const y = (await session.run({ x: new ort.Tensor('float32', x, [2, 3, 8, 8]) }))['y']!;
    assert.deepStrictEqual(y.dims, [2, 2]);
    const d = y.data as Float32Array;
    assert.ok(d.every(Number.isFinite));
    assert.deepStrictEqual([d[0], d[1]], [d[2], d[3]]);

    // The tail is Add(Constant value_floats [0.25,-1.5]) then Mul(Constant tensor [2,0.5]): zero the Gemm
    // so its output is its bias [0.5,-0.5], and the logits become [(0.5+0.25)*2, (-0.5-1.5)*0.5] = [1.5,-1].
    const zeroFc = new Map(g.initializers).set('fc.weight', { dtype: 'float32', dims: [2, 4], data: new Float32Array(8) });
    const s2 = await ort.InferenceSession.create(serializeOnnx({ ...g, initializers: zeroFc }));
    const y2 = (await s2.run({ x: new ort.Tensor('float32', sample, [1, 3, 8, 8]) }))['y']!;
    assert.deepStrictEqual([...(y2.data as Float32Array)], [1.5, -1]);
  });

  it('a real ONNX test model, parsed and re-serialized, still computes its recorded output', async () => {
    const dir = new URL('./testdata/test_constant/', import.meta.url);
    const g = parseOnnx(readFileSync(new URL('model.onnx', dir)));
    const expected = parseTensorProto(readFileSync(new URL('test_data_set_0/output_0.pb', dir)), 'output_0.pb');
    const session = await ort.InferenceSession.create(serializeOnnx(g));
    const out = (await session.run({}))[g.outputs[0]!.name]!;
    assert.deepStrictEqual(out.dims, expected.dims);
    assertClose(out.data as Float32Array, expected.data as Float32Array, 0, 'constant');
  });
});
