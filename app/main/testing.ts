// Test helpers for the main-process tests: fixture paths, a raw-pixel spec, and the decoder process
// started as a Node child (the same script Electron runs as a utility process).
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DecoderChild } from './decoder-client';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const IMAGES = join(ROOT, 'src', 'testdata', 'images');
export const FIXTURES = join(ROOT, 'e2e', 'fixtures');

/** Raw 0..255 values out (scale 1, mean 0, std 1), so tests read colours directly. */
export { rawSpec } from '../../src/preprocess/testing';

/** RGB of pixel (x, y) of a [1,3,H,W] tensor. */
export function rgbAt(t: { shape: readonly number[]; data: Float32Array }, x: number, y: number): [number, number, number] {
  const [, , h, w] = t.shape as [number, number, number, number];
  return [0, 1, 2].map((c) => Math.round(t.data[c * h * w + y * w + x]!)) as [number, number, number];
}

/** The decoder process as a Node child (structured clone, so typed arrays cross intact). */
export function spawnNodeDecoder(): DecoderChild & { pid: number | undefined } {
  const child = fork(join(ROOT, 'app', 'main', 'decoder-process.ts'), [], {
    execArgv: ['--import', 'tsx'], serialization: 'advanced', stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return {
    pid: child.pid,
    postMessage: (m) => void child.send(m),
    onMessage: (listener) => void child.on('message', listener),
    onExit: (listener) => void child.on('exit', (code) => listener(code)),
    kill: () => void child.kill('SIGKILL'),
  };
}
