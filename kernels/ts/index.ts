// The TypeScript reference backend: readable kernels that every faster backend is tested against.
import { registerKernel } from '../registry';
import type { KernelSignatures, OpName } from '../types';
import { conv2d } from './conv';
import { add, batchNorm, relu } from './elementwise';
import { gemm } from './gemm';
import { avgPool2d, globalAvgPool, maxPool2d } from './pool';
import { pad, slice } from './shape';
import { shortcutA } from './shortcut';
import { softmax } from './softmax';

/** Typed as the full signature set, so leaving out an op is a compile error. */
const tsKernels: KernelSignatures = {
  conv2d, maxPool2d, avgPool2d, globalAvgPool, gemm, softmax, relu, add, batchNorm, pad, slice, shortcutA,
};

/** Registers every op above for backend 'ts'. Not idempotent: the registry refuses a second registration. */
export function registerTsKernels(): void {
  const register = <K extends OpName>(op: K): void => registerKernel('ts', op, tsKernels[op]);
  for (const op of Object.keys(tsKernels) as OpName[]) register(op);
}
