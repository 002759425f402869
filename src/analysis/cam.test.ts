import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { packageRoot } from '../models-dir';
import { loadModel, type Session } from '../engine/session';
import { serializeOnnx } from '../onnx/write';
import { randomNormalTensor } from '../random';
import { loadSplit } from '../train/data';
import { buildModel } from '../zoo/build';
import { zooSpec } from '../zoo/spec';
import { argmax, type CamHead, classActivationMap, findCamHead, overlayHeatmap, resizeMap } from './cam';

const sessions: Session[] = [];
after(async () => {
  for (const s of sessions) await s.dispose();
});

describe('class activation maps', () => {
  it('equal the FC-weighted sum of the captured last-block activations, and average to the logit less its bias', async () => {
    const graph = buildModel(zooSpec('resnet20'), { name: 'resnet20' });
    const head = findCamHead(graph);
    assert.ok(head, 'resnet20 ends in GAP + FC');
    assert.deepEqual([head.classes, head.channels], [10, 64]);
    const bytes = serializeOnnx(graph);
    const ref = await loadModel(bytes, { engine: 'ts' });
    sessions.push(ref);
    const x = randomNormalTensor([2, 3, 32, 32], 5);
    const captured = await ref.run(x, { captureActivations: true });
    const a = captured.activations!.get(head.features)!;
    assert.deepEqual(a.shape, [2, 64, 8, 8]);
    // The FC layer straight from the file: Gemm with transB, weight [classes, channels].
    const fc = graph.nodes.find((n) => n.op === 'Gemm')!;
    const w = graph.initializers.get(fc.inputs[1]!)!.data as Float32Array;
    const b = graph.initializers.get(fc.inputs[2]!)!.data as Float32Array;
    for (const n of [0, 1]) {
      for (const cls of [0, 3, 9]) {
        const map = classActivationMap(a, head, cls, n);
        let mean = 0;
        for (let p = 0; p < 64; p++) {
          let want = 0;
          for (let k = 0; k < 64; k++) want += w[cls * 64 + k]! * a.data[((n * 64 + k) * 64) + p]!;
          assert.ok(Math.abs(map[p]! - want) <= 1e-4 * Math.max(1, Math.abs(want)), `sample ${n} class ${cls} position ${p}: ${map[p]} vs ${want}`);
          mean += map[p]! / 64;
        }
        const logit = captured.output.data[n * 10 + cls]!;
        assert.ok(Math.abs(mean + b[cls]! - logit) <= 1e-3 * Math.max(1, Math.abs(logit)), `mean ${mean} + bias ${b[cls]} vs logit ${logit}`);
      }
    }
    // Every engine returns the same features as an extra output, so maps come from whichever one runs.
    for (const engine of ['ts', 'wasm', 'ort-wasm'] as const) {
      const s = await loadModel(bytes, { engine, threads: 1, extraOutputs: [head.features] });
      sessions.push(s);
      const r = await s.run(x);
      assert.equal(r.outputs.length, 2, engine);
      const got = r.outputs[1]!;
      assert.deepEqual(got.shape, a.shape, engine);
      const scale = Math.max(...a.data.map(Math.abs));
      got.data.forEach((v, i) => assert.ok(Math.abs(v - a.data[i]!) <= 1e-4 * scale, `${engine} features[${i}]: ${v} vs ${a.data[i]}`));
    }
  });

  it("peak where the garment is: a shipped Fashion-MNIST net's map for an image in one corner of a larger canvas", async () => {
    const root = packageRoot();
    const bytes = new Uint8Array(readFileSync(join(root, 'models/resnet20.onnx')));
    // The features chosen from the graph the session parses (extraOutputs as a function: one parse).
    const found: { head?: CamHead } = {};
    const s = await loadModel(bytes, {
      engine: 'wasm', threads: 1,
      extraOutputs: (graph) => {
        found.head = findCamHead(graph) ?? undefined;
        return found.head ? [found.head.features] : [];
      },
    });
    sessions.push(s);
    const head = found.head!;
    assert.equal(s.info.outputs[1]?.name, head.features);
    const { mean, std } = s.info.meta!;
    const set = loadSplit(join(root, 'src/testdata/fashion-mnist'), 't10k', 10, 40);
    let inCorner = 0;
    const corners = ['top-left', 'bottom-right'] as const;
    for (let i = 0; i < set.count; i++) {
      const corner = corners[i % 2]!;
      // The 28x28 garment in a corner of a black 56x56 canvas, shrunk back to 28x28: it fills one 14x14 quadrant.
      const x = new Float32Array(28 * 28).fill((0 - mean[0]!) / std[0]!);
      const off = corner === 'top-left' ? 0 : 14;
      for (let y = 0; y < 14; y++) {
        for (let xx = 0; xx < 14; xx++) {
          let sum = 0;
          for (const [dy, dx] of [[0, 0], [0, 1], [1, 0], [1, 1]] as const) sum += set.images[i * 784 + (2 * y + dy) * 28 + 2 * xx + dx]!;
          x[(y + off) * 28 + xx + off] = (sum / 4 / 255 - mean[0]!) / std[0]!;
        }
      }
      const r = await s.run({ shape: [1, 1, 28, 28], data: x });
      const features = r.outputs[1]!;
      const [, , h, w] = features.shape as [number, number, number, number];
      const map = resizeMap(classActivationMap(features, head, argmax(r.output.data)), h, w, 28, 28);
      const peak = argmax(map);
      const [py, px] = [Math.floor(peak / 28), peak % 28];
      const inside = corner === 'top-left' ? py < 14 && px < 14 : py >= 14 && px >= 14;
      if (inside) inCorner++;
    }
    // Every map should peak on the garment; allow one stray of forty.
    assert.ok(inCorner >= set.count - 1, `${inCorner} of ${set.count} maps peak in the garment's quadrant`);
  });

  it('finds no head in a net that does not end in GAP + FC, or does not answer with it', () => {
    const graph = buildModel(zooSpec('resnet20'), { name: 'resnet20' });
    const noPool = { ...graph, nodes: graph.nodes.filter((n) => n.op !== 'GlobalAveragePool') };
    assert.equal(findCamHead(noPool), null);
    // GAP and FC are there, but the net answers with its features: no class scores to map.
    const features = graph.nodes.find((n) => n.op === 'GlobalAveragePool')!.inputs[0]!;
    assert.equal(findCamHead({ ...graph, outputs: [{ name: features, dtype: 'float32', shape: ['N', 64, 8, 8] }] }), null);
  });

  it('resizes a map keeping its values and draws a heat-map over an image', () => {
    const map = Float32Array.from([0, 1, 2, 3]);
    const big = resizeMap(map, 2, 2, 4, 4);
    assert.equal(big.length, 16);
    assert.equal(big[0], 0);
    assert.equal(big[15], 3);
    assert.equal(argmax(big), 15);
    const rgb = new Uint8Array(16 * 3).fill(128);
    const rgba = overlayHeatmap(rgb, big, 4, 4);
    assert.equal(rgba.length, 64);
    // Cold corner bluish, hot corner reddish, every pixel opaque.
    assert.ok(rgba[2]! > rgba[0]!, 'the coldest pixel leans blue');
    assert.ok(rgba[60]! > rgba[62]!, 'the hottest pixel leans red');
    for (let i = 3; i < 64; i += 4) assert.equal(rgba[i], 255);
    assert.throws(() => overlayHeatmap(rgb, big, 5, 4), /heat-map overlay/);
  });
});
