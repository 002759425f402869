// `npm run lint`: the three checkers (their own npm scripts), each run even when one before it fails, and
// one exit code.
//   lint:deps    dependency-cruiser: which way imports may point (.dependency-cruiser.cjs)
//   lint:code    Biome: lint rules (biome.jsonc)
//   lint:unused  knip: unused files, exports and dependencies (knip.jsonc)
import { spawnSync } from 'node:child_process';

const failed = [];
for (const script of ['lint:deps', 'lint:code', 'lint:unused']) {
  const r = spawnSync('npm', ['run', '--silent', script], { stdio: 'inherit' });
  if (r.status !== 0) failed.push(script);
}
if (failed.length > 0) {
  process.stderr.write(`lint: ${failed.join(', ')} found problems\n`);
  process.exit(1);
}
