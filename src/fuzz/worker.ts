// The fuzzer's worker thread: builds each case's mutant from the base model and judges it on every
// engine. It runs in a worker so that the harness (src/fuzz/harness.ts) can stop a case that hangs or
// grows without bound, by terminating the thread, and go on with a fresh one.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-web';
import { mutateModel } from '../onnx/fuzz';
import { judgeModel } from './judge';
import type { CaseRequest, CaseResponse } from './protocol';

// ORT's own warnings (duplicate initializers, old opsets) would flood the output; its errors come back as OrtModelError.
ort.env.logLevel = 'fatal';

const { base } = workerData as { base: Uint8Array };
const port = parentPort!;

port.on('message', (req: CaseRequest) => {
  void (async () => {
    let res: CaseResponse;
    try {
      const { bytes, mutations } = mutateModel(base, req.seed, req.only);
      const judged = await judgeModel(bytes);
      res = { index: req.index, mutations, judged, bytes: bytes.length };
    } catch (e) {
      res = { index: req.index, mutations: [], crash: e instanceof Error ? `${e.name}: ${e.message}` : String(e), bytes: 0 };
    }
    port.postMessage(res);
  })();
});
port.postMessage({ ready: true });
