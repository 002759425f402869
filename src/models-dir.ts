// The package's models/ directory: where it is, and what ships in it (trained ONNX files and their
// sidecars models/<id>.json). Node only.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSidecar, type Sidecar } from './sidecar';

/** The package root (where package.json and models/ are), from the sources or from the bundled dist/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the resnet-lab package root');
    dir = up;
  }
  return dir;
}

/** models/<name>.onnx when the package ships a trained file of that name. */
export function shippedModelPath(name: string): string | undefined {
  const p = join(packageRoot(), 'models', `${name}.onnx`);
  return existsSync(p) ? p : undefined;
}

/** models/<name>.json, checked; null when there is none. */
export function shippedSidecar(name: string): Sidecar | null {
  const p = join(packageRoot(), 'models', `${name}.json`);
  if (!existsSync(p)) return null;
  return parseSidecar(JSON.parse(readFileSync(p, 'utf8')), `models/${name}.json`);
}
