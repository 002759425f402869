// Main-process IPC handlers as plain functions: (validated sender) -> parse every argument -> act ->
// IpcResult. main.ts wires them to ipcMain; tests call them directly, without Electron.
import { stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import type { PreprocessSpec } from '../../src/preprocess/normalize';
import { FileReadError, readRegularFileAsync } from '../../src/read-file';
import {
  CHANNELS, IpcArgumentError, MAX_IMAGE_BYTES, MAX_MODEL_BYTES, expectArgCount, fail, ok, parseBytes, parseCsvFileName,
  parseCsvText, parseDecodeOptions, parseName, parsePathArg, parsePreprocessSpec,
  type DecodedImageData, type DecodeOptions, type ImageRef, type InvokeChannel, type IpcResult, type ModelFile, type SaveResult,
} from '../shared/ipc';
import type { DecodeOutcome } from './decode-job';
import type { DecoderRequest } from './decoder-protocol';
import { listImages, PathError, type PathPolicy } from './paths';

/** The app's own origin: the only one whose main frame may call main. */
export const APP_ORIGIN = 'app://resnet-lab';

export interface SenderInfo {
  /** URL of the frame that sent the message (undefined when the frame is gone). */
  readonly frameUrl: string | undefined;
  readonly isMainFrame: boolean;
  readonly webContentsId: number;
}

/** Null when the sender is one of our windows' top frames showing our origin; otherwise why not. */
export function senderProblem(s: SenderInfo, trustedWebContents: ReadonlySet<number>): string | null {
  if (!trustedWebContents.has(s.webContentsId)) return `message from unknown webContents ${s.webContentsId}`;
  if (!s.isMainFrame) return 'message from a sub-frame';
  if (!s.frameUrl) return 'message from a frame without a URL';
  let url: URL;
  try {
    url = new URL(s.frameUrl);
  } catch {
    return `message from an unparsable URL`;
  }
  if (`${url.protocol}//${url.host}` !== APP_ORIGIN) return `message from foreign origin ${url.protocol}//${url.host}`;
  return null;
}

/** The dialogs main shows; each returns what the user picked (null / [] when cancelled). */
export interface Dialogs {
  openImages(): Promise<string[]>;
  openFolder(): Promise<string | null>;
  openModel(): Promise<string | null>;
  saveCsv(suggestedName: string): Promise<string | null>;
}

export interface HandlerDeps {
  readonly decoder: { decode(req: Omit<DecoderRequest, 'id'>): Promise<DecodeOutcome> };
  readonly paths: PathPolicy;
  readonly dialogs: Dialogs;
}

export type Handler = (args: readonly unknown[]) => Promise<IpcResult<unknown>>;

function asResult<T>(run: () => Promise<IpcResult<T>>): Promise<IpcResult<T>> {
  return run().catch((err: unknown) => {
    if (err instanceof IpcArgumentError) return fail('bad-request', err.message);
    if (err instanceof PathError) return fail(err.kind, err.message);
    return fail('internal', err instanceof Error ? err.message : String(err));
  });
}

async function decodeWith(deps: HandlerDeps, input: { bytes: Uint8Array } | { path: string }, name: string,
  spec: PreprocessSpec, options: DecodeOptions): Promise<IpcResult<DecodedImageData>> {
  const outcome = await deps.decoder.decode({ input, name, spec, options });
  return outcome.ok ? ok(outcome.value) : { ok: false, error: outcome.error };
}

export function createHandlers(deps: HandlerDeps): Record<InvokeChannel, Handler> {
  const openImages = (args: readonly unknown[]): Promise<IpcResult<ImageRef[]>> => asResult(async () => {
    expectArgCount(args, 0, CHANNELS.openImages);
    const picked = await deps.dialogs.openImages();
    const refs: ImageRef[] = [];
    for (const p of picked) {
      const real = await deps.paths.grantFile(p);
      refs.push({ path: real, name: basename(real), size: (await stat(real)).size });
    }
    return ok(refs);
  });

  const openFolder = (args: readonly unknown[]): Promise<IpcResult<ImageRef[]>> => asResult(async () => {
    expectArgCount(args, 0, CHANNELS.openFolder);
    const dir = await deps.dialogs.openFolder();
    if (dir === null) return ok([]);
    return ok(await listImages(await deps.paths.grantDir(dir)));
  });

  const openModel = (args: readonly unknown[]): Promise<IpcResult<ModelFile | null>> => asResult(async () => {
    expectArgCount(args, 0, CHANNELS.openModel);
    const path = await deps.dialogs.openModel();
    if (path === null) return ok(null);
    const name = basename(path);
    try {
      // A regular file only, within the model limit, read with a bound (never a device, FIFO or link to one).
      return ok({ name, bytes: await readRegularFileAsync(path, { maxBytes: MAX_MODEL_BYTES, what: name }) });
    } catch (e) {
      if (!(e instanceof FileReadError)) throw e;
      return fail(e.kind, e.message);
    }
  });

  const decodeImageBytes = (args: readonly unknown[]): Promise<IpcResult<DecodedImageData>> => asResult(async () => {
    expectArgCount(args, 4, CHANNELS.decodeImageBytes);
    const bytes = parseBytes(args[0], MAX_IMAGE_BYTES, 'image bytes');
    const name = parseName(args[1], 'image name');
    const spec = parsePreprocessSpec(args[2]);
    const options = parseDecodeOptions(args[3]);
    return decodeWith(deps, { bytes }, name, spec, options);
  });

  const decodeImagePath = (args: readonly unknown[]): Promise<IpcResult<DecodedImageData>> => asResult(async () => {
    expectArgCount(args, 3, CHANNELS.decodeImagePath);
    const path = parsePathArg(args[0], 'image path');
    const spec = parsePreprocessSpec(args[1]);
    const options = parseDecodeOptions(args[2]);
    const real = await deps.paths.check(path);
    const st = await stat(real);
    const name = basename(real);
    if (!st.isFile()) return fail('not-a-file', `${name}: not a file (a directory or device)`);
    if (st.size > MAX_IMAGE_BYTES) return fail('too-large', `${name}: ${st.size} bytes is over the ${MAX_IMAGE_BYTES}-byte limit`);
    return decodeWith(deps, { path: real }, name, spec, options);
  });

  const saveCsv = (args: readonly unknown[]): Promise<IpcResult<SaveResult>> => asResult(async () => {
    expectArgCount(args, 2, CHANNELS.saveCsv);
    const text = parseCsvText(args[0]);
    const suggested = parseCsvFileName(args[1]);
    const dest = await deps.dialogs.saveCsv(suggested);
    if (dest === null) return ok<SaveResult>({ path: null });
    await writeFile(dest, text, 'utf8');
    return ok<SaveResult>({ path: dest });
  });

  return {
    [CHANNELS.openImages]: openImages,
    [CHANNELS.openFolder]: openFolder,
    [CHANNELS.openModel]: openModel,
    [CHANNELS.decodeImageBytes]: decodeImageBytes,
    [CHANNELS.decodeImagePath]: decodeImagePath,
    [CHANNELS.saveCsv]: saveCsv,
  };
}
