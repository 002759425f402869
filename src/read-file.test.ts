// readRegularFile refuses, before reading, everything that is not a regular file within its limit: the
// reads that grew past 2 GB (/dev/zero, /dev/urandom) or blocked forever (a FIFO) in issue 14.2. Each FIFO
// case runs under a timeout, so a regression fails instead of hanging the suite.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FileReadError, readRegularFile, readRegularFileAsync, readRegularTextFile } from './read-file';

const tmp = mkdtempSync(join(tmpdir(), 'rl-read-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

/** Runs `f` (sync or async) and expects a FileReadError of `kind` whose one-line message matches `re`. */
async function refuses(f: () => unknown, kind: FileReadError['kind'], re: RegExp): Promise<void> {
  let caught: unknown;
  try {
    await f();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof FileReadError, `expected a FileReadError, got ${caught === undefined ? 'success' : String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  assert.match(caught.message, re);
  assert.doesNotMatch(caught.message, /\n/);
}

/** Rejects after `ms`: a read that blocks (a FIFO with no writer) fails the test instead of hanging it. */
function within<T>(ms: number, p: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => { timer = setTimeout(() => reject(new Error(`still blocked after ${ms} ms`)), ms); })])
    .finally(() => clearTimeout(timer));
}

const fifo = join(tmp, 'pipe');
execFileSync('mkfifo', [fifo]);

describe('readRegularFile', () => {
  it('reads a regular file, and one through a symbolic link', () => {
    const p = join(tmp, 'a.bin');
    writeFileSync(p, Uint8Array.of(1, 2, 3));
    assert.deepEqual([...readRegularFile(p, { maxBytes: 3 })], [1, 2, 3]);
    symlinkSync(p, join(tmp, 'link.bin'));
    assert.deepEqual([...readRegularFile(join(tmp, 'link.bin'), { maxBytes: 10 })], [1, 2, 3]);
    writeFileSync(join(tmp, 'empty'), '');
    assert.equal(readRegularFile(join(tmp, 'empty'), { maxBytes: 10 }).length, 0);
    writeFileSync(join(tmp, 't.txt'), 'héllo');
    assert.equal(readRegularTextFile(join(tmp, 't.txt'), { maxBytes: 10 }), 'héllo');
  });

  it('refuses a file over its limit before reading it, naming both sizes', async () => {
    const p = join(tmp, 'big.bin');
    writeFileSync(p, new Uint8Array(2000));
    await refuses(() => readRegularFile(p, { maxBytes: 1999, what: 'big.bin' }), 'too-large', /^big\.bin: 2000 bytes is over the 1999-byte limit for this file$/);
    assert.equal(readRegularFile(p, { maxBytes: 2000 }).length, 2000);
  });

  it('refuses /dev/zero and /dev/urandom (character devices) at once', async () => {
    await refuses(() => readRegularFile('/dev/zero', { maxBytes: 1e9 }), 'not-a-file', /^\/dev\/zero: not a regular file \(a character device\)$/);
    await refuses(() => readRegularFile('/dev/urandom', { maxBytes: 1e9 }), 'not-a-file', /character device/);
  });

  it('refuses a symbolic link to /dev/zero, naming the link', async () => {
    const link = join(tmp, 'zero.npy');
    symlinkSync('/dev/zero', link);
    await refuses(() => readRegularFile(link, { maxBytes: 1e9, what: 'zero.npy' }), 'not-a-file', /^zero\.npy: not a regular file \(a character device\)$/);
  });

  it('refuses a FIFO without blocking (sync and async)', async () => {
    await within(5000, refuses(() => readRegularFile(fifo, { maxBytes: 1e9 }), 'not-a-file', /FIFO/));
    await within(5000, refuses(() => readRegularFileAsync(fifo, { maxBytes: 1e9 }), 'not-a-file', /FIFO/));
  });

  it('refuses a directory, a missing file and a link to nowhere', async () => {
    mkdirSync(join(tmp, 'dir'));
    await refuses(() => readRegularFile(join(tmp, 'dir'), { maxBytes: 10, what: 'dir' }), 'not-a-file', /^dir: not a regular file \(a directory\)$/);
    await refuses(() => readRegularFile(join(tmp, 'none'), { maxBytes: 10, what: 'none' }), 'not-found', /^none: no such file$/);
    symlinkSync(join(tmp, 'nowhere'), join(tmp, 'dangling'));
    await refuses(() => readRegularFile(join(tmp, 'dangling'), { maxBytes: 10 }), 'not-found', /no such file/);
  });

  it('async: the same answers for the same files', async () => {
    writeFileSync(join(tmp, 'b.bin'), Uint8Array.of(9, 8));
    assert.deepEqual([...(await readRegularFileAsync(join(tmp, 'b.bin'), { maxBytes: 2 }))], [9, 8]);
    await refuses(() => readRegularFileAsync(join(tmp, 'b.bin'), { maxBytes: 1 }), 'too-large', /2 bytes is over the 1-byte limit/);
    await refuses(() => readRegularFileAsync('/dev/zero', { maxBytes: 1e9 }), 'not-a-file', /character device/);
  });
});
