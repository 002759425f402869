// `npm start`: runs the app in Electron, or says in one line why it cannot and what runs the same app instead.
// The electron package's own entry would try to download a missing binary (and print a stack trace where that
// is impossible), so the binary is found here the way that entry finds it, without downloading.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

function electronBinary() {
  let dir;
  try {
    dir = dirname(createRequire(import.meta.url).resolve('electron/package.json'));
  } catch {
    return undefined;
  }
  const pathFile = join(dir, 'path.txt');
  const name = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : undefined;
  const override = process.env.ELECTRON_OVERRIDE_DIST_PATH;
  if (override) return join(override, name || 'electron');
  return name && existsSync(join(dir, 'dist', name)) ? join(dir, 'dist', name) : undefined;
}

const binary = electronBinary();
if (!binary) {
  console.error(
    "resnet-lab: Electron's binary is not installed (its download failed during npm install). " +
      'Get it with `node node_modules/electron/install.js` where GitHub is reachable, or run the same app in a browser with `npm run web`.',
  );
  process.exit(1);
}
const child = spawn(binary, ['.', ...process.argv.slice(2)], { stdio: 'inherit' });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
