// Differences between our engines and ONNX Runtime that the fuzzer finds and that are not bugs, each
// with its reason. Anything a case shows that no entry here explains is a finding.
import type { Judged } from './judge';

export interface KnownException {
  readonly id: string;
  readonly reason: string;
  readonly explains: (j: Judged) => boolean;
}

const refusedBoth = (j: Judged): string | undefined => (j.verdict.kind === 'refused' && j.verdict.ortOwn.kind !== 'refused' ? j.verdict.message : undefined);

/** Our message when our compiler refused a model ORT runs. */
function oursRefuse(j: Judged, re: RegExp): boolean {
  const m = refusedBoth(j);
  return m !== undefined && re.test(m);
}

const KNOWN_EXCEPTIONS: readonly KnownException[] = [
  {
    id: 'op-subset',
    reason: 'our engines implement the ops and attribute values ResNets use and refuse the rest by name; ONNX Runtime implements all of ONNX',
    explains: (j) => oursRefuse(j, /unsupported op|is not supported|are supported|only .*(?:supported|folded)|supported only|needs a constant|must be a constant|must be an activation|must be (?:2|4)-D|must be a float|must keep the batch|the batch size can only|must have exactly one data input|inputs must have the same shape|symbolic dimension|is not computed from the input|constant inputs are not supported/),
  },
  {
    id: 'spec-unique-names',
    reason: 'ONNX requires every value to be defined once; ONNX Runtime takes the last of two initializers with one name (with a warning)',
    explains: (j) => oursRefuse(j, /is declared twice/),
  },
  {
    id: 'spec-raw-and-typed',
    reason: 'ONNX stores a tensor in raw_data or in the typed field, not both; ONNX Runtime reads raw_data and ignores the other',
    explains: (j) => oursRefuse(j, /has both raw_data/),
  },
  {
    id: 'spec-ir-version',
    reason: 'ONNX requires ir_version (1 or more); ONNX Runtime loads a file without one',
    explains: (j) => oursRefuse(j, /ir_version (?:is missing|-?\d+ is not valid)/),
  },
  {
    id: 'spec-negative-dim',
    reason: 'a negative dim_value in a graph input is not a size; ONNX Runtime reads it as an unknown dimension',
    explains: (j) => oursRefuse(j, /dimension \d+ is negative/),
  },
  {
    id: 'spec-flags',
    reason: 'ONNX defines ceil_mode, count_include_pad, storage_order, transA/transB as 0 or 1; ONNX Runtime reads any other value as 1',
    explains: (j) => oursRefuse(j, /must be 0 or 1, got/),
  },
  {
    id: 'bn-epsilon',
    reason: 'a batch-norm epsilon that is not positive and finite divides by zero or takes the root of a negative variance; the spec does not bound it and ONNX Runtime runs it (NaN or Inf out); we refuse it',
    explains: (j) => oursRefuse(j, /epsilon must be a positive finite number/),
  },
  {
    id: 'conv-pads',
    reason: 'a Conv pad as large as the kernel extent adds outputs that see only padding (and lets a file ask for unbounded work); the spec allows it, ONNX Runtime runs it, we refuse it',
    explains: (j) => oursRefuse(j, /must be smaller than the kernel extent/),
  },
  {
    id: 'our-metadata',
    reason: "our metadata (the 'resnet-lab' entry: input size, normalisation, labels) is malformed or contradicts the graph; ONNX Runtime does not read it",
    explains: (j) => oursRefuse(j, /^model metadata|does not match the model's/),
  },
  {
    id: 'size-limits',
    reason: "our reader's limits (2^31-1 elements per tensor or dimension, 2^28 per activation) refuse what ONNX Runtime loads but could not run here",
    explains: (j) => oursRefuse(j, /over the limit/),
  },
  {
    id: 'float-overflow',
    reason: 'with absurd weights (non-finite or over 1e6) float32 overflows, and the order of evaluation (batch norm folded into the conv, Winograd, fused ops) decides which intermediate becomes Inf or NaN: every engine outputs Inf or NaN, not the same ones',
    explains: (j) => j.verdict.kind === 'disagree' && j.verdict.what === 'values' && j.absurdWeights && nonFinite(j),
  },
];

/** Some engine's output has Inf or NaN. */
function nonFinite(j: Judged): boolean {
  return Object.values(j.results).some((r) => r.kind === 'ok' && r.outputs.some((o) => o.data.some((v) => !Number.isFinite(v))));
}

export function explain(j: Judged): KnownException | undefined {
  return KNOWN_EXCEPTIONS.find((e) => e.explains(j));
}
