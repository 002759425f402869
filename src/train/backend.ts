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
import { winogradBlockLayout } from '../../kernels/wasm/winograd-3x3-train';
import { type WasmMemory, wasm } from '../../kernels/wasm/wasm-api';
import { HELPING, type WgradBoard, type WgradTask } from './weight-grad-team';

export type BackendName = 'js64' | 'js32' | 'wasm';

export interface TrainBackend {
  readonly name: BackendName;
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
  /** Winograd 3x3 stride-1 pad-1 convs, where the backend has them (the net uses im2col + GEMM otherwise). */
  readonly winograd?: WinogradKernels;
  /**
   * At the end of a backward pass, where the backend shares weight gradients with other threads
   * (weight-grad-team.ts): runs its own tasks no one took, helps the others until every thread is done,
   * and returns when all of this thread's weight gradients are written.
   */
  finishWeightGrads?(): void;
}

/** F(2x2,3x3), F(4x4,3x3) or F(7x7,3x3): output tile size. */
export type WinogradTile = 2 | 4 | 7;

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
    alloc: (n) => (precision === 64 ? new Float64Array(n) : new Float32Array(n)),
    gemmNN, gemmNT, im2col, col2im,
    relu: reluForward, reluBackward, add: addForward, pass: passBackward, bnForwardTrain, bnForwardEval, bnBackward,
  };
}

type GemmFn = (M: number, N: number, K: number, A: number, lda: number, B: number, ldb: number, C: number, ldc: number, acc: number) => void;
type Fn = (...args: number[]) => void;
type Im2colFn = (src: number, dst: number, ldcol: number, p0: number, p1: number, C: number, N: number, H: number, W: number, k: number, s: number, p: number, OH: number, OW: number) => void;

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
  /**
   * How long a thread done with its shard waits for a busy thread whose board shows no change before it
   * stops helping (default 10 s; see finishWeightGrads).
   */
  readonly helperPatienceMs?: number;
}

/** The wasm backend's own interface: its memory, and joining the threads of a data-parallel engine. */
export interface WasmTrainBackend extends TrainBackend {
  readonly relaxedSimd: boolean;
  readonly memory: WasmMemory;
  memoryBytes(): number;
  /**
   * Shares Winograd weight gradients with the other threads of an engine from now on: `board` is the
   * engine's (weight-grad-team.ts), `self` this thread's index on it, `memories[t]` thread t's backend
   * memory (null for this thread and for threads not on the board).
   */
  joinTeam(board: WgradBoard, self: number, memories: readonly (WasmMemory | null)[]): void;
  /** Computes every weight gradient in this thread again. */
  leaveTeam(): void;
}

/**
 * The WebAssembly backend. Buffers are views of one shared wasm memory, which grows as buffers are allocated;
 * growing a shared memory keeps earlier views valid, so buffers can be allocated at any time.
 */
export function wasmBackend(opts: WasmBackendOptions = {}): WasmTrainBackend {
  if (!simdSupported()) throw new Error('training: this runtime has no WebAssembly SIMD');
  const relaxed = opts.relaxedSimd === false ? false : relaxedSimdSupported();
  if (opts.relaxedSimd === true && !relaxed) throw new Error('training: relaxed SIMD requested but not supported by this runtime');
  const memory: WasmMemory = new wasm.Memory({ initial: 16, maximum: MAX_PAGES, shared: true });
  const module = new wasm.Module(buildTrainingModule({ relaxedSimd: relaxed, ...(opts.f4Points && { f4Points: opts.f4Points }), ...(opts.fmaTransforms !== undefined && { fmaTransforms: opts.fmaTransforms }) }, MAX_PAGES));
  const ex = new wasm.Instance(module, { env: { memory } }).exports;
  const nn = ex['gemm_nn'] as GemmFn;
  const nt = ex['gemm_nt'] as GemmFn;
  const i2c = ex['im2col'] as Im2colFn;
  const c2i = ex['col2im'] as Im2colFn;
  const k = (name: string): Fn => ex[name] as Fn;
  const wino = (name: string): Record<WinogradTile, Fn> => ({ 2: k(`${name}_f2`), 4: k(`${name}_f4`), 7: k(`${name}_f7`) });
  const [winoConv, winoWgrad, winoWeights, winoWgradOut] = ['wino_conv', 'wino_wgrad', 'wino_weights', 'wino_wgrad_out'].map(wino) as
    [Record<WinogradTile, Fn>, Record<WinogradTile, Fn>, Record<WinogradTile, Fn>, Record<WinogradTile, Fn>];
  const [relu, add, pass, bnSums, bnStats, bnAffine, bnDx] =
    ['relu', 'add', 'pass', 'bn_sums', 'bn_stats', 'bn_affine', 'bn_dx'].map(k) as [Fn, Fn, Fn, Fn, Fn, Fn, Fn];
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
  /** The scratch and zero area's addresses and the block layout of a pass (winogradBlockLayout). */
  const block = (tile: WinogradTile, C: number, M: number, n: number): [number, number, number, number, number, number] => {
    const { tb, ldv, vXi, mXi, scratchBytes } = winogradBlockLayout(tile, C, M, n, opts.winogradBlockFloats);
    return [addr(buf('scratch', scratchBytes / 4)), addr(buf('zero', n)), tb, ldv, vXi, mXi];
  };
  const winograd: WinogradKernels = {
    conv(x, y, w, C, M, n, H, W, flip, acc, tile) {
      const aa = (tile + 2) * (tile + 2);
      const u = buf('u', aa * M * C);
      winoWeights[tile](addr(w), addr(u), M, C, flip ? 1 : 0);
      const [cin, cout] = flip ? [M, C] : [C, M];
      const [scratch, zero, tb, ldv, vXi, mXi] = block(tile, cin, cout, n);
      winoConv[tile](addr(x), addr(y), addr(u), scratch, zero, addr(buf('sink', n)), cin, cout, n, H, W, tb, ldv, vXi, mXi, acc ? 1 : 0);
    },
    weightGrad(x, dy, dW, C, M, n, H, W, tile) {
      const { tb, ldv, vXi, mXi, scratchBytes } = winogradBlockLayout(tile, C, M, n, opts.winogradBlockFloats);
      const task: WgradTask = { tile, x: addr(x), dy: addr(dy), dW: addr(dW), C, M, n, H, W, tb, ldv, vXi, mXi, scratchBytes };
      if (team?.board.someoneHelping(team.self) && handOff(team, task)) return;
      runOwnTask(task);
    },
  };
  /** A weight-gradient task on this thread's memory, in its own scratch. */
  const runOwnTask = (t: WgradTask): void => {
    const sums = buf('u', (t.tile + 2) ** 2 * t.M * t.C);
    const scratch = addr(buf('scratch', t.scratchBytes / 4));
    const tile = t.tile as WinogradTile;
    winoWgrad[tile](t.x, t.dy, addr(sums), scratch, addr(buf('zero', t.n)), t.C, t.M, t.n, t.H, t.W, t.tb, t.ldv, t.vXi, t.mXi);
    winoWgradOut[tile](addr(sums), t.dW, t.M, t.C);
  };
  // Weight gradients shared with the other threads of an engine (weight-grad-team.ts): the board, this
  // thread's index, and an instance of the training module on each other thread's memory.
  type Team = { readonly board: WgradBoard; readonly self: number; readonly guests: readonly (Record<string, Fn> | null)[] };
  let team: Team | null = null;
  /** Publishes a task for a helper, after making sure every helper's area here is large enough for it. */
  const handOff = (tm: Team, t: WgradTask): boolean => {
    const sumsFloats = (t.tile + 2) ** 2 * t.M * t.C;
    for (let h = 0; h < tm.board.threads; h++) {
      if (h === tm.self) continue;
      const a = tm.board.area(tm.self, h);
      if (a.scratchBytes >= t.scratchBytes && a.sumsFloats >= sumsFloats && a.zeroFloats >= t.n) continue;
      // A larger area (the old one stays allocated: a helper may still be using it).
      const grown = (have: number, need: number): number => Math.max(have, Math.ceil(need * 1.25));
      const sb = grown(a.scratchBytes, t.scratchBytes), sf = grown(a.sumsFloats, sumsFloats), zf = grown(a.zeroFloats, t.n);
      tm.board.setArea(tm.self, h, { scratch: addr(alloc(Math.ceil(sb / 4))), scratchBytes: sb, sums: addr(alloc(sf)), sumsFloats: sf, zero: addr(alloc(zf)), zeroFloats: zf });
    }
    return tm.board.publish(tm.self, t);
  };
  /** Runs one of thread `owner`'s tasks on its memory, in the area it set aside for this thread. */
  const runGuestTask = (tm: Team, owner: number, t: WgradTask): void => {
    const g = tm.guests[owner];
    if (!g) throw new Error(`training: no module instance on thread ${owner}'s memory`);
    const a = tm.board.area(owner, tm.self);
    g[`wino_wgrad_f${t.tile}`]!(t.x, t.dy, a.sums, a.scratch, a.zero, t.C, t.M, t.n, t.H, t.W, t.tb, t.ldv, t.vXi, t.mXi);
    g[`wino_wgrad_out_f${t.tile}`]!(a.sums, t.dW, t.M, t.C);
  };
  const patience = opts.helperPatienceMs ?? 10_000;
  const finishWeightGrads = (): void => {
    const tm = team;
    if (!tm) return;
    const { board, self } = tm;
    for (let t = board.claim(self); t; t = board.claim(self)) {
      runOwnTask(t);
      board.complete(self);
    }
    board.setState(self, HELPING);
    // A thread that stays busy with nothing on the board changing for helperPatienceMs is not running a step
    // (a caller that starts this thread's step before posting the other's would otherwise wait here
    // forever): stop helping; its tasks are then its own to run.
    let quietSince = performance.now();
    for (;;) {
      const seq = board.seq();
      let worked = false;
      for (let o = 0; o < board.threads; o++) {
        if (o === self) continue;
        const t = board.claim(o);
        if (!t) continue;
        runGuestTask(tm, o, t);
        board.complete(o);
        worked = true;
      }
      if (worked) continue;
      if (board.allSettled(self)) break;
      if (board.sleep(seq)) quietSince = performance.now();
      else if (performance.now() - quietSince > patience) break;
    }
    board.waitCompleted(self);
  };
  // Per batch norm (its saved statistics), the affine map its last training forward applied before a fused
  // ReLU with no residual add: C scales then C shifts, so that the backward recomputes the ReLU's mask from x
  // (the same bits) instead of reading the ReLU's output (bn_sums, bn_dx: `gate`).
  const gates = new WeakMap<BnSaved, Float32Array>();
  // Per-channel vectors for the batch-norm kernels (grown when a wider layer comes).
  let perChannel: Float32Array[] = [];
  const channelVectors = (C: number): Float32Array[] => {
    if (!perChannel[0] || perChannel[0].length < 2 * C) perChannel = Array.from({ length: 4 }, () => alloc(2 * C));
    return perChannel;
  };
  return {
    name: 'wasm',
    relaxedSimd: relaxed,
    winograd,
    memory,
    memoryBytes: () => memory.buffer.byteLength,
    joinTeam(board, self, memories) {
      const guests = memories.map((m, t) => (m && t !== self ? new wasm.Instance(module, { env: { memory: m } }).exports as Record<string, Fn> : null));
      team = { board, self, guests };
    },
    leaveTeam() { team = null; },
    finishWeightGrads,
    alloc,
    gemmNN(M, N, K, A, lda, B, ldb, C, ldc, accumulate) {
      nn(M, N, K, addr(A), lda, addr(B), ldb, addr(C), ldc, accumulate ? 1 : 0);
    },
    gemmNT(M, N, K, A, lda, B, ldb, C, ldc, accumulate) {
      nt(M, N, K, addr(A), lda, addr(B), ldb, addr(C), ldc, accumulate ? 1 : 0);
    },
    im2col(x, g, col, ldcol, p0, p1) {
      i2c(addr(x), addr(col), ldcol, p0, p1, g.c, g.n, g.h, g.w, g.k, g.stride, g.pad, g.oh, g.ow);
    },
    col2im(col, g, dx, ldcol, p0, p1) {
      c2i(addr(col), addr(dx), ldcol, p0, p1, g.c, g.n, g.h, g.w, g.k, g.stride, g.pad, g.oh, g.ow);
    },
    relu(x, n, y) { relu(addr(x), addr(y), n); },
    // A ReLU's backward is the masked pass-through: dy where its output y > 0.
    reluBackward(y, dy, n, dx, acc) { pass(addr(dy), addr(dx), n, acc ? 1 : 0, addr(y)); },
    add(a, b, n, y, relu = false) { add(addr(a), addr(b), addr(y), n, relu ? 1 : 0); },
    pass(dy, n, dx, acc, reluOut = null) { pass(addr(dy), addr(dx), n, acc ? 1 : 0, reluOut ? addr(reluOut) : 0); },
    bnForwardTrain(x, C, S, gamma, beta, eps, y, saved, running, relu = false, residual = null) {
      if (S < 2) throw new Error(`batch norm: training needs more than one value per channel, got ${S} (C=${C})`);
      const [mean, out, a, b] = channelVectors(C) as [Float32Array, Float32Array, Float32Array, Float32Array];
      // One pass: sums of x - shift and their squares, shifted by each channel's first value.
      for (let c = 0; c < C; c++) mean[c] = x[c * S]!;
      bnStats(addr(x), C, S, addr(mean), addr(out));
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
      bnAffine(addr(x), addr(y), C, S, addr(a), addr(b), relu ? 1 : 0, residual ? addr(residual) : 0);
      if (relu && !residual) {
        let g = gates.get(saved);
        if (!g || g.length !== 2 * C) {
          g = alloc(2 * C);
          gates.set(saved, g);
        }
        g.set(a.subarray(0, C));
        g.set(b.subarray(0, C), C);
      } else gates.delete(saved);
    },
    bnForwardEval(x, C, S, gamma, beta, mean, variance, eps, y, relu = false, residual = null) {
      const [, , a, b] = channelVectors(C) as [Float32Array, Float32Array, Float32Array, Float32Array];
      for (let c = 0; c < C; c++) {
        a[c] = gamma[c]! / Math.sqrt(variance[c]! + eps);
        b[c] = beta[c]! - mean[c]! * a[c]!;
      }
      bnAffine(addr(x), addr(y), C, S, addr(a), addr(b), relu ? 1 : 0, residual ? addr(residual) : 0);
    },
    bnBackward(x, dy, C, S, gamma, saved: BnSaved, dGamma, dBeta, dx, acc, reluOut = null) {
      const [mean, out, a, b] = channelVectors(C) as [Float32Array, Float32Array, Float32Array, Float32Array];
      for (let c = 0; c < C; c++) mean[c] = saved.mean[c]!;
      // A ReLU right after this batch norm: its mask from x and the forward's affine map (one stream less).
      const gate = reluOut ? gates.get(saved) : undefined;
      const [mask, gateAt] = gate ? [0, addr(gate)] : [reluOut ? addr(reluOut) : 0, 0];
      bnSums(addr(x), addr(dy), C, S, addr(mean), addr(out), mask, gateAt);
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
      bnDx(addr(x), addr(dy), addr(dx), C, S, addr(a), addr(cx), addr(b), acc ? 1 : 0, mask, gateAt);
    },
  };
}
