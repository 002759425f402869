// One fuzz case judged: a model's bytes loaded on every engine (ts, wasm, ort-wasm) through loadModel, as
// the app and CLI load them, and run on one fixed input. The verdict is one of
//   refused   every engine refused it with a user-facing error (OnnxError, its ORT subclass, ModelError):
//             one line, no stack, no C++ path
//   agreed    every engine ran it and the outputs agree (below)
//   disagree  engines accepted different models, or gave different outputs
//   internal  an engine threw anything else (an untyped error, or a typed one whose message is not one
//             clean line)
// loadModel compiles the model with our compiler before handing the bytes to ONNX Runtime, so when we
// refuse a model ORT is also asked on its own (`ortOwn`): a model ORT runs and we refuse is a
// difference to explain (a known limitation of our op subset, or a rule we keep and ORT does not).
//
// Agreement: the same number of outputs with the same shapes; NaN where the reference has NaN and
// infinities of the same sign where it has them; finite values within 1e-3 of the reference's largest
// finite magnitude. Relative to the largest value, because engines sum in different orders (Winograd,
// FMA, ORT's MLAS) and a logit of 1e4 carries rounding of 1e-3 in absolute terms; 1e-3 and not the
// parity tests' 1e-4, because mutated weights (a value set to 1e5) make cancellation larger than real
// models ever see. The reference is ORT's output (ts's when ORT did not run).
import { ModelError } from '../engine/compile';
import { type EngineName, loadModel } from '../engine/session';
import { OnnxError } from '../onnx/error';
import { parseOnnx } from '../onnx/read';
import { createOrtRunner } from '../ort/ort-session';
import { randomNormalTensor } from '../random';

export const FUZZ_ENGINES = ['ts', 'wasm', 'ort-wasm'] as const satisfies readonly EngineName[];
export type FuzzEngine = (typeof FUZZ_ENGINES)[number];

/** Models needing more multiply-adds per batch than this are loaded but not run (the fuzzer's time budget). */
const MAX_FUZZ_MACS = 2e9;
const AGREEMENT_TOLERANCE = 1e-3;

export interface Output {
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

export type EngineResult =
  | { readonly kind: 'ok'; readonly outputs: readonly Output[] }
  | { readonly kind: 'not-run'; readonly macs: number }
  | { readonly kind: 'refused' | 'internal'; readonly stage: 'load' | 'run'; readonly error: string; readonly message: string };

export type Verdict =
  | { readonly kind: 'refused'; readonly message: string; readonly ortOwn: EngineResult }
  | { readonly kind: 'agreed' }
  | { readonly kind: 'not-run'; readonly macs: number }
  | { readonly kind: 'disagree'; readonly what: 'acceptance' | 'outputs' | 'shapes' | 'values'; readonly detail: string; readonly odd?: FuzzEngine }
  | { readonly kind: 'internal'; readonly engine: FuzzEngine | 'ort-own'; readonly error: string; readonly message: string };

export interface Judged {
  readonly results: Readonly<Record<FuzzEngine, EngineResult>>;
  readonly verdict: Verdict;
  /** The model has non-finite weights or weights over 1e6 in magnitude (float-overflow in exceptions.ts). */
  readonly absurdWeights: boolean;
}

/** A message a user can be shown as is: one line, no stack frames, no C++ source paths or error codes. */
function isCleanMessage(message: string): boolean {
  return message.length > 0 && message.length <= 600 && !/[\r\n]/.test(message) && !/\bat \S+ \(|\.(?:cc|cpp|h|hpp):\d+|ERROR_CODE|ERROR_MESSAGE/.test(message);
}

function describe(e: unknown, stage: 'load' | 'run'): EngineResult {
  const error = e instanceof Error ? e.name : typeof e;
  const message = e instanceof Error ? e.message : String(e);
  const typed = e instanceof OnnxError || e instanceof ModelError;
  return { kind: typed && isCleanMessage(message) ? 'refused' : 'internal', stage, error, message };
}

const INPUT_SEED = 7;

/** Largest batch a file may fix for its input and still be run by the fuzzer. */
const MAX_FUZZ_BATCH = 16;

/**
 * The batch to feed: the one the file fixes for its input (ORT holds a model to it; ours take any), else
 * 1. Undefined when the file fixes one over MAX_FUZZ_BATCH.
 */
function declaredBatch(bytes: Uint8Array): number | undefined {
  try {
    const d = parseOnnx(bytes).inputs[0]?.shape[0];
    if (typeof d !== 'number') return 1;
    return d >= 1 && d <= MAX_FUZZ_BATCH ? d : undefined;
  } catch {
    return 1;
  }
}

async function runEngine(bytes: Uint8Array, engine: FuzzEngine, batch: number | undefined): Promise<EngineResult> {
  let session: Awaited<ReturnType<typeof loadModel>>;
  try {
    session = await loadModel(bytes, { engine, threads: 1 });
  } catch (e) {
    return describe(e, 'load');
  }
  try {
    if (batch === undefined || batch * session.info.macs > MAX_FUZZ_MACS) return { kind: 'not-run', macs: session.info.macs * (batch ?? Infinity) };
    const x = randomNormalTensor([batch, ...session.info.inputShape], INPUT_SEED);
    const r = await session.run(x);
    return { kind: 'ok', outputs: r.outputs.map((o) => ({ shape: [...o.shape], data: Float32Array.from(o.data) })) };
  } catch (e) {
    return describe(e, 'run');
  } finally {
    await session.dispose().catch(() => {});
  }
}

/** ONNX Runtime's own verdict on bytes our compiler refused: session creation, then one run. */
async function ortOwnVerdict(bytes: Uint8Array): Promise<EngineResult> {
  let runner: Awaited<ReturnType<typeof createOrtRunner>>;
  try {
    runner = await createOrtRunner(bytes, { backend: 'wasm', threads: 1 });
  } catch (e) {
    return describe(e, 'load');
  }
  try {
    const shape = runner.inputShape.map((d, i) => (typeof d === 'number' && d > 0 ? d : i === 0 ? 1 : 28));
    if (shape.reduce((a, b) => a * b, 1) > 1e7) return { kind: 'not-run', macs: NaN };
    const outputs = await runner.run(randomNormalTensor(shape, INPUT_SEED));
    return { kind: 'ok', outputs };
  } catch (e) {
    return describe(e, 'run');
  } finally {
    await runner.release().catch(() => {});
  }
}

function maxAbsFinite(data: Float32Array): number {
  let m = 0;
  for (const v of data) if (Number.isFinite(v) && Math.abs(v) > m) m = Math.abs(v);
  return m;
}

/** Why `got` does not agree with `want`, or null when it does (see the file comment for the rule). */
function compareOutputs(got: readonly Output[], want: readonly Output[]): { what: 'outputs' | 'shapes' | 'values'; detail: string } | null {
  if (got.length !== want.length) return { what: 'outputs', detail: `${got.length} outputs against ${want.length}` };
  for (let i = 0; i < want.length; i++) {
    const a = got[i]!, b = want[i]!;
    if (a.shape.join(',') !== b.shape.join(',')) return { what: 'shapes', detail: `output ${i}: [${a.shape}] against [${b.shape}]` };
    const scale = Math.max(maxAbsFinite(b.data), 1e-6);
    for (let k = 0; k < b.data.length; k++) {
      const x = a.data[k]!, y = b.data[k]!;
      if (Number.isNaN(x) && Number.isNaN(y)) continue;
      const bad = Number.isNaN(x) || Number.isNaN(y) || (!Number.isFinite(x) || !Number.isFinite(y) ? x !== y : Math.abs(x - y) > AGREEMENT_TOLERANCE * scale);
      if (bad) return { what: 'values', detail: `output ${i}[${k}]: ${x} against ${y} (largest finite value ${scale.toPrecision(3)})` };
    }
  }
  return null;
}

function hasAbsurdWeights(bytes: Uint8Array): boolean {
  try {
    const g = parseOnnx(bytes);
    for (const t of g.initializers.values()) {
      if (t.dtype !== 'float32') continue;
      for (const v of t.data) if (!Number.isFinite(v) || Math.abs(v) > 1e6) return true;
    }
  } catch {
    return false;
  }
  return false;
}

export async function judgeModel(bytes: Uint8Array): Promise<Judged> {
  const results = {} as Record<FuzzEngine, EngineResult>;
  const batch = declaredBatch(bytes);
  for (const engine of FUZZ_ENGINES) results[engine] = await runEngine(bytes, engine, batch);
  const absurdWeights = hasAbsurdWeights(bytes);
  return { results, verdict: await verdictOf(bytes, results), absurdWeights };
}

async function verdictOf(bytes: Uint8Array, results: Record<FuzzEngine, EngineResult>): Promise<Verdict> {
  for (const engine of FUZZ_ENGINES) {
    const r = results[engine];
    if (r.kind === 'internal') return { kind: 'internal', engine, error: r.error, message: r.message };
  }
  const all = FUZZ_ENGINES.map((e) => results[e]);
  if (all.every((r) => r.kind === 'refused')) {
    const ts = results.ts as { message: string };
    // Refused by our compiler (all three engines go through it): what would ORT say on its own?
    const ortOwn = results['ort-wasm'].kind === 'refused' && (results['ort-wasm'] as { message: string }).message === ts.message
      ? await ortOwnVerdict(bytes)
      : results['ort-wasm'];
    if (ortOwn.kind === 'internal') return { kind: 'internal', engine: 'ort-own', error: ortOwn.error, message: ortOwn.message };
    return { kind: 'refused', message: ts.message, ortOwn };
  }
  const notRun = all.find((r) => r.kind === 'not-run');
  if (notRun && all.every((r) => r.kind === 'not-run')) return { kind: 'not-run', macs: (notRun as { macs: number }).macs };
  if (!all.every((r) => r.kind === 'ok')) {
    const parts = FUZZ_ENGINES.map((e) => {
      const r = results[e];
      return `${e}: ${r.kind === 'refused' ? `refused (${r.message})` : r.kind}`;
    });
    const refused = FUZZ_ENGINES.filter((e) => results[e].kind === 'refused');
    const accepted = FUZZ_ENGINES.filter((e) => results[e].kind !== 'refused');
    const odd = refused.length === 1 ? refused[0] : accepted.length === 1 ? accepted[0] : undefined;
    return { kind: 'disagree', what: 'acceptance', detail: parts.join('; '), odd };
  }
  const out = (e: FuzzEngine): readonly Output[] => (results[e] as { outputs: readonly Output[] }).outputs;
  const tsOrt = compareOutputs(out('ts'), out('ort-wasm'));
  const wasmOrt = compareOutputs(out('wasm'), out('ort-wasm'));
  if (!tsOrt && !wasmOrt) return { kind: 'agreed' };
  const tsWasm = compareOutputs(out('ts'), out('wasm'));
  const odd: FuzzEngine | undefined = !tsOrt ? 'wasm' : !wasmOrt ? 'ts' : !tsWasm ? 'ort-wasm' : undefined;
  const d = (odd === 'ts' ? tsOrt : odd === 'ort-wasm' ? tsOrt : wasmOrt ?? tsOrt)!;
  return { kind: 'disagree', what: d.what, detail: `${odd ?? 'all three'} ${odd ? 'differs' : 'differ'}: ${d.detail}`, odd };
}
