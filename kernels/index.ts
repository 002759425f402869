// One explicit entry point that registers every kernel backend available in this build.
import { registerTsKernels } from './ts/index';

let registered = false;

/** Registers all backends' kernels; calling it again does nothing. */
export function registerAll(): void {
  if (registered) return;
  registerTsKernels();
  registered = true;
}
