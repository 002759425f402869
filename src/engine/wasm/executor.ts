// The wasm engine: executes a compiled Plan with the generated SIMD kernels on one shared memory
// (packed weights, a liveness-planned activation arena, indirection tables, the step program), with the
// work of every step split across worker threads.
import { type Plan, type ValueId, stepInputs } from '../plan';
import type { StepTiming } from '../run-ts';
import { type Tensor, shapeStr, sizeOf, tensor } from '../../../kernels/core/tensor';
import { softmax } from '../../../kernels/ts/softmax';
import { relaxedSimdSupported } from '../../../kernels/wasm/emit';
import { DESC_BYTES, DESC_DONE, DESC_NEXT } from '../../../kernels/wasm/descriptors';
import { DEFAULT_MR } from '../../../kernels/wasm/f32-igemm-4x8';
import {
  ALIGN, LEFT_ADDR, MAX_PAGES, PAGE, RESERVED_BYTES, STATE_ADDR, STATE_CLOSED, STATE_COUNT_MASK, STEP_ADDR, roundUp,
} from '../../../kernels/wasm/memory';
import { buildInferenceModule } from '../../../kernels/wasm/modules';
import { type WasmInstance, type WasmMemory, type WasmModule, wasm } from '../../../kernels/wasm/wasm-api';
import {
  type StepConst, type ValueLayout, buildProgram, isTailStep, layoutValues, packStagingFloats, packSteps, packedBytesBound, planArena, rootOf, scratchBytesPerThread,
} from './lower';
import { WorkerPool, type WorkerFactory, hardwareThreads, mainThreadMayBlock, markStep, marksAddr, marksBytes, sharedClockNs } from './threads';

export interface WasmExecutorOptions {
  /** Threads including the calling one (default: all hardware threads). */
  readonly threads?: number;
  /** Use f32x4.relaxed_madd (default: when the runtime validates it). Forcing true where it is unsupported throws. */
  readonly relaxedSimd?: boolean;
  /** Rows per GEMM micro-kernel tile (default 4). */
  readonly mr?: number;
  /** Run 3x3 stride-1 convs as Winograd F(2x2,3x3) (default true). */
  readonly winograd?: boolean;
  /** How to create workers (default: worker_threads in Node, Blob Web Workers in browsers). */
  readonly workerFactory?: WorkerFactory;
}

export interface WasmRunResult {
  /** The plan's outputs, in its order. */
  readonly outputs: Tensor[];
  /**
   * When run with `{ profile: true }`: each wasm step's wall time, then the engine's own work around them
   * (kind 'engine'), so that together they account for the whole run.
   */
  readonly layerMs?: StepTiming[];
}

export interface MemoryBreakdown {
  /** Packed weights (Winograd-transformed 3x3 weights of narrow layers included) and BN constants. */
  readonly weights: number;
  /** Liveness-planned activations for the batch size. */
  readonly arena: number;
  /** Winograd per-thread scratch (tiles in and out of the transforms; the transformed filters of wide layers). */
  readonly scratch: number;
  /** Indirection tables and the step program. */
  readonly tables: number;
  /** The whole memory (pages are allocated in 64 KiB steps). */
  readonly total: number;
}

export interface WasmExecutor {
  readonly threads: number;
  readonly relaxedSimd: boolean;
  /** input: NCHW with any batch size N. */
  run(input: Tensor, opts?: { profile?: boolean }): Promise<WasmRunResult>;
  /** Bytes of the engine's wasm memory (weights, arena, tables). */
  memoryBytes(): number;
  /** Where those bytes go, for the last prepared batch size. */
  memoryBreakdown(): MemoryBreakdown;
  dispose(): void;
}

let sharedOk: boolean | undefined;
/** Shared memories need SharedArrayBuffer (in browsers: a cross-origin isolated page). */
function sharedMemorySupported(): boolean {
  if (sharedOk === undefined) {
    try {
      sharedOk = new wasm.Memory({ initial: 1, maximum: 1, shared: true }).buffer instanceof SharedArrayBuffer;
    } catch {
      sharedOk = false;
    }
  }
  return sharedOk;
}

export interface ModuleConfig {
  readonly relaxedSimd: boolean;
  readonly mr: number;
  readonly shared: boolean;
}

const moduleCache = new Map<string, WasmModule>();
const configKey = (c: ModuleConfig): string => `${c.relaxedSimd}/${c.mr}/${c.shared}`;

async function compileKernels(c: ModuleConfig): Promise<WasmModule> {
  const k = configKey(c);
  let m = moduleCache.get(k);
  if (!m) {
    m = await wasm.compile(buildInferenceModule({ relaxedSimd: c.relaxedSimd, mr: c.mr }, MAX_PAGES, c.shared));
    moduleCache.set(k, m);
  }
  return m;
}

/** Synchronous compile (fine in Node and workers; browsers' main threads allow only small modules). */
export function compileKernelsSync(c: ModuleConfig): WasmModule {
  const k = configKey(c);
  let m = moduleCache.get(k);
  if (!m) {
    m = new wasm.Module(buildInferenceModule({ relaxedSimd: c.relaxedSimd, mr: c.mr }, MAX_PAGES, c.shared));
    moduleCache.set(k, m);
  }
  return m;
}

export function resolveRelaxed(requested: boolean | undefined): boolean {
  const ok = relaxedSimdSupported();
  if (requested === true && !ok) {
    throw new Error('wasm engine: relaxedSimd requested but this runtime does not validate relaxed SIMD (Node 20: --experimental-wasm-relaxed-simd)');
  }
  return requested ?? ok;
}

interface Prepared {
  readonly breakdown: MemoryBreakdown;
  readonly batch: number;
  readonly threads: number;
  readonly progAddr: number;
  readonly nsteps: number;
  readonly offsets: Map<ValueId, number>;
  readonly arenaAddr: number;
}

/**
 * The synchronous core: one instance on one memory. Values in `inputs` are written by the caller, values
 * in `keep` are read by the caller after the run (all others share the arena by liveness).
 */
export class WasmCore {
  readonly layouts: readonly ValueLayout[];
  private readonly instance: WasmInstance;
  private readonly wasmSteps: number;
  /** Values left readable in wasm memory: those kept, and what the JS tail steps read, never a tail step's output. */
  private readonly readback: readonly ValueId[];
  private readonly weightsAddr: number;
  private readonly zeroAddr: number;
  private readonly dynBase: number;
  private readonly consts: StepConst[];
  private prepared: Prepared | null = null;
  /** Workers that joined the last run and may not have left it yet. */
  private leaving = 0;
  /** Called from inside `run` by thread 0 once it is in place (wakes the workers). */
  private wake: (() => void) | null = null;
  private runTag = 0;

  constructor(
    readonly plan: Plan,
    readonly module: WasmModule,
    readonly memory: WasmMemory,
    readonly mr: number,
    readonly inputs: readonly ValueId[],
    readonly keep: readonly ValueId[],
    winograd = true,
  ) {
    let tail = plan.steps.length;
    while (tail > 0 && isTailStep(plan.steps[tail - 1]!)) tail--;
    this.wasmSteps = tail;
    for (let i = 0; i < tail; i++) {
      if (isTailStep(plan.steps[i]!)) throw new Error(`wasm engine: ${plan.steps[i]!.kind} step ${plan.steps[i]!.name} is only supported at the end`);
    }
    const tailSteps = plan.steps.slice(tail);
    const tailOutputs = new Set(tailSteps.map((s) => s.output));
    this.readback = [...new Set([...keep, ...tailSteps.flatMap(stepInputs)])].filter((v) => !tailOutputs.has(v));
    this.layouts = layoutValues(plan, inputs);
    const maxRow = Math.max(16, ...this.layouts.map((l) => l.cs * 4));
    this.zeroAddr = RESERVED_BYTES;
    this.weightsAddr = roundUp(this.zeroAddr + maxRow, ALIGN);
    // Grow once, then pack each step's weights straight into the memory (written once, shared by every
    // thread). Each layer is read from the file into a staging area past the weights, where prepare() later
    // puts the program and the activations: loading takes no memory beyond the engine's own.
    const stagingAddr = roundUp(this.weightsAddr + packedBytesBound(plan, this.layouts, winograd), ALIGN);
    const stagingFloats = packStagingFloats(plan);
    this.ensureBytes(stagingAddr + stagingFloats * 4);
    const buffer = this.memory.buffer;
    const { consts, bytes } = packSteps(
      plan, this.layouts, winograd, (offset, floats) => new Float32Array(buffer, this.weightsAddr + offset, floats),
      new Float32Array(buffer, stagingAddr, stagingFloats),
    );
    this.consts = consts;
    this.dynBase = roundUp(this.weightsAddr + bytes, ALIGN);
    this.instance = new wasm.Instance(module, {
      env: { memory, mark: (step: number) => this.mark(step), wake: () => { this.wake?.(); } },
    });
  }

  /** Thread 0's mark import: the same record as the workers' (threads.ts), on views of the current buffer. */
  private mark(step: number): void {
    const p = this.prepared;
    if (!p) return;
    const buf = this.memory.buffer;
    markStep(new Int32Array(buf), new BigInt64Array(buf), marksAddr(p.progAddr, p.nsteps), step);
  }

  private ensureBytes(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes <= have) return;
    const pages = Math.ceil((bytes - have) / PAGE);
    if (have / PAGE + pages > MAX_PAGES) throw new Error(`wasm engine: needs ${bytes} bytes of memory, more than ${MAX_PAGES * PAGE}`);
    this.memory.grow(pages);
  }

  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  get memoryBreakdown(): MemoryBreakdown {
    return this.requirePrepared().breakdown;
  }

  /** Waits until the workers of the last run have left it (before its run state or program is reused). */
  private awaitLeavers(): void {
    if (this.leaving === 0) return;
    const mem = new Int32Array(this.memory.buffer);
    while (Atomics.load(mem, LEFT_ADDR / 4) < this.leaving) {
      // They are past the last barrier, on their way out.
    }
    this.leaving = 0;
  }

  /** Arena, indirection tables and program for this batch size and thread count. */
  prepare(batch: number, threads: number): void {
    if (this.prepared && this.prepared.batch === batch && this.prepared.threads === threads) return;
    this.awaitLeavers();
    const { plan, layouts } = this;
    const progAddr = this.dynBase;
    // The program, then its per-step end times (threads.ts: marksAddr).
    const progBytes = marksAddr(0, this.wasmSteps) + marksBytes(this.wasmSteps);
    const arena = planArena(plan, layouts, batch, this.inputs, this.readback, this.wasmSteps);
    const arenaAddr = progAddr + progBytes;
    const scratchPerThread = scratchBytesPerThread(plan, layouts, this.consts, batch, threads, this.mr);
    const scratchAddr = roundUp(arenaAddr + arena.bytes, ALIGN);
    let tablesEnd = scratchAddr + scratchPerThread * threads;
    const tables: { at: number; data: Int32Array }[] = [];
    const addr = (id: ValueId): number => {
      const off = arena.offsets.get(rootOf(layouts, id));
      if (off === undefined) throw new Error(`wasm engine: value ${plan.values[id]?.name ?? id} has no buffer`);
      return arenaAddr + off;
    };
    const prog = buildProgram({
      plan, layouts, consts: this.consts, batch, threads, mr: this.mr, addr,
      weightsAddr: this.weightsAddr, zeroAddr: this.zeroAddr,
      allocIndirection: (bytes) => { const at = tablesEnd; tablesEnd = roundUp(tablesEnd + bytes, ALIGN); return at; },
      writeInt32: (at, data) => { tables.push({ at, data }); },
      scratchAddr, scratchBytesPerThread: scratchPerThread,
    }, this.wasmSteps);
    this.ensureBytes(tablesEnd);
    const i32 = new Int32Array(this.memory.buffer);
    for (const t of tables) i32.set(t.data, t.at / 4);
    i32.set(prog, progAddr / 4);
    const breakdown = {
      weights: this.dynBase - this.weightsAddr, arena: arena.bytes, scratch: scratchPerThread * threads,
      tables: tablesEnd - (scratchAddr + scratchPerThread * threads) + progBytes, total: this.memory.buffer.byteLength,
    };
    this.prepared = { breakdown, batch, threads, progAddr, nsteps: this.wasmSteps, offsets: arena.offsets, arenaAddr };
  }

  /** Writes an NCHW tensor into value `id`'s NHWC buffer (padded channels zeroed). */
  writeValue(id: ValueId, t: Tensor): void {
    const p = this.requirePrepared();
    const l = this.layouts[id]!;
    const N = p.batch;
    const expect = [N, ...this.plan.values[id]!.shape];
    if (shapeStr(t.shape) !== shapeStr(expect)) throw new Error(`wasm engine: input ${this.plan.values[id]!.name} is ${shapeStr(t.shape)}, expected ${shapeStr(expect)}`);
    const hw = l.h * l.w;
    const base = (p.arenaAddr + p.offsets.get(rootOf(this.layouts, id))!) / 4;
    const dst = new Float32Array(this.memory.buffer, base * 4, N * hw * l.cs);
    const src = t.data;
    if (l.c === l.cs && hw === 1) {
      dst.set(src);
      return;
    }
    dst.fill(0);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < l.c; c++) {
        const s0 = (n * l.c + c) * hw;
        let d = n * hw * l.cs + c;
        for (let i = 0; i < hw; i++, d += l.cs) dst[d] = src[s0 + i]!;
      }
    }
  }

  /** Reads value `id` back as NCHW (or [N,F]). */
  readValue(id: ValueId): Tensor {
    const p = this.requirePrepared();
    const l = this.layouts[id]!;
    const N = p.batch;
    const base = p.arenaAddr + p.offsets.get(rootOf(this.layouts, id))!;
    const shape = [N, ...this.plan.values[id]!.shape];
    const src = l.source ?? l;
    const hw = src.h * src.w;
    const mem = new Float32Array(this.memory.buffer, base, N * hw * src.cs);
    const out = new Float32Array(sizeOf(shape));
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < src.c; c++) {
        const d0 = (n * src.c + c) * hw;
        let s = n * hw * src.cs + c;
        for (let i = 0; i < hw; i++, s += src.cs) out[d0 + i] = mem[s]!;
      }
    }
    return tensor(shape, out);
  }

  /**
   * Runs the program: thread 0 here; workers in `pool` join while it runs (see threads.ts). When profiling,
   * returns per-step end times (ms from the program's start: for each step, when the first thread got past
   * its barrier, whichever thread that was) and the time spent waiting for threads outside the steps.
   */
  execute(pool: WorkerPool | null, profile: boolean): { stepEnds: number[]; waitMs: number } | undefined {
    const p = this.requirePrepared();
    const nth = pool ? pool.size : 1;
    if (nth !== p.threads) throw new Error(`wasm engine: prepared for ${p.threads} threads, running ${nth}`);
    const w0 = sharedClockNs();
    this.awaitLeavers();
    const waitMs = Number(sharedClockNs() - w0) / 1e6;
    // Fresh counters and run state, then open the run and wake the workers.
    const mem = new Int32Array(this.memory.buffer);
    const marks = marksAddr(p.progAddr, p.nsteps);
    const times = new BigInt64Array(this.memory.buffer, marks + 8, p.nsteps);
    times.fill(0n);
    Atomics.store(mem, marks / 4, profile ? 1 : 0);
    for (let i = 0; i < p.nsteps; i++) {
      const base = (p.progAddr + i * DESC_BYTES) / 4;
      mem[base + DESC_NEXT] = 0;
      mem[base + DESC_DONE] = 0;
    }
    this.runTag = (this.runTag + 1) & 0xffffff;
    Atomics.store(mem, STEP_ADDR / 4, 0);
    Atomics.store(mem, LEFT_ADDR / 4, 0);
    Atomics.store(mem, STATE_ADDR / 4, (this.runTag << 8) | 1);
    const tag = this.runTag;
    this.wake = pool ? () => pool.start(p.progAddr, p.nsteps, nth, tag) : null;
    const t0 = sharedClockNs();
    const flags = (mainThreadMayBlock() ? 1 : 0) | (profile ? 2 : 0) | (pool ? 4 : 0);
    (this.instance.exports['run'] as (a: number, b: number, c: number, d: number, e: number) => void)(p.progAddr, p.nsteps, 0, nth, flags);
    // Close the run (no more joins) and wait for the workers that joined to leave it.
    let state = Atomics.load(mem, STATE_ADDR / 4);
    for (;;) {
      const seen = Atomics.compareExchange(mem, STATE_ADDR / 4, state, state | STATE_CLOSED);
      if (seen === state) break;
      state = seen;
    }
    // The workers that joined are past the last barrier: the outputs are final. They leave the run when
    // they next get a core, which on a busy machine can take milliseconds; the next run (or a new program)
    // waits for that, this one does not (the result is ready now).
    this.leaving = (state & STATE_COUNT_MASK) - 1;
    if (!profile) return undefined;
    const endMs = Number(sharedClockNs() - t0) / 1e6;
    Atomics.store(mem, marks / 4, 0);
    // Milliseconds from the start; monotone (two threads' readings of one clock a few ns apart could cross).
    const stepEnds = [0];
    for (const t of times) stepEnds.push(Math.max(stepEnds[stepEnds.length - 1]!, Number(t - t0) / 1e6));
    // Waiting for threads: for the last run's to leave before this one, and after the last step's barrier
    // for this thread to get back (on a busy machine it may have lost its core).
    return { stepEnds, waitMs: waitMs + Math.max(0, endMs - stepEnds[stepEnds.length - 1]!) };
  }

  /** The kept values after a run: read from wasm memory, then the steps after the wasm program (softmax) applied in JS. */
  readKept(): Map<ValueId, Tensor> {
    const values = new Map(this.readback.map((v) => [v, this.readValue(v)] as const));
    for (const s of this.plan.steps.slice(this.wasmSteps)) {
      if (s.kind === 'softmax') values.set(s.output, softmax(values.get(s.input)!, s.axis));
    }
    return values;
  }

  get wasmStepCount(): number {
    return this.wasmSteps;
  }

  private requirePrepared(): Prepared {
    if (!this.prepared) throw new Error('wasm engine: prepare(batch) first');
    return this.prepared;
  }
}

export function newMemory(shared: boolean): WasmMemory {
  return new wasm.Memory({ initial: 1, maximum: MAX_PAGES, shared });
}

/** Compiles the kernels, packs the plan's weights into a shared memory and starts the worker threads. */
export async function createWasmExecutor(plan: Plan, opts: WasmExecutorOptions = {}): Promise<WasmExecutor> {
  const shared = sharedMemorySupported();
  const threads = shared ? Math.max(1, Math.floor(opts.threads ?? (await hardwareThreads()))) : 1;
  const relaxed = resolveRelaxed(opts.relaxedSimd);
  const mr = opts.mr ?? DEFAULT_MR;
  const module = await compileKernels({ relaxedSimd: relaxed, mr, shared });
  const memory = newMemory(shared);
  // The workers start (on other cores) while this thread packs the weights; they only need the module and
  // the memory, which is shared and may grow meanwhile.
  const spawned = threads > 1 ? await WorkerPool.spawn(threads, module, memory, opts.workerFactory) : null;
  spawned?.ready.catch(() => {}); // awaited below: a failure while packing is not an unhandled rejection
  let core: WasmCore;
  try {
    core = new WasmCore(plan, module, memory, mr, [plan.input], plan.outputs, opts.winograd ?? true);
  } catch (e) {
    spawned?.pool.dispose();
    throw e;
  }
  await spawned?.ready;
  const pool = spawned?.pool ?? null;
  let disposed = false;
  return {
    threads,
    relaxedSimd: relaxed,
    memoryBytes: () => core.memoryBytes,
    memoryBreakdown: () => core.memoryBreakdown,
    async run(input: Tensor, runOpts?: { profile?: boolean }): Promise<WasmRunResult> {
      if (disposed) throw new Error('wasm engine: run after dispose');
      const batch = input.shape[0];
      if (batch === undefined || input.shape.length !== plan.values[plan.input]!.shape.length + 1) {
        throw new Error(`wasm engine: input ${shapeStr(input.shape)} does not match the model's [N,${plan.values[plan.input]!.shape.join(',')}]`);
      }
      const tIn = performance.now();
      core.prepare(batch, threads);
      core.writeValue(plan.input, input);
      const tRun = performance.now();
      const times = core.execute(pool, runOpts?.profile === true);
      const tOut = performance.now();
      const kept = core.readKept();
      const outputs = plan.outputs.map((v) => kept.get(v)!);
      if (!times) return { outputs };
      const { stepEnds, waitMs } = times;
      const layerMs: StepTiming[] = [];
      for (let i = 0; i < core.wasmStepCount; i++) {
        const s = plan.steps[i]!;
        layerMs.push({ name: s.name, kind: s.kind, ms: stepEnds[i + 1]! - stepEnds[i]! });
      }
      layerMs.push(
        { name: 'input', kind: 'engine', ms: tRun - tIn },
        { name: 'thread wait', kind: 'engine', ms: waitMs },
        { name: 'outputs', kind: 'engine', ms: performance.now() - tOut },
      );
      return { outputs, layerMs };
    },
    dispose(): void {
      if (disposed) return;
      disposed = true;
      pool?.dispose();
    },
  };
}
