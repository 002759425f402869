import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileGraph } from '../engine/compile';
import { buildModel } from './build';
import { specCounts } from './count';
import { specDepth, zooNames, zooSpec, type ModelSpec } from './spec';

const memo = new Map<string, { params: number; macs: number }>();
function counts(spec: ModelSpec, name = 'm'): { params: number; macs: number } {
  const key = JSON.stringify(spec);
  if (memo.has(key)) return memo.get(key)!;
  const plan = compileGraph(buildModel(spec, { name, init: 'zeros' }));
  memo.set(key, {
    params: plan.stats.reduce((s, l) => s + l.params, 0),
    macs: plan.stats.reduce((s, l) => s + l.macs, 0),
  });
  return memo.get(key)!;
}

const within = (actual: number, expected: number, tol: number, what: string): void =>
  assert.ok(Math.abs(actual - expected) / expected <= tol, `${what}: ${actual} is not within ${tol * 100}% of ${expected}`);

describe('model zoo', () => {
  it('has the paper\'s ImageNet and CIFAR families', () => {
    for (const n of ['plain18', 'plain34', 'resnet18', 'resnet34', 'resnet50', 'resnet101', 'resnet152']) assert.ok(zooNames().includes(n), n);
    for (const d of [20, 32, 44, 56, 110]) {
      assert.equal(specDepth(zooSpec(`resnet${d}`)), d);
      assert.equal(specDepth(zooSpec(`plain${d}`)), d);
    }
    for (const d of [18, 34, 50, 101, 152]) assert.equal(specDepth(zooSpec(`resnet${d}`)), d);
  });

  it('ImageNet multiply-adds match the paper (Table 1) within 5%', () => {
    const paper: Record<string, number> = { resnet18: 1.8e9, resnet34: 3.6e9, resnet50: 3.8e9, resnet101: 7.6e9, resnet152: 11.3e9 };
    for (const [name, macs] of Object.entries(paper)) within(counts(zooSpec(name), name).macs, macs, 0.05, name);
  });

  it('CIFAR parameter counts match the paper (Table 6) within 3%', () => {
    const paper: Record<string, number> = { resnet20: 0.27e6, resnet32: 0.46e6, resnet44: 0.66e6, resnet56: 0.85e6, resnet110: 1.7e6 };
    for (const [name, params] of Object.entries(paper)) within(counts(zooSpec(name), name).params, params, 0.03, name);
  });

  it('a plain net has exactly the parameters and multiply-adds of its option-A twin', () => {
    for (const [plain, res] of [['plain20', 'resnet20'], ['plain56', 'resnet56'], ['plain18', 'resnet18'], ['plain34', 'resnet34']] as const) {
      assert.deepEqual(counts(zooSpec(plain)), counts(zooSpec(res)), `${plain} vs ${res}`);
    }
  });

  it('option B adds projection parameters only where shapes change, option C on every block', () => {
    const a = counts({ ...zooSpec('resnet20'), shortcut: 'A' }).params;
    const b = counts({ ...zooSpec('resnet20'), shortcut: 'B' }).params;
    const c = counts({ ...zooSpec('resnet20'), shortcut: 'C' }).params;
    // Two shape changes (16->32, 32->64): 1x1 conv + BN gamma/beta each.
    assert.equal(b - a, 16 * 32 + 2 * 32 + 32 * 64 + 2 * 64);
    // Option C projects all 9 blocks: (inC*outC + 2*outC) each.
    const proj = (i: number, o: number): number => i * o + 2 * o;
    assert.equal(c - a, 3 * proj(16, 16) + proj(16, 32) + 2 * proj(32, 32) + proj(32, 64) + 2 * proj(64, 64));
  });

  it('puts the bottleneck stride on the first 1x1 by default and on the 3x3 when asked (torchvision)', () => {
    const paper = compileGraph(buildModel(zooSpec('resnet50'), { name: 'r50', init: 'zeros' }));
    const tv = compileGraph(buildModel({ ...zooSpec('resnet50'), bottleneckStride: '3x3' }, { name: 'r50tv', init: 'zeros' }));
    const stride = (p: typeof paper, name: string): number => {
      const s = p.steps.find((x) => x.name === name);
      assert.ok(s && s.kind === 'conv', name);
      return s.attrs.strides[0];
    };
    assert.equal(stride(paper, 'layer2.0.conv1'), 2);
    assert.equal(stride(paper, 'layer2.0.conv2'), 1);
    assert.equal(stride(tv, 'layer2.0.conv1'), 1);
    assert.equal(stride(tv, 'layer2.0.conv2'), 2);
    // torchvision's placement costs more multiply-adds (4.1 G vs the paper's 3.9 G).
    within(counts({ ...zooSpec('resnet50'), bottleneckStride: '3x3' }).macs, 4.09e9, 0.02, 'resnet50 torchvision');
  });

  it('builds the same weights from the same seed, and other weights from another', () => {
    const w = (seed: number) => buildModel(zooSpec('resnet20'), { name: 'r', seed }).initializers.get('layer1.0.conv1.weight');
    const [a, b, c] = [w(1), w(1), w(2)];
    assert.ok(a && b && c);
    assert.deepEqual(a.data, b.data);
    assert.notDeepEqual(a.data, c.data);
  });

  it('specCounts, by arithmetic, gives the compiled plan\'s parameters and multiply-adds for every zoo model and option', () => {
    const specs: [string, ModelSpec][] = zooNames().map((n) => [n, zooSpec(n)]);
    specs.push(['resnet50 3x3', { ...zooSpec('resnet50'), bottleneckStride: '3x3' }], ['resnet34 B', { ...zooSpec('resnet34'), shortcut: 'B' }],
      ['resnet20 C', { ...zooSpec('resnet20'), shortcut: 'C' }], ['resnet56 1x28x28', { ...zooSpec('resnet56'), inputChannels: 1, inputSize: 28 }],
      ['resnet18 7 classes at 96', { ...zooSpec('resnet18'), inputSize: 96, classes: 7 }]);
    for (const [name, spec] of specs) assert.deepEqual(specCounts(spec), counts(spec), name);
  });
  it('has CIFAR input size, channels and classes as parameters', () => {
    const g = buildModel({ ...zooSpec('resnet20'), inputChannels: 1, inputSize: 28, classes: 7 }, { name: 'r' });
    const plan = compileGraph(g);
    assert.deepEqual(plan.values[plan.input]!.shape, [1, 28, 28]);
    assert.deepEqual(plan.values[plan.outputs[0]!]!.shape, [7]);
    // 28 -> 14 -> 7 through the two stride-2 stages.
    const last = plan.steps.filter((s) => s.kind === 'conv').at(-1)!;
    assert.deepEqual(plan.values[last.output]!.shape, [64, 7, 7]);
  });
});
