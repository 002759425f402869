// Where a training network's buffers live and who runs its GEMMs and im2col: the readable TypeScript
// kernels (float64 for gradient checks, or float32), or our WebAssembly SIMD kernels (float32, buffers in
// one wasm memory). Everything else (batch norm, ReLU, ...) runs the TypeScript kernels on either.
import { type BnSaved, bnBackward, bnForwardEval, bnForwardTrain } from '../../kernels/ts/train/batchnorm';
import { type ConvGeom, col2im, im2col } from '../../kernels/ts/train/conv';
import { addForward, passBackward, reluBackward, reluForward } from '../../kernels/ts/train/elementwise';
import { type FloatArray, gemmNN, gemmNT } from '../../kernels/ts/train/gemm';
import { relaxedSimdSupported, simdSupported } from '../../kernels/wasm/emit';
import { ALIGN, PAGE, TRAIN_MAX_PAGES as MAX_PAGES } from '../../kernels/wasm/memory';
import { buildTrainingModule } from '../../kernels/wasm/modules';
import { winogradBlockLayout, winogradTiles } from '../../kernels/wasm/winograd-3x3-train';
import { type WasmMemory, type WasmModule, wasm } from '../../kernels/wasm/wasm-api';
import { type Chunk, type KernelCall, KernelTeam, pieces, type TeamKernel, teamControl } from './kernel-team';

export type BackendName = 'js64' | 'js32' | 'wasm';

export interface TrainBackend {
  readonly name: BackendName;
  /** Threads that share each kernel call (see chunked). */
  readonly threads: number;
  /** Resolves when the backend's helper threads have started (until then this thread runs every chunk). */
  ready(): Promise<void>;
  /** Stops the backend's helper threads, if any. */
  close(): Promise<void>;
  /** A zeroed buffer of n floats. */
  alloc(n: number): FloatArray;
  gemmNN(M: number, N: number, K: number, A: FloatArray, lda: number, B: FloatArray, ldb: number, C: FloatArray, ldc: number, accumulate: boolean): void;
  gemmNT(M: number, N: number, K: number, A: FloatArray, lda: number, B: FloatArray, ldb: number, C: FloatArray, ldc: number, accumulate: boolean): void;
  /** col[r * ldcol + p - p0] for the output pixels [p0, p1) (see kernels/ts/train/conv.ts). */
  im2col(x: FloatArray, g: ConvGeom, col: FloatArray, ldcol: number, p0: number, p1: number): void;
  /** dx += col2im(col) for the output pixels [p0, p1). */
  col2im(col: FloatArray, g: ConvGeom, dx: FloatArray, ldcol: number, p0: number, p1: number): void;
  // The elementwise and batch-norm kernels of kernels/ts/train, same signatures.
  relu: typeof reluForward;
  reluBackward: typeof reluBackward;
  add: typeof addForward;
  pass: typeof passBackward;
  bnForwardTrain: typeof bnForwardTrain;
  bnForwardEval: typeof bnForwardEval;
  bnBackward: typeof bnBackward;
  /**
   * Runs body(0 .. count - 1): the GEMM, im2col and col2im calls each body makes form one chunk of work, and
   * chunks may run at the same time on different threads, so no two may write the same memory.
   */
  chunked(count: number, body: (j: number) => void): void;
  /** Winograd 3x3 stride-1 pad-1 convs, where the backend has them (the net uses im2col + GEMM otherwise). */
  readonly winograd?: WinogradKernels;
}

/** F(2x2,3x3) or F(4x4,3x3): output tile size. */
export type WinogradTile = 2 | 4;

/**
 * 3x3 convs with stride 1 and pad 1 over CHWN activations of C x H x W (per image) and n images, by
 * Winograd's minimal filtering (kernels/wasm/winograd-3x3-train.ts).
 */
export interface WinogradKernels {
  /**
   * y (+)= conv(x, w) with w ONNX [M][C][3][3]: the forward pass (x has C channels, y M). With `flip` the
   * backward-data pass instead: y (C channels) (+)= conv of x (M channels) with the filters turned 180 degrees
   * and their channels swapped, i.e. dx = W^T dy.
   */
  conv(x: FloatArray, y: FloatArray, w: FloatArray, C: number, M: number, n: number, H: number, W: number, flip: boolean, acc: boolean, tile: WinogradTile): void;
  /** dW = the weight gradient of y = conv(x, w) for output gradient dy (dW ONNX [M][C][3][3], overwritten). */
  weightGrad(x: FloatArray, dy: FloatArray, dW: FloatArray, C: number, M: number, n: number, H: number, W: number, tile: WinogradTile): void;
}

export function jsBackend(precision: 64 | 32): TrainBackend {
  return {
    name: precision === 64 ? 'js64' : 'js32',
    threads: 1,
    async ready() {},
    async close() {},
    alloc: (n) => (precision === 64 ? new Float64Array(n) : new Float32Array(n)),
    gemmNN, gemmNT, im2col, col2im,
    chunked(count, body) {
      for (let j = 0; j < count; j++) body(j);
    },
    relu: reluForward, reluBackward, add: addForward, pass: passBackward, bnForwardTrain, bnForwardEval, bnBackward,
  };
}

type Fn = (...args: number[]) => void;

/** Starts a kernel team's helper threads (kernel-team-node.ts in Node); they stop with close(). */
export type StartTeamHelpers = (module: WasmModule, memory: WasmMemory, control: SharedArrayBuffer, count: number) => { close(): Promise<void> };

/**
 * Most chunks one kernel call is cut into. Fixed, whatever the thread count, so that sums split over chunks
 * (the Winograd weight gradient's) add up the same way on one thread or several.
 */
const CHUNKS = 16;
/** Chunks of a Winograd weight gradient (each sums into a buffer of its own). */
const WGRAD_CHUNKS = 8;
/** Elementwise calls shorter than this run as one chunk (a chunk's claim costs about a microsecond). */
const MIN_CHUNK_FLOATS = 16384;

/** How long helper threads may take to start. */
const HELPER_START_MS = 60_000;

export interface WasmBackendOptions {
  /**
   * Default: use relaxed SIMD (FMA) when the runtime has it (browsers, Node 22+; on Node 20 importing
   * relaxed-simd-node.ts first switches it on, as the CLI's training does).
   */
  readonly relaxedSimd?: boolean;
  /** F(4x4,3x3)'s interpolation points (kernels/wasm/winograd-3x3-train.ts winogradFromPoints). */
  readonly f4Points?: readonly number[];
  /** Floats of one Winograd block's transformed input and output (default 1 MB: winogradBlockLayout). */
  readonly winogradBlockFloats?: number;
  /** Multiply-adds in the Winograd transforms (default: with relaxed SIMD). */
  readonly fmaTransforms?: boolean;
  /** Threads that share every kernel call (default 1); more than one needs `startHelpers`. */
  readonly threads?: number;
  readonly startHelpers?: StartTeamHelpers;
}

/**
 * The WebAssembly backend. Buffers are views of one shared wasm memory, which grows as buffers are allocated;
 * growing a shared memory keeps earlier views valid, so buffers can be allocated at any time.
 */
export function wasmBackend(opts: WasmBackendOptions = {}): TrainBackend & { readonly relaxedSimd: boolean; memoryBytes(): number; chunksByHelpers(): number } {
  if (!simdSupported()) throw new Error('training: this runtime has no WebAssembly SIMD');
  const relaxed = opts.relaxedSimd === false ? false : relaxedSimdSupported();
  if (opts.relaxedSimd === true && !relaxed) throw new Error('training: relaxed SIMD requested but not supported by this runtime');
  const memory: WasmMemory = new wasm.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
  const module = new wasm.Module(buildTrainingModule({ relaxedSimd: relaxed, ...(opts.f4Points && { f4Points: opts.f4Points }), ...(opts.fmaTransforms !== undefined && { fmaTransforms: opts.fmaTransforms }) }, MAX_PAGES));
  const ex = new wasm.Instance(module, { env: { memory } }).exports;
  const threads = opts.threads ?? 1;
  if (threads > 1 && !opts.startHelpers) throw new Error('training: more than one thread needs a way to start helper threads');
  const control = teamControl();
  const team = new KernelTeam(ex, control, threads - 1);
  const helpers = threads > 1 ? opts.startHelpers!(module, memory, control, threads - 1) : null;
  const k = (name: string): Fn => ex[name] as Fn;
  const wino = (name: string): Record<WinogradTile, Fn> => ({ 2: k(`${name}_f2`), 4: k(`${name}_f4`) });
  const [winoWeights, winoWgradOut] = ['wino_weights', 'wino_wgrad_out'].map(wino) as [Record<WinogradTile, Fn>, Record<WinogradTile, Fn>];
  const call = (kernel: TeamKernel, args: number[], perThread?: KernelCall['perThread']): KernelCall => (perThread ? { kernel, args, perThread } : { kernel, args });
  /** Inside chunked(): the calls of the chunk being recorded (they run in order, on one thread). */
  let recording: KernelCall[] | null = null;
  /** Up to k chunks for one call (one when it is part of a recorded chunk). */
  const split = (k: number): number => (recording ? 1 : Math.max(1, k));
  /** One chunk per call. */
  const run = (calls: readonly KernelCall[]): void => {
    if (recording) recording.push(...calls);
    else team.run(calls.map((c): Chunk => [c]));
  };
  /** A call over channels [c0, c1), in up to CHUNKS chunks. */
  const overChannels = (C: number, body: (c0: number, c1: number) => KernelCall): void => run(pieces(C, split(Math.min(C, CHUNKS))).map(([a, b]) => body(a, b)));
  /** A call over elements [i0, i1) (multiples of 16 inside), in up to CHUNKS chunks. */
  const overElements = (n: number, body: (i0: number, i1: number) => KernelCall): void =>
    run(pieces(n, split(Math.min(CHUNKS, Math.floor(n / MIN_CHUNK_FLOATS))), 16).map(([a, b]) => body(a, b)));
  // Address 0 stays unused.
  let top = ALIGN;
  const addr = (a: FloatArray): number => {
    if (!(a instanceof Float32Array) || !(a.buffer instanceof SharedArrayBuffer)) throw new Error('wasm backend: buffer was not allocated by this backend');
    return a.byteOffset;
  };
  const alloc = (n: number): Float32Array => {
    const bytes = Math.ceil((n * 4) / ALIGN) * ALIGN;
    const end = top + bytes;
    const have = memory.buffer.byteLength;
    if (end > have) {
      const pages = Math.ceil((end - have) / PAGE);
      if (have / PAGE + pages > MAX_PAGES) throw new Error(`wasm backend: ${end} bytes of buffers exceed the 4 GiB wasm memory`);
      memory.grow(pages);
    }
    const view = new Float32Array(memory.buffer, top, n);
    top = end;
    return view;
  };
  // Winograd buffers, grown when a larger layer or batch comes: transformed weights (or weight-gradient sums),
  // the block scratch, and a zero area and a sink of n floats.
  const bufs = { u: null as Float32Array | null, scratch: null as Float32Array | null, zero: null as Float32Array | null, sink: null as Float32Array | null };
  const buf = (key: keyof typeof bufs, n: number): Float32Array => {
    const b = bufs[key];
    if (b && b.length >= n) return b;
    bufs[key] = alloc(Math.ceil(n * 1.25));
    return bufs[key]!;
  };
  /** Each thread's scratch (its address for thread 0, and the stride to the next), the zero area and the block layout of a pass. */
  const block = (tile: WinogradTile, C: number, M: number, n: number) => {
    const { tb, ldv, vXi, mXi, scratchBytes } = winogradBlockLayout(tile, C, M, n, opts.winogradBlockFloats);
    const stride = Math.ceil(scratchBytes / ALIGN) * ALIGN;
    return { scratch: addr(buf('scratch', (threads * stride) / 4)), stride, zero: addr(buf('zero', n)), tb, ldv, vXi, mXi };
  };
  const winograd: WinogradKernels = {
    conv(x, y, w, C, M, n, H, W, flip, acc, tile) {
      const aa = (tile + 2) * (tile + 2);
      const u = buf('u', aa * M * C);
      winoWeights[tile](addr(w), addr(u), M, C, flip ? 1 : 0);
      const [cin, cout] = flip ? [M, C] : [C, M];
      const b = block(tile, cin, cout, n);
      const sink = addr(buf('sink', n));
      const T = winogradTiles(tile, H, W);
      run(pieces(T, Math.min(T, CHUNKS)).map(([t0, t1]) => call(`wino_conv_f${tile}`,
        [addr(x), addr(y), addr(u), b.scratch, b.zero, sink, cin, cout, n, H, W, b.tb, b.ldv, b.vXi, b.mXi, acc ? 1 : 0, t0, t1], { arg: 3, stride: b.stride })));
    },
    weightGrad(x, dy, dW, C, M, n, H, W, tile) {
      // Each chunk of tiles sums into its own S, then the chunks' sums are added in chunk order.
      const size = (tile + 2) * (tile + 2) * M * C;
      const T = winogradTiles(tile, H, W);
      const ranges = pieces(T, Math.min(T, WGRAD_CHUNKS));
      const sums = addr(buf('u', size * ranges.length));
      const b = block(tile, C, M, n);
      run(ranges.map(([t0, t1], j) => call(`wino_wgrad_f${tile}`,
        [addr(x), addr(dy), sums + j * size * 4, b.scratch, b.zero, C, M, n, H, W, b.tb, b.ldv, b.vXi, b.mXi, t0, t1], { arg: 3, stride: b.stride })));
      if (ranges.length > 1) {
        team.run(pieces(size, Math.max(1, Math.min(CHUNKS, Math.floor(size / MIN_CHUNK_FLOATS))), 16).map(([i0, i1]) =>
          ranges.slice(1).map((_, j) => call('add', [sums + i0 * 4, sums + ((j + 1) * size + i0) * 4, sums + i0 * 4, i1 - i0, 0]))));
      }
      winoWgradOut[tile](sums, addr(dW), M, C);
    },
  };
  /** y = a x + b per channel (+ residual, ReLU): batch norm's affine pass. */
  const affine = (x: FloatArray, y: FloatArray, C: number, S: number, a: Float32Array, b: Float32Array, relu: boolean, residual: FloatArray | null): void =>
    overChannels(C, (c0, c1) => call('bn_affine', [addr(x) + c0 * S * 4, addr(y) + c0 * S * 4, c1 - c0, S, addr(a) + c0 * 4, addr(b) + c0 * 4, relu ? 1 : 0,
      residual ? addr(residual) + c0 * S * 4 : 0]));
  // Per-channel vectors for the batch-norm kernels (grown when a wider layer comes).
  let perChannel: Float32Array[] = [];
  const channelVectors = (C: number): Float32Array[] => {
    if (!perChannel[0] || perChannel[0].length < 2 * C) perChannel = Array.from({ length: 4 }, () => alloc(2 * C));
    return perChannel;
  };
  return {
    name: 'wasm',
    relaxedSimd: relaxed,
    threads,
    winograd,
    memoryBytes: () => memory.buffer.byteLength,
    chunksByHelpers: () => team.helped,
    async ready() {
      const t0 = Date.now();
      while (team.joined < threads - 1) {
        if (Date.now() - t0 > HELPER_START_MS) throw new Error(`training: ${threads - 1 - team.joined} helper thread(s) did not start within ${HELPER_START_MS / 1000} s`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async close() {
      team.stop();
      await helpers?.close();
    },
    alloc,
    chunked(count, body) {
      if (recording) throw new Error('wasm backend: chunked() inside chunked()');
      const chunks: KernelCall[][] = [];
      try {
        for (let j = 0; j < count; j++) {
          recording = [];
          body(j);
          chunks.push(recording);
        }
      } finally {
        recording = null;
      }
      team.run(chunks);
    },
    // GEMMs in column ranges (multiples of 8, the register tile's width) when there are enough columns.
    gemmNN(M, N, K, A, lda, B, ldb, C, ldc, accumulate) {
      run(pieces(N, split(Math.min(CHUNKS, Math.floor(N / 128))), 8).map(([j0, j1]) =>
        call('gemm_nn', [M, j1 - j0, K, addr(A), lda, addr(B) + j0 * 4, ldb, addr(C) + j0 * 4, ldc, accumulate ? 1 : 0])));
    },
    gemmNT(M, N, K, A, lda, B, ldb, C, ldc, accumulate) {
      run(pieces(N, split(Math.min(CHUNKS, Math.floor(N / 32))), 8).map(([j0, j1]) =>
        call('gemm_nt', [M, j1 - j0, K, addr(A), lda, addr(B) + j0 * ldb * 4, ldb, addr(C) + j0 * 4, ldc, accumulate ? 1 : 0])));
    },
    // im2col in whole pixels (runs of n columns), col2im in channel ranges (its pixels' windows overlap).
    im2col(x, g, col, ldcol, p0, p1) {
      const px = (p1 - p0) / g.n;
      run(pieces(px, split(Math.min(CHUNKS, Math.floor((px * g.n * g.c * g.k * g.k) / MIN_CHUNK_FLOATS)))).map(([a, b]) =>
        call('im2col', [addr(x), addr(col) + a * g.n * 4, ldcol, p0 + a * g.n, p0 + b * g.n, g.c, g.n, g.h, g.w, g.k, g.stride, g.pad, g.oh, g.ow])));
    },
    col2im(col, g, dx, ldcol, p0, p1) {
      overChannels(g.c, (c0, c1) => call('col2im',
        [addr(col) + c0 * g.k * g.k * ldcol * 4, addr(dx) + c0 * g.h * g.w * g.n * 4, ldcol, p0, p1, c1 - c0, g.n, g.h, g.w, g.k, g.stride, g.pad, g.oh, g.ow]));
    },
    relu(x, n, y) { overElements(n, (a, b) => call('relu', [addr(x) + a * 4, addr(y) + a * 4, b - a])); },
    // A ReLU's backward is the masked pass-through: dy where its output y > 0.
    reluBackward(y, dy, n, dx, acc) { overElements(n, (a, b) => call('pass', [addr(dy) + a * 4, addr(dx) + a * 4, b - a, acc ? 1 : 0, addr(y) + a * 4])); },
    add(a, b, n, y, relu = false) { overElements(n, (i, j) => call('add', [addr(a) + i * 4, addr(b) + i * 4, addr(y) + i * 4, j - i, relu ? 1 : 0])); },
    pass(dy, n, dx, acc, reluOut = null) {
      overElements(n, (a, b) => call('pass', [addr(dy) + a * 4, addr(dx) + a * 4, b - a, acc ? 1 : 0, reluOut ? addr(reluOut) + a * 4 : 0]));
    },
    bnForwardTrain(x, C, S, gamma, beta, eps, y, saved, running, relu = false, residual = null) {
      if (S < 2) throw new Error(`batch norm: training needs more than one value per channel, got ${S} (C=${C})`);
      const [mean, out, a, b] = channelVectors(C) as [Float32Array, Float32Array, Float32Array, Float32Array];
      // One pass: sums of x - shift and their squares, shifted by each channel's first value.
      for (let c = 0; c < C; c++) mean[c] = x[c * S]!;
      overChannels(C, (c0, c1) => call('bn_stats', [addr(x) + c0 * S * 4, c1 - c0, S, addr(mean) + c0 * 4, addr(out) + 2 * c0 * 4]));
      for (let c = 0; c < C; c++) {
        const d = out[2 * c]! / S;
        mean[c]! += d;
        const variance = Math.max(0, out[2 * c + 1]! / S - d * d);
        const invStd = 1 / Math.sqrt(variance + eps);
        saved.mean[c] = mean[c]!;
        saved.invStd[c] = invStd;
        a[c] = gamma[c]! * invStd;
        b[c] = beta[c]! - mean[c]! * gamma[c]! * invStd;
        if (running) {
          const m = running.momentum;
          running.mean[c] = m * running.mean[c]! + (1 - m) * mean[c]!;
          running.variance[c] = m * running.variance[c]! + (1 - m) * variance * (S / (S - 1));
        }
      }
      affine(x, y, C, S, a, b, relu, residual);
    },
    bnForwardEval(x, C, S, gamma, beta, mean, variance, eps, y, relu = false, residual = null) {
      const [, , a, b] = channelVectors(C) as [Float32Array, Float32Array, Float32Array, Float32Array];
      for (let c = 0; c < C; c++) {
        a[c] = gamma[c]! / Math.sqrt(variance[c]! + eps);
        b[c] = beta[c]! - mean[c]! * a[c]!;
      }
      affine(x, y, C, S, a, b, relu, residual);
    },
    bnBackward(x, dy, C, S, gamma, saved: BnSaved, dGamma, dBeta, dx, acc, reluOut = null) {
      const [mean, out, a, b] = channelVectors(C) as [Float32Array, Float32Array, Float32Array, Float32Array];
      for (let c = 0; c < C; c++) mean[c] = saved.mean[c]!;
      overChannels(C, (c0, c1) => call('bn_sums', [addr(x) + c0 * S * 4, addr(dy) + c0 * S * 4, c1 - c0, S, addr(mean) + c0 * 4, addr(out) + 2 * c0 * 4, reluOut ? addr(reluOut) + c0 * S * 4 : 0]));
      // dx = k dy + cx x + b0 with k = gamma invStd (see kernels/ts/train/batchnorm.ts); cx goes in `mean`'s
      // second half, since `mean` is no longer needed.
      const cx = mean.subarray(C);
      for (let c = 0; c < C; c++) {
        const sdy = out[2 * c]!;
        const sdyx = out[2 * c + 1]!;
        const invStd = saved.invStd[c]!;
        const m = saved.mean[c]!;
        dGamma[c] = sdyx * invStd;
        dBeta[c] = sdy;
        const k = gamma[c]! * invStd;
        a[c] = k;
        cx[c] = -k * invStd * invStd * sdyx / S;
        b[c] = -k * sdy / S + k * m * invStd * invStd * sdyx / S;
      }
      overChannels(C, (c0, c1) => call('bn_dx', [addr(x) + c0 * S * 4, addr(dy) + c0 * S * 4, addr(dx) + c0 * S * 4, c1 - c0, S, addr(a) + c0 * 4, addr(cx) + c0 * 4,
        addr(b) + c0 * 4, acc ? 1 : 0, reluOut ? addr(reluOut) + c0 * S * 4 : 0]));
    },
  };
}
