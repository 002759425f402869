// Model specs: the paper's networks as data (models/zoo.json), and the options a user may change.
import zoo from '../../models/zoo.json';
import { UserError } from '../errors';

export type Family = 'imagenet' | 'cifar';
export type BlockKind = 'basic' | 'bottleneck';
export type ShortcutOption = 'A' | 'B' | 'C';

export interface ModelSpec {
  readonly family: Family;
  readonly block: BlockKind;
  /** Blocks per stage: conv2_x..conv5_x for ImageNet, the three 2n-layer stages for CIFAR. */
  readonly stages: readonly number[];
  /** Base width of each stage (bottleneck blocks output 4x this). */
  readonly widths: readonly number[];
  readonly shortcut: ShortcutOption;
  readonly residual: boolean;
  /** Bottleneck only: where the stride-2 sits, the paper's first 1x1 or torchvision's 3x3. */
  readonly bottleneckStride?: '1x1' | '3x3';
  /**
   * Bottleneck only: each stage's 1x1 and 3x3 width when it is not the stage's base width (torchvision's
   * wide_resnet50_2 and wide_resnet101_2 double it; the block still outputs 4x the base width).
   */
  readonly bottleneckWidths?: readonly number[];
  /** ImageNet family: the stem conv's output channels (64 in the paper and torchvision). */
  readonly stemWidth?: number;
  readonly inputChannels?: number;
  readonly inputSize?: number;
  readonly classes?: number;
}

export const BOTTLENECK_EXPANSION = 4;

const ZOO: Record<string, ModelSpec> = Object.fromEntries(
  Object.entries(zoo).filter(([k]) => !k.startsWith('$')),
) as Record<string, ModelSpec>;

export function zooNames(): string[] {
  return Object.keys(ZOO);
}

export function isZooName(name: string): boolean {
  return Object.hasOwn(ZOO, name);
}

/** A name that is not in the zoo. */
class UnknownModelError extends UserError {
  override name = 'UnknownModelError';
}

export function zooSpec(name: string): ModelSpec {
  const spec = ZOO[name];
  if (!spec) throw new UnknownModelError(`unknown model '${name}' (known: ${zooNames().join(', ')})`);
  return spec;
}

/** Input shape [C,H,W] and class count with the family's defaults filled in. */
export function specIO(spec: ModelSpec): { channels: number; size: number; classes: number } {
  const imagenet = spec.family === 'imagenet';
  return {
    channels: spec.inputChannels ?? 3,
    size: spec.inputSize ?? (imagenet ? 224 : 32),
    classes: spec.classes ?? (imagenet ? 1000 : 10),
  };
}

/** Weighted layers as the paper counts depth: convs on the main path plus the FC layer. */
export function specDepth(spec: ModelSpec): number {
  const perBlock = spec.block === 'basic' ? 2 : 3;
  return 1 + perBlock * spec.stages.reduce((a, b) => a + b, 0) + 1;
}
