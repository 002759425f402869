// The two modules we generate. Inference: every descriptor kernel in one function table plus `run`, which
// walks a program of step descriptors and calls each kernel through the table with a barrier between steps,
// so a whole network is one JS->wasm call per thread. Training: the GEMM, im2col, elementwise and batch-norm
// kernels as plain exports, called one at a time from JS.
import { forLoop } from './builders';
import { DESC_BYTES, Kind } from './descriptors';
import { I32, type Local, ModuleBuilder } from './emit';
import { emitTrainingBatchNorm } from './f32-batchnorm';
import { emitF32Vadd, emitF32Vrelu, emitTrainingElementwise } from './f32-elementwise';
import { emitF32Gavgpool } from './f32-gavgpool';
import { emitF32Gemm4x8 } from './f32-gemm-4x8';
import { emitF32GemmNt4x2 } from './f32-gemm-nt-4x2';
import { type KernelOptions, emitF32Igemm, emitF32IgemmRange } from './f32-igemm-4x8';
import { emitF32Col2im, emitF32Im2col } from './f32-im2col';
import { emitF32AvgPool, emitF32MaxPool } from './f32-pool';
import { emitF32Vmulcaddc } from './f32-vmulcaddc';
import { STEP_ADDR } from './memory';
import { emitBarrier } from './parallel';
import { WINOGRAD_F2X2_3X3, WINOGRAD_F4X4_3X3, emitWinograd3x3 } from './winograd-3x3';
import {
  WINOGRAD_F4X4_3X3_TRAIN, WINOGRAD_F7X7_3X3_TRAIN, emitWinogradConvTrain, emitWinogradWeights, emitWinogradWgradOut, emitWinogradWgradTrain, winogradFromPoints,
} from './winograd-3x3-train';
import { emitX32Gather, emitX32GatherSubsample } from './x32-gather';
import { emitX32Transpose } from './x32-transpose';

/**
 * The inference module. Exports `run(prog, nsteps, tid, nth, flags)`: flags bit 0 = this thread may sleep in
 * the barrier (false on a browser main thread), bit 1 = call the imported `mark(step)` after each step's
 * barrier (per-layer timing; every thread that takes part does), bit 2 = call the imported `wake()` on entry. `nth` is the most threads
 * that may take part (it sizes the work chunks); the caller sets STEP, STATE and the descriptors' counters
 * before the first thread enters. Memory is imported (env.memory, shared when `sharedMemory`).
 */
export function buildInferenceModule(opts: KernelOptions, maxPages: number, sharedMemory: boolean): Uint8Array {
  const m = new ModuleBuilder();
  m.importMemory('env', 'memory', 1, maxPages, sharedMemory);
  const mark = m.importFunc('env', 'mark', [I32], []);
  const wake = m.importFunc('env', 'wake', [], []);
  const barrier = emitBarrier(m);
  const kernels: number[] = [];
  const igemmRange = emitF32IgemmRange(m, opts);
  kernels[Kind.igemm] = emitF32Igemm(m, igemmRange, opts.mr);
  kernels[Kind.winogradF2x2] = emitWinograd3x3(m, igemmRange, opts.mr, WINOGRAD_F2X2_3X3, false);
  kernels[Kind.winogradF4x4] = emitWinograd3x3(m, igemmRange, opts.mr, WINOGRAD_F4X4_3X3, false);
  kernels[Kind.winogradF2x2Filters] = emitWinograd3x3(m, igemmRange, opts.mr, WINOGRAD_F2X2_3X3, true);
  kernels[Kind.winogradF4x4Filters] = emitWinograd3x3(m, igemmRange, opts.mr, WINOGRAD_F4X4_3X3, true);
  kernels[Kind.maxPool] = emitF32MaxPool(m);
  kernels[Kind.avgPool] = emitF32AvgPool(m);
  kernels[Kind.gavgPool] = emitF32Gavgpool(m);
  kernels[Kind.vadd] = emitF32Vadd(m);
  kernels[Kind.vrelu] = emitF32Vrelu(m);
  kernels[Kind.vmulcaddc] = emitF32Vmulcaddc(m);
  kernels[Kind.gatherSubsample] = emitX32GatherSubsample(m);
  kernels[Kind.gather] = emitX32Gather(m);
  m.setTable(kernels);
  const kernelType = m.typeIndex([I32, I32, I32], []);

  const { f, index: run } = m.func('run', [I32, I32, I32, I32, I32]);
  const [prog, nsteps, tid, nth, flags] = f.params as [Local, Local, Local, Local, Local];
  const i = f.local(I32), desc = f.local(I32);
  // Start at the step the participants are on (a worker may join mid-run). bit 2: the caller's workers are
  // woken only now, once this thread holds its place at the first step (its per-step marks are complete).
  f.i32Const(STEP_ADDR).i32AtomicLoad();
  f.get(flags).i32Const(4).i32And().if().call(wake).end();
  forLoop(f, i, nsteps, 1, () => {
    f.get(prog).get(i).i32Const(DESC_BYTES).i32Mul().i32Add().set(desc);
    f.get(desc).get(tid).get(nth).get(desc).i32Load().callIndirect(kernelType);
    f.get(desc).get(i).get(flags).i32Const(1).i32And().call(barrier);
    // Every thread marks: the step's end is when the first thread sees it (its finisher, at once), which a
    // thread 0 that was descheduled or asleep would see late (and give the next steps no time at all).
    f.get(flags).i32Const(2).i32And().if();
    f.get(i).call(mark);
    f.end();
  });
  m.export('run', run);
  return m.toBytes();
}

export interface TrainingModuleOptions {
  /** f32x4.relaxed_madd (fused multiply-add) in the GEMMs, where the runtime validates it. */
  readonly relaxedSimd: boolean;
  /** F(4x4,3x3)'s interpolation points (winogradFromPoints); default WINOGRAD_F4X4_3X3_TRAIN's 0, 1, -1, 1/2, -2. */
  readonly f4Points?: readonly number[];
  /** Multiply-adds (relaxed) in the Winograd transforms too (default: when relaxedSimd). */
  readonly fmaTransforms?: boolean;
}

/**
 * The training module, on an imported shared memory. Exports (addresses in bytes, leading dimensions in
 * floats, `acc` = add into the output instead of overwriting):
 *   gemm_nn(M, N, K, A, lda, B, ldb, C, ldc, acc)   C[M,N] (+)= A[M,K] B[K,N]            f32-gemm-4x8.ts
 *   gemm_tn(M, N, K, A, lda, B, ldb, C, ldc, acc)   the same with A K-major (A[i][k] at k * lda + i): the Winograd convs' GEMM
 *   gemm_nt(M, N, K, A, lda, B, ldb, C, ldc, acc)   C[M,N] (+)= A[M,K] B[N,K]^T          f32-gemm-nt-4x2.ts
 *   im2col(x, col, ldcol, p0, p1, C, N, H, W, k, stride, pad, OH, OW)   output pixels [p0, p1) only
 *   col2im(col, dx, ldcol, p0, p1, C, N, H, W, k, stride, pad, OH, OW)   dx += adjoint of im2col (f32-im2col.ts)
 *   relu, add, pass                                                                      f32-elementwise.ts
 *   bn_sums, bn_stats, bn_affine, bn_dx                                                  f32-batchnorm.ts
 *   wino_conv_f2/f4/f7, wino_wgrad_f2/f4/f7, wino_weights_f2/f4/f7, wino_wgrad_out_f2/f4/f7   winograd-3x3-train.ts
 * Inference packs weights once; training changes them every step, so these are plain GEMMs over row-major
 * matrices plus im2col/col2im (kernels/ts/train holds the reference versions they are tested against).
 */
export function buildTrainingModule(opts: TrainingModuleOptions, maxPages: number): Uint8Array {
  const m = new ModuleBuilder();
  m.importMemory('env', 'memory', 1, maxPages, true);
  const gemmNN = emitF32Gemm4x8(m, opts.relaxedSimd);
  const gemmNT = emitF32GemmNt4x2(m, opts.relaxedSimd);
  const gemmTN = emitF32Gemm4x8(m, opts.relaxedSimd, true);
  m.export('gemm_nn', gemmNN);
  m.export('gemm_nt', gemmNT);
  m.export('gemm_tn', gemmTN);
  const transpose = emitX32Transpose(m);
  const f4 = opts.f4Points ? winogradFromPoints(opts.f4Points) : WINOGRAD_F4X4_3X3_TRAIN;
  for (const tr of [WINOGRAD_F2X2_3X3, f4, WINOGRAD_F7X7_3X3_TRAIN]) {
    m.export(`wino_conv_f${tr.m}`, emitWinogradConvTrain(m, gemmTN, tr, opts.relaxedSimd && opts.fmaTransforms !== false));
    m.export(`wino_wgrad_f${tr.m}`, emitWinogradWgradTrain(m, gemmNN, transpose, tr, opts.relaxedSimd && opts.fmaTransforms !== false));
    m.export(`wino_weights_f${tr.m}`, emitWinogradWeights(m, tr));
    m.export(`wino_wgrad_out_f${tr.m}`, emitWinogradWgradOut(m, tr));
  }
  m.export('im2col', emitF32Im2col(m));
  m.export('col2im', emitF32Col2im(m));
  emitTrainingElementwise(m);
  emitTrainingBatchNorm(m);
  return m.toBytes();
}
