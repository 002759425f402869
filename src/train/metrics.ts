// What a classifier's validation says, from its predictions: accuracy, per-class precision and recall, the
// confusion matrix and the worst mistakes. Pure: the trainer, transfer mode and `resnet eval` share it.

export interface ClassScore {
  readonly label: string;
  /** Images of this class. */
  readonly images: number;
  /** Images predicted as this class. */
  readonly predicted: number;
  /** Of the images predicted as this class, the share that are (NaN-free: 0 when none were predicted). */
  readonly precision: number;
  /** Of this class's images, the share predicted as it (0 for a class without images). */
  readonly recall: number;
}

export interface Mistake {
  /** The image (relative to the data folder), or its index in the set. */
  readonly image: string;
  readonly trueClass: string;
  readonly predicted: string;
  /** The probability the model gave the class it predicted. */
  readonly confidence: number;
}

export interface ClassReport {
  readonly images: number;
  readonly correct: number;
  readonly accuracy: number;
  readonly labels: readonly string[];
  readonly perClass: readonly ClassScore[];
  /** confusion[true class][predicted class] */
  readonly confusion: readonly (readonly number[])[];
  /** The wrong predictions made with the highest confidence, most confident first. */
  readonly mistakes: readonly Mistake[];
}

function emptyConfusion(classes: number): number[][] {
  return Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
}

/** Precision and recall of each class from a confusion matrix [true][predicted]. */
export function perClassScores(confusion: readonly (readonly number[])[], labels: readonly string[]): ClassScore[] {
  const K = confusion.length;
  return Array.from({ length: K }, (_, k) => {
    const images = confusion[k]!.reduce((a, b) => a + b, 0);
    let predicted = 0;
    for (let t = 0; t < K; t++) predicted += confusion[t]![k]!;
    const hit = confusion[k]![k]!;
    return { label: labels[k] ?? String(k), images, predicted, precision: predicted > 0 ? hit / predicted : 0, recall: images > 0 ? hit / images : 0 };
  });
}

/** Accumulates predictions (true label, probabilities) into a ClassReport. */
export class ReportBuilder {
  private readonly confusion: number[][];
  private readonly wrong: Mistake[] = [];
  private count = 0;
  private hits = 0;

  constructor(private readonly labels: readonly string[], private readonly keepMistakes = 10) {
    this.confusion = emptyConfusion(labels.length);
  }

  /** One image: its true class, the model's class probabilities (or logits: only the argmax and softmax matter). */
  add(label: number, scores: ArrayLike<number>, image: string): number {
    const K = this.labels.length;
    let arg = 0;
    for (let k = 1; k < K; k++) if (scores[k]! > scores[arg]!) arg = k;
    let z = 0;
    for (let k = 0; k < K; k++) z += Math.exp(scores[k]! - scores[arg]!);
    this.confusion[label]![arg]!++;
    this.count++;
    if (arg === label) this.hits++;
    else this.wrong.push({ image, trueClass: this.labels[label]!, predicted: this.labels[arg]!, confidence: 1 / z });
    return arg;
  }

  report(): ClassReport {
    const mistakes = [...this.wrong].sort((a, b) => b.confidence - a.confidence).slice(0, this.keepMistakes);
    return {
      images: this.count, correct: this.hits, accuracy: this.count > 0 ? this.hits / this.count : 0, labels: this.labels,
      perClass: perClassScores(this.confusion, this.labels), confusion: this.confusion, mistakes,
    };
  }
}

const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

/** The report as text: per-class table, confusion matrix, worst mistakes. */
export function reportLines(r: ClassReport): string[] {
  const nameW = Math.max(5, ...r.labels.map((l) => l.length));
  const lines = [`${'class'.padEnd(nameW)}  images  precision  recall`];
  for (const c of r.perClass) lines.push(`${c.label.padEnd(nameW)}  ${String(c.images).padStart(6)}  ${pct(c.precision).padStart(9)}  ${pct(c.recall).padStart(6)}`);
  const w = Math.max(4, ...r.confusion.flat().map((v) => String(v).length + 1));
  lines.push('confusion matrix (rows: true class, columns: predicted):');
  lines.push(`${''.padEnd(nameW)}  ${r.labels.map((_, i) => String(i).padStart(w)).join('')}`);
  r.confusion.forEach((row, i) => lines.push(`${r.labels[i]!.padEnd(nameW)}  ${row.map((v) => String(v).padStart(w)).join('')}   ${i}`));
  if (r.mistakes.length > 0) {
    lines.push('most confident mistakes:');
    for (const m of r.mistakes) lines.push(`  ${m.image}: ${m.trueClass}, predicted ${m.predicted} (${pct(m.confidence)})`);
  }
  return lines;
}
