// Parameters and multiply-adds of a zoo spec by arithmetic, without building weights: what `resnet models`
// lists. Counted as the compiler's layer stats count them (zoo.test.ts checks that they agree): learned
// parameters (conv and FC weights and biases, BN's scale and shift; not BN's running statistics) and the
// multiply-adds of convs and the FC layer.
import { BOTTLENECK_EXPANSION, type ModelSpec, specIO } from './spec';

export function specCounts(spec: ModelSpec): { params: number; macs: number } {
  const { channels, size, classes } = specIO(spec);
  let params = 0;
  let macs = 0;
  let hw = size;
  /** A k x k conv (padding k/2, no bias) followed by batch norm; returns the output size. */
  const convBn = (inC: number, outC: number, k: number, stride: number, at: number): number => {
    const out = Math.floor((at + 2 * Math.floor(k / 2) - k) / stride) + 1;
    params += outC * inC * k * k + 2 * outC;
    macs += outC * out * out * inC * k * k;
    return out;
  };
  const stem = spec.family === 'imagenet' ? 64 : spec.widths[0]!;
  if (spec.family === 'imagenet') {
    hw = convBn(channels, stem, 7, 2, hw);
    hw = Math.floor((hw + 2 - 3) / 2) + 1; // 3x3 max pool, stride 2, padding 1
  } else {
    hw = convBn(channels, stem, 3, 1, hw);
  }
  let inC = stem;
  spec.stages.forEach((blocks, s) => {
    const width = spec.widths[s]!;
    for (let i = 0; i < blocks; i++) {
      const stride = s > 0 && i === 0 ? 2 : 1;
      const at = hw;
      let outC: number;
      if (spec.block === 'basic') {
        outC = width;
        hw = convBn(width, width, 3, 1, convBn(inC, width, 3, stride, at));
      } else {
        outC = width * BOTTLENECK_EXPANSION;
        const [s1, s3] = spec.bottleneckStride === '3x3' ? [1, stride] : [stride, 1];
        hw = convBn(width, outC, 1, 1, convBn(width, width, 3, s3, convBn(inC, width, 1, s1, at)));
      }
      const shapeChanges = stride !== 1 || inC !== outC;
      if (spec.residual && (spec.shortcut === 'C' || (spec.shortcut === 'B' && shapeChanges))) convBn(inC, outC, 1, stride, at);
      inC = outC;
    }
  });
  params += inC * classes + classes;
  macs += inC * classes;
  return { params, macs };
}
