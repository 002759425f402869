// Elementwise kernels. Inference (descriptor kernels over NHWC buffers, 4 floats at a time, shared among
// threads): f32-vadd with an optional ReLU and f32-vrelu. Training (direct exports over n floats, vector
// then scalar steps): relu, add, and the gradient pass-through (masked by a ReLU's output: the ReLU's backward).
import { addOld, addressAt, branchOn, floatLoop, forLoop, loadAt, loadField, maskedLoadAt, storeAt } from './builders';
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
 * relu(x, y, n): y = max(x, 0). add(a, b, y, n, relu): y = a + b (max(a + b, 0) with relu).
 * pass(dy, dx, n, acc, mask): dx (+)= dy, or (mask = the address of a ReLU's output) mask > 0 ? dy : 0.
 */
export function emitTrainingElementwise(m: ModuleBuilder): void {
  {
    const { f, index } = m.func('relu', [I32, I32, I32]);
    const [x, y, n] = f.params as Local[] as [Local, Local, Local];
    floatLoop(f, n, (off, v, j) => {
      addressAt(f, y, off);
      loadAt(f, x, off, v, j);
      if (v) f.v128Const0().f32x4Pmax(); else f.f32Const(0).f32Max();
      storeAt(f, v, j);
    }, UNROLL);
    m.export('relu', index);
  }
  {
    const { f, index } = m.func('add', [I32, I32, I32, I32, I32]);
    const [a, b, y, n, relu] = f.params as Local[] as [Local, Local, Local, Local, Local];
    branchOn(f, relu, (withRelu) => floatLoop(f, n, (off, v, j) => {
      addressAt(f, y, off);
      loadAt(f, a, off, v, j);
      loadAt(f, b, off, v, j);
      if (v) { f.f32x4Add(); if (withRelu) f.v128Const0().f32x4Pmax(); }
      else { f.f32Add(); if (withRelu) f.f32Const(0).f32Max(); }
      storeAt(f, v, j);
    }, UNROLL));
    m.export('add', index);
  }
  {
    const { f, index } = m.func('pass', [I32, I32, I32, I32, I32]);
    const [dy, dx, n, acc, mask] = f.params as Local[] as [Local, Local, Local, Local, Local];
    branchOn(f, mask, (masked) => branchOn(f, acc, (accumulate) => floatLoop(f, n, (off, v, j) => {
      addressAt(f, dx, off);
      if (masked) maskedLoadAt(f, dy, mask, off, v, j); else loadAt(f, dy, off, v, j);
      addOld(f, accumulate, dx, off, v, j);
      storeAt(f, v, j);
    }, UNROLL)));
    m.export('pass', index);
  }
}

/** Vectors per trip of the training loops (see floatLoop). */
const UNROLL = 4;
