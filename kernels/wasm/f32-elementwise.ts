// Elementwise kernels. Inference (descriptor kernels over NHWC buffers, 4 floats at a time, shared among
// threads): f32-vadd with an optional ReLU and f32-vrelu. Training (direct exports over n floats, vector
// then scalar steps): relu, its backward, add, and the gradient pass-through.
import { addOld, addressAt, floatLoop, forLoop, loadAt, loadField } from './builders';
import { ElementwiseDesc } from './descriptors';
import { I32, type Local, type ModuleBuilder, V128 } from './emit';
import { forEachChunk } from './parallel';

/** f32-vadd: out = relu?(a + b) over whole buffers, 4 floats at a time. */
export function emitF32Vadd(m: ModuleBuilder): number {
  return emitVaddOrVrelu(m, true);
}

/** f32-vrelu: out = max(a, 0) over whole buffers, 4 floats at a time. */
export function emitF32Vrelu(m: ModuleBuilder): number {
  return emitVaddOrVrelu(m, false);
}

/** add (two inputs, relu flag) and relu (b unused): one generator. */
function emitVaddOrVrelu(m: ModuleBuilder, isAdd: boolean): number {
  const { f, index } = m.func(isAdd ? 'f32-vadd' : 'f32-vrelu', [I32, I32, I32]);
  const [d, , nth] = f.params as [Local, Local, Local];
  const A = loadField(f, d, ElementwiseDesc.a), B = loadField(f, d, ElementwiseDesc.b), out = loadField(f, d, ElementwiseDesc.output);
  const vecs = loadField(f, d, ElementwiseDesc.vectors), relu = loadField(f, d, ElementwiseDesc.relu);
  const i = f.local(I32), off = f.local(I32), v = f.local(V128), zero = f.local(V128);
  f.v128Const0().set(zero);
  forEachChunk(f, d, vecs, nth, (start, end) => {
    f.get(start);
    forLoop(f, i, end, 1, () => {
      f.get(i).i32Const(16).i32Mul().set(off);
      f.get(A).get(off).i32Add().v128Load();
      if (isAdd) f.get(B).get(off).i32Add().v128Load().f32x4Add();
      f.set(v);
      if (isAdd) f.get(relu).if();
      f.get(v).get(zero).f32x4Pmax().set(v);
      if (isAdd) f.end();
      f.get(out).get(off).i32Add().get(v).v128Store();
    });
  });
  return index;
}

/**
 * The training module's elementwise exports over n floats (addresses in bytes, `acc` = add into the output):
 * relu(x, y, n): y = max(x, 0). relu_bwd(y, dy, dx, n, acc): dx (+)= y > 0 ? dy : 0. add(a, b, y, n, relu):
 * y = a + b (max(a + b, 0) with relu). pass(dy, dx, n, acc, mask): dx (+)= dy, or (mask = the address of a
 * fused ReLU's output) mask > 0 ? dy : 0.
 */
export function emitTrainingElementwise(m: ModuleBuilder): void {
  {
    const { f, index } = m.func('relu', [I32, I32, I32]);
    const [x, y, n] = f.params as Local[] as [Local, Local, Local];
    const zero = f.local(V128);
    f.v128Const0().set(zero);
    floatLoop(f, n, (off, v) => {
      addressAt(f, y, off);
      loadAt(f, x, off, v);
      if (v) f.get(zero).f32x4Pmax().v128Store();
      else f.f32Const(0).f32Max().f32Store();
    });
    m.export('relu', index);
  }
  {
    const { f, index } = m.func('relu_bwd', [I32, I32, I32, I32, I32]);
    const [y, dy, dx, n, acc] = f.params as Local[] as [Local, Local, Local, Local, Local];
    const zero = f.local(V128);
    f.v128Const0().set(zero);
    floatLoop(f, n, (off, v) => {
      addressAt(f, dx, off);
      if (v) {
        loadAt(f, dy, off, true);
        loadAt(f, y, off, true);
        f.get(zero);
        f.f32x4Gt();
        f.v128And();
        addOld(f, acc, dx, off, true);
        f.v128Store();
      } else {
        loadAt(f, dy, off, false);
        f.f32Const(0);
        loadAt(f, y, off, false);
        f.f32Const(0);
        f.f32Gt();
        f.select();
        addOld(f, acc, dx, off, false);
        f.f32Store();
      }
    });
    m.export('relu_bwd', index);
  }
  {
    const { f, index } = m.func('add', [I32, I32, I32, I32, I32]);
    const [a, b, y, n, relu] = f.params as Local[] as [Local, Local, Local, Local, Local];
    const loop = (withRelu: boolean): void => floatLoop(f, n, (off, v) => {
      addressAt(f, y, off);
      loadAt(f, a, off, v);
      loadAt(f, b, off, v);
      if (v) { f.f32x4Add(); if (withRelu) f.v128Const0().f32x4Pmax(); f.v128Store(); }
      else { f.f32Add(); if (withRelu) f.f32Const(0).f32Max(); f.f32Store(); }
    });
    f.get(relu).if();
    loop(true);
    f.else();
    loop(false);
    f.end();
    m.export('add', index);
  }
  {
    const { f, index } = m.func('pass', [I32, I32, I32, I32, I32]);
    const [dy, dx, n, acc, mask] = f.params as Local[] as [Local, Local, Local, Local, Local];
    const loop = (masked: boolean): void => floatLoop(f, n, (off, v) => {
      addressAt(f, dx, off);
      loadAt(f, dy, off, v);
      if (masked && v) { loadAt(f, mask, off, true); f.v128Const0().f32x4Gt().v128And(); }
      if (masked && !v) { f.f32Const(0); loadAt(f, mask, off, false); f.f32Const(0).f32Gt().select(); }
      addOld(f, acc, dx, off, v);
      if (v) f.v128Store(); else f.f32Store();
    });
    f.get(mask).if();
    loop(true);
    f.else();
    loop(false);
    f.end();
    m.export('pass', index);
  }
}
