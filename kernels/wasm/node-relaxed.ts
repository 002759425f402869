// Relaxed SIMD in Node 20: V8 11.3 has f32x4.relaxed_madd behind --experimental-wasm-relaxed-simd (it ships
// enabled from V8 11.4, i.e. Chrome 114+, Electron 25+, Node 22+). Setting the flag at run time affects only
// modules compiled afterwards, so call this before creating an executor. Node-only: browsers need nothing.
import { relaxedSimdSupported } from './emit';

/** Turns relaxed SIMD on in this Node process if it is not already; returns whether it validates now. */
export async function enableRelaxedSimdInNode(): Promise<boolean> {
  if (relaxedSimdSupported()) return true;
  const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
  if (!isNode) return false;
  const name = 'node:v8';
  const v8 = (await import(/* @vite-ignore */ name)) as { setFlagsFromString(flags: string): void };
  v8.setFlagsFromString('--experimental-wasm-relaxed-simd');
  return relaxedSimdSupported();
}
