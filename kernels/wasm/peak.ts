// The machine's wasm SIMD peak: a loop of independent f32x4 multiply-adds on registers (no memory), so
// the figure is what one core's SIMD units can do through this runtime's code generator.
import { F32, I32, type Local, ModuleBuilder, V128 } from './emit';
import { wasm } from './wasm-api';

/** Independent accumulators: enough to cover FMA latency x throughput (4 x 2) with room to spare. */
const ACCUMULATORS = 12;

function buildPeakModule(relaxed: boolean): Uint8Array {
  const m = new ModuleBuilder();
  const { f, index } = m.func('spin', [I32], [F32]);
  const [iters] = f.params as [Local];
  const a = f.local(V128), b = f.local(V128);
  const acc: Local[] = [];
  for (let i = 0; i < ACCUMULATORS; i++) acc.push(f.local(V128));
  f.f32Const(1.0000001).f32x4Splat().set(a);
  f.f32Const(0.9999999).f32x4Splat().set(b);
  for (let i = 0; i < ACCUMULATORS; i++) f.f32Const(i).f32x4Splat().set(acc[i]!);
  f.loop();
  // relaxed: acc = acc * a + acc (one fused op); plain: acc = acc * a + b (mul + add).
  for (let i = 0; i < ACCUMULATORS; i++) f.madd(relaxed, acc[i]!, a, acc[i]!, relaxed ? acc[i]! : b);
  f.get(iters).i32Const(1).i32Sub().tee(iters).brIf(0);
  f.end();
  // Sum the accumulators so nothing is dead code.
  f.get(acc[0]!);
  for (let i = 1; i < ACCUMULATORS; i++) f.get(acc[i]!).f32x4Add();
  f.f32x4ExtractLane(0);
  m.export('spin', index);
  return m.toBytes();
}

export interface PeakResult {
  /** Multiply-add as fused relaxed_madd (true) or as f32x4.mul + f32x4.add. */
  readonly relaxed: boolean;
  /** Single-core GFLOPS, counting a multiply-add as 2 flops. */
  readonly gflopsPerCore: number;
}

/** Runs the spin loop for about `ms` milliseconds (after a warm-up) and reports the best rate of a few tries. */
export function measureSimdPeak(relaxed: boolean, ms = 200): PeakResult {
  const inst = new wasm.Instance(new wasm.Module(buildPeakModule(relaxed)), {});
  const spin = inst.exports.spin as (n: number) => unknown;
  spin(1000);
  let iters = 100000;
  let t = 0;
  for (;;) {
    const t0 = performance.now();
    spin(iters);
    t = performance.now() - t0;
    if (t > ms / 5) break;
    iters *= 4;
  }
  let best = Infinity;
  for (let k = 0; k < 5; k++) {
    const t0 = performance.now();
    spin(iters);
    best = Math.min(best, performance.now() - t0);
  }
  const flops = iters * ACCUMULATORS * 4 * 2;
  return { relaxed, gflopsPerCore: flops / (best * 1e6) };
}
