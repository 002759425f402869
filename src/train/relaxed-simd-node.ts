// Imported for its effect: switches relaxed SIMD on in this Node process (Node 20 has it behind a V8 flag;
// see kernels/wasm/node-relaxed.ts) before any training module is compiled, so wasmBackend() uses FMA.
import v8 from 'node:v8';
import { enableRelaxedSimd } from '../../kernels/wasm/node-relaxed';

try {
  enableRelaxedSimd((flags) => v8.setFlagsFromString(flags));
} catch {
  // A runtime that refuses the flag trains without relaxed SIMD.
}
