// One explicit entry point that registers every kernel backend this build has: the TypeScript reference
// kernels (kernels/ts) and the op-level wasm kernels (./wasm/ops.ts, which run one-step plans on the
// generated WebAssembly). The registry itself (kernels/registry.ts) is keyed by (backend, op) and refuses
// duplicates; it lives in kernels/, this file lives here because the wasm op kernels need the engine.
import { registerTsKernels } from '../../kernels/ts/index';
import { registerWasmKernels } from './wasm/ops';

let registered = false;

/** Registers all backends' kernels; calling it again does nothing. */
export function registerAll(): void {
  if (registered) return;
  registerTsKernels();
  registerWasmKernels();
  registered = true;
}
