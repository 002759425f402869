// One registry of kernels keyed by (backend, op). Registering the same pair twice is a bug: refuse it.
import type { BackendName, KernelSignatures, OpName } from './types';

const kernels = new Map<string, unknown>();
const key = (backend: BackendName, op: OpName): string => `${backend}/${op}`;

export function registerKernel<K extends OpName>(backend: BackendName, op: K, fn: KernelSignatures[K]): void {
  const k = key(backend, op);
  if (kernels.has(k)) throw new Error(`kernel ${k} is already registered`);
  kernels.set(k, fn);
}

export function getKernel<K extends OpName>(backend: BackendName, op: K): KernelSignatures[K] {
  const fn = kernels.get(key(backend, op));
  if (fn === undefined) throw new Error(`no kernel ${op} for backend '${backend}'`);
  return fn as KernelSignatures[K];
}

export function hasKernel(backend: BackendName, op: OpName): boolean {
  return kernels.has(key(backend, op));
}

export function registeredBackends(op: OpName): BackendName[] {
  const out: BackendName[] = [];
  for (const k of kernels.keys()) {
    const [b, o] = k.split('/');
    if (o === op) out.push(b as BackendName);
  }
  return out;
}
