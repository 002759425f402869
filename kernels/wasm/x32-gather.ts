// x32-gather: data movement as gathers over NHWC. The general gather serves Pad and Slice (per axis
// in = out * step + offset, a fill value outside the input); the subsampling gather is the paper's option-A
// shortcut (x[:, :, ::s, ::s] with zero channels appended), vectorised since every channel is copied.
import { forLoop, loadField } from './builders';
import { GatherDesc, GatherSubsampleDesc } from './descriptors';
import { F32, I32, type Local, type ModuleBuilder, V128 } from './emit';
import { forEachChunk } from './parallel';

/** The paper's option-A shortcut: subsample by `stride`, copy the input channels, zero the rest. */
export function emitX32GatherSubsample(m: ModuleBuilder): number {
  const { f, index } = m.func('x32-gather-subsample', [I32, I32, I32]);
  const [d, , nth] = f.params as [Local, Local, Local];
  const F = GatherSubsampleDesc;
  const inp = loadField(f, d, F.input), out = loadField(f, d, F.output);
  const N = loadField(f, d, F.n), H = loadField(f, d, F.h), W = loadField(f, d, F.w);
  const OH = loadField(f, d, F.oh), OW = loadField(f, d, F.ow);
  const csIn = loadField(f, d, F.csIn), csOut = loadField(f, d, F.csOut), S = loadField(f, d, F.stride);
  const total = f.local(I32), q = f.local(I32), nn = f.local(I32), oy = f.local(I32), ox = f.local(I32);
  const ip = f.local(I32), o = f.local(I32), c = f.local(I32), inBytes = f.local(I32), outBytes = f.local(I32);
  const zero = f.local(V128);
  f.v128Const0().set(zero);
  f.get(N).get(OH).i32Mul().get(OW).i32Mul().set(total);
  f.get(csIn).i32Const(4).i32Mul().set(inBytes);
  f.get(csOut).i32Const(4).i32Mul().set(outBytes);
  forEachChunk(f, d, total, nth, (start, end) => {
    f.get(start);
    forLoop(f, q, end, 1, () => {
      f.get(q).get(OH).get(OW).i32Mul().i32DivU().set(nn);
      f.get(q).get(OH).get(OW).i32Mul().i32RemU().get(OW).i32DivU().set(oy);
      f.get(q).get(OW).i32RemU().set(ox);
      f.get(nn).get(H).i32Mul().get(oy).get(S).i32Mul().i32Add().get(W).i32Mul().get(ox).get(S).i32Mul().i32Add();
      f.get(inBytes).i32Mul().get(inp).i32Add().set(ip);
      f.get(out).get(q).get(outBytes).i32Mul().i32Add().set(o);
      f.i32Const(0);
      forLoop(f, c, outBytes, 16, () => {
        f.get(o).get(c).i32Add();
        f.get(c).get(inBytes).i32LtS().if(V128);
        f.get(ip).get(c).i32Add().v128Load();
        f.else();
        f.get(zero);
        f.end();
        f.v128Store();
      });
    });
  });
  return index;
}

/** The general gather (Pad, Slice): per axis in = out * step + offset, `value` outside the input. */
export function emitX32Gather(m: ModuleBuilder): number {
  const { f, index } = m.func('x32-gather', [I32, I32, I32]);
  const [d, , nth] = f.params as [Local, Local, Local];
  const F = GatherDesc;
  const inp = loadField(f, d, F.input), out = loadField(f, d, F.output);
  const N = loadField(f, d, F.n), C = loadField(f, d, F.c), H = loadField(f, d, F.h), W = loadField(f, d, F.w);
  const csIn = loadField(f, d, F.csIn), OC = loadField(f, d, F.oc), OH = loadField(f, d, F.oh), OW = loadField(f, d, F.ow);
  const csOut = loadField(f, d, F.csOut), SC = loadField(f, d, F.sc), OFC = loadField(f, d, F.offC);
  const SY = loadField(f, d, F.sy), OFY = loadField(f, d, F.offY), SX = loadField(f, d, F.sx), OFX = loadField(f, d, F.offX);
  const value = f.local(F32);
  f.get(d).f32Load(F.valueBits * 4).set(value);
  const total = f.local(I32), q = f.local(I32), nn = f.local(I32), y = f.local(I32), x = f.local(I32);
  const iy = f.local(I32), ix = f.local(I32), ic = f.local(I32), c = f.local(I32), inside = f.local(I32);
  const row = f.local(I32), o = f.local(I32);
  f.get(N).get(OH).i32Mul().get(OW).i32Mul().set(total);
  forEachChunk(f, d, total, nth, (start, end) => {
    f.get(start);
    forLoop(f, q, end, 1, () => {
      f.get(q).get(OH).get(OW).i32Mul().i32DivU().set(nn);
      f.get(q).get(OH).get(OW).i32Mul().i32RemU().get(OW).i32DivU().set(y);
      f.get(q).get(OW).i32RemU().set(x);
      f.get(y).get(SY).i32Mul().get(OFY).i32Add().set(iy);
      f.get(x).get(SX).i32Mul().get(OFX).i32Add().set(ix);
      f.get(iy).i32Const(0).i32GeS().get(iy).get(H).i32LtS().i32And();
      f.get(ix).i32Const(0).i32GeS().i32And().get(ix).get(W).i32LtS().i32And().set(inside);
      f.get(nn).get(H).i32Mul().get(iy).i32Add().get(W).i32Mul().get(ix).i32Add().get(csIn).i32Mul().i32Const(4).i32Mul().get(inp).i32Add().set(row);
      f.get(q).get(csOut).i32Mul().i32Const(4).i32Mul().get(out).i32Add().set(o);
      f.i32Const(0);
      forLoop(f, c, csOut, 1, () => {
        f.get(o).get(c).i32Const(4).i32Mul().i32Add();
        f.get(c).get(OC).i32LtS().if(F32);
        {
          f.get(c).get(SC).i32Mul().get(OFC).i32Add().set(ic);
          f.get(inside).get(ic).i32Const(0).i32GeS().i32And().get(ic).get(C).i32LtS().i32And().if(F32);
          f.get(row).get(ic).i32Const(4).i32Mul().i32Add().f32Load();
          f.else();
          f.get(value);
          f.end();
        }
        f.else();
        f.f32Const(0);
        f.end();
        f.f32Store();
      });
    });
  });
  return index;
}
