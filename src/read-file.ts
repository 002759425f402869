// The one way we read a whole file a user names (model inputs, checkpoints, datasets, logs, sidecars):
// only a regular file (a symbolic link to one is fine), only up to a size limit checked before reading,
// and never more than that many bytes read even if the file grows meanwhile. /dev/zero, /dev/urandom, a
// FIFO, a socket, a directory, or a link to any of them is refused with one line, instead of a read that
// grows without end or blocks forever.
//
// The path is stat'ed first (following links) and refused unless it is a regular file; then it is opened
// with O_NONBLOCK (so a FIFO swapped in between cannot block the open) and the open descriptor is
// fstat'ed again, and that descriptor's size is the one that counts.
import { UserError } from './errors';
import { closeSync, constants, fstatSync, openSync, readSync, type Stats, statSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';

/** Limit for the JSON files we read (training logs, sidecars): real ones are a few kB. */
export const MAX_JSON_BYTES = 16 * 2 ** 20;

export type FileReadErrorKind = 'not-found' | 'not-a-file' | 'too-large' | 'unreadable';

/** A file we refuse to read, or cannot: `message` is one line naming the file (as `what`) and why. */
export class FileReadError extends UserError {
  override readonly name = 'FileReadError';
  constructor(
    readonly kind: FileReadErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ReadOptions {
  /** Refuse files larger than this many bytes (checked before reading). */
  readonly maxBytes: number;
  /** How the file is named in messages (default: its path). */
  readonly what?: string;
}

/** What a non-regular file is, for messages. */
function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function describeErrno(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  switch (err.code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'too many levels of symbolic links';
    case 'EISDIR':
      return 'is a directory';
    case 'ENAMETOOLONG':
      return 'the name is too long';
    default:
      return err.code ?? (e instanceof Error ? e.message.split('\n')[0]! : String(e));
  }
}

function notFound(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}


/**
 * Stats `path` (following links) and throws FileReadError unless it is a regular file of at most
 * `maxBytes` bytes. Returns its size.
 */
export function checkRegularFile(path: string, opts: ReadOptions): number {
  const what = opts.what ?? path;
  let st: Stats;
  try {
    st = statSync(path);
  } catch (e) {
    if (notFound(e)) throw new FileReadError('not-found', `${what}: no such file`, { cause: e });
    throw new FileReadError('unreadable', `${what}: cannot read (${describeErrno(e)})`, { cause: e });
  }
  return checkStats(st, what, opts.maxBytes);
}

function checkStats(st: Stats, what: string, maxBytes: number): number {
  if (!st.isFile()) throw new FileReadError('not-a-file', `${what}: not a regular file (${fileKind(st)})`);
  if (st.size > maxBytes) {
    throw new FileReadError('too-large', `${what}: ${st.size} bytes is over the ${maxBytes}-byte limit for this file`);
  }
  return st.size;
}

/** Checks `path` as a regular file within the limit, then opens it (non-blocking): the descriptor, or FileReadError. */
function openChecked(path: string, what: string, opts: ReadOptions): number {
  checkRegularFile(path, opts);
  try {
    return openSync(path, OPEN_FLAGS);
  } catch (e) {
    if (notFound(e)) throw new FileReadError('not-found', `${what}: no such file`, { cause: e });
    throw new FileReadError('unreadable', `${what}: cannot read (${describeErrno(e)})`, { cause: e });
  }
}

/**
 * The bytes of a regular file of at most `maxBytes` bytes (a view of a buffer one byte longer). Throws FileReadError (one line: the file and
 * why) for a missing file, anything but a regular file, a file over the limit (before reading it, and
 * again if it grows past the limit while being read), or a read error.
 */
export function readRegularFile(path: string, opts: ReadOptions): Uint8Array {
  const what = opts.what ?? path;
  const fd = openChecked(path, what, opts);
  try {
    const size = checkStats(fstatSync(fd), what, opts.maxBytes);
    // Read what fstat said, plus one byte to notice a file that grew; never more than maxBytes + 1.
    const cap = Math.min(size, opts.maxBytes) + 1;
    let buf = new Uint8Array(cap);
    let got = 0;
    for (;;) {
      if (got === buf.length) {
        if (buf.length > opts.maxBytes) {
          throw new FileReadError('too-large', `${what}: grew past the ${opts.maxBytes}-byte limit while being read`);
        }
        const bigger = new Uint8Array(Math.min(opts.maxBytes + 1, buf.length * 2));
        bigger.set(buf);
        buf = bigger;
      }
      let n: number;
      try {
        n = readSync(fd, buf, got, buf.length - got, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') throw new FileReadError('not-a-file', `${what}: not a regular file (reads would block)`, { cause: e });
        throw new FileReadError('unreadable', `${what}: cannot read (${describeErrno(e)})`, { cause: e });
      }
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}

const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | (constants.O_NOCTTY ?? 0);

/** A regular file read by range, piece by piece (src/onnx/source.ts's ByteSource). */
export interface FileSource {
  readonly byteLength: number;
  /** `length` bytes from `offset`, in a fresh buffer. */
  read(offset: number, length: number): Uint8Array;
  /** dst.length bytes from `offset`, into dst. */
  readInto(offset: number, dst: Uint8Array): void;
  close(): void;
}

/**
 * A regular file of at most `maxBytes` bytes, opened for reads by range (checked as readRegularFile checks
 * it; its size is the one fstat gives now). A read that comes up short (the file shrank) throws FileReadError.
 */
export function openRegularFile(path: string, opts: ReadOptions): FileSource {
  const what = opts.what ?? path;
  const fd = openChecked(path, what, opts);
  let size: number;
  try {
    size = checkStats(fstatSync(fd), what, opts.maxBytes);
  } catch (e) {
    closeSync(fd);
    throw e;
  }
  let open = true;
  const readInto = (offset: number, buf: Uint8Array): void => {
    if (!open) throw new Error(`${what}: read after close`);
    let got = 0;
    while (got < buf.length) {
      let n: number;
      try {
        n = readSync(fd, buf, got, buf.length - got, offset + got);
      } catch (e) {
        throw new FileReadError('unreadable', `${what}: cannot read (${describeErrno(e)})`, { cause: e });
      }
      if (n === 0) throw new FileReadError('unreadable', `${what}: changed size while being read`);
      got += n;
    }
  };
  return {
    byteLength: size,
    read(offset, length) {
      const buf = new Uint8Array(length);
      readInto(offset, buf);
      return buf;
    },
    readInto,
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}

/** readRegularFile without blocking the event loop (for Electron's main process). */
export async function readRegularFileAsync(path: string, opts: ReadOptions): Promise<Uint8Array> {
  const what = opts.what ?? path;
  try {
    checkStats(await stat(path), what, opts.maxBytes);
  } catch (e) {
    if (e instanceof FileReadError) throw e;
    if (notFound(e)) throw new FileReadError('not-found', `${what}: no such file`, { cause: e });
    throw new FileReadError('unreadable', `${what}: cannot read (${describeErrno(e)})`, { cause: e });
  }
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, OPEN_FLAGS);
  } catch (e) {
    if (notFound(e)) throw new FileReadError('not-found', `${what}: no such file`, { cause: e });
    throw new FileReadError('unreadable', `${what}: cannot read (${describeErrno(e)})`, { cause: e });
  }
  try {
    const size = checkStats(await handle.stat(), what, opts.maxBytes);
    const buf = new Uint8Array(Math.min(size, opts.maxBytes) + 1);
    let got = 0;
    for (;;) {
      if (got === buf.length) throw new FileReadError('too-large', `${what}: changed size while being read`);
      let n: number;
      try {
        ({ bytesRead: n } = await handle.read(buf, got, buf.length - got, null));
      } catch (e) {
        throw new FileReadError('unreadable', `${what}: cannot read (${describeErrno(e)})`, { cause: e });
      }
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    await handle.close();
  }
}

/** readRegularFile as UTF-8 text. */
export function readRegularTextFile(path: string, opts: ReadOptions): string {
  return new TextDecoder().decode(readRegularFile(path, opts));
}
