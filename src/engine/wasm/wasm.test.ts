// The wasm engine against the TypeScript reference: hand-built plans that cover every step kind and conv
// geometry, real zoo models on two threads, and the op-level kernels.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { registerAll } from '../register';
import { getKernel } from '../../../kernels/registry';
import { assertClose, randomTensor, rng } from '../../../kernels/testdata/helpers';
import type { ConvAttrs, PoolAttrs } from '../../../kernels/core/attrs';
import { windowOutputSize } from '../../../kernels/core/shape';
import { compileGraph } from '../compile';
import type { Plan, PlanValue, Step, ValueId } from '../plan';
import { runPlan } from '../run-ts';
import type { Tensor } from '../../../kernels/core/tensor';
import { buildModel } from '../../zoo/build';
import { zooSpec } from '../../zoo/spec';
import { DEFAULT_MR } from '../../../kernels/wasm/f32-igemm-4x8';
import { compileKernelsSync, createWasmExecutor, newMemory, WasmCore } from './executor';
import { WorkerPool } from './threads';
import { layoutValues, packSteps, planArena } from './lower';
import { wasmKernels } from './ops';

registerAll();

/** Builds a Plan by hand: values by shape, steps in order. */
class PlanBuilder {
  readonly values: PlanValue[] = [];
  readonly steps: Step[] = [];
  value(name: string, shape: readonly number[]): ValueId {
    this.values.push({ name, shape: [...shape] });
    return this.values.length - 1;
  }
  step(s: Step): ValueId {
    this.steps.push(s);
    return s.output;
  }
  conv(x: ValueId, m: number, k: number, opts: { stride?: number; pad?: readonly [number, number, number, number]; dil?: number; relu?: boolean; residual?: ValueId; seed?: number } = {}): ValueId {
    const [c, h, w] = this.values[x]!.shape as [number, number, number];
    const s = opts.stride ?? 1, d = opts.dil ?? 1;
    const pads = opts.pad ?? [Math.floor(k / 2), Math.floor(k / 2), Math.floor(k / 2), Math.floor(k / 2)] as const;
    const oh = windowOutputSize(h, k, s, d, pads[0], pads[2]);
    const ow = windowOutputSize(w, k, s, d, pads[1], pads[3]);
    const next = rng(opts.seed ?? this.steps.length + 1);
    const weight = randomTensor([m, c, k, k], next, Math.sqrt(2 / (c * k * k)));
    const bias = randomTensor([m], next, 0.1).data;
    const attrs: ConvAttrs = { strides: [s, s], pads, dilations: [d, d] };
    const out = this.value(`conv${this.steps.length}`, [m, oh, ow]);
    return this.step({ kind: 'conv', name: `conv${this.steps.length}`, input: x, output: out, weight, bias, attrs, relu: opts.relu ?? false, ...(opts.residual !== undefined ? { residual: opts.residual } : {}) });
  }
  plan(input: ValueId, output: ValueId): Plan {
    return {
      values: this.values, input, outputs: [output], outputIsProbabilities: false, steps: this.steps,
      stats: this.steps.map((s) => ({ name: s.name, kind: s.kind, outShape: this.values[s.output]!.shape, params: 0, macs: 0, detail: '' })),
    };
  }
}

async function checkPlan(plan: Plan, batch: number, threads: number, seed = 7): Promise<void> {
  const x = randomTensor([batch, ...plan.values[plan.input]!.shape], rng(seed));
  const want = runPlan(plan, x, 'ts').outputs[0]!;
  const ex = await createWasmExecutor(plan, { threads });
  try {
    const got = await ex.run(x);
    assertClose(got.outputs[0]!, want, `plan ending in ${plan.steps[plan.steps.length - 1]!.kind}, batch ${batch}, ${threads} threads`);
  } finally {
    ex.dispose();
  }
}

describe('wasm executor on hand-built plans', () => {
  test('conv geometries: strides, pads, dilation, odd channel counts, 7x7 on 3 channels', async () => {
    const cases: { c: number; m: number; k: number; h: number; stride?: number; pad?: [number, number, number, number]; dil?: number; relu?: boolean }[] = [
      { c: 3, m: 16, k: 7, h: 19, stride: 2, relu: true },
      { c: 8, m: 8, k: 3, h: 9 },
      { c: 5, m: 10, k: 3, h: 7, stride: 2, relu: true },
      { c: 16, m: 24, k: 1, h: 6 },
      { c: 16, m: 12, k: 1, h: 7, stride: 2, pad: [0, 0, 0, 0] },
      { c: 6, m: 8, k: 3, h: 11, dil: 2, pad: [2, 1, 0, 2] },
      { c: 4, m: 8, k: 2, h: 5, pad: [0, 0, 1, 1] },
    ];
    for (const cs of cases) {
      const b = new PlanBuilder();
      const x = b.value('x', [cs.c, cs.h, cs.h + 1]);
      const y = b.conv(x, cs.m, cs.k, { stride: cs.stride, pad: cs.pad, dil: cs.dil, relu: cs.relu });
      for (const threads of [1, 2]) await checkPlan(b.plan(x, y), 3, threads);
    }
  });

  test('Winograd 3x3 convs: odd sizes, asymmetric pads, residual, tile split, channel split, filters transformed per run', async () => {
    // F(2x2,3x3) for few tiles or big weights, F(4x4,3x3) from 4 tiles of 4x4 per image; from 128 x 128
    // channels the filters are transformed per run (onTheFly), over one or several blocks of tiles.
    const cases: { c: number; m: number; h: number; w: number; pad?: [number, number, number, number]; batch: number; tile: number; onTheFly?: boolean }[] = [
      { c: 32, m: 40, h: 9, w: 7, batch: 3, tile: 4 },
      { c: 36, m: 16, h: 6, w: 11, pad: [0, 1, 2, 0], batch: 2, tile: 4 },
      { c: 32, m: 40, h: 3, w: 7, batch: 3, tile: 2 },
      { c: 36, m: 16, h: 5, w: 3, pad: [0, 1, 2, 0], batch: 2, tile: 2 },
      { c: 64, m: 64, h: 4, w: 4, batch: 1, tile: 2 },
      { c: 32, m: 24, h: 21, w: 19, batch: 2, tile: 4 },
      { c: 40, m: 32, h: 15, w: 18, pad: [1, 0, 2, 1], batch: 1, tile: 4 },
      { c: 256, m: 256, h: 16, w: 16, batch: 1, tile: 2, onTheFly: true },
      { c: 256, m: 256, h: 16, w: 16, batch: 2, tile: 2, onTheFly: true },
      { c: 128, m: 128, h: 9, w: 10, pad: [1, 0, 2, 1], batch: 3, tile: 4, onTheFly: true },
      { c: 130, m: 132, h: 5, w: 3, batch: 2, tile: 2, onTheFly: true },
    ];
    for (const cs of cases) {
      const b = new PlanBuilder();
      const x = b.value('x', [cs.c, cs.h, cs.w]);
      const r = b.conv(x, cs.m, 1);
      const y = b.conv(x, cs.m, 3, { pad: cs.pad, relu: true, residual: cs.pad ? undefined : r });
      const plan = b.plan(x, y);
      const packed = packSteps(plan, layoutValues(plan, [x])).consts[1]!;
      assert.equal(packed.winograd?.m, cs.tile, 'Winograd tile size');
      assert.equal(packed.winogradOnTheFly, cs.onTheFly ?? false, 'filters transformed per run');
      for (const threads of [1, 2]) await checkPlan(b.plan(x, y), cs.batch, threads);
    }
  });

  test('residual block with option-A shortcut, pools, GAP, flatten, fc, softmax', async () => {
    const b = new PlanBuilder();
    const x = b.value('x', [3, 20, 20]);
    const c1 = b.conv(x, 16, 3, { relu: true });
    const mp = b.value('mp', [16, 10, 10]);
    const poolAttrs: PoolAttrs = { kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1], dilations: [1, 1], ceilMode: false, countIncludePad: false };
    b.step({ kind: 'maxPool', name: 'mp', input: c1, output: mp, attrs: poolAttrs });
    const r1 = b.conv(mp, 16, 3, { relu: true });
    const r2 = b.conv(r1, 16, 3, { relu: true, residual: mp });
    // Downsampling block: the main path halves H and W and doubles channels, the shortcut subsamples and zero-pads.
    const d1 = b.conv(r2, 32, 3, { stride: 2, relu: true });
    const d2 = b.conv(d1, 32, 3);
    const sc = b.value('sc', [32, 5, 5]);
    b.step({ kind: 'shortcutA', name: 'sc', input: r2, output: sc, stride: 2, outChannels: 32 });
    const sum = b.value('sum', [32, 5, 5]);
    b.step({ kind: 'add', name: 'add', a: d2, b: sc, output: sum, relu: true });
    const ap = b.value('ap', [32, 3, 3]);
    b.step({ kind: 'avgPool', name: 'ap', input: sum, output: ap, attrs: { ...poolAttrs, kernel: [2, 2], pads: [0, 0, 1, 1], countIncludePad: true } });
    const gap = b.value('gap', [32, 1, 1]);
    b.step({ kind: 'globalAvgPool', name: 'gap', input: ap, output: gap });
    const flat = b.value('flat', [32]);
    b.step({ kind: 'flatten', name: 'flat', input: gap, output: flat });
    const logits = b.value('logits', [10]);
    const next = rng(3);
    b.step({ kind: 'fc', name: 'fc', input: flat, output: logits, weight: randomTensor([10, 32], next, 0.3), bias: randomTensor([10], next).data, relu: false });
    const probs = b.value('probs', [10]);
    b.step({ kind: 'softmax', name: 'softmax', input: logits, output: probs, axis: 1 });
    const plan = b.plan(x, probs);
    await checkPlan(plan, 3, 1);
    await checkPlan(plan, 2, 2);
  });

  test('fc on a flattened spatial map, standalone batchNorm and relu', async () => {
    const b = new PlanBuilder();
    const x = b.value('x', [6, 3, 4]);
    const next = rng(11);
    const bn = b.value('bn', [6, 3, 4]);
    b.step({ kind: 'batchNorm', name: 'bn', input: x, output: bn, scale: randomTensor([6], next).data, shift: randomTensor([6], next).data });
    const r = b.value('r', [6, 3, 4]);
    b.step({ kind: 'relu', name: 'relu', input: bn, output: r });
    const flat = b.value('flat', [72]);
    b.step({ kind: 'flatten', name: 'flat', input: r, output: flat });
    const out = b.value('out', [9]);
    b.step({ kind: 'fc', name: 'fc', input: flat, output: out, weight: randomTensor([9, 72], next, 0.2), bias: randomTensor([9], next).data, relu: true });
    await checkPlan(b.plan(x, out), 5, 2);
  });

  test('pad (with crops and channel padding) and slice (negative steps) match the reference, feeding a conv and an add', async () => {
    const b = new PlanBuilder();
    const x = b.value('x', [6, 7, 9]);
    const p1 = b.value('p1', [8, 8, 8]);
    b.step({ kind: 'pad', name: 'pad1', input: x, output: p1, pads: [0, 1, 2, -1, 0, 1, -1, 0], value: 0.5 });
    const s1 = b.value('s1', [4, 3, 8]);
    b.step({ kind: 'slice', name: 'slice1', input: p1, output: s1, starts: [-1, 1, 0], ends: [-100, 7, 8], axes: [1, -2, 3], steps: [-2, 2, 1] });
    const c1 = b.conv(s1, 4, 3, { relu: true });
    const sum = b.value('sum', [4, 3, 8]);
    b.step({ kind: 'add', name: 'add', a: c1, b: s1, output: sum, relu: false });
    await checkPlan(b.plan(x, sum), 2, 1);
    await checkPlan(b.plan(x, sum), 3, 2);
  });

  test('a pad of the batch axis is refused with the step name', async () => {
    const b = new PlanBuilder();
    const x = b.value('x', [2, 3, 3]);
    const y = b.value('y', [2, 3, 3]);
    b.step({ kind: 'pad', name: 'my_pad', input: x, output: y, pads: [1, 0, 0, 0, 0, 0, 0, 0], value: 0 });
    const ex = await createWasmExecutor(b.plan(x, y), { threads: 1 });
    try {
      await assert.rejects(ex.run(randomTensor([1, 2, 3, 3], rng(1))), /my_pad/);
    } finally {
      ex.dispose();
    }
  });

  test('the arena reuses memory: a chain of convs needs about two activations, not all of them', () => {
    const b = new PlanBuilder();
    const x = b.value('x', [8, 16, 16]);
    let v = x;
    for (let i = 0; i < 6; i++) v = b.conv(v, 8, 3);
    const plan = b.plan(x, v);
    const layouts = layoutValues(plan, [x]);
    const { bytes } = planArena(plan, layouts, 1, [x], [v], plan.steps.length);
    const one = 8 * 16 * 16 * 4;
    assert.equal(bytes, 2 * one, `arena ${bytes} bytes for activations of ${one}`);
  });

  test('a residual that dies at its step is written over in place; one still read later is not', async () => {
    const b = new PlanBuilder();
    const x = b.value('x', [32, 9, 9]);
    const c1 = b.conv(x, 32, 3, { relu: true });
    const y = b.conv(c1, 32, 3, { residual: x }); // x is read again below: y gets a buffer of its own
    const c2 = b.conv(y, 32, 1, { relu: true });
    const z = b.conv(c2, 32, 3, { residual: y }); // y's last read: z is written over it (Winograd)
    const s = b.value('s', [32, 9, 9]);
    b.step({ kind: 'add', name: 'add', a: z, b: x, output: s, relu: true }); // both die here
    const plan = b.plan(x, s);
    const layouts = layoutValues(plan, [x]);
    const inner = planArena(plan, layouts, 1, [], [s], plan.steps.length).offsets;
    assert.notEqual(inner.get(y), inner.get(x));
    assert.equal(inner.get(z), inner.get(y));
    assert.ok(inner.get(s) === inner.get(z) || inner.get(s) === inner.get(x), 'the add writes over one of its operands');
    // The external input and the kept output are never written over.
    const outer = planArena(plan, layouts, 1, [x], [s], plan.steps.length).offsets;
    assert.notEqual(outer.get(s), outer.get(x));
    for (const threads of [1, 2]) await checkPlan(plan, 2, threads);
  });
});

describe('wasm executor on zoo models', () => {
  test('resnet20 (option A) matches the ts engine at batch 3 on 2 threads, then at batch 1; profiles per step', async () => {
    const plan = compileGraph(buildModel(zooSpec('resnet20'), { name: 'resnet20' }));
    const ex = await createWasmExecutor(plan, { threads: 2 });
    try {
      for (const batch of [3, 1]) {
        const x = randomTensor([batch, 3, 32, 32], rng(batch));
        const want = runPlan(plan, x, 'ts').outputs[0]!;
        const got = await ex.run(x, { profile: true });
        assertClose(got.outputs[0]!, want, `resnet20 batch ${batch}`);
        // Every step, then the engine's own work around them (input copy, thread wait, outputs).
        assert.deepEqual(got.layerMs?.map((l) => l.name), [...plan.steps.map((s) => s.name), 'input', 'thread wait', 'outputs']);
        assert.ok(got.layerMs!.every((l) => l.ms >= 0));
      }
    } finally {
      ex.dispose();
    }
  });

  test('per-step times come from whichever thread ends a step: a stalled calling thread does not pile the run onto one step', async () => {
    // Thread 0 stalls after step 0 (as when the OS deschedules it or it oversleeps in the barrier); the worker
    // goes on alone. Marking only on thread 0 gave step 1 the stall and every later step 0 ms.
    const plan = compileGraph(buildModel(zooSpec('resnet20'), { name: 'resnet20' }));
    const module = compileKernelsSync({ relaxedSimd: false, mr: DEFAULT_MR, shared: true });
    const memory = newMemory(true);
    const core = new WasmCore(plan, module, memory, DEFAULT_MR, [plan.input], plan.outputs);
    const pool = await WorkerPool.start(2, module, memory);
    const STALL_MS = 150;
    try {
      core.prepare(1, 2);
      core.writeValue(plan.input, randomTensor([1, 3, 32, 32], rng(5)));
      core.execute(pool, true);
      const inner = core as unknown as { mark(step: number): void };
      const mark = inner.mark.bind(core);
      inner.mark = (step) => {
        mark(step);
        if (step !== 0) return;
        const end = performance.now() + STALL_MS;
        while (performance.now() < end) { /* thread 0 is away */ }
      };
      const t = core.execute(pool, true)!.stepEnds;
      const ms = t.slice(1).map((v, i) => v - t[i]!);
      const convs = plan.steps.flatMap((s, i) => (s.kind === 'conv' ? [ms[i]!] : []));
      assert.ok(ms[1]! < STALL_MS, `step 1 took ${ms[1]!.toFixed(1)} ms: the stall of thread 0 is not its time`);
      assert.ok(convs.every((v) => v > 0), `every conv step has time: ${convs.map((v) => v.toFixed(3)).join(' ')}`);
    } finally {
      pool.dispose();
    }
  });

  test('threads join and leave runs safely: 40 back-to-back and spaced runs on 3 threads give identical outputs', async () => {
    const plan = compileGraph(buildModel(zooSpec('resnet20'), { name: 'resnet20' }));
    const x = randomTensor([2, 3, 32, 32], rng(21));
    const want = runPlan(plan, x, 'ts').outputs[0]!;
    const ex = await createWasmExecutor(plan, { threads: 3 });
    try {
      const first = (await ex.run(x)).outputs[0]!;
      assertClose(first, want, 'resnet20 on 3 threads');
      for (let i = 0; i < 40; i++) {
        if (i % 8 === 0) await new Promise((r) => setTimeout(r, 5));
        const got = (await ex.run(x, { profile: i % 2 === 0 })).outputs[0]!;
        assert.deepEqual(got.data, first.data, `run ${i} differs`);
      }
    } finally {
      ex.dispose();
    }
  });

  test('full-size resnet18 (224x224, F(4x4) and F(2x2) Winograd layers) matches the ts engine to 1e-4 of the largest logit', async () => {
    const plan = compileGraph(buildModel(zooSpec('resnet18'), { name: 'resnet18' }));
    await checkPlan(plan, 1, 2);
  });

  test('resnet18-shaped bottleneck-free ImageNet stem at a small input (7x7/2, maxpool, option A)', async () => {
    const plan = compileGraph(buildModel({ ...zooSpec('resnet18'), inputSize: 64, widths: [64, 64, 72, 80], classes: 12 }, { name: 'tiny18' }));
    await checkPlan(plan, 2, 2);
  });

  test('bottleneck blocks with projection shortcuts (option B) at a small input', async () => {
    const plan = compileGraph(buildModel({ ...zooSpec('resnet50'), inputSize: 48, widths: [4, 8, 8, 16], stages: [1, 2, 1, 1], classes: 7 }, { name: 'tiny50' }));
    await checkPlan(plan, 2, 2);
  });
});

describe('wasm op kernels', () => {
  test('conv2d with residual and relu matches the ts kernel', () => {
    const next = rng(5);
    const x = randomTensor([2, 5, 9, 8], next);
    const w = randomTensor([11, 5, 3, 3], next);
    const bias = randomTensor([11], next).data;
    const attrs: ConvAttrs = { strides: [2, 1], pads: [1, 0, 1, 2], dilations: [1, 1] };
    const probe = getKernel('ts', 'conv2d')(x, w, bias, attrs, { relu: false });
    const residual = randomTensor(probe.shape, next);
    const want = getKernel('ts', 'conv2d')(x, w, bias, attrs, { relu: true, residual });
    assertClose(wasmKernels.conv2d!(x, w, bias, attrs, { relu: true, residual }), want, 'conv2d');
  });

  test('gemm with transposes, alpha, beta and each C broadcast', () => {
    const next = rng(9);
    for (const [transA, transB] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const a = randomTensor(transA ? [7, 5] : [5, 7], next);
      const b = randomTensor(transB ? [6, 7] : [7, 6], next);
      for (const c of [null, randomTensor([6], next), randomTensor([5, 6], next), randomTensor([5, 1], next)] as (Tensor | null)[]) {
        const attrs = { transA, transB, alpha: 0.5, beta: 2 };
        assertClose(wasmKernels.gemm!(a, b, c, attrs), getKernel('ts', 'gemm')(a, b, c, attrs), `gemm transA=${transA} transB=${transB} C=${c ? c.shape.join('x') : 'none'}`);
      }
    }
  });

  test('pools, globalAvgPool, shortcutA, relu, batchNorm match the ts kernels', () => {
    const next = rng(13);
    const x = randomTensor([2, 6, 9, 7], next);
    const pa: PoolAttrs = { kernel: [3, 2], strides: [2, 2], pads: [1, 0, 1, 1], dilations: [1, 1], ceilMode: true, countIncludePad: false };
    for (const p of [pa, { ...pa, ceilMode: false, countIncludePad: true }, { ...pa, dilations: [2, 1] as [number, number] }]) {
      assertClose(wasmKernels.maxPool2d!(x, p), getKernel('ts', 'maxPool2d')(x, p), `maxPool ${JSON.stringify(p)}`);
      assertClose(wasmKernels.avgPool2d!(x, p), getKernel('ts', 'avgPool2d')(x, p), `avgPool ${JSON.stringify(p)}`);
    }
    assertClose(wasmKernels.globalAvgPool!(x), getKernel('ts', 'globalAvgPool')(x), 'globalAvgPool');
    assertClose(wasmKernels.shortcutA!(x, 2, 10), getKernel('ts', 'shortcutA')(x, 2, 10), 'shortcutA');
    assertClose(wasmKernels.relu!(x), getKernel('ts', 'relu')(x), 'relu');
    const s = randomTensor([6], next).data, sh = randomTensor([6], next).data, mean = randomTensor([6], next).data;
    const v = Float32Array.from(randomTensor([6], next).data, (e) => Math.abs(e) + 0.1);
    assertClose(wasmKernels.batchNorm!(x, s, sh, mean, v, 1e-5), getKernel('ts', 'batchNorm')(x, s, sh, mean, v, 1e-5), 'batchNorm');
  });
});
