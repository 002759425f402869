// The ResNet paper's option-A shortcut (identity with zero-padding for increased dimensions): take every
// stride-th pixel, x[:, :, ::s, ::s], and append zero channels up to outChannels. It has no parameters.
import { shapeStr, type Tensor } from '../core/tensor';

export function shortcutA(x: Tensor, stride: number, outChannels: number): Tensor {
  if (x.shape.length !== 4) throw new Error(`shortcutA: x ${shapeStr(x.shape)} must be 4-D (NCHW)`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  if (!Number.isInteger(stride) || stride < 1) throw new Error(`shortcutA: stride ${stride} must be an integer >= 1 (x ${shapeStr(x.shape)})`);
  if (!Number.isInteger(outChannels) || outChannels < C) {
    throw new Error(`shortcutA: outChannels ${outChannels} must be an integer >= the ${C} channels of x ${shapeStr(x.shape)}`);
  }
  const OH = Math.ceil(H / stride);
  const OW = Math.ceil(W / stride);
  const out = new Float32Array(N * outChannels * OH * OW); // channels C.. stay 0
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      const src = (n * C + c) * H * W;
      const dst = (n * outChannels + c) * OH * OW;
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) out[dst + oy * OW + ox] = x.data[src + oy * stride * W + ox * stride]!;
      }
    }
  }
  return { shape: [N, outChannels, OH, OW], data: out };
}
