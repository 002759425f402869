// Bundles the CLI, the Electron main/preload/utility scripts, the `npm run web` server and the renderer
// (UI + workers) with esbuild, and lays out dist/:
//   dist/cli.js                 the `resnet` command
//   dist/web-server.js          `npm run web`
//   dist/app/main.js            Electron main (ESM)     dist/app/preload.cjs  sandboxed preload (CommonJS)
//   dist/app/decoder.js         image-decoder utility process (sharp)
//   dist/web/                   the renderer, served as app://resnet-lab/ or http://127.0.0.1:PORT/
//     index.html styles.css app.js inference-worker.js decode-worker.js train-worker.js chunks/
//     ort/                      ONNX Runtime Web's .mjs/.wasm (loaded by the worker at run time)
//     wasm-thread-worker.js     the wasm engine's thread workers
//     models/manifest.json      the shipped models found in models/ at build time, with their sidecars
//     samples/                  sample images (app/samples/*.png) and index.json listing them
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
// Pure-JS packages are bundled in: imported from node_modules, a CommonJS package goes through Node's ESM
// loader, which lexes it for its exports (about 10 MB resident for onnx-proto + fflate). sharp (native, loaded
// with require: src/preprocess/sharp.ts), onnxruntime-web (its wasm files are found next to it) and electron stay out.
const node = { bundle: true, platform: 'node', target: 'node20', format: 'esm', sourcemap: true, logLevel: 'warning',
  external: ['sharp', 'onnxruntime-web', 'electron'] };
const web = {
  bundle: true, platform: 'browser', target: ['chrome120'], format: 'esm', sourcemap: true, logLevel: 'warning',
  splitting: true, chunkNames: 'chunks/[name]-[hash]',
  // ORT's glue (.mjs) and wasm stay separate files under web/ort/, imported at run time from wasmPaths,
  // so ORT's own thread workers load from a real same-origin URL.
  conditions: ['onnxruntime-web-use-extern-wasm'],
};
const entries = [
  { entryPoints: { cli: 'src/cli/main.ts' }, outdir: 'dist', ...node },
  { entryPoints: { 'web-server': 'app/main/web-server.ts' }, outdir: 'dist', ...node },
  { entryPoints: { main: 'app/main/main.ts', decoder: 'app/main/decoder-process.ts' }, outdir: 'dist/app', ...node },
  // Sandboxed preloads cannot be ES modules; 'electron' is the only thing they may require.
  { entryPoints: { preload: 'app/preload/preload.ts' }, outdir: 'dist/app', ...node, format: 'cjs', outExtension: { '.js': '.cjs' } },
  {
    entryPoints: {
      app: 'app/renderer/main.ts', 'inference-worker': 'app/renderer/inference-worker.ts', 'decode-worker': 'app/renderer/decode-worker.ts',
      'train-worker': 'app/renderer/train-worker.ts',
    },
    outdir: 'dist/web', ...web,
  },
];
// `node scripts/build.mjs --models-only MODELS_DIR WEB_DIR` only (re)writes WEB_DIR/models from MODELS_DIR
// (the e2e tests use it to check that shipped models are picked up).
const modelsOnly = process.argv[2] === '--models-only';
if (modelsOnly) {
  const [modelsDir, webDir] = process.argv.slice(3);
  if (!modelsDir || !webDir) throw new Error('usage: build.mjs --models-only MODELS_DIR WEB_DIR');
  writeModels(modelsDir, join(webDir, 'models'));
  process.exit(0);
}

for (const e of entries) {
  const files = Object.values(e.entryPoints);
  if (files.every((f) => existsSync(f))) {
    if (e.splitting) rmSync(join(e.outdir, 'chunks'), { recursive: true, force: true });
    await build(e);
  }
}

/** Copy unless the destination already has the same size and is not older. */
function copyIfChanged(src, dst) {
  const s = statSync(src);
  if (existsSync(dst)) {
    const d = statSync(dst);
    if (d.size === s.size && d.mtimeMs >= s.mtimeMs) return;
  }
  mkdirSync(dirname(dst), { recursive: true });
  copyFileSync(src, dst);
}

if (existsSync('app/renderer/index.html')) {
  for (const f of ['index.html', 'styles.css']) copyIfChanged(join('app/renderer', f), join('dist/web', f));

  // ONNX Runtime Web: ort.min.mjs loads the jsep build, ort.webgpu.min.mjs the asyncify one.
  const ortDist = dirname(require.resolve('onnxruntime-web')); // .../onnxruntime-web/dist
  for (const f of ['ort-wasm-simd-threaded.jsep.mjs', 'ort-wasm-simd-threaded.jsep.wasm',
    'ort-wasm-simd-threaded.asyncify.mjs', 'ort-wasm-simd-threaded.asyncify.wasm']) {
    copyIfChanged(join(ortDist, f), join('dist/web/ort', f));
  }

  writeModels('models', 'dist/web/models');

  // Sample images ("Try sample images"): app/samples/*.png and their index.
  const samples = existsSync('app/samples') ? readdirSync('app/samples').filter((f) => f.endsWith('.png')).sort() : [];
  for (const f of samples) copyIfChanged(join('app/samples', f), join('dist/web/samples', f));
  mkdirSync('dist/web/samples', { recursive: true });
  writeFileSync('dist/web/samples/index.json', JSON.stringify(samples));

  // The wasm engine's thread workers, served as a same-origin script (the CSP refuses Blob workers).
  const threads = await build({ entryPoints: ['src/engine/wasm/threads.ts'], bundle: true, write: false, format: 'esm', platform: 'neutral', logLevel: 'warning' });
  const { WORKER_SOURCE } = await import(`data:text/javascript;base64,${Buffer.from(threads.outputFiles[0].text).toString('base64')}`);
  writeFileSync('dist/web/wasm-thread-worker.js', WORKER_SOURCE);
}

/**
 * Shipped models: every MODELS_DIR/*.onnx with its sidecar <id>.json (labels, training record, curves),
 * copied to OUT and listed in OUT/manifest.json, so the UI offers (and prefers) them without code changes.
 */
function writeModels(modelsDir, out) {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const models = [];
  for (const f of existsSync(modelsDir) ? readdirSync(modelsDir).sort() : []) {
    if (!f.endsWith('.onnx')) continue;
    const id = f.slice(0, -'.onnx'.length);
    const src = join(modelsDir, f);
    const head = readFileSync(src).subarray(0, 64).toString('latin1');
    if (head.startsWith('version https://git-lfs')) {
      console.warn(`build: ${src} is a Git LFS pointer, not a model; skipped (run git lfs pull)`);
      continue;
    }
    copyFileSync(src, join(out, f));
    let sidecar = null;
    const sidecarPath = join(modelsDir, `${id}.json`);
    if (existsSync(sidecarPath)) {
      try {
        sidecar = JSON.parse(readFileSync(sidecarPath, 'utf8'));
      } catch (err) {
        console.warn(`build: ${sidecarPath} is not valid JSON (${err.message}); listed without it`);
      }
    }
    models.push({ id, file: f, bytes: statSync(src).size, sidecar });
  }
  writeFileSync(join(out, 'manifest.json'), JSON.stringify({ models }, null, 1));
}
