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

export const KNOWN_EXCEPTIONS: readonly KnownException[] = [
  {
    id: 'op-subset',
    reason: 'our engines implement the ops and attribute values ResNets use and refuse the rest by name; ONNX Runtime implements all of ONNX',
    explains: (j) => oursRefuse(j, /unsupported op|is not supported|are supported|only .*(?:supported|folded)|supported only|needs a constant|must be a constant|must be an activation|must be (?:2|4)-D|must be a float|must keep the batch|the batch size can only|must have exactly one data input|symbolic dimension|is not computed from the input|constant inputs are not supported/),
  },
  {
    id: 'item-5',
    reason: 'item 5 (not this branch): the wasm engine\'s Winograd convolutions lose precision or overflow with absurd weights (non-finite or over 1e6); ts and ORT agree',
    explains: (j) => j.verdict.kind === 'disagree' && j.verdict.what === 'values' && j.verdict.odd === 'wasm' && j.absurdWeights,
  },
];

export function explain(j: Judged): KnownException | undefined {
  return KNOWN_EXCEPTIONS.find((e) => e.explains(j));
}
