// Every kind of bad model file we expect from users ends in an OnnxError whose message says what and
// where, never in a crash, a hang or a huge allocation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type onnxProto from 'onnx-proto';
import { OnnxError } from './error';
import { type GraphProto, onnx, type TensorProto } from './proto';
import { MAX_MODEL_BYTES, parseOnnx, parseTensorProto } from './read';
import { memorySource } from './source';
import { rng, sampleGraph } from './testdata/sample-graphs';
import { serializeOnnx } from './write';

type ModelObject = onnxProto.onnx.IModelProto;

/** The file is refused with a message naming `parts`, the same whether read from memory or by range (source.ts). */
function refuses(bytes: Uint8Array, ...parts: string[]): OnnxError {
  const errorOf = (input: Parameters<typeof parseOnnx>[0]): unknown => {
    try {
      parseOnnx(input);
    } catch (e) {
      return e;
    }
    return undefined;
  };
  const caught = errorOf(bytes);
  assert.ok(caught instanceof OnnxError, `expected an OnnxError, got ${caught === undefined ? 'success' : String(caught)}`);
  for (const p of parts) assert.ok(caught.message.includes(p), `message "${caught.message}" should mention "${p}"`);
  const byRange = errorOf(memorySource(bytes));
  assert.ok(byRange instanceof OnnxError && byRange.message === caught.message, `read by range: ${String(byRange)}`);
  return caught;
}

const encode = (m: ModelObject): Uint8Array => onnx.ModelProto.encode(onnx.ModelProto.create(m)).finish();

const floatInput = (name: string, dims: number[]) => ({
  name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } },
});

/** A one-node model (y = Relu(x + w)) with the given initializer `w` and optional graph changes. */
function modelWith(w: TensorProto, graph: Partial<GraphProto> = {}): Uint8Array {
  return encode({
    irVersion: 8,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: [
        { name: 'add', opType: 'Add', input: ['x', 'w'], output: ['s'] },
        { name: 'relu', opType: 'Relu', input: ['s'], output: ['y'] },
      ],
      initializer: [{ name: 'w', ...w }],
      input: [floatInput('x', [2, 3])],
      output: [floatInput('y', [2, 3])],
      ...graph,
    },
  });
}

const rawFloats = (n: number): Uint8Array => new Uint8Array(new Float32Array(n).fill(0.5).buffer);

describe('parseOnnx refuses files that are not ONNX models', () => {
  it('an empty file', () => {
    refuses(new Uint8Array(0), 'empty');
  });

  it('a file over the size limit, checked before decoding', () => {
    assert.equal(MAX_MODEL_BYTES, 2 ** 30);
    const bytes = serializeOnnx(sampleGraph());
    assert.throws(() => parseOnnx(bytes, { maxBytes: bytes.length - 1 }), (e: unknown) =>
      e instanceof OnnxError && e.message.includes(`${bytes.length} bytes, over the limit of ${bytes.length - 1}`));
    assert.doesNotThrow(() => parseOnnx(bytes, { maxBytes: bytes.length }));
  });

  it('an HTML page renamed .onnx', () => {
    const html = new TextEncoder().encode('\n<!DOCTYPE html>\n<html><head><title>404 Not Found</title></head></html>');
    refuses(html, 'HTML', '<!DOCTYPE');
  });

  it('a JSON file and a ZIP archive (PyTorch checkpoint)', () => {
    refuses(new TextEncoder().encode('{"model": "resnet18"}'), 'JSON');
    refuses(Uint8Array.of(0x50, 0x4b, 0x03, 0x04, 20, 0, 0, 0, 8, 0), 'ZIP', 'torch.onnx.export');
  });

  it('a Git LFS pointer checked out instead of the model', () => {
    const pointer = 'version https://git-lfs.github.com/spec/v1\noid sha256:4d7a2b\nsize 46830571\n';
    refuses(new TextEncoder().encode(pointer), 'Git LFS pointer');
  });

  it('random bytes (300 seeded buffers of 1 B to 8 KiB)', () => {
    const next = rng(42);
    for (let k = 0; k < 300; k++) {
      const bytes = Uint8Array.from({ length: 1 + Math.floor(next() * 8192) }, () => Math.floor(next() * 256));
      refuses(bytes);
    }
  });

  it('a length prefix claiming 2 GiB (and one claiming 4 GiB) in a 12-byte file', () => {
    // ir_version = 8, then field 7 (graph, length-delimited) with a varint length of 2^31.
    const twoGiB = Uint8Array.of(0x08, 0x08, 0x3a, 0x80, 0x80, 0x80, 0x80, 0x08, 0x0a, 0x01, 0x41, 0x00);
    refuses(twoGiB, 'truncated or corrupt');
    const fourGiB = Uint8Array.of(0x08, 0x08, 0x3a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x0a, 0x01, 0x41, 0x00);
    refuses(fourGiB, 'truncated or corrupt');
  });

  it('raw_data whose length prefix claims 2 GiB inside a well-formed initializer', () => {
    const good = modelWith({ dims: [2, 3], dataType: 1, rawData: rawFloats(6) });
    // Find the raw_data field (tag 0x4a = field 9, wire type 2, length 24) and make its length 2^31.
    const at = good.findIndex((b, i) => b === 0x4a && good[i + 1] === 24);
    assert.ok(at > 0);
    const bad = new Uint8Array(good.length + 4);
    bad.set(good.subarray(0, at + 1));
    bad.set([0x80, 0x80, 0x80, 0x80, 0x08], at + 1);
    bad.set(good.subarray(at + 2), at + 6);
    refuses(bad, 'truncated or corrupt');
  });

  it('every truncation of a valid model is refused or still complete, never a crash', () => {
    const g = sampleGraph();
    const bytes = serializeOnnx(g);
    // Fields are written in field order, so the graph (field 7) ends where opset_import (8) and
    // metadata_props (14) begin: every cut before that point must be refused.
    const tail = encode({ opsetImport: [{ domain: '', version: 13 }], metadataProps: Object.entries(g.metadata).map(([key, value]) => ({ key, value })) });
    const graphEnd = bytes.length - tail.length;
    let refused = 0;
    for (let n = 1; n < bytes.length; n++) {
      try {
        parseOnnx(bytes.subarray(0, n));
        assert.ok(n >= graphEnd, `a file cut at ${n} of ${bytes.length} bytes (inside the graph) was accepted`);
      } catch (e) {
        assert.ok(e instanceof OnnxError, `cut at ${n}: ${String(e)}`);
        refused++;
      }
    }
    assert.ok(refused >= graphEnd - 1);
  });

  it('bit flips in a valid model parse or give OnnxError, never another exception (400 seeded mutations)', () => {
    const bytes = serializeOnnx(sampleGraph());
    const next = rng(1234);
    for (let k = 0; k < 400; k++) {
      const m = bytes.slice();
      for (let f = 0; f < 1 + (k % 4); f++) m[Math.floor(next() * m.length)]! ^= 1 << Math.floor(next() * 8);
      try {
        parseOnnx(m);
      } catch (e) {
        assert.ok(e instanceof OnnxError, `mutation ${k}: ${String(e)}`);
      }
    }
  });

  it('a model with no graph', () => {
    refuses(encode({ irVersion: 8, opsetImport: [{ domain: '', version: 13 }], producerName: 'x' }), 'no graph');
  });

  it('a graph with no nodes', () => {
    refuses(modelWith({ dims: [2, 3], dataType: 1, rawData: rawFloats(6) }, { node: [] }), 'no nodes');
  });

  it('a model with no ir_version', () => {
    refuses(encode({ opsetImport: [{ domain: '', version: 13 }], graph: { node: [{ opType: 'Relu' }] } }), 'ir_version is missing');
  });

  it('a model with no opset for the default domain', () => {
    const bytes = encode({ irVersion: 8, opsetImport: [{ domain: 'com.example', version: 1 }], graph: { node: [{ opType: 'Relu' }] } });
    refuses(bytes, 'no opset for the default ONNX domain', "'com.example'");
  });
});

describe('parseOnnx refuses impossible or unsupported tensors, naming them', () => {
  it('dims [-1,3]', () => {
    refuses(modelWith({ dims: [-1, 3], dataType: 1, rawData: rawFloats(3) }), "initializer 'w'", 'dims [-1,3]', 'negative');
  });

  it('dims whose product overflows (65536^3 elements), before allocating anything', () => {
    refuses(modelWith({ dims: [65536, 65536, 65536], dataType: 1, rawData: rawFloats(6) }),
      "initializer 'w'", '281474976710656 elements', 'over the limit of 2147483647');
  });

  it('one dimension beyond the element limit even when another is 0', () => {
    refuses(modelWith({ dims: [0, 2 ** 40], dataType: 1 }), "initializer 'w'", 'dimension 1 (1099511627776) is over the limit');
  });

  it('an int64 dim that only fits in 64 bits (2^62)', () => {
    refuses(modelWith({ dims: [{ low: 0, high: 2 ** 30, unsigned: false } as unknown as number, 3], dataType: 1, rawData: rawFloats(6) }),
      "initializer 'w'", '4611686018427387904');
  });

  it('raw_data 4 bytes short, and 4 bytes long', () => {
    const short = new Uint8Array(20);
    refuses(modelWith({ dims: [2, 3], dataType: 1, rawData: short }), "initializer 'w': raw_data has 20 bytes, dims [2,3] need 24");
    refuses(modelWith({ dims: [2, 3], dataType: 1, rawData: new Uint8Array(28) }), "initializer 'w': raw_data has 28 bytes, dims [2,3] need 24");
  });

  it('float_data with the wrong count, and no data at all', () => {
    refuses(modelWith({ dims: [2, 3], dataType: 1, floatData: [1, 2, 3, 4, 5] }), "initializer 'w': float_data has 5 values, dims [2,3] need 6");
    refuses(modelWith({ dims: [2, 3], dataType: 1 }), "initializer 'w': has no data", 'need 6 values');
  });

  it('both raw_data and float_data', () => {
    refuses(modelWith({ dims: [2], dataType: 1, rawData: rawFloats(2), floatData: [1, 2] }), "initializer 'w'", 'both raw_data');
  });

  it('external data (data_location EXTERNAL or external_data entries), naming the tensor and the file', () => {
    refuses(modelWith({ dims: [2, 3], dataType: 1, dataLocation: 1, externalData: [{ key: 'location', value: 'weights.bin' }, { key: 'offset', value: '0' }] }),
      "initializer 'w'", 'external data is not supported', "'weights.bin'");
    refuses(modelWith({ dims: [2, 3], dataType: 1, externalData: [{ key: 'location', value: 'w.data' }] }), "initializer 'w'", 'external data');
  });

  it('unsupported initializer dtypes, by name', () => {
    refuses(modelWith({ dims: [2, 3], dataType: 10, rawData: new Uint8Array(12) }), "initializer 'w'", 'FLOAT16 is not supported');
    refuses(modelWith({ dims: [2, 3], dataType: 9, rawData: new Uint8Array(6) }), "initializer 'w'", 'BOOL is not supported');
    refuses(modelWith({ dims: [1], dataType: 8, stringData: [new Uint8Array(1)] }), "initializer 'w'", 'STRING is not supported');
  });

  it('DOUBLE initializers become float32 unless a value does not fit; INT32 becomes int64', () => {
    // Beside a FLOAT input an Add refuses a DOUBLE (one type for both, as the spec says): read them through Neg.
    const viaNeg = (w: TensorProto): Uint8Array => modelWith(w, { node: [{ name: 'neg', opType: 'Neg', input: ['w'], output: ['y'] }] });
    refuses(modelWith({ dims: [2, 3], dataType: 11, doubleData: [0, 0, 0, 0, 0, 0] }), "node 'add' (Add): input 1 'w' is DOUBLE but input 0 'x' is FLOAT");
    const g = parseOnnx(viaNeg({ dims: [2, 3], dataType: 11, doubleData: [0.1, -2, 3.5, 1e30, 0, -1e-3] }));
    const w = g.initializers.get('w')!;
    assert.equal(w.dtype, 'float32');
    assert.deepStrictEqual([...w.data], [0.1, -2, 3.5, 1e30, 0, -1e-3].map(Math.fround));
    const raw = new Uint8Array(new Float64Array([1.5, 2.5]).buffer);
    assert.deepStrictEqual([...parseOnnx(viaNeg({ dims: [2], dataType: 11, rawData: raw })).initializers.get('w')!.data], [1.5, 2.5]);
    refuses(modelWith({ dims: [2], dataType: 11, doubleData: [1, 1e300] }), "initializer 'w'", '1e+300', 'does not fit in float32');

    const i32 = parseOnnx(viaNeg({ dims: [3], dataType: 6, int32Data: [-7, 0, 2147483647] })).initializers.get('w')!;
    assert.equal(i32.dtype, 'int64');
    assert.deepStrictEqual([...i32.data], [-7n, 0n, 2147483647n]);
  });

  it('a Constant node whose tensor has a bad shape names the node and attribute', () => {
    const bytes = modelWith({ dims: [2, 3], dataType: 1, rawData: rawFloats(6) }, {
      node: [
        { name: 'k', opType: 'Constant', output: ['c'], attribute: [{ name: 'value', type: 4, t: { dims: [4], dataType: 1, rawData: rawFloats(3) } }] },
        { name: 'add', opType: 'Add', input: ['x', 'c'], output: ['y'] },
      ],
    });
    refuses(bytes, "node 'k' (Constant) attribute 'value': raw_data has 12 bytes, dims [4] need 16");
  });

  it('graph inputs with negative dims or unsupported element types', () => {
    const w = { dims: [2, 3], dataType: 1, rawData: rawFloats(6) };
    refuses(modelWith(w, { input: [floatInput('x', [-1, 3])] }), "graph input 'x'", 'dimension 0 is negative');
    refuses(modelWith(w, { input: [{ name: 'x', type: { tensorType: { elemType: 10, shape: { dim: [] } } } }] }), "graph input 'x'", 'FLOAT16');
    refuses(modelWith(w, { input: [{ name: 'x', type: { sequenceType: { elemType: { tensorType: { elemType: 1 } } } } }] }), "graph input 'x'", 'sequenceType, not a tensor');
  });

  it('attributes of unsupported kinds (a subgraph), naming node and attribute', () => {
    const bytes = modelWith({ dims: [2, 3], dataType: 1, rawData: rawFloats(6) }, {
      node: [{ name: 'branch', opType: 'If', input: ['x'], output: ['y'], attribute: [{ name: 'then_branch', type: 5, g: { name: 'sub' } }] }],
    });
    refuses(bytes, "node 'branch' (If) attribute 'then_branch'", 'GRAPH');
  });
});

describe('parseOnnx checks that the graph is well formed', () => {
  const w = { dims: [2, 3], dataType: 1, rawData: rawFloats(6) };

  it('a node consuming an undefined value', () => {
    refuses(modelWith(w, { node: [{ name: 'relu', opType: 'Relu', input: ['ghost'], output: ['y'] }] }),
      "node 'relu' (Relu) consumes 'ghost'", 'not a graph input, an initializer or any node');
  });

  it('a graph output nobody produces', () => {
    refuses(modelWith(w, { output: [floatInput('nowhere', [2, 3])] }), "graph output 'nowhere'");
  });

  it('a value produced twice', () => {
    refuses(modelWith(w, {
      node: [
        { name: 'a', opType: 'Relu', input: ['x'], output: ['y'] },
        { name: 'b', opType: 'Neg', input: ['x'], output: ['y'] },
      ],
    }), "value 'y' is produced by two nodes: 'a' (Relu) and 'b' (Neg)");
  });

  it('a node output that redefines an initializer', () => {
    refuses(modelWith(w, { node: [{ name: 'a', opType: 'Relu', input: ['x'], output: ['w'] }], output: [floatInput('w', [2, 3])] }),
      "node 'a' (Relu) output 'w' redefines an initializer");
  });

  it('a cycle', () => {
    refuses(modelWith(w, {
      node: [
        { name: 'a', opType: 'Add', input: ['x', 'q'], output: ['p'] },
        { name: 'b', opType: 'Relu', input: ['p'], output: ['q'] },
        { name: 'c', opType: 'Relu', input: ['q'], output: ['y'] },
      ],
    }), 'nodes form a cycle', "'a' (Add)", "'b' (Relu)");
  });

  it('nodes out of order are sorted, keeping file order where the data allows', () => {
    const g = parseOnnx(modelWith(w, {
      node: [
        { name: 'relu', opType: 'Relu', input: ['s'], output: ['y'] },
        { name: 'add', opType: 'Add', input: ['x', 'w'], output: ['s'] },
      ],
    }));
    assert.deepStrictEqual(g.nodes.map((n) => n.name), ['add', 'relu']);
  });

  it('empty node names become op_N; a name given twice is refused, as the spec and ONNX Runtime do', () => {
    const g = parseOnnx(modelWith(w, {
      node: [
        { opType: 'Add', input: ['x', 'w'], output: ['s'] },
        { name: 'op_0', opType: 'Relu', input: ['s'], output: ['t'] },
        { opType: 'Neg', input: ['t'], output: ['y'] },
      ],
    }));
    assert.deepStrictEqual(g.nodes.map((n) => n.name), ['op_0_', 'op_0', 'op_2']);
    refuses(modelWith(w, {
      node: [
        { name: 'same', opType: 'Add', input: ['x', 'w'], output: ['t'] },
        { name: 'same', opType: 'Relu', input: ['t'], output: ['y'] },
      ],
    }), "two nodes are named 'same'");
  });

  it('graph inputs that are also initializers (IR < 4 style) are not inputs', () => {
    const g = parseOnnx(modelWith(w, { input: [floatInput('x', [2, 3]), floatInput('w', [2, 3])] }));
    assert.deepStrictEqual(g.inputs.map((v) => v.name), ['x']);
    assert.ok(g.initializers.has('w'));
  });

  it("attribute and metadata keys named '__proto__' stay plain data", () => {
    const bytes = encode({
      irVersion: 8,
      opsetImport: [{ domain: '', version: 13 }],
      metadataProps: [{ key: '__proto__', value: 'm' }],
      graph: {
        // Neg: an op whose attributes the reader does not check (Relu would refuse an unknown one).
        node: [{ name: 'r', opType: 'Neg', input: ['x'], output: ['y'], attribute: [{ name: '__proto__', type: 2, i: 3 }] }],
        input: [floatInput('x', [1])],
        output: [floatInput('y', [1])],
      },
    });
    const g = parseOnnx(bytes);
    assert.deepStrictEqual(Object.getOwnPropertyDescriptor(g.nodes[0]!.attrs, '__proto__')?.value, { type: 'int', value: 3 });
    assert.equal(Object.getPrototypeOf(g.nodes[0]!.attrs), Object.prototype);
    assert.equal(Object.getOwnPropertyDescriptor(g.metadata, '__proto__')?.value, 'm');
    // ...and they survive a write.
    assert.deepStrictEqual(parseOnnx(serializeOnnx(g)), g);
  });

  it('unknown ops are accepted here (the engine names them)', () => {
    const g = parseOnnx(modelWith(w, { node: [{ name: 'f', opType: 'FancyOp', domain: 'com.example', input: ['x'], output: ['y'] }] }));
    assert.equal(g.nodes[0]!.op, 'com.example.FancyOp');
  });
});

describe('parseTensorProto', () => {
  it('refuses empty and garbage input with OnnxError', () => {
    assert.throws(() => parseTensorProto(new Uint8Array(0), 'input_0.pb'), (e: unknown) => e instanceof OnnxError && e.message.includes('input_0.pb'));
    assert.throws(() => parseTensorProto(Uint8Array.of(0x4a, 0x80, 0x80, 0x80, 0x80, 0x08, 1)), OnnxError);
  });
});
