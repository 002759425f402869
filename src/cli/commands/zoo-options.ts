// The shape options `info` and `export` take for zoo models.
import type { ShortcutOption } from '../../zoo/spec';
import { choice, type OptionValues } from '../args';
import type { ZooOptions } from '../models';

export const ZOO_OPTION_FLAGS = { shortcut: { type: 'string' }, 'bottleneck-stride': { type: 'string' } } as const;

export function zooOptions(values: OptionValues): ZooOptions {
  const shortcut: ShortcutOption | undefined = values['shortcut'] === undefined ? undefined : choice(values['shortcut'], 'shortcut', ['A', 'B', 'C'] as const, 'A');
  const bs = values['bottleneck-stride'];
  const bottleneckStride = bs === undefined ? undefined : choice(bs, 'bottleneck-stride', ['1x1', '3x3'] as const, '1x1');
  return { ...(shortcut && { shortcut }), ...(bottleneckStride && { bottleneckStride }) };
}
