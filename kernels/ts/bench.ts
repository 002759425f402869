// Throughput of the TS conv2d and gemm on ResNet-like shapes (median of several runs after one warm-up).
//   node --import tsx kernels/ts/bench.ts
import { tensor, type Tensor } from '../core/tensor';
import { convOutputHW } from '../core/shape';
import { conv2d } from './conv';
import { gemm } from './gemm';

function random(shape: readonly number[], seed: number): Tensor {
  const t = tensor(shape);
  let s = seed >>> 0;
  for (let i = 0; i < t.data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    t.data[i] = s / 2 ** 32 - 0.5;
  }
  return t;
}

function medianMs(run: () => void, runs: number): number {
  run();
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(runs / 2)]!;
}

interface ConvCase { name: string; x: number[]; w: number[]; stride: number; pad: number }
const convCases: ConvCase[] = [
  { name: 'conv3x3 64->64 @56 s1', x: [1, 64, 56, 56], w: [64, 64, 3, 3], stride: 1, pad: 1 },
  { name: 'conv3x3 128->128 @28 s1', x: [1, 128, 28, 28], w: [128, 128, 3, 3], stride: 1, pad: 1 },
  { name: 'conv3x3 512->512 @7 s1', x: [1, 512, 7, 7], w: [512, 512, 3, 3], stride: 1, pad: 1 },
  { name: 'conv3x3 64->128 @56 s2', x: [1, 64, 56, 56], w: [128, 64, 3, 3], stride: 2, pad: 1 },
  { name: 'conv1x1 256->64 @56 s1', x: [1, 256, 56, 56], w: [64, 256, 1, 1], stride: 1, pad: 0 },
  { name: 'conv7x7 3->64 @224 s2 (stem)', x: [1, 3, 224, 224], w: [64, 3, 7, 7], stride: 2, pad: 3 },
];

for (const c of convCases) {
  const x = random(c.x, 1);
  const w = random(c.w, 2);
  const bias = random([c.w[0]!], 3).data;
  const attrs = { strides: [c.stride, c.stride], pads: [c.pad, c.pad, c.pad, c.pad], dilations: [1, 1] } as const;
  const [OH, OW] = convOutputHW([c.x[2]!, c.x[3]!], [c.w[2]!, c.w[3]!], attrs);
  const flops = 2 * c.w[0]! * c.w[1]! * c.w[2]! * c.w[3]! * OH * OW * c.x[0]!;
  const ms = medianMs(() => conv2d(x, w, bias, attrs, { relu: true }), 7);
  console.log(`${c.name.padEnd(30)} ${ms.toFixed(1).padStart(7)} ms  ${(flops / ms / 1e6).toFixed(2)} GFLOPS`);
}

for (const [M, K, N] of [[256, 256, 256], [1, 512, 1000]] as const) {
  const a = random([M, K], 4);
  const b = random([K, N], 5);
  const ms = medianMs(() => gemm(a, b, null, { transA: false, transB: false, alpha: 1, beta: 0 }), 7);
  console.log(`${`gemm ${M}x${K}x${N}`.padEnd(30)} ${ms.toFixed(2).padStart(7)} ms  ${((2 * M * K * N) / ms / 1e6).toFixed(2)} GFLOPS`);
}
