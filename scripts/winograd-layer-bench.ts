// Times the training Winograd kernels one layer at a time: wino_conv_f4 (forward; backward data is the same
// kernel) or wino_wgrad_f4 on resnet20's three 3x3 layer shapes at 1x28x28 (C = M = 16 at 28x28, 32 at 14x14,
// 64 at 7x7; --shapes C1xS1,C2xS2,... for others), one thread's shard of 64 images, with the block sizes the
// backend picks. Each line also gives the time per tile and channel, which grows with the layer where the
// data leaves the caches. With --against DIR (another checkout of this repository) that checkout's kernels
// run too, calls interleaved in one process, so that this machine's swings in speed hit both alike; the
// ratio is this checkout's time over the other's.
//   node --experimental-wasm-relaxed-simd --import tsx scripts/winograd-layer-bench.ts [--pass conv|wgrad] [--reps N]
//        [--shapes 16x28,32x14,64x7] [--against DIR]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildTrainingModule } from '../kernels/wasm/modules';
import { wasm } from '../kernels/wasm/wasm-api';
import { winogradBlockLayout } from '../kernels/wasm/winograd-3x3-train';
import '../src/train/relaxed-simd-node';

type Exports = Record<string, (...a: number[]) => void>;

const USAGE = 'usage: winograd-layer-bench.ts [--pass conv|wgrad] [--reps N] [--shapes 16x28,32x14,64x7] [--against DIR]';
const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};
const pass = opt('--pass') ?? 'conv';
const reps = Number(opt('--reps') ?? 60);
const against = opt('--against');
const shapes = (opt('--shapes') ?? '16x28,32x14,64x7').split(',').map((t) => t.split('x').map(Number) as [number, number]);
if (!['conv', 'wgrad'].includes(pass) || !Number.isInteger(reps) || reps < 1) throw new Error(USAGE);
if (shapes.some(([C, S]) => !(C >= 4 && S >= 1))) throw new Error(USAGE);

const PAGES = 8192;
const memory = new wasm.Memory({ initial: 4096, maximum: PAGES, shared: true });
const instantiate = (bytes: Uint8Array): Exports => new wasm.Instance(new wasm.Module(bytes), { env: { memory } }).exports as Exports;
const builds: { name: string; ex: Exports; times: number[] }[] = [
  { name: 'this', ex: instantiate(buildTrainingModule({ relaxedSimd: true }, PAGES)), times: [] },
];
if (against) {
  const other = (await import(pathToFileURL(resolve(against, 'kernels/wasm/modules.ts')).href)) as { buildTrainingModule: typeof buildTrainingModule };
  builds.push({ name: 'other', ex: instantiate(other.buildTrainingModule({ relaxedSimd: true }, PAGES)), times: [] });
}

const median = (xs: readonly number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
const n = 64;
const f = new Float32Array(memory.buffer);
for (let i = 0; i < f.length; i += 7) f[i] = Math.random();
for (const [C, S] of shapes) {
  // The block layout the backend picks (C = M: V's and M's planes the same size).
  const { tb, ldv, vXi: plane, scratchBytes } = winogradBlockLayout(4, C, C, n);
  const bytes = C * S * S * n * 4;
  const x = 1 << 20, y = x + bytes + 8192, U = y + bytes + 8192, zero = U + 36 * C * C * 4 + 4096, sink = zero + 4096, scratch = sink + 8192;
  if (scratch + scratchBytes > memory.buffer.byteLength) throw new Error('winograd-layer-bench: memory too small');
  f.fill(0, zero / 4, zero / 4 + n);
  const run = (ex: Exports): void => {
    if (pass === 'conv') ex['wino_conv_f4']!(x, y, U, scratch, zero, sink, C, C, n, S, S, tb, ldv, plane, plane, 0);
    else ex['wino_wgrad_f4']!(x, y, U, scratch, zero, C, C, n, S, S, tb, ldv, plane, plane);
  };
  for (const b of builds) b.times = [];
  for (let r = 0; r < reps; r++) {
    // Alternate which build goes first.
    for (const b of r % 2 ? [...builds].reverse() : builds) {
      const t0 = performance.now();
      run(b.ex);
      b.times.push(performance.now() - t0);
    }
  }
  const cells = builds.map((b) => `${b.name} ${median(b.times).toFixed(2)} ms (min ${Math.min(...b.times).toFixed(2)})`);
  const ratio = builds.length > 1 ? `, this/other ${(median(builds[0]!.times) / median(builds[1]!.times)).toFixed(3)}` : '';
  const perTile = ` (${((1e6 * median(builds[0]!.times)) / (Math.ceil(S / 4) ** 2 * C)).toFixed(0)} ns per tile and channel)`;
  console.log(`${pass} C=M=${C} ${S}x${S}, ${n} images: ${cells.join(', ')}${ratio}${perTile}`);
}
