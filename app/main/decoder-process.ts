// Entry of the image-decoder process. Untrusted images are decoded here, with sharp (native libvips),
// away from main: if a malformed file crashes libvips, only this process dies and main starts a new one.
// Runs as an Electron utilityProcess (process.parentPort) or, in tests, a Node child process (process.send).
import { runDecodeJob } from './decode-job';
import type { DecoderReply, DecoderRequest } from './decoder-protocol';

interface ParentPort {
  on(event: 'message', listener: (e: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;

function reply(message: DecoderReply): void {
  if (parentPort) parentPort.postMessage(message);
  else process.send?.(message);
}

async function handle(raw: unknown): Promise<void> {
  const req = raw as DecoderRequest;
  if (typeof req !== 'object' || req === null || typeof req.id !== 'number') return;
  // Main validated the request already; decodeImage validates the spec again before any I/O.
  const outcome = await runDecodeJob({ input: req.input, name: req.name, spec: req.spec, options: req.options, maxPixels: req.maxPixels })
    .catch((err: unknown) => ({ ok: false as const, error: { kind: 'internal' as const, message: `${req.name}: ${String(err)}` } }));
  reply({ id: req.id, outcome });
}

if (parentPort) parentPort.on('message', (e) => void handle(e.data));
else if (process.send) process.on('message', (m) => void handle(m));
else throw new Error('decoder-process must run as a utility or child process');
