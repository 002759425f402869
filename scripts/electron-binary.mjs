// Electron's own install script downloads its binary from GitHub. It is denied in package.json
// "allowScripts" so that `npm install` succeeds where GitHub cannot be reached; here we try it and
// report (not fail) when the download is impossible. The app's renderer still runs in any Chromium.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let installScript;
try {
  installScript = require.resolve('electron/install.js');
} catch {
  process.exit(0); // production install without devDependencies
}
const electronDir = installScript.replace(/install\.js$/, '');
if (existsSync(`${electronDir}path.txt`)) process.exit(0);
const r = spawnSync(process.execPath, [installScript], { cwd: electronDir, stdio: 'pipe', timeout: 300_000 });
if (r.status === 0) {
  console.log('electron: binary installed');
} else {
  console.warn('electron: binary not available (download failed); `npm start` needs it, `npm run web` does not.');
}
