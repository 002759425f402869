// Max and average pooling over H and W (NCHW), with ONNX's pads, strides, dilations and ceil_mode, and the
// global average pool that ends a ResNet.
import type { PoolAttrs } from '../core/attrs';
import { poolOutputHW } from '../core/shape';
import { shapeStr, type Tensor } from '../core/tensor';

export function maxPool2d(x: Tensor, attrs: PoolAttrs): Tensor {
  return pool2d(x, attrs, 'max');
}

export function avgPool2d(x: Tensor, attrs: PoolAttrs): Tensor {
  return pool2d(x, attrs, 'avg');
}

function pool2d(x: Tensor, attrs: PoolAttrs, kind: 'max' | 'avg'): Tensor {
  if (x.shape.length !== 4) throw new Error(`${kind}Pool2d: x ${shapeStr(x.shape)} must be 4-D (NCHW)`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const [OH, OW] = poolOutputHW([H, W], attrs);
  const [KH, KW] = attrs.kernel;
  const [sy, sx] = attrs.strides;
  const [dy, dx] = attrs.dilations;
  const [pt, pl, pb, pr] = attrs.pads;
  // Cells of the padded input, [-pt, H+pb) x [-pl, W+pr): with count_include_pad they count in the divisor
  // (cells past that, reached only in ceil mode, never do).
  const paddedEndY = H + pb;
  const paddedEndX = W + pr;
  const src = x.data;
  const out = new Float32Array(N * C * OH * OW);
  let o = 0;
  for (let plane = 0; plane < N * C; plane++) {
    const planeBase = plane * H * W;
    for (let oy = 0; oy < OH; oy++) {
      const y0 = oy * sy - pt;
      for (let ox = 0; ox < OW; ox++, o++) {
        const x0 = ox * sx - pl;
        let max = -Infinity;
        let sum = 0;
        let inputCells = 0;
        let paddedCells = 0;
        for (let ky = 0; ky < KH; ky++) {
          const y = y0 + ky * dy;
          if (y >= paddedEndY) break;
          for (let kx = 0; kx < KW; kx++) {
            const xi = x0 + kx * dx;
            if (xi >= paddedEndX) break;
            paddedCells++;
            if (y < 0 || xi < 0 || y >= H || xi >= W) continue;
            const v = src[planeBase + y * W + xi]!;
            if (v > max || Number.isNaN(v)) max = v; // a NaN in the window wins, as in Math.max
            sum += v;
            inputCells++;
          }
        }
        if (kind === 'max') out[o] = max;
        else out[o] = sum / (attrs.countIncludePad ? paddedCells : inputCells);
      }
    }
  }
  return { shape: [N, C, OH, OW], data: out };
}

/** [N,C,H,W] -> [N,C,1,1]: the mean of each channel plane. */
export function globalAvgPool(x: Tensor): Tensor {
  if (x.shape.length !== 4) throw new Error(`globalAvgPool: x ${shapeStr(x.shape)} must be 4-D (NCHW)`);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const area = H * W;
  const out = new Float32Array(N * C);
  for (let plane = 0; plane < N * C; plane++) {
    let sum = 0;
    const base = plane * area;
    for (let i = 0; i < area; i++) sum += x.data[base + i]!;
    out[plane] = sum / area;
  }
  return { shape: [N, C, 1, 1], data: out };
}
