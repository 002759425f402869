// f32-maxpool and f32-avgpool over NHWC, one output pixel at a time, channels 4 at a time, with ONNX's pads,
// strides, dilations and count_include_pad (the output size, incl. ceil_mode, is the lowering's).
import { forLoop, loadField } from './builders';
import { PoolDesc } from './descriptors';
import { I32, type Local, type ModuleBuilder, V128 } from './emit';
import { forEachChunk } from './parallel';

/** f32-maxpool: the max over each window (padding cells do not count). */
export function emitF32MaxPool(m: ModuleBuilder): number {
  return emitPool(m, false);
}

/** f32-avgpool: the mean over each window, divided by the cells inside the input (or, with count_include_pad, inside the padded input). */
export function emitF32AvgPool(m: ModuleBuilder): number {
  return emitPool(m, true);
}

/** Max / average pooling over NHWC, one output pixel at a time, channels 4 at a time. */
function emitPool(m: ModuleBuilder, isAvg: boolean): number {
  const { f, index } = m.func(isAvg ? 'f32-avgpool' : 'f32-maxpool', [I32, I32, I32]);
  const [d, , nth] = f.params as [Local, Local, Local];
  const F = PoolDesc;
  const inp = loadField(f, d, F.input), out = loadField(f, d, F.output);
  const N = loadField(f, d, F.n), H = loadField(f, d, F.h), W = loadField(f, d, F.w);
  const OH = loadField(f, d, F.oh), OW = loadField(f, d, F.ow), cs = loadField(f, d, F.cs);
  const KH = loadField(f, d, F.kh), KW = loadField(f, d, F.kw), SH = loadField(f, d, F.sh), SW = loadField(f, d, F.sw);
  const PT = loadField(f, d, F.padTop), PL = loadField(f, d, F.padLeft), DH = loadField(f, d, F.dh), DW = loadField(f, d, F.dw);
  const cip = loadField(f, d, F.countIncludePad), PB = loadField(f, d, F.padBottom), PR = loadField(f, d, F.padRight);
  const total = f.local(I32), q = f.local(I32), nn = f.local(I32), oy = f.local(I32), ox = f.local(I32);
  const o = f.local(I32), c = f.local(I32), rowBytes = f.local(I32), ky = f.local(I32), kx = f.local(I32);
  const iy = f.local(I32), ix = f.local(I32), ip = f.local(I32), cnt = f.local(I32), ch = f.local(I32), cw = f.local(I32);
  const init = f.local(V128), scale = f.local(V128);
  f.get(N).get(OH).i32Mul().get(OW).i32Mul().set(total);
  f.get(cs).i32Const(4).i32Mul().set(rowBytes);
  if (isAvg) f.v128Const0().set(init);
  else f.f32Const(-Infinity).f32x4Splat().set(init);
  forEachChunk(f, d, total, nth, (start, end) => {
    f.get(start);
    forLoop(f, q, end, 1, () => {
      f.get(q).get(OH).get(OW).i32Mul().i32DivU().set(nn);
      f.get(q).get(OH).get(OW).i32Mul().i32RemU().get(OW).i32DivU().set(oy);
      f.get(q).get(OW).i32RemU().set(ox);
      f.get(out).get(q).get(rowBytes).i32Mul().i32Add().set(o);
      f.i32Const(0);
      forLoop(f, c, rowBytes, 16, () => {
        f.get(o).get(c).i32Add().get(init).v128Store();
      });
      f.i32Const(0).set(cnt);
      f.i32Const(0);
      forLoop(f, ky, KH, 1, () => {
        f.get(oy).get(SH).i32Mul().get(PT).i32Sub().get(ky).get(DH).i32Mul().i32Add().tee(iy);
        f.i32Const(0).i32GeS().get(iy).get(H).i32LtS().i32And().if();
        f.i32Const(0);
        forLoop(f, kx, KW, 1, () => {
          f.get(ox).get(SW).i32Mul().get(PL).i32Sub().get(kx).get(DW).i32Mul().i32Add().tee(ix);
          f.i32Const(0).i32GeS().get(ix).get(W).i32LtS().i32And().if();
          f.get(nn).get(H).i32Mul().get(iy).i32Add().get(W).i32Mul().get(ix).i32Add().get(rowBytes).i32Mul().get(inp).i32Add().set(ip);
          f.i32Const(0);
          forLoop(f, c, rowBytes, 16, () => {
            f.get(o).get(c).i32Add();
            f.get(o).get(c).i32Add().v128Load();
            f.get(ip).get(c).i32Add().v128Load();
            if (isAvg) f.f32x4Add();
            else f.f32x4Pmax();
            f.v128Store();
          });
          f.get(cnt).i32Const(1).i32Add().set(cnt);
          f.end();
        });
        f.end();
      });
      if (isAvg) {
        // Divisor: taps inside the image, or with count_include_pad taps inside the padded image.
        f.get(cip).if();
        {
          f.i32Const(0).set(ch).i32Const(0).set(cw);
          f.i32Const(0);
          forLoop(f, ky, KH, 1, () => {
            f.get(oy).get(SH).i32Mul().get(PT).i32Sub().get(ky).get(DH).i32Mul().i32Add().tee(iy);
            f.i32Const(0).get(PT).i32Sub().i32GeS().get(iy).get(H).get(PB).i32Add().i32LtS().i32And();
            f.get(ch).i32Add().set(ch);
          });
          f.i32Const(0);
          forLoop(f, kx, KW, 1, () => {
            f.get(ox).get(SW).i32Mul().get(PL).i32Sub().get(kx).get(DW).i32Mul().i32Add().tee(ix);
            f.i32Const(0).get(PL).i32Sub().i32GeS().get(ix).get(W).get(PR).i32Add().i32LtS().i32And();
            f.get(cw).i32Add().set(cw);
          });
          f.get(ch).get(cw).i32Mul().set(cnt);
        }
        f.end();
        f.f32Const(1).get(cnt).f32ConvertI32U().f32Div().f32x4Splat().set(scale);
        f.i32Const(0);
        forLoop(f, c, rowBytes, 16, () => {
          f.get(o).get(c).i32Add();
          f.get(o).get(c).i32Add().v128Load().get(scale).f32x4Mul();
          f.v128Store();
        });
      }
    });
  });
  return index;
}
