// f32-gavgpool: the global average pool that ends a ResNet, [N, H*W, cs] -> [N, cs], 4 channels at a time.
import { forLoop, loadField } from './builders';
import { GavgPoolDesc } from './descriptors';
import { I32, type Local, type ModuleBuilder, V128 } from './emit';
import { forEachChunk } from './parallel';

/** out[n, c] = mean over the H*W pixels of in[n, :, c]; work shared in chunks of (image, 4 channels). */
export function emitF32Gavgpool(m: ModuleBuilder): number {
  const { f, index } = m.func('f32-gavgpool', [I32, I32, I32]);
  const [d, , nth] = f.params as [Local, Local, Local];
  const inp = loadField(f, d, GavgPoolDesc.input), out = loadField(f, d, GavgPoolDesc.output);
  const N = loadField(f, d, GavgPoolDesc.n), HW = loadField(f, d, GavgPoolDesc.hw), cs = loadField(f, d, GavgPoolDesc.cs);
  const vecs = f.local(I32), total = f.local(I32), u = f.local(I32), nn = f.local(I32), cv = f.local(I32);
  const ip = f.local(I32), i = f.local(I32), rowBytes = f.local(I32);
  const sum = f.local(V128), scale = f.local(V128);
  f.get(cs).i32Const(2).i32ShrU().set(vecs);
  f.get(N).get(vecs).i32Mul().set(total);
  f.get(cs).i32Const(4).i32Mul().set(rowBytes);
  f.f32Const(1).get(HW).f32ConvertI32U().f32Div().f32x4Splat().set(scale);
  forEachChunk(f, d, total, nth, (start, end) => {
    f.get(start);
    forLoop(f, u, end, 1, () => {
      f.get(u).get(vecs).i32DivU().set(nn);
      f.get(u).get(vecs).i32RemU().set(cv);
      f.get(inp).get(nn).get(HW).i32Mul().get(rowBytes).i32Mul().i32Add().get(cv).i32Const(16).i32Mul().i32Add().set(ip);
      f.v128Const0().set(sum);
      f.i32Const(0);
      forLoop(f, i, HW, 1, () => {
        f.get(sum).get(ip).v128Load().f32x4Add().set(sum);
        f.get(ip).get(rowBytes).i32Add().set(ip);
      });
      f.get(out).get(u).i32Const(16).i32Mul().i32Add().get(sum).get(scale).f32x4Mul().v128Store();
    });
  });
  return index;
}
