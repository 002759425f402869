// Signatures every backend's kernels share. Activations are NCHW here (ONNX's layout); a backend may
// keep another layout internally, but its registered kernels take and return these shapes, so one set
// of op tests runs on all backends.
import type { ConvAttrs, ConvEpilogue, GemmAttrs, PoolAttrs } from './core/attrs';
import type { Tensor } from './core/tensor';

export interface KernelSignatures {
  /** x [N,C,H,W], w [M,C,kh,kw], bias [M] or null. */
  conv2d(x: Tensor, w: Tensor, bias: Float32Array | null, attrs: ConvAttrs, epilogue: ConvEpilogue): Tensor;
  maxPool2d(x: Tensor, attrs: PoolAttrs): Tensor;
  avgPool2d(x: Tensor, attrs: PoolAttrs): Tensor;
  /** [N,C,H,W] -> [N,C,1,1] */
  globalAvgPool(x: Tensor): Tensor;
  /** ONNX Gemm: alpha*A'B' + beta*C, C broadcast to [M,N]. */
  gemm(a: Tensor, b: Tensor, c: Tensor | null, attrs: GemmAttrs): Tensor;
  /** ONNX opset-13 Softmax along one axis. */
  softmax(x: Tensor, axis: number): Tensor;
  relu(x: Tensor): Tensor;
  /** Elementwise add with ONNX multidirectional broadcasting. */
  add(a: Tensor, b: Tensor): Tensor;
  /** Inference-mode BatchNormalization over axis 1. */
  batchNorm(x: Tensor, scale: Float32Array, bias: Float32Array, mean: Float32Array, variance: Float32Array, epsilon: number): Tensor;
  /** Constant-mode Pad; pads in ONNX order [x1_begin, x2_begin, ..., x1_end, x2_end, ...], may be negative. */
  pad(x: Tensor, pads: readonly number[], value: number): Tensor;
  /** ONNX Slice with starts/ends/axes/steps already resolved to one entry per sliced axis (any sign, clamped here). */
  slice(x: Tensor, starts: readonly number[], ends: readonly number[], axes: readonly number[], steps: readonly number[]): Tensor;
  /** The paper's option-A shortcut: subsample H and W by `stride`, zero-fill channels C..outChannels-1. */
  shortcutA(x: Tensor, stride: number, outChannels: number): Tensor;
}

export type OpName = keyof KernelSignatures;
export type BackendName = 'ts' | 'wasm' | 'webgpu';
