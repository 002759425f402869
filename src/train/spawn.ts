// Starting a worker thread that runs one of our modules. Bundled (dist/cli.js) the module is plain
// JavaScript; run from source (.ts through tsx) the worker first registers tsx's loader, which Node does
// not pass on to workers by itself.
import { Worker } from 'node:worker_threads';

export function spawnModuleWorker(moduleUrl: string, workerData: unknown): Worker {
  if (!/\.m?ts$/.test(new URL(moduleUrl).pathname)) return new Worker(new URL(moduleUrl), { workerData });
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(moduleUrl)}); })`;
  return new Worker(boot, { eval: true, workerData });
}
