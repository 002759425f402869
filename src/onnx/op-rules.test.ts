// The ONNX rules the graph check enforces for the ops we run (issue 14.3), each on resnet20 with one
// thing changed: refused once, by the reader, with an OnnxError naming the node and the attribute, so no
// engine ever sees it. The first case is the attack's: a MaxPool pad of 2000 (159 G multiply-adds, NaN
// and exit 0 on wasm, while ts refused).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadModel } from '../engine/session';
import { cleanOrtMessage, createOrtRunner, OrtModelError } from '../ort/ort-session';
import { OnnxError } from './error';
import { onnx } from './proto';
import { MAX_IR_VERSION, parseOnnx } from './read';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BASE = new Uint8Array(readFileSync(join(ROOT, 'models', 'resnet20.onnx')));

// Loose views of the decoded messages, enough to edit them.
interface Attr { name: string; type: number; i?: number; f?: number; ints?: number[]; s?: Uint8Array }
interface Node { name: string; opType: string; input: string[]; output: string[]; attribute: Attr[] }
interface Model { irVersion: number; opsetImport: { version: number }[]; graph: { node: Node[]; initializer: { name: string; rawData: Uint8Array; floatData: number[] }[] } }

/** resnet20 with `edit` applied to its decoded ModelProto. */
function edited(edit: (m: Model) => void): Uint8Array {
  const m = onnx.ModelProto.decode(BASE) as unknown as Model;
  edit(m);
  return onnx.ModelProto.encode(m as never).finish();
}

const node = (m: Model, name: string): Node => m.graph.node.find((n) => n.name === name)!;
const attr = (n: Node, name: string): Attr => n.attribute.find((a) => a.name === name)!;
const ints = (name: string, v: number[]): Attr => ({ name, type: 7, ints: v });
const int = (name: string, v: number): Attr => ({ name, type: 2, i: v });

/** A pool inserted after the stem's ReLU, with the given attributes. */
function withPool(op: string, attrs: Attr[]): Uint8Array {
  return edited((m) => {
    for (const n of m.graph.node) n.input = n.input.map((v) => (v === 'relu.out' ? 'pool.out' : v));
    const at = m.graph.node.findIndex((n) => n.name === 'relu');
    m.graph.node.splice(at + 1, 0, { name: 'pool', opType: op, input: ['relu.out'], output: ['pool.out'], attribute: attrs });
  });
}

function refuses(bytes: Uint8Array, ...parts: string[]): void {
  assert.throws(() => parseOnnx(bytes), (e: unknown) => {
    assert.ok(e instanceof OnnxError, `expected an OnnxError, got ${String(e)}`);
    for (const p of parts) assert.ok(e.message.includes(p), `"${e.message}" should mention "${p}"`);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
}

describe('the graph check enforces the ONNX rules of the ops we run', () => {
  it('pool pads as large as the kernel (the attack: 2000 on a 3x3 MaxPool), on every engine before it runs', async () => {
    const bomb = withPool('MaxPool', [ints('kernel_shape', [3, 3]), ints('pads', [2000, 2000, 2000, 2000])]);
    refuses(bomb, "node 'pool' (MaxPool)", 'pads [2000,2000,2000,2000] must be smaller than the kernel (3 on axis 0)');
    for (const engine of ['ts', 'wasm', 'ort-wasm'] as const) {
      await assert.rejects(loadModel(bomb, { engine, threads: 1 }), (e: unknown) => e instanceof OnnxError && /must be smaller than the kernel/.test(e.message));
    }
    refuses(withPool('AveragePool', [ints('kernel_shape', [2, 2]), ints('pads', [0, 0, 2, 0])]), 'AveragePool', 'must be smaller than the kernel (2 on axis 0)');
    assert.doesNotThrow(() => parseOnnx(withPool('MaxPool', [ints('kernel_shape', [3, 3]), ints('pads', [1, 1, 1, 1])])));
  });

  it('pools: kernel, strides, dilations, flags, auto_pad', () => {
    refuses(withPool('MaxPool', [ints('pads', [0, 0, 0, 0])]), "attribute 'kernel_shape' is required");
    refuses(withPool('MaxPool', [ints('kernel_shape', [3, 0])]), 'kernel_shape [3,0] must be positive');
    refuses(withPool('MaxPool', [ints('kernel_shape', [2, 2]), ints('strides', [0, 1])]), 'strides [0,1] must be positive');
    refuses(withPool('MaxPool', [ints('kernel_shape', [2, 2]), ints('strides', [1, 1, 1])]), 'strides [1,1,1] must have 2 entries');
    refuses(withPool('MaxPool', [ints('kernel_shape', [2, 2]), ints('dilations', [0, 1])]), 'dilations [0,1] must be positive');
    refuses(withPool('MaxPool', [ints('kernel_shape', [2, 2]), int('ceil_mode', 2)]), 'ceil_mode must be 0 or 1, got 2');
    refuses(withPool('AveragePool', [ints('kernel_shape', [2, 2]), int('count_include_pad', -1)]), 'count_include_pad must be 0 or 1');
    refuses(withPool('MaxPool', [ints('kernel_shape', [2, 2]), int('storage_order', 3)]), 'storage_order must be 0 or 1');
    refuses(withPool('MaxPool', [ints('kernel_shape', [2, 2]), { name: 'auto_pad', type: 3, s: new TextEncoder().encode('SAME') }]), "auto_pad 'SAME' is not one of");
    refuses(withPool('AveragePool', [ints('kernel_shape', [2, 2]), ints('dilations', [1, 1])]), "unknown attribute 'dilations' for opset-13 AveragePool");
  });

  it('Conv: strides, dilations, pads (length, sign, against the kernel extent), group, kernel_shape against the weight', () => {
    const conv = (f: (n: Node) => void): Uint8Array => edited((m) => f(node(m, 'layer1.0.conv1')));
    refuses(conv((n) => { attr(n, 'strides').ints = [0, 1]; }), "node 'layer1.0.conv1' (Conv)", 'strides [0,1] must be positive');
    refuses(conv((n) => { attr(n, 'dilations').ints = [1, -1]; }), 'dilations [1,-1] must be positive');
    refuses(conv((n) => { attr(n, 'pads').ints = [1, 1, 1]; }), 'pads [1,1,1] must have 4 entries');
    refuses(conv((n) => { attr(n, 'pads').ints = [1, -1, 1, 1]; }), 'must not be negative');
    refuses(conv((n) => { attr(n, 'pads').ints = [3, 3, 3, 3]; }), 'must be smaller than the kernel extent (3 on axis 0)');
    assert.doesNotThrow(() => parseOnnx(conv((n) => { attr(n, 'pads').ints = [3, 3, 3, 3]; attr(n, 'dilations').ints = [2, 2]; })));
    refuses(conv((n) => { attr(n, 'group').i = 0; }), 'group must be at least 1, got 0');
    refuses(conv((n) => { attr(n, 'group').i = 3; }), 'group 3 does not divide the 16 output channels');
    refuses(conv((n) => { attr(n, 'kernel_shape').ints = [5, 5]; }), 'kernel_shape [5,5] does not match weight');
  });

  it('an attribute of the wrong type is refused by name (strides as a float or a string), as is a value in another type\'s field', () => {
    const conv = (a: Attr): Uint8Array => edited((m) => {
      const n = node(m, 'conv1');
      n.attribute = [...n.attribute.filter((x) => x.name !== a.name), a];
    });
    refuses(conv({ name: 'strides', type: 1, f: 1 }), "node 'conv1' (Conv): attribute 'strides' must be a list of ints, got a float");
    refuses(conv({ name: 'strides', type: 3, s: new TextEncoder().encode('1,1') }), "attribute 'strides' must be a list of ints, got a string");
    refuses(edited((m) => { attr(node(m, 'bn1'), 'epsilon').i = 3; }), "attribute 'epsilon'", 'has type FLOAT but also a value in its \'i\' field');
  });

  it('unknown attributes on the ops we run (spatial on an opset-13 BatchNormalization)', () => {
    refuses(edited((m) => node(m, 'bn1').attribute.push(int('spatial', 1))), "node 'bn1' (BatchNormalization): unknown attribute 'spatial' for opset-13 BatchNormalization");
    refuses(edited((m) => node(m, 'conv1').attribute.push(int('foo', 1))), "unknown attribute 'foo' for opset-13 Conv");
  });

  it('Gemm transposes, axis ranges, BatchNormalization epsilon and training mode', () => {
    refuses(edited((m) => { attr(node(m, 'fc'), 'transB').i = 2; }), "node 'fc' (Gemm): transB must be 0 or 1, got 2");
    refuses(edited((m) => { attr(node(m, 'flatten'), 'axis').i = 5; }), "node 'flatten' (Flatten): axis 5 is out of range for an input of rank 4 (allowed: -4 to 4)");
    for (const eps of [0, -1, NaN]) refuses(edited((m) => { attr(node(m, 'bn1'), 'epsilon').f = eps; }), 'epsilon must be a positive finite number');
    refuses(edited((m) => { m.opsetImport[0]!.version = 15; node(m, 'bn1').attribute.push(int('training_mode', 1)); }), 'training_mode=1 is not supported');
  });

  it('what ONNX Runtime refuses and the spec agrees: duplicate node names, IR versions past ours, empty raw_data beside float_data, opsets past 26', () => {
    refuses(edited((m) => { node(m, 'relu').name = 'conv1'; }), "two nodes are named 'conv1'");
    refuses(edited((m) => { m.irVersion = 100; }), `IR version 100 is newer than this reader knows (up to ${MAX_IR_VERSION})`);
    refuses(edited((m) => {
      const t = m.graph.initializer[0]!;
      t.floatData = [...new Float32Array(Uint8Array.from(t.rawData).buffer)];
      t.rawData = new Uint8Array(0);
    }), 'has both raw_data (0 bytes) and float_data');
    refuses(edited((m) => { m.opsetImport[0]!.version = 100; }), 'opset 100, newer than the ONNX opsets we know (up to 26)');
  });
});

describe("ONNX Runtime's refusals", () => {
  it('are an OrtModelError (an OnnxError) with ORT\'s reason as one line: no C++ path, no ERROR_CODE', async () => {
    await assert.rejects(createOrtRunner(edited((m) => { m.irVersion = 100; }), { backend: 'wasm', threads: 1 }), (e: unknown) => {
      assert.ok(e instanceof OrtModelError && e instanceof OnnxError, String(e));
      assert.equal(e.name, 'OrtModelError');
      assert.equal(e.message, 'ONNX Runtime refused the model: Unsupported model IR version: 100, max supported IR version: 13');
      return true;
    });
  });

  it('cleanOrtMessage keeps the reason and drops the wrapper, source locations and C++ signatures', () => {
    assert.equal(cleanOrtMessage("Can't create a session. ERROR_CODE: 1, ERROR_MESSAGE: tensorprotoutils.cc:1472 ValidateEmbeddedTensorProtoDataSizeAndShape Initializer 'w': raw_data size (0 bytes) does not match"),
      "Initializer 'w': raw_data size (0 bytes) does not match");
    assert.equal(cleanOrtMessage("failed to call OrtRun(). ERROR_CODE: 2, ERROR_MESSAGE: Non-zero status code returned while running Conv node. Name:'c' Status Message: /onnxruntime/core/providers/cpu/nn/conv_attributes.h:101 onnxruntime::common::Status onnxruntime::ConvAttributes::ValidateInputShape(const Tensor *, const Tensor *, bool, bool) const X num_dims does not match W num_dims.\nmore"),
      "Non-zero status code returned while running Conv node. Name:'c' Status Message: X num_dims does not match W num_dims.");
    assert.equal(cleanOrtMessage("Can't create a session. ERROR_CODE: 1, ERROR_MESSAGE: This is an invalid model. Error: two nodes with same node name (conv1)."),
      'This is an invalid model. Error: two nodes with same node name (conv1).');
  });
});
