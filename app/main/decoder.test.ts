// The image decoder as the app runs it: runDecodeJob on real files (formats, EXIF orientation, previews,
// refusals), and the decoder process behind DecoderClient surviving a crash and a hung decode.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { runDecodeJob, THUMBNAIL_SIDE, type DecodeOutcome } from './decode-job';
import { DecoderClient } from './decoder-client';
import { FIXTURES, IMAGES, rawSpec, rgbAt, spawnNodeDecoder } from './testing';

const decodeFile = (name: string, thumbnail = false, dir = IMAGES): Promise<DecodeOutcome> =>
  runDecodeJob({ input: { path: join(dir, name) }, name, spec: rawSpec(32, 48), options: { thumbnail } });

function value(o: DecodeOutcome): Extract<DecodeOutcome, { ok: true }>['value'] {
  if (!o.ok) assert.fail(`expected a decoded image, got ${o.error.kind}: ${o.error.message}`);
  return o.value;
}

describe('runDecodeJob', () => {
  for (const name of ['marker.png', 'marker.webp', 'marker.avif', 'marker.tiff', 'orient-6.jpg', 'orient-8.jpg']) {
    it(`decodes ${name} to the marker picture (red top-left, green top-right)`, async () => {
      const v = value(await decodeFile(name));
      assert.deepEqual([v.width, v.height], [48, 32]);
      assert.deepEqual(v.shape, [1, 3, 32, 48]);
      const [r1, g1, b1] = rgbAt(v, 4, 4);
      const [r2, g2, b2] = rgbAt(v, 43, 4);
      assert.ok(r1 > 200 && g1 < 60 && b1 < 60, `top-left is red: ${r1},${g1},${b1}`);
      assert.ok(g2 > 200 && r2 < 60 && b2 < 60, `top-right is green: ${r2},${g2},${b2}`);
    });
  }

  it('decodes bytes as well as paths, with the same result', async () => {
    const bytes = new Uint8Array(readFileSync(join(IMAGES, 'orient-3.jpg')));
    const fromBytes = value(await runDecodeJob({ input: { bytes }, name: 'orient-3.jpg', spec: rawSpec(32, 48), options: { thumbnail: false } }));
    const fromPath = value(await decodeFile('orient-3.jpg'));
    assert.deepEqual(Array.from(fromBytes.data), Array.from(fromPath.data));
    assert.equal(fromBytes.format, 'jpeg');
  });

  it('makes a WebP preview with EXIF orientation applied, at most 192 px', async () => {
    const v = value(await decodeFile('dress-exif6.jpg', true, FIXTURES));
    assert.equal(v.thumbnailType, 'image/webp');
    const meta = await sharp(Buffer.from(v.thumbnail!)).metadata();
    assert.equal(meta.format, 'webp');
    // Stored 240x200 with orientation 6: shown (and previewed) upright, 200 wide and 240 tall.
    assert.deepEqual([v.width, v.height], [200, 240]);
    assert.equal(meta.height, THUMBNAIL_SIDE);
    assert.equal(meta.width, Math.round((200 / 240) * THUMBNAIL_SIDE));
  });

  const refusals: [string, string, RegExp][] = [
    ['not-an-image.jpg', 'not-an-image', /^not-an-image\.jpg: not an image/],
    ['truncated.jpg', 'corrupt', /^truncated\.jpg: corrupt or truncated image/],
    ['truncated.png', 'corrupt', /^truncated\.png: corrupt or truncated image/],
    ['bomb-30000.png', 'too-large', /^bomb-30000\.png: 30000x30000 = 900 Mpixels is over the 40 Mpixel limit$/],
    ['bomb-60000.jpg', 'too-large', /Mpixel limit/],
    ['empty.png', 'empty', /^empty\.png: empty file \(0 bytes\)$/],
    ['no-such-file.png', 'not-found', /^no-such-file\.png: file not found$/],
  ];
  for (const [name, kind, re] of refusals) {
    it(`refuses ${name} (${kind})`, async () => {
      const o = await decodeFile(name, true);
      assert.ok(!o.ok, `${name} should be refused`);
      assert.equal(o.error.kind, kind);
      assert.match(o.error.message, re);
    });
  }
});

describe('DecoderClient with the decoder process', () => {
  const clients: DecoderClient[] = [];
  after(() => clients.forEach((c) => c.close()));

  it('decodes in a child process and comes back after the process is killed mid-decode', { timeout: 30_000 }, async () => {
    const children: ReturnType<typeof spawnNodeDecoder>[] = [];
    const client = new DecoderClient(() => {
      const c = spawnNodeDecoder();
      children.push(c);
      return c;
    });
    clients.push(client);
    const req = { input: { path: join(IMAGES, 'marker.png') }, name: 'marker.png', spec: rawSpec(32, 48), options: { thumbnail: true } };
    const first = await client.decode(req);
    assert.ok(first.ok && first.value.thumbnail && first.value.data instanceof Float32Array, 'typed arrays cross the process boundary');
    assert.equal(client.spawned, 1);

    // A crash in native code looks like this from main: the process dies with a request in flight.
    const inFlight = client.decode({ ...req, name: 'victim.png' });
    process.kill(children[0]!.pid!, 'SIGKILL');
    const crashed = await inFlight;
    assert.ok(!crashed.ok);
    assert.equal(crashed.error.kind, 'decoder-crashed');
    assert.match(crashed.error.message, /^victim\.png: the image decoder stopped unexpectedly/);

    const next = await client.decode(req);
    assert.ok(next.ok, 'the next image decodes fine');
    assert.equal(client.spawned, 2, 'in a fresh process');
    assert.deepEqual(Array.from(next.value.data), Array.from(first.ok ? first.value.data : []));
  });

  it('stops a decode that takes too long and restarts the process', { timeout: 30_000 }, async () => {
    const client = new DecoderClient(spawnNodeDecoder, { timeoutMs: 1 });
    clients.push(client);
    const o = await client.decode({ input: { path: join(IMAGES, 'marker.png') }, name: 'slow.png', spec: rawSpec(32, 48), options: { thumbnail: false } });
    assert.ok(!o.ok);
    assert.equal(o.error.kind, 'timeout');
    assert.match(o.error.message, /^slow\.png: decoding took over/);
  });
});
