// The kernel team's helper threads in Node (worker_threads): each instantiates the training module on the
// net's shared memory and runs helperLoop (kernel-team.ts). This same module is the helpers' entry point.
import { isMainThread, workerData } from 'node:worker_threads';
import type { WasmMemory, WasmModule } from '../../kernels/wasm/wasm-api';
import { wasm } from '../../kernels/wasm/wasm-api';
import { helperLoop } from './kernel-team';
import './relaxed-simd-node';
import { spawnModuleWorker } from './spawn';

const HELPER_KIND = 'resnet-lab/kernel-helper';

interface HelperInit {
  readonly kind: typeof HELPER_KIND;
  readonly module: WasmModule;
  readonly memory: WasmMemory;
  readonly control: SharedArrayBuffer;
  readonly tid: number;
}

if (!isMainThread && (workerData as Partial<HelperInit> | null)?.kind === HELPER_KIND) {
  const init = workerData as HelperInit;
  const ex = new wasm.Instance(init.module, { env: { memory: init.memory } }).exports;
  helperLoop(ex, init.control, init.tid);
}

/** A team's helpers: `count` threads on `module` and `memory`, serving the control block `control`. */
export interface TeamHelpers {
  /** Stops the threads (after the team's stop()). */
  close(): Promise<void>;
}

/**
 * Starts `count` helper threads. They never keep the process alive, and start in the background: the team
 * runs every chunk on the calling thread until they join.
 */
export function startTeamHelpers(module: WasmModule, memory: WasmMemory, control: SharedArrayBuffer, count: number): TeamHelpers {
  const workers = Array.from({ length: count }, (_, i) => {
    const init: HelperInit = { kind: HELPER_KIND, module, memory, control, tid: i + 1 };
    const w = spawnModuleWorker(import.meta.url, init);
    w.unref();
    return w;
  });
  return {
    async close() {
      await Promise.all(workers.map((w) => w.terminate()));
    },
  };
}
