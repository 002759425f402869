// Builds the graph of a spec, in the shape of torchvision's resnet.py (conv3x3, BasicBlock/Bottleneck,
// _make_layer) and with its parameter names, so our exports and a user's torchvision exports line up.
// Weights are seeded random (the zoo) or come from a WeightSource by those names (imported checkpoints),
// so one builder makes both and an imported net is wired exactly as a zoo net of the same spec.
import { type Attr, type Graph, type GraphNode, type IrTensor, f32, float, i64, int, ints, str } from '../graph/ir';
import { BOTTLENECK_EXPANSION, type ModelSpec, specIO } from './spec';
import { type ModelMeta, META_KEY, defaultMeta } from '../model-meta';
import { type Rng, seededRandom } from '../random';

// Kept importable from here for existing callers; the home of seeded randomness is src/random.ts.
export { seededRandom } from '../random';

const INT64_MAX = 9223372036854775807n;

/**
 * The weights of a named parameter ('layer1.0.conv1.weight', 'bn1.running_var', 'fc.bias', ...) of the
 * given shape, row-major. It throws when it has no such parameter or another shape.
 */
export type WeightSource = (name: string, dims: readonly number[]) => Float32Array;

class GraphBuilder {
  readonly nodes: GraphNode[] = [];
  readonly initializers = new Map<string, IrTensor>();
  private readonly rng: Rng;

  constructor(seed: number, private readonly init: 'he' | 'zeros', private readonly weights?: WeightSource) {
    this.rng = seededRandom(seed);
  }

  /** A parameter from the weight source when there is one, else drawn (or zeros) by the builder. */
  private param(name: string, dims: number[], draw: () => Float32Array): string {
    return this.constant(name, f32(dims, this.weights ? this.weights(name, dims) : draw()));
  }

  node(op: string, name: string, inputs: string[], attrs: Record<string, Attr> = {}): string {
    const output = `${name}.out`;
    this.nodes.push({ op, name, inputs, outputs: [output], attrs });
    return output;
  }

  constant(name: string, t: IrTensor): string {
    this.initializers.set(name, t);
    return name;
  }

  /** He et al. initialisation: normal with std sqrt(2 / fan_in). */
  private heWeight(name: string, dims: number[], fanIn: number): string {
    return this.param(name, dims, () => {
      const n = dims.reduce((a, b) => a * b, 1);
      const data = new Float32Array(n);
      const std = Math.sqrt(2 / fanIn);
      if (this.init === 'he') this.rng.fillNormal(data, std);
      return data;
    });
  }

  conv(x: string, name: string, inC: number, outC: number, k: number, stride: number): string {
    const w = this.heWeight(`${name}.weight`, [outC, inC, k, k], inC * k * k);
    const p = Math.floor(k / 2);
    return this.node('Conv', name, [x, w], {
      kernel_shape: ints([k, k]), strides: ints([stride, stride]), pads: ints([p, p, p, p]),
      dilations: ints([1, 1]), group: int(1),
    });
  }

  /** Untrained BN statistics near the identity, jittered so that folding BN into conv is really exercised. */
  bn(x: string, name: string, channels: number): string {
    const jitter = (centre: number, spread: number) => (): Float32Array =>
      Float32Array.from({ length: channels }, () => centre + spread * (2 * this.rng.uniform() - 1));
    const inputs = [
      this.param(`${name}.weight`, [channels], jitter(1, 0.2)),
      this.param(`${name}.bias`, [channels], jitter(0, 0.1)),
      this.param(`${name}.running_mean`, [channels], jitter(0, 0.1)),
      this.param(`${name}.running_var`, [channels], jitter(1, 0.2)),
    ];
    return this.node('BatchNormalization', name, [x, ...inputs], { epsilon: float(1e-5), momentum: float(0.9) });
  }

  relu(x: string, name: string): string {
    return this.node('Relu', name, [x]);
  }

  add(a: string, b: string, name: string): string {
    return this.node('Add', name, [a, b]);
  }

  /** Option A: x[:, :, ::s, ::s], then zero channels appended up to outC; standard Slice + Pad, no parameters. */
  shortcutA(x: string, name: string, inC: number, outC: number, stride: number): string {
    let y = x;
    if (stride !== 1) {
      y = this.node('Slice', `${name}.subsample`, [
        y,
        this.constant(`${name}.starts`, i64([0, 0])),
        this.constant(`${name}.ends`, i64([INT64_MAX, INT64_MAX])),
        this.constant(`${name}.axes`, i64([2, 3])),
        this.constant(`${name}.steps`, i64([stride, stride])),
      ]);
    }
    if (outC !== inC) {
      const pads = this.constant(`${name}.pads`, i64([0, 0, 0, 0, 0, outC - inC, 0, 0]));
      y = this.node('Pad', `${name}.pad`, [y, pads], { mode: str('constant') });
    }
    return y;
  }

  /**
   * The classifier's weights: normal with the variance of PyTorch's default Linear init, 1 / (3 fan_in)
   * (0.072 for the CIFAR nets' 64 features, 0.0128 for ResNet-50's 2048). A fixed std of 0.01 (7x smaller at
   * 64 features) sent so little gradient back into a fresh net that plain20 sat at chance for 8 of 15
   * epochs on a 3000-image folder and ended at 30%, against 78% (docs/race-vs-pytorch.md).
   */
  fc(x: string, name: string, inF: number, outF: number): string {
    const wName = this.param(`${name}.weight`, [outF, inF], () => {
      const w = new Float32Array(outF * inF);
      if (this.init === 'he') this.rng.fillNormal(w, 1 / Math.sqrt(3 * inF));
      return w;
    });
    const bName = this.param(`${name}.bias`, [outF], () => new Float32Array(outF));
    return this.node('Gemm', name, [x, wName, bName], { transB: int(1), alpha: float(1), beta: float(1) });
  }

}

interface BlockArgs {
  readonly b: GraphBuilder;
  readonly spec: ModelSpec;
  readonly x: string;
  readonly name: string;
  readonly inC: number;
  readonly width: number;
  /** Bottleneck only: the width of its 1x1 and 3x3 convs (the base width, or more for wide nets). */
  readonly inner: number;
  readonly stride: number;
}

/** The shortcut of one block, or null for a plain net (the block is then just its residual branch). */
function shortcut({ b, spec, x, name, inC, stride }: BlockArgs, outC: number): string | null {
  if (!spec.residual) return null;
  const shapeChanges = stride !== 1 || inC !== outC;
  if (spec.shortcut === 'C' || (spec.shortcut === 'B' && shapeChanges)) {
    return b.bn(b.conv(x, `${name}.downsample.0`, inC, outC, 1, stride), `${name}.downsample.1`, outC);
  }
  return shapeChanges ? b.shortcutA(x, `${name}.shortcut`, inC, outC, stride) : x;
}

function closeBlock(b: GraphBuilder, name: string, branch: string, identity: string | null): string {
  const sum = identity === null ? branch : b.add(branch, identity, `${name}.add`);
  return b.relu(sum, `${name}.relu_out`);
}

function basicBlock(a: BlockArgs): { out: string; outC: number } {
  const { b, x, name, inC, width, stride } = a;
  let y = b.relu(b.bn(b.conv(x, `${name}.conv1`, inC, width, 3, stride), `${name}.bn1`, width), `${name}.relu1`);
  y = b.bn(b.conv(y, `${name}.conv2`, width, width, 3, 1), `${name}.bn2`, width);
  return { out: closeBlock(b, name, y, shortcut(a, width)), outC: width };
}

function bottleneckBlock(a: BlockArgs): { out: string; outC: number } {
  const { b, spec, x, name, inC, width, inner, stride } = a;
  const outC = width * BOTTLENECK_EXPANSION;
  const [s1, s3] = spec.bottleneckStride === '3x3' ? [1, stride] : [stride, 1];
  let y = b.relu(b.bn(b.conv(x, `${name}.conv1`, inC, inner, 1, s1), `${name}.bn1`, inner), `${name}.relu1`);
  y = b.relu(b.bn(b.conv(y, `${name}.conv2`, inner, inner, 3, s3), `${name}.bn2`, inner), `${name}.relu2`);
  y = b.bn(b.conv(y, `${name}.conv3`, inner, outC, 1, 1), `${name}.bn3`, outC);
  return { out: closeBlock(b, name, y, shortcut(a, outC)), outC };
}

export interface BuildOptions {
  readonly name: string;
  readonly seed?: number;
  /** 'zeros' skips drawing weights: for when only shapes and counts matter. */
  readonly init?: 'he' | 'zeros';
  /** Overrides merged into the model metadata (labels, normalisation, training record...). */
  readonly meta?: Partial<ModelMeta>;
  /** Every parameter from here instead of drawn (seed and init are then unused). */
  readonly weights?: WeightSource;
}

/**
 * The graph of a spec with seeded He-initialised weights, its metadata saying it is untrained; or, given
 * opts.weights, with those weights (the caller's meta then says what they are).
 */
export function buildModel(spec: ModelSpec, opts: BuildOptions): Graph {
  const { channels, size, classes } = specIO(spec);
  const b = new GraphBuilder(opts.seed ?? 1, opts.init ?? 'he', opts.weights);
  const stem = spec.family === 'imagenet' ? spec.stemWidth ?? 64 : spec.widths[0]!;
  let x = 'input';
  if (spec.family === 'imagenet') {
    x = b.relu(b.bn(b.conv(x, 'conv1', channels, stem, 7, 2), 'bn1', stem), 'relu');
    x = b.node('MaxPool', 'maxpool', [x], { kernel_shape: ints([3, 3]), strides: ints([2, 2]), pads: ints([1, 1, 1, 1]) });
  } else {
    x = b.relu(b.bn(b.conv(x, 'conv1', channels, stem, 3, 1), 'bn1', stem), 'relu');
  }
  let inC = stem;
  const block = spec.block === 'basic' ? basicBlock : bottleneckBlock;
  spec.stages.forEach((blocks, s) => {
    for (let i = 0; i < blocks; i++) {
      const stride = s > 0 && i === 0 ? 2 : 1;
      const width = spec.widths[s]!;
      const inner = spec.bottleneckWidths?.[s] ?? width;
      const r = block({ b, spec, x, name: `layer${s + 1}.${i}`, inC, width, inner, stride });
      x = r.out;
      inC = r.outC;
    }
  });
  x = b.node('GlobalAveragePool', 'avgpool', [x]);
  x = b.node('Flatten', 'flatten', [x], { axis: int(1) });
  x = b.fc(x, 'fc', inC, classes);
  // Name the output 'logits' by renaming the last node's output.
  const last = b.nodes.pop()!;
  b.nodes.push({ ...last, outputs: ['logits'] });
  const meta = { ...defaultMeta(opts.name, spec), ...opts.meta };
  return {
    name: opts.name,
    inputs: [{ name: 'input', dtype: 'float32', shape: ['N', channels, size, size] }],
    outputs: [{ name: 'logits', dtype: 'float32', shape: ['N', classes] }],
    nodes: b.nodes,
    initializers: b.initializers,
    metadata: { [META_KEY]: JSON.stringify(meta) },
    opset: 13,
  };
}
