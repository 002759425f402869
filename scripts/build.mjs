// Bundles the CLI, the Electron main/preload/utility scripts and the renderer with esbuild.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

const node = { bundle: true, platform: 'node', target: 'node20', format: 'esm', sourcemap: true, logLevel: 'warning',
  packages: 'external' };
const entries = [
  { entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', ...node },
];
for (const e of entries) {
  const files = Object.values(e.entryPoints);
  if (files.every((f) => existsSync(f))) await build(e);
}
