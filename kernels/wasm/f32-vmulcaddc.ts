// f32-vmulcaddc: y[r, c] = x[r, c] * scale[c] + shift[c] over NHWC rows (inference BatchNormalization the
// compiler could not fold into a conv).
import { forLoop, loadField } from './builders';
import { VmulcaddcDesc } from './descriptors';
import { I32, type Local, type ModuleBuilder } from './emit';
import { forEachChunk } from './parallel';

/** out[r, c] = in[r, c] * scale[c] + shift[c] for rows r (pixels) and channels c, 4 channels at a time. */
export function emitF32Vmulcaddc(m: ModuleBuilder): number {
  const { f, index } = m.func('f32-vmulcaddc', [I32, I32, I32]);
  const [d, , nth] = f.params as [Local, Local, Local];
  const inp = loadField(f, d, VmulcaddcDesc.input), out = loadField(f, d, VmulcaddcDesc.output);
  const rows = loadField(f, d, VmulcaddcDesc.rows), cs = loadField(f, d, VmulcaddcDesc.cs);
  const sc = loadField(f, d, VmulcaddcDesc.scale), sh = loadField(f, d, VmulcaddcDesc.shift);
  const r = f.local(I32), c = f.local(I32), rowBytes = f.local(I32), base = f.local(I32);
  f.get(cs).i32Const(4).i32Mul().set(rowBytes);
  forEachChunk(f, d, rows, nth, (start, end) => {
    f.get(start);
    forLoop(f, r, end, 1, () => {
      f.get(r).get(rowBytes).i32Mul().set(base);
      f.i32Const(0);
      forLoop(f, c, rowBytes, 16, () => {
        f.get(out).get(base).i32Add().get(c).i32Add();
        f.get(inp).get(base).i32Add().get(c).i32Add().v128Load();
        f.get(sc).get(c).i32Add().v128Load().f32x4Mul();
        f.get(sh).get(c).i32Add().v128Load().f32x4Add();
        f.v128Store();
      });
    });
  });
  return index;
}
