// One explicit entry point that registers every kernel backend available in this build.
import { registerTsKernels } from './ts/index';
import { registerWasmKernels } from './wasm/ops';

let registered = false;

/** Registers all backends' kernels; calling it again does nothing. */
export function registerAll(): void {
  if (registered) return;
  registerTsKernels();
  registerWasmKernels();
  registered = true;
}
