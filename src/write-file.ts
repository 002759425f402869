// The one way we write a whole file a user names (--out, --cam): all at once through a temporary file
// beside it, renamed into place, so a failed write (a missing folder, a directory in the way, a full disk)
// leaves no half-written file and whatever was there before. A failure is the user's to fix: one line.
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { UserError } from './errors';

class FileWriteError extends UserError {
  override readonly name = 'FileWriteError';
}

function reason(e: unknown): string {
  switch ((e as NodeJS.ErrnoException).code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return 'its folder does not exist';
    case 'EISDIR':
      return 'it is a folder';
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return 'permission denied';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'the disk is full';
    default:
      return (e as NodeJS.ErrnoException).code ?? String(e);
  }
}

export function writeUserFile(path: string, data: Uint8Array | string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw new FileWriteError(`cannot write ${path}: ${reason(e)}`, { cause: e });
  }
}

/** A folder to write into, made if missing. */
export function ensureUserFolder(path: string): void {
  try {
    mkdirSync(path, { recursive: true });
  } catch (e) {
    throw new FileWriteError(`cannot make the folder ${path}: ${reason(e)}`, { cause: e });
  }
}
