// Problems in words a user can act on: the message our readers give (precise, for developers: "invalid wire
// type 7 at offset 4", "8339 + 2048000 > 1000000", "'fc.bias' has shape [9] where ... needs [10]") becomes a
// plain sentence, and the precise message is kept as the detail shown behind a disclosure. Pure.

export type ProblemSource = 'onnx' | 'checkpoint' | 'model' | 'image';

export interface Explained {
  /** One plain sentence. */
  readonly summary: string;
  /** The reader's own message, when the summary does not already say all of it. */
  readonly detail?: string;
}

type Rule = readonly [RegExp, (m: RegExpExecArray) => string];

const MODEL_RULES: readonly Rule[] = [
  [/the file looks like (.+)$/, (m) => `It is not an ONNX model: it looks like ${m[1]}.`],
  [/unsupported op '([^']+)'/, (m) => `It uses an operation this app cannot run yet (${m[1]}).`],
  // The reader says 'truncated or corrupt' for any bytes it cannot parse; only a length running past the
  // end is surely a file cut short.
  [/cut short|past the end|ends early/i, () => 'The file is damaged or cut short.'],
  [/not a valid ONNX model|protobuf|not an ONNX model|truncated/i, () => 'It is not an ONNX model, or the file is damaged.'],
  [/failed its first run/, () => 'It loaded, but running it on this engine failed.'],
  [/cannot fetch the shipped model/, () => 'The app could not fetch this model from its own files.'],
  [/images need a 1- or 3-channel model/, () => 'It does not take pictures as input (it needs 1 or 3 colour channels).'],
];

const CHECKPOINT_RULES: readonly Rule[] = [
  [/not a PyTorch checkpoint/, () => 'It is not a PyTorch checkpoint.'],
  [/refers to '([^']+)', which a weights-only load does not allow/, (m) => `It holds instructions to run code (${m[1]}), not only weights, and was refused for safety.`],
  [/truncated|corrupt|cut short|remain in the file|past the|record has|shorter than|end-of-central-directory/i, () => 'The file is damaged or cut short.'],
  [/has dtype|dtype '/, () => 'Its weights are stored in a number format this app cannot read.'],
  [/missing '|has shape|unexpected '|no state dict|not a ResNet|classifier|stem|blocks/i, () => 'Its weights do not form a torchvision-style ResNet, the only kind this app can rebuild.'],
];

/** A message from loading a model or importing a checkpoint (without the file name in front), explained. */
export function explainProblem(raw: string, source: ProblemSource): Explained {
  if (source === 'image') return { summary: raw };
  const rules = source === 'checkpoint' ? CHECKPOINT_RULES : MODEL_RULES;
  for (const [re, say] of rules) {
    const m = re.exec(raw);
    if (m) {
      const summary = say(m);
      return summary.includes(raw) ? { summary } : { summary, detail: raw };
    }
  }
  return { summary: source === 'checkpoint' ? 'This app cannot import it.' : 'This app cannot use it.', detail: raw };
}
