// The relaxed-SIMD switch for Node. Node 20's V8 (11.3) has f32x4.relaxed_madd behind
// --experimental-wasm-relaxed-simd (it ships enabled from V8 11.4, i.e. Chrome 114+, Electron 25+, Node 22+).
// Setting the flag at run time affects only modules compiled afterwards, so switch it on before compiling.
// Browsers need nothing. Whether a kernel uses it is the generators' `relaxedSimd` option (FuncBuilder.madd).
import { relaxedSimdSupported } from './emit';

const RELAXED_SIMD_FLAG = '--experimental-wasm-relaxed-simd';

/**
 * Turns relaxed SIMD on with `setFlags` (node:v8's setFlagsFromString) unless it validates already; returns
 * whether it validates now. Synchronous, for callers that import node:v8 themselves.
 */
export function enableRelaxedSimd(setFlags: (flags: string) => void): boolean {
  if (relaxedSimdSupported()) return true;
  setFlags(RELAXED_SIMD_FLAG);
  return relaxedSimdSupported();
}

/** The same from code that also runs in browsers: imports node:v8 only in Node; false elsewhere if unsupported. */
export async function enableRelaxedSimdInNode(): Promise<boolean> {
  if (relaxedSimdSupported()) return true;
  const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
  if (!isNode) return false;
  // A non-literal specifier keeps bundlers from resolving a Node built-in in web builds.
  const name = 'node:v8';
  const v8 = (await import(name)) as { setFlagsFromString(flags: string): void };
  return enableRelaxedSimd((flags) => v8.setFlagsFromString(flags));
}
