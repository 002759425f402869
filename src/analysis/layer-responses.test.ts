// Figure 7's responses must be the network's own pre-activation values: applying the fused ReLU (and,
// in residual blocks, adding the shortcut first) to each response must give back the activation the
// engine computes for that layer.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { registerAll } from '../engine/register';
import { compileModel } from '../engine/session';
import type { ConvStep } from '../engine/plan';
import { runPlan } from '../engine/run-ts';
import { serializeOnnx } from '../onnx/write';
import { seededRandom, buildModel } from '../zoo/build';
import { zooSpec } from '../zoo/spec';
import { convResponse, isResponseLayer, layerResponseStds, stdOf } from './layer-responses';

function model(name: string, size = 16, init: 'he' | 'zeros' = 'he') {
  const spec = { ...zooSpec(name), inputSize: size };
  return compileModel(serializeOnnx(buildModel(spec, { name, init })));
}

function input(shape: readonly number[]): { shape: number[]; data: Float32Array } {
  const rng = seededRandom(3);
  const n = shape.reduce((a, b) => a * b, 1);
  return { shape: [1, ...shape], data: Float32Array.from({ length: n }, () => rng.normal()) };
}

describe('layerResponseStds', () => {
  registerAll();
  for (const name of ['plain20', 'resnet20']) {
    it(`${name}: one std per 3x3 conv, consistent with the engine's own activations`, () => {
      const { plan } = model(name);
      const x = input(plan.values[plan.input]!.shape);
      const stds = layerResponseStds(plan, x);
      assert.equal(stds.length, 19, 'stem + 18 block convs');
      assert.ok(stds.every((l) => Number.isFinite(l.std) && l.std > 0));
      const run = runPlan(plan, x, 'ts', true);
      const act = (v: number) => (v === plan.input ? x : run.activations!.get(plan.values[v]!.name)!);
      const convs = plan.steps.filter((s): s is ConvStep => s.kind === 'conv' && isResponseLayer(s));
      let checked = 0;
      for (const [i, s] of convs.entries()) {
        const response = convResponse(s, act(s.input));
        assert.ok(Math.abs(stdOf(response.data) - stds[i]!.std) < 1e-9, `${s.name}: same std`);
        const out = act(s.output).data;
        const res = s.residual === undefined ? undefined : act(s.residual).data;
        let maxErr = 0;
        for (let k = 0; k < out.length; k++) {
          let v = response.data[k]! + (res ? res[k]! : 0);
          if (s.relu) v = Math.max(0, v);
          maxErr = Math.max(maxErr, Math.abs(v - out[k]!));
        }
        assert.ok(maxErr < 1e-4, `${s.name}: relu(response${res ? ' + shortcut' : ''}) reproduces the layer output (max error ${maxErr})`);
        checked++;
      }
      assert.equal(checked, 19);
      if (name === 'resnet20') assert.ok(convs.some((c) => c.residual !== undefined), 'some residual adds are fused into convs');
    });
  }
  it('counts only 3x3 (and larger) convs: 1x1 projections are left out', () => {
    const { plan } = model('resnet50', 32, 'zeros'); // only the layer count matters here
    const stds = layerResponseStds(plan, input(plan.values[plan.input]!.shape));
    assert.equal(stds.length, 1 + 16, 'the 7x7 stem and one 3x3 conv per bottleneck block');
  });
  it('refuses an input of the wrong shape', () => {
    const { plan } = model('plain20');
    assert.throws(() => layerResponseStds(plan, input([3, 8, 8])), /input has shape \[1,3,8,8\], the model expects \[N,3,16,16\]/);
  });
  it('stdOf is the population standard deviation', () => {
    assert.equal(stdOf(Float32Array.of(2, 4, 4, 4, 5, 5, 7, 9)), 2);
    assert.equal(stdOf(new Float32Array(0)), 0);
  });
});
