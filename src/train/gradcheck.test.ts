// Gradient checks: every layer type's backward against central finite differences of the loss, in float64
// (the js64 backend), on small graphs built node by node and on tiny zoo nets (plain, option A, option B).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type Graph, type GraphNode, type IrTensor, f32, float, i64, int, ints, str } from '../graph/ir';
import { buildModel, seededRandom } from '../zoo/build';
import type { ModelSpec } from '../zoo/spec';
import { jsBackend } from './backend';
import { TrainNet } from './net';

const INT64_MAX = 9223372036854775807n;

/** A small graph written node by node: input [C,H,W] -> ops -> logits. */
class G {
  readonly nodes: GraphNode[] = [];
  readonly inits = new Map<string, IrTensor>();
  private readonly rng: ReturnType<typeof seededRandom>;
  private n = 0;
  constructor(seed: number) { this.rng = seededRandom(seed); }
  rand(dims: number[], scale = 1, offset = 0): string {
    const name = `t${this.n++}`;
    const size = dims.reduce((a, b) => a * b, 1);
    this.inits.set(name, f32(dims, Float32Array.from({ length: size }, () => offset + scale * this.rng.normal())));
    return name;
  }
  const64(values: (number | bigint)[]): string {
    const name = `c${this.n++}`;
    this.inits.set(name, i64(values));
    return name;
  }
  op(op: string, inputs: string[], attrs: GraphNode['attrs'] = {}): string {
    const out = `v${this.n++}`;
    this.nodes.push({ op, name: `${op}${this.n}`, inputs, outputs: [out], attrs });
    return out;
  }
  conv(x: string, cin: number, cout: number, k: number, s: number, p: number, bias = false): string {
    const inputs = [x, this.rand([cout, cin, k, k], Math.sqrt(2 / (cin * k * k)))];
    if (bias) inputs.push(this.rand([cout], 0.1));
    return this.op('Conv', inputs, { kernel_shape: ints([k, k]), strides: ints([s, s]), pads: ints([p, p, p, p]) });
  }
  bn(x: string, c: number): string {
    return this.op('BatchNormalization', [x, this.rand([c], 0.2, 1), this.rand([c], 0.2), this.rand([c], 0.1), this.rand([c], 0.1, 1)], { epsilon: float(1e-5), momentum: float(0.9) });
  }
  head(x: string, c: number, classes: number): string {
    const g = this.op('GlobalAveragePool', [x]);
    const f = this.op('Flatten', [g], { axis: int(1) });
    return this.op('Gemm', [f, this.rand([classes, c], 0.5), this.rand([classes], 0.1)], { transB: int(1) });
  }
  /** The graph with the last node's output renamed 'logits'. */
  graph(input: [number, number, number], classes: number): Graph {
    const last = this.nodes.pop()!;
    this.nodes.push({ ...last, outputs: ['logits'] });
    return {
      name: 'g', inputs: [{ name: 'input', dtype: 'float32', shape: ['N', ...input] }],
      outputs: [{ name: 'logits', dtype: 'float32', shape: ['N', classes] }],
      nodes: this.nodes, initializers: this.inits, metadata: {}, opset: 13,
    };
  }
}

interface Check {
  readonly worst: number;
  readonly checked: number;
}

/**
 * Compares analytic gradients (every parameter entry, up to `perParam` of each, and the input) with
 * (L(t + h) - L(t - h)) / 2h. Returns the worst relative error |a - n| / max(|a| + |n|, 1e-4) (the floor
 * keeps float64 rounding of the loss, ~1e-10 here, from dominating tiny gradients).
 */
function gradCheck(graph: Graph, batch: number, seed: number, perParam = 12): Check {
  const net = new TrainNet(graph, { backend: jsBackend(64), maxBatch: batch, inputGradient: true });
  const rng = seededRandom(seed);
  const x = Float64Array.from({ length: batch * net.inputSize }, () => rng.normal());
  const labels = Array.from({ length: batch }, () => Math.floor(rng.uniform() * net.classes));
  const loss = (): number => {
    net.forward(x, batch, true);
    return net.loss(labels).loss;
  };
  net.forward(x, batch, true);
  net.lossAndBackward(labels);
  const analytic = net.params.map((p) => Float64Array.from(p.grad));
  const dInput = net.inputGrad();
  const h = 1e-6;
  let worst = 0;
  let checked = 0;
  const compare = (a: number, numeric: number): void => {
    const err = Math.abs(a - numeric) / Math.max(Math.abs(a) + Math.abs(numeric), 1e-4);
    worst = Math.max(worst, err);
    checked++;
  };
  const probe = (arr: { [i: number]: number; length: number }, i: number): number => {
    const keep = arr[i]!;
    arr[i] = keep + h;
    const up = loss();
    arr[i] = keep - h;
    const down = loss();
    arr[i] = keep;
    return (up - down) / (2 * h);
  };
  net.params.forEach((p, pi) => {
    const n = p.data.length;
    const idx = n <= perParam ? Array.from({ length: n }, (_, i) => i) : Array.from({ length: perParam }, () => Math.floor(rng.uniform() * n));
    for (const i of idx) compare(analytic[pi]![i]!, probe(p.data, i));
  });
  for (let k = 0; k < perParam; k++) {
    const i = Math.floor(rng.uniform() * x.length);
    compare(dInput[i]!, probe(x, i));
  }
  return { worst, checked };
}

const TOL = 1e-5;

describe('gradient checks (float64, central differences)', () => {
  it('conv 3x3 stride 1 pad 1, conv 3x3 stride 2, conv 1x1 stride 2 with bias, conv 5x5 pad 0', () => {
    for (const [k, s, p, bias] of [[3, 1, 1, false], [3, 2, 1, false], [1, 2, 0, true], [5, 1, 0, true]] as const) {
      const g = new G(1);
      let x = g.conv('input', 2, 3, k, s, p, bias);
      x = g.conv(x, 3, 4, 3, 1, 1);
      g.head(x, 4, 3);
      const r = gradCheck(g.graph([2, 7, 6], 3), 3, 11);
      assert.ok(r.worst < TOL, `conv k${k} s${s} p${p}: worst relative error ${r.worst} over ${r.checked} entries`);
    }
  });

  it('batch norm in training mode (batch statistics)', () => {
    const g = new G(2);
    let x = g.conv('input', 1, 3, 3, 1, 1);
    x = g.bn(x, 3);
    x = g.conv(x, 3, 2, 3, 1, 1);
    x = g.bn(x, 2);
    g.head(x, 2, 4);
    const r = gradCheck(g.graph([1, 5, 5], 4), 4, 12);
    assert.ok(r.worst < TOL, `bn: worst ${r.worst} over ${r.checked}`);
  });

  it('ReLU', () => {
    const g = new G(3);
    let x = g.op('Relu', ['input']);
    x = g.conv(x, 2, 3, 3, 1, 1);
    x = g.op('Relu', [x]);
    g.head(x, 3, 3);
    const r = gradCheck(g.graph([2, 5, 4], 3), 3, 13);
    assert.ok(r.worst < TOL, `relu: worst ${r.worst} over ${r.checked}`);
  });

  it('Add, with a value read by two ops (gradients accumulate)', () => {
    const g = new G(4);
    const a = g.conv('input', 2, 3, 3, 1, 1);
    const b = g.conv(a, 3, 3, 3, 1, 1);
    const sum = g.op('Add', [a, b]);
    const twice = g.op('Add', [sum, g.op('Relu', [sum])]);
    g.head(twice, 3, 3);
    const r = gradCheck(g.graph([2, 4, 5], 3), 2, 14);
    assert.ok(r.worst < TOL, `add: worst ${r.worst} over ${r.checked}`);
  });

  it('option-A shortcut: Slice with steps then zero channels (Pad), odd sizes', () => {
    const g = new G(5);
    const a = g.conv('input', 2, 2, 3, 1, 1);
    const sub = g.op('Slice', [a, g.const64([0, 0]), g.const64([INT64_MAX, INT64_MAX]), g.const64([2, 3]), g.const64([2, 2])]);
    const pad = g.op('Pad', [sub, g.const64([0, 1, 0, 0, 0, 3, 0, 0])], { mode: str('constant') });
    const branch = g.conv(a, 2, 6, 3, 2, 1);
    const y = g.op('Add', [branch, pad]);
    g.head(y, 6, 3);
    const r = gradCheck(g.graph([2, 7, 5], 3), 3, 15);
    assert.ok(r.worst < TOL, `option A: worst ${r.worst} over ${r.checked}`);
  });

  it('global average pool, fully-connected and softmax cross-entropy', () => {
    const g = new G(6);
    g.head('input', 5, 7);
    const r = gradCheck(g.graph([5, 3, 2], 7), 4, 16, 40);
    assert.ok(r.worst < TOL, `head: worst ${r.worst} over ${r.checked}`);
  });

  it('tiny zoo nets end to end: plain, residual option A, residual option B', () => {
    const base: ModelSpec = { family: 'cifar', block: 'basic', stages: [1, 1], widths: [2, 4], shortcut: 'A', residual: true, inputChannels: 1, inputSize: 6, classes: 3 };
    for (const spec of [{ ...base, residual: false }, base, { ...base, shortcut: 'B' as const }]) {
      const graph = buildModel(spec, { name: 'tiny', seed: 3 });
      const r = gradCheck(graph, 3, 17, 6);
      assert.ok(r.checked > 60, `checked ${r.checked}`);
      assert.ok(r.worst < TOL, `${spec.residual ? `residual ${spec.shortcut}` : 'plain'}: worst ${r.worst} over ${r.checked}`);
    }
  });

  it('a residual add and the ReLU after it run inside the batch norm that ends the branch (option A and B, downsampling blocks too)', () => {
    const base: ModelSpec = { family: 'cifar', block: 'basic', stages: [2, 2], widths: [2, 4], shortcut: 'A', residual: true, inputChannels: 1, inputSize: 6, classes: 3 };
    for (const spec of [base, { ...base, shortcut: 'B' as const }]) {
      const phases = new Set<string>();
      const net = new TrainNet(buildModel(spec, { name: 'tiny', seed: 3 }), { backend: jsBackend(64), maxBatch: 2, profile: (phase) => phases.add(phase) });
      net.forward(new Float32Array(2 * net.inputSize).fill(0.5), 2, true);
      net.lossAndBackward([0, 1]);
      assert.ok(phases.has('bn forward') && phases.has('bn backward'), [...phases].join(', '));
      assert.deepEqual([...phases].filter((p) => /^(add|relu) /.test(p)), [], `shortcut ${spec.shortcut}`);
    }
  });

  it('the check itself catches a wrong gradient', () => {
    const g = new G(7);
    g.head(g.conv('input', 2, 3, 3, 1, 1), 3, 3);
    const graph = g.graph([2, 4, 4], 3);
    const net = new TrainNet(graph, { backend: jsBackend(64), maxBatch: 2 });
    const x = Float64Array.from({ length: 2 * net.inputSize }, (_, i) => Math.sin(i));
    net.forward(x, 2, true);
    net.lossAndBackward([0, 2]);
    const w = net.params[0]!;
    const keep = w.data[0]!;
    w.data[0] = keep + 1e-6;
    net.forward(x, 2, true);
    const up = net.loss([0, 2]).loss;
    w.data[0] = keep - 1e-6;
    net.forward(x, 2, true);
    const down = net.loss([0, 2]).loss;
    const numeric = (up - down) / 2e-6;
    // The analytic value matches; twice it (a plausible bug) would not.
    assert.ok(Math.abs(w.grad[0]! - numeric) < 1e-7 * Math.max(1, Math.abs(numeric)));
    assert.ok(Math.abs(2 * w.grad[0]! - numeric) > 1e-4 * Math.abs(numeric));
  });
});
