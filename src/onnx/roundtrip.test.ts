import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { f32, float, type Graph, type GraphNode, i64, int, ints } from '../graph/ir';
import { OnnxError } from './error';
import { onnx } from './proto';
import { opsUsed, parseOnnx } from './read';
import { INT64_MAX, sampleGraph } from './testdata/sample-graphs';
import { IR_VERSION, serializeOnnx } from './write';

const withNodes = (g: Graph, nodes: GraphNode[]): Graph => ({ ...g, nodes });

describe('serializeOnnx -> parseOnnx round trip', () => {
  it('gives back the same graph: data, dims, attrs, inputs, outputs, metadata, opset', () => {
    const g = sampleGraph();
    const back = parseOnnx(serializeOnnx(g));
    assert.deepStrictEqual(back, g);
    // deepStrictEqual on a Map compares entries; check the int64 sentinel explicitly anyway.
    const ends = back.initializers.get('slice.ends');
    assert.equal(ends?.dtype, 'int64');
    assert.equal(ends.data[0], INT64_MAX);
  });

  it('is byte-stable: serialize(parse(serialize(g))) equals serialize(g)', () => {
    const bytes = serializeOnnx(sampleGraph());
    assert.deepStrictEqual(serializeOnnx(parseOnnx(bytes)), bytes);
  });

  it('writes a standard ModelProto: ir_version 8, opset, producer, raw_data, value_info, metadata', () => {
    const bytes = serializeOnnx(sampleGraph(), { docString: 'a test model' });
    assert.ok(bytes instanceof Uint8Array && !Buffer.isBuffer(bytes));
    const m = onnx.ModelProto.toObject(onnx.ModelProto.decode(bytes), { longs: String, bytes: Array, defaults: false });
    assert.equal(m.irVersion, String(IR_VERSION));
    assert.deepStrictEqual(m.opsetImport, [{ domain: '', version: '13' }]);
    assert.equal(m.producerName, 'resnet-lab');
    assert.equal(m.docString, 'a test model');
    assert.deepStrictEqual(m.metadataProps.map((p: { key: string }) => p.key), ['resnet-lab', 'author']);
    const weight = m.graph.initializer.find((t: { name: string }) => t.name === 'conv.weight');
    assert.equal(weight.dataType, 1);
    assert.equal(weight.rawData.length, 4 * 3 * 3 * 3 * 4);
    assert.equal(weight.floatData, undefined);
    // Little-endian: the first float's bytes, read back with an explicit little-endian DataView.
    const first = new DataView(Uint8Array.from(weight.rawData).buffer).getFloat32(0, true);
    assert.equal(first, sampleGraph().initializers.get('conv.weight')!.data[0]);
    assert.deepStrictEqual(m.graph.input[0].type.tensorType.shape.dim, [
      { dimParam: 'N' }, { dimValue: '3' }, { dimValue: '8' }, { dimValue: '8' },
    ]);
    assert.equal(m.graph.input.length, 1, 'initializers are not listed as inputs');
    const bn = m.graph.node.find((n: { opType: string }) => n.opType === 'BatchNormalization');
    assert.deepStrictEqual(bn.attribute.map((a: { name: string; type: number }) => [a.name, a.type]), [['epsilon', 1], ['momentum', 1]]);
    const pad = m.graph.node.find((n: { opType: string }) => n.opType === 'Pad');
    assert.equal(Buffer.from(pad.attribute[0].s).toString(), 'constant');
    assert.equal(pad.attribute[0].type, 3);
  });

  it('honours the producer option', () => {
    const m = onnx.ModelProto.decode(serializeOnnx(sampleGraph(), { producer: 'zoo-builder' }));
    assert.equal(m.producerName, 'zoo-builder');
  });

  it('stores float attributes as float32 (1e-5 comes back as fround(1e-5))', () => {
    const g = sampleGraph();
    const nodes = g.nodes.map((n) => (n.op === 'BatchNormalization' ? { ...n, attrs: { ...n.attrs, epsilon: float(1e-5) } } : n));
    const back = parseOnnx(serializeOnnx(withNodes(g, nodes)));
    const eps = back.nodes.find((n) => n.op === 'BatchNormalization')!.attrs['epsilon'];
    assert.deepStrictEqual(eps, { type: 'float', value: Math.fround(1e-5) });
  });

  it('keeps int64 attribute sentinels exact on disk (INT64_MAX / INT64_MIN), not wrapped', () => {
    const g = sampleGraph();
    const huge = Number(INT64_MAX); // 2^63 as a double: what the reader hands out for INT64_MAX
    // On Mul, an op whose attributes the reader does not check (a Flatten would refuse an unknown one).
    const nodes = g.nodes.map((n) => (n.name === 'logits' ? { ...n, attrs: { ...n.attrs, probe: ints([huge, -huge, 7]) } } : n));
    const bytes = serializeOnnx(withNodes(g, nodes));
    const m = onnx.ModelProto.toObject(onnx.ModelProto.decode(bytes), { longs: String });
    const probe = m.graph.node.find((n: { name: string }) => n.name === 'logits').attribute.find((a: { name: string }) => a.name === 'probe');
    assert.deepStrictEqual(probe.ints, ['9223372036854775807', '-9223372036854775808', '7']);
    const back = parseOnnx(bytes).nodes.find((n) => n.name === 'logits')!.attrs['probe'];
    assert.deepStrictEqual(back, { type: 'ints', value: [huge, -huge, 7] });
  });

  it('writes ops of other domains with their domain and an opset import for it', () => {
    const g = sampleGraph();
    const nodes = g.nodes.map((n) => (n.name === 'relu' ? { ...n, op: 'com.example.FancyRelu' } : n));
    const bytes = serializeOnnx(withNodes(g, nodes));
    const m = onnx.ModelProto.decode(bytes);
    const fancy = m.graph!.node!.find((n) => n.name === 'relu')!;
    assert.equal(fancy.domain, 'com.example');
    assert.equal(fancy.opType, 'FancyRelu');
    assert.deepStrictEqual(m.opsetImport.map((o) => o.domain), ['', 'com.example']);
    assert.equal(parseOnnx(bytes).nodes.find((n) => n.name === 'relu')!.op, 'com.example.FancyRelu');
  });

  it('writes nodes in topological order even when the graph lists them out of order', () => {
    const g = sampleGraph();
    const bytes = serializeOnnx(withNodes(g, [...g.nodes].reverse()));
    const back = parseOnnx(bytes);
    const position = new Map(back.nodes.map((n, i) => [n.name, i]));
    for (const [a, b] of [['pad', 'conv'], ['conv', 'bn'], ['bn', 'relu'], ['relu', 'residual'], ['fc', 'add_offset'], ['scale', 'logits']] as const) {
      assert.ok(position.get(a)! < position.get(b)!, `${a} before ${b}`);
    }
  });

  it('lists the ops used, sorted and distinct', () => {
    assert.deepStrictEqual(opsUsed(sampleGraph()), [
      'Add', 'BatchNormalization', 'Constant', 'Conv', 'Flatten', 'Gemm', 'GlobalAveragePool', 'Mul', 'Pad', 'Relu', 'Slice',
    ]);
  });
});

describe('serializeOnnx refuses graphs it cannot write faithfully', () => {
  const refuses = (g: Graph, ...parts: string[]): void => {
    assert.throws(() => serializeOnnx(g), (e: unknown) => {
      assert.ok(e instanceof OnnxError, `expected OnnxError, got ${String(e)}`);
      for (const p of parts) assert.ok(e.message.includes(p), `message "${e.message}" should mention "${p}"`);
      return true;
    });
  };

  it('opset below 13', () => refuses({ ...sampleGraph(), opset: 11 }, 'opset 11', '>= 13'));

  it('tensor data that does not match its dims', () => {
    const g = sampleGraph();
    const initializers = new Map(g.initializers).set('bn.mean', f32([3], Float32Array.of(1, 2)));
    refuses({ ...g, initializers }, "initializer 'bn.mean'", 'data has 2 elements', 'dims [3] need 3');
  });

  it('negative or fractional tensor dims', () => {
    const g = sampleGraph();
    refuses({ ...g, initializers: new Map(g.initializers).set('pads', { ...i64([1, 2]), dims: [-2] }) }, "'pads'", 'negative');
    refuses({ ...g, initializers: new Map(g.initializers).set('pads', { ...i64([1, 2]), dims: [2.5] }) }, "'pads'", 'not an integer');
  });

  it('a non-integer int attribute', () => {
    const g = sampleGraph();
    const nodes = g.nodes.map((n) => (n.name === 'flatten' ? { ...n, attrs: { axis: int(1.5) } } : n));
    refuses(withNodes(g, nodes), "node 'flatten' (Flatten) attribute 'axis'", '1.5 is not an integer');
  });

  it('a fractional input dimension', () => {
    refuses({ ...sampleGraph(), inputs: [{ name: 'x', dtype: 'float32', shape: ['N', 3, 8.5, 8] }] }, "graph input 'x'", '8.5');
  });

  it('a node consuming an undefined value', () => {
    const g = sampleGraph();
    const nodes = g.nodes.map((n) => (n.name === 'relu' ? { ...n, inputs: ['nowhere'] } : n));
    refuses(withNodes(g, nodes), "node 'relu' (Relu) consumes 'nowhere'");
  });
});
