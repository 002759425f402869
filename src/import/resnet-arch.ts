// Which ResNet a state dict is, read from its keys and shapes in torchvision's layout (resnet.py):
//   conv1.weight [stem, C, 7, 7], bn1.*, layer{1..4}.{i}.conv{1,2[,3]}.weight, bn{1,2[,3]}.*,
//   layer{s}.{i}.downsample.{0,1}.* (1x1 conv + BN where the block's shape changes), fc.weight/bias.
// Only what the weights can tell is read here (block kind, blocks per stage, widths, classes); the
// rest is torchvision's fixed wiring, which the zoo builder already has: stride 2 at the first block of
// stages 2-4, on the 3x3 of a bottleneck (ResNet v1.5), projections exactly where shapes change. The
// builder then asks for every parameter by name and shape, so a missing key or a wrong shape is caught
// there, named, against the arch read here or the one the user gave.
import { BOTTLENECK_EXPANSION, type ModelSpec } from '../zoo/spec';
import { ImportError } from './error';
import { shapeStr } from './tensor';

export interface ResnetArch {
  readonly block: 'basic' | 'bottleneck';
  /** Blocks in layer1..layer4. */
  readonly stages: readonly number[];
  /** conv1's output channels. */
  readonly stem: number;
  /** torchvision's `planes` of each stage: a basic block's width, a bottleneck's output / 4. */
  readonly widths: readonly number[];
  /** A bottleneck's 1x1/3x3 width per stage: planes x width_per_group / 64 (= widths unless wide). */
  readonly innerWidths: readonly number[];
  readonly inputChannels: number;
  readonly classes: number;
}

interface TorchvisionResnet {
  readonly block: 'basic' | 'bottleneck';
  readonly stages: readonly number[];
  /** width_per_group / 64. */
  readonly widthFactor: number;
}

/** torchvision.models' ResNets (ResNeXt's grouped convs are not among what we run). */
const TORCHVISION_RESNETS: Readonly<Record<string, TorchvisionResnet>> = {
  resnet18: { block: 'basic', stages: [2, 2, 2, 2], widthFactor: 1 },
  resnet34: { block: 'basic', stages: [3, 4, 6, 3], widthFactor: 1 },
  resnet50: { block: 'bottleneck', stages: [3, 4, 6, 3], widthFactor: 1 },
  resnet101: { block: 'bottleneck', stages: [3, 4, 23, 3], widthFactor: 1 },
  resnet152: { block: 'bottleneck', stages: [3, 8, 36, 3], widthFactor: 1 },
  wide_resnet50_2: { block: 'bottleneck', stages: [3, 4, 6, 3], widthFactor: 2 },
  wide_resnet101_2: { block: 'bottleneck', stages: [3, 4, 23, 3], widthFactor: 2 },
};

const TORCHVISION_WIDTHS = [64, 128, 256, 512];
const TORCHVISION_STEM = 64;

export type Shapes = ReadonlyMap<string, readonly number[]>;

function shapeOf(shapes: Shapes, key: string, rank: number, what: string): readonly number[] {
  const s = shapes.get(key);
  if (!s) {
    const sample = [...shapes.keys()].slice(0, 4).join(', ');
    throw new ImportError(`not a torchvision ResNet state dict: it has no '${key}' (${what}); its keys begin ${sample}`);
  }
  if (s.length !== rank) throw new ImportError(`'${key}' has shape ${shapeStr(s)}, where a torchvision ResNet has a ${rank}-D ${what}`);
  return s;
}

/** The architecture the weights describe. Throws ImportError naming the key that does not fit. */
export function inferResnetArch(shapes: Shapes): ResnetArch {
  const conv1 = shapeOf(shapes, 'conv1.weight', 4, 'stem conv weight');
  if (conv1[2] !== 7 || conv1[3] !== 7) {
    throw new ImportError(`'conv1.weight' is ${shapeStr(conv1)}: torchvision's ResNet stem is a 7x7 conv (other stems are not supported)`);
  }
  const block = shapes.has('layer1.0.conv3.weight') ? 'bottleneck' : 'basic';
  const stages: number[] = [];
  const widths: number[] = [];
  const innerWidths: number[] = [];
  for (let s = 1; s <= 4; s++) {
    let n = 0;
    while (shapes.has(`layer${s}.${n}.conv1.weight`)) n++;
    if (n === 0) shapeOf(shapes, `layer${s}.0.conv1.weight`, 4, `first conv of stage ${s}`);
    stages.push(n);
    const first = shapeOf(shapes, `layer${s}.0.conv1.weight`, 4, 'block conv weight');
    if (block === 'basic') {
      widths.push(first[0]!);
      innerWidths.push(first[0]!);
    } else {
      const out = shapeOf(shapes, `layer${s}.0.conv3.weight`, 4, 'bottleneck expansion conv weight')[0]!;
      if (out % BOTTLENECK_EXPANSION !== 0) {
        throw new ImportError(`'layer${s}.0.conv3.weight' has ${out} output channels, not a multiple of the bottleneck expansion ${BOTTLENECK_EXPANSION}`);
      }
      widths.push(out / BOTTLENECK_EXPANSION);
      innerWidths.push(first[0]!);
      const conv2 = shapeOf(shapes, `layer${s}.0.conv2.weight`, 4, 'bottleneck 3x3 conv weight');
      if (conv2[1] !== conv2[0] && conv2[1]! > 0 && conv2[0]! % conv2[1]! === 0) {
        throw new ImportError(`'layer${s}.0.conv2.weight' is ${shapeStr(conv2)}: grouped 3x3 convs (ResNeXt, groups=${conv2[0]! / conv2[1]!}) are not supported`);
      }
    }
  }
  const fc = shapeOf(shapes, 'fc.weight', 2, 'classifier weight');
  return { block, stages, stem: conv1[0]!, widths, innerWidths, inputChannels: conv1[1]!, classes: fc[0]! };
}

/** The torchvision name of an architecture, if it is one (any class count, any input channels). */
export function torchvisionName(arch: ResnetArch): string | undefined {
  for (const [name, tv] of Object.entries(TORCHVISION_RESNETS)) {
    if (tv.block !== arch.block || arch.stem !== TORCHVISION_STEM) continue;
    if (!sameList(tv.stages, arch.stages) || !sameList(TORCHVISION_WIDTHS, arch.widths)) continue;
    if (!sameList(TORCHVISION_WIDTHS.map((w) => (tv.block === 'basic' ? w : w * tv.widthFactor)), arch.innerWidths)) continue;
    return name;
  }
  return undefined;
}

/** A torchvision ResNet by name, with the checkpoint's class and input channel counts. */
export function namedArch(name: string, classes: number, inputChannels: number): ResnetArch {
  const tv = TORCHVISION_RESNETS[name];
  if (!tv || !Object.hasOwn(TORCHVISION_RESNETS, name)) {
    throw new ImportError(`unknown --arch '${name}' (known: ${Object.keys(TORCHVISION_RESNETS).join(', ')})`);
  }
  return {
    block: tv.block, stages: tv.stages, stem: TORCHVISION_STEM, widths: TORCHVISION_WIDTHS,
    innerWidths: TORCHVISION_WIDTHS.map((w) => (tv.block === 'basic' ? w : w * tv.widthFactor)), inputChannels, classes,
  };
}

/** torchvision's name, or a description of an architecture it does not name. */
export function describeArch(arch: ResnetArch): string {
  const name = torchvisionName(arch);
  if (name) return name;
  const inner = sameList(arch.widths, arch.innerWidths) ? '' : `, inner widths ${arch.innerWidths.join('/')}`;
  return `ResNet with ${arch.block} blocks ${arch.stages.join('-')}, stem ${arch.stem}, widths ${arch.widths.join('/')}${inner}`;
}

/** The zoo spec that builds this architecture as torchvision wires it. */
export function archSpec(arch: ResnetArch, inputSize: number): ModelSpec {
  return {
    family: 'imagenet',
    block: arch.block,
    stages: arch.stages,
    widths: arch.widths,
    // Torchvision projects (1x1 conv + BN) exactly where a block changes shape: the paper's option B.
    shortcut: 'B',
    residual: true,
    ...(arch.block === 'bottleneck' && { bottleneckStride: '3x3' as const }),
    ...(!sameList(arch.widths, arch.innerWidths) && { bottleneckWidths: arch.innerWidths }),
    ...(arch.stem !== TORCHVISION_STEM && { stemWidth: arch.stem }),
    inputChannels: arch.inputChannels,
    inputSize,
    classes: arch.classes,
  };
}

function sameList(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
