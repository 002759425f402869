// The IPC handlers main wires to ipcMain, called as plain functions: sender checks, argument validation,
// path policy, and real decoding (runDecodeJob in-process stands in for the utility process).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, copyFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CHANNELS, MAX_IMAGE_BYTES, type IpcResult } from '../shared/ipc';
import { runDecodeJob } from './decode-job';
import { createHandlers, senderProblem, type Dialogs, type Handler } from './ipc-handlers';
import { listImages, PathPolicy } from './paths';
import { IMAGES, rawSpec, rgbAt } from './testing';

const trusted = new Set([7]);

describe('senderProblem', () => {
  it('accepts our window\'s top frame on app://resnet-lab', () => {
    assert.equal(senderProblem({ frameUrl: 'app://resnet-lab/index.html', isMainFrame: true, webContentsId: 7 }, trusted), null);
  });
  const bad: [string, Parameters<typeof senderProblem>[0], RegExp][] = [
    ['another webContents', { frameUrl: 'app://resnet-lab/index.html', isMainFrame: true, webContentsId: 8 }, /unknown webContents 8/],
    ['a sub-frame', { frameUrl: 'app://resnet-lab/index.html', isMainFrame: false, webContentsId: 7 }, /sub-frame/],
    ['a remote page', { frameUrl: 'https://evil.example/', isMainFrame: true, webContentsId: 7 }, /foreign origin https:\/\/evil\.example/],
    ['a file:// page', { frameUrl: 'file:///etc/passwd', isMainFrame: true, webContentsId: 7 }, /foreign origin file:/],
    ['a look-alike host', { frameUrl: 'app://resnet-lab.evil/index.html', isMainFrame: true, webContentsId: 7 }, /foreign origin/],
    ['a destroyed frame', { frameUrl: undefined, isMainFrame: true, webContentsId: 7 }, /without a URL/],
  ];
  for (const [what, s, re] of bad) it(`refuses ${what}`, () => assert.match(senderProblem(s, trusted) ?? '', re));
});

describe('IPC handlers', () => {
  let dir: string;
  let outside: string;
  let handlers: Record<string, Handler>;
  const picked: { images: string[]; folder: string | null; model: string | null; save: string | null } = { images: [], folder: null, model: null, save: null };
  const dialogs: Dialogs = {
    openImages: async () => picked.images,
    openFolder: async () => picked.folder,
    openModel: async () => picked.model,
    saveCsv: async () => picked.save,
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'resnet-lab-ipc-'));
    outside = mkdtempSync(join(tmpdir(), 'resnet-lab-outside-'));
    mkdirSync(join(dir, 'photos', 'nested'), { recursive: true });
    mkdirSync(join(dir, 'photos', '.hidden'));
    copyFileSync(join(IMAGES, 'marker.png'), join(dir, 'photos', 'b.png'));
    copyFileSync(join(IMAGES, 'orient-6.jpg'), join(dir, 'photos', 'a.JPG'));
    copyFileSync(join(IMAGES, 'marker.webp'), join(dir, 'photos', 'nested', 'c.webp'));
    copyFileSync(join(IMAGES, 'marker.png'), join(dir, 'photos', '.hidden', 'h.png'));
    writeFileSync(join(dir, 'photos', 'notes.txt'), 'not an image');
    copyFileSync(join(IMAGES, 'marker.png'), join(outside, 'secret.png'));
    symlinkSync(join(outside, 'secret.png'), join(dir, 'photos', 'link.png'));
    const paths = await PathPolicy.create([join(dir, 'app-root')]);
    handlers = createHandlers({ decoder: { decode: (req) => runDecodeJob(req) }, paths, dialogs });
  });
  after(() => {
    rmSync(dir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
  });

  const call = (channel: string, ...args: unknown[]): Promise<IpcResult<unknown>> => handlers[channel]!(args);
  async function refused(p: Promise<IpcResult<unknown>>, kind: string, re: RegExp): Promise<void> {
    const r = await p;
    assert.ok(!r.ok, `expected a refusal, got ${JSON.stringify(r).slice(0, 200)}`);
    assert.equal(r.error.kind, kind, r.error.message);
    assert.match(r.error.message, re);
  }

  it('decodes image bytes with sharp', async () => {
    const bytes = new Uint8Array(readFileSync(join(IMAGES, 'orient-6.jpg')));
    const r = await call(CHANNELS.decodeImageBytes, bytes, 'orient-6.jpg', rawSpec(32, 48), { thumbnail: true });
    assert.ok(r.ok);
    const v = r.value as { shape: number[]; data: Float32Array; width: number; thumbnail?: Uint8Array };
    assert.deepEqual(v.shape, [1, 3, 32, 48]);
    assert.deepEqual(rgbAt(v, 4, 4).map((c) => c > 200), [true, false, false], 'EXIF orientation applied: red top-left');
    assert.ok(v.thumbnail && v.thumbnail.length > 0);
  });

  it('decodes for a model trained on dark backgrounds (the shipped Fashion-MNIST pair\'s spec)', async () => {
    const bytes = new Uint8Array(readFileSync(join(IMAGES, 'marker.png')));
    const r = await call(CHANNELS.decodeImageBytes, bytes, 'marker.png', { ...rawSpec(28, 28, 1), background: 'dark' }, { thumbnail: false });
    assert.ok(r.ok, JSON.stringify(r));
  });

  it('reports a bad image as data, with its name', async () => {
    const bytes = new Uint8Array(readFileSync(join(IMAGES, 'not-an-image.jpg')));
    await refused(call(CHANNELS.decodeImageBytes, bytes, 'not-an-image.jpg', rawSpec(28, 28, 1), { thumbnail: false }), 'not-an-image', /^not-an-image\.jpg: not an image/);
  });

  describe('argument validation', () => {
    const png = new Uint8Array(readFileSync(join(IMAGES, 'marker.png')));
    const spec = rawSpec(32, 32);
    const cases: [string, unknown[], RegExp][] = [
      ['no arguments', [], /expected 4 argument\(s\), got 0/],
      ['an extra argument', [png, 'a.png', spec, { thumbnail: false }, 'x'], /expected 4 argument/],
      ['bytes as a string', ['abc', 'a.png', spec, { thumbnail: false }], /image bytes must be a Uint8Array/],
      ['bytes as a plain array', [[1, 2, 3], 'a.png', spec, { thumbnail: false }], /must be a Uint8Array/],
      ['a name with a path separator', [png, '../../etc/passwd', spec, { thumbnail: false }], /path separators/],
      ['a name with control characters', [png, 'a\u0000.png', spec, { thumbnail: false }], /control characters/],
      ['an over-long name', [png, 'x'.repeat(300), spec, { thumbnail: false }], /1\.\.255 characters/],
      ['a spec that is not an object', [png, 'a.png', 'spec', { thumbnail: false }], /spec must be an object/],
      ['2 channels', [png, 'a.png', { ...spec, channels: 2, mean: [0, 0], std: [1, 1] }, { thumbnail: false }], /channels must be 1 or 3/],
      ['a huge input size', [png, 'a.png', { ...spec, height: 100000 }, { thumbnail: false }], /spec\.height must be an integer in 1\.\.4096/],
      ['a fractional width', [png, 'a.png', { ...spec, width: 2.5 }, { thumbnail: false }], /spec\.width must be an integer/],
      ['mean of the wrong length', [png, 'a.png', { ...spec, mean: [0] }, { thumbnail: false }], /spec\.mean must be 3 finite numbers/],
      ['a zero std', [png, 'a.png', { ...spec, std: [1, 0, 1] }, { thumbnail: false }], /spec\.std must not contain 0/],
      ['a NaN mean', [png, 'a.png', { ...spec, mean: [0, Number.NaN, 0] }, { thumbnail: false }], /finite numbers/],
      ['an unknown spec field', [png, 'a.png', { ...spec, evil: true }, { thumbnail: false }], /unexpected field 'evil'/],
      ['an unknown background', [png, 'a.png', { ...spec, background: 'plaid' }, { thumbnail: false }], /background/],
      ['a spec with a prototype', [png, 'a.png', Object.assign(Object.create({ polluted: 1 }) as object, spec), { thumbnail: false }], /spec must be an object/],
      ['options missing', [png, 'a.png', spec, null], /options must be an object/],
      ['thumbnail not a boolean', [png, 'a.png', spec, { thumbnail: 'yes' }], /thumbnail must be a boolean/],
    ];
    for (const [what, args, re] of cases) {
      it(`refuses ${what}`, () => refused(call(CHANNELS.decodeImageBytes, ...args), 'bad-request', re));
    }
    it('refuses a payload over the size limit before decoding', async () => {
      await refused(call(CHANNELS.decodeImageBytes, new Uint8Array(MAX_IMAGE_BYTES + 1), 'huge.png', spec, { thumbnail: false }), 'bad-request', /over the 268435456-byte limit/);
    });
    it('refuses arguments to channels that take none', () => refused(call(CHANNELS.openImages, 'x'), 'bad-request', /expected 0 argument/));
    it('refuses a CSV that is not text', () => refused(call(CHANNELS.saveCsv, 42, 'r.csv'), 'bad-request', /text must be a string/));
  });

  describe('paths', () => {
    const spec = rawSpec(32, 48);
    it('refuses a path the user never opened', async () => {
      await refused(call(CHANNELS.decodeImagePath, join(dir, 'photos', 'b.png'), spec, { thumbnail: false }), 'forbidden', /^b\.png: outside the folders you opened/);
    });
    it('refuses a relative path', () => refused(call(CHANNELS.decodeImagePath, 'photos/b.png', spec, { thumbnail: false }), 'bad-request', /must be absolute/));
    it('refuses a path with NUL', () => refused(call(CHANNELS.decodeImagePath, '/tmp/a\u0000b', spec, { thumbnail: false }), 'bad-request', /NUL/));

    it('allows files picked in the open dialog, and only those', async () => {
      picked.images = [join(dir, 'photos', 'b.png')];
      const r = await call(CHANNELS.openImages);
      assert.ok(r.ok);
      assert.deepEqual((r.value as { name: string }[]).map((x) => x.name), ['b.png']);
      const ok = await call(CHANNELS.decodeImagePath, join(dir, 'photos', 'b.png'), spec, { thumbnail: false });
      assert.ok(ok.ok, JSON.stringify(ok).slice(0, 200));
      await refused(call(CHANNELS.decodeImagePath, join(dir, 'photos', 'a.JPG'), spec, { thumbnail: false }), 'forbidden', /outside/);
    });

    it('allows everything inside an opened folder, lists its images, and refuses ways out', async () => {
      picked.folder = join(dir, 'photos');
      const r = await call(CHANNELS.openFolder);
      assert.ok(r.ok);
      // Sorted, sub-folders included; hidden folders, non-images and symlinks skipped.
      assert.deepEqual((r.value as { name: string }[]).map((x) => x.name), ['a.JPG', 'b.png', 'c.webp']);
      assert.ok((await call(CHANNELS.decodeImagePath, join(dir, 'photos', 'nested', 'c.webp'), spec, { thumbnail: false })).ok);
      await refused(call(CHANNELS.decodeImagePath, join(dir, 'photos', '..', '..', outside.split('/').pop()!, 'secret.png'), spec, { thumbnail: false }), 'forbidden', /outside/);
      // A symlink inside the folder that points outside it is judged by where it points.
      await refused(call(CHANNELS.decodeImagePath, join(dir, 'photos', 'link.png'), spec, { thumbnail: false }), 'forbidden', /outside/);
      await refused(call(CHANNELS.decodeImagePath, join(dir, 'photos', 'missing.png'), spec, { thumbnail: false }), 'not-found', /missing\.png: file not found/);
      const notImage = await call(CHANNELS.decodeImagePath, join(dir, 'photos', 'notes.txt'), spec, { thumbnail: false });
      assert.ok(!notImage.ok && notImage.error.kind === 'not-an-image');
    });

    it('refuses a directory named as an image', async () => {
      await refused(call(CHANNELS.decodeImagePath, join(dir, 'photos', 'nested'), spec, { thumbnail: false }), 'not-a-file', /nested: not a file/);
    });
  });

  it('opens a model file through the dialog, or nothing when cancelled', async () => {
    writeFileSync(join(dir, 'm.onnx'), new Uint8Array([8, 7, 18, 0]));
    picked.model = join(dir, 'm.onnx');
    const r = await call(CHANNELS.openModel);
    assert.ok(r.ok);
    assert.deepEqual(r.value, { name: 'm.onnx', bytes: new Uint8Array([8, 7, 18, 0]) });
    picked.model = null;
    assert.deepEqual(await call(CHANNELS.openModel), { ok: true, value: null });
  });

  it('writes the CSV where the save dialog says, adding .csv to the suggested name', async () => {
    picked.save = join(dir, 'out.csv');
    const r = await call(CHANNELS.saveCsv, 'a,b\r\n1,2\r\n', 'results');
    assert.deepEqual(r, { ok: true, value: { path: join(dir, 'out.csv') } });
    assert.equal(readFileSync(join(dir, 'out.csv'), 'utf8'), 'a,b\r\n1,2\r\n');
    picked.save = null;
    assert.deepEqual(await call(CHANNELS.saveCsv, 'x', 'results.csv'), { ok: true, value: { path: null } });
  });

  it('listImages stops at maxFiles', async () => {
    assert.equal((await listImages(join(dir, 'photos'), { maxFiles: 2 })).length, 2);
  });
});
