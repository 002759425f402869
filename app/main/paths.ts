// Which files the renderer may have main read. The renderer is treated as untrusted: it may only name
// paths inside the app's own folders or inside files/folders the user picked in a main-process dialog.
// Checks use real paths, so '..' and symlinks cannot step outside a granted root.
import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, extname, join, sep } from 'node:path';
import type { ImageRef } from '../shared/ipc';

export class PathError extends Error {
  override readonly name = 'PathError';
  constructor(readonly kind: 'forbidden' | 'not-found', message: string) {
    super(message);
  }
}

function isInside(path: string, root: string): boolean {
  if (path === root) return true;
  return path.startsWith(root.endsWith(sep) ? root : root + sep);
}

export class PathPolicy {
  private readonly dirs = new Set<string>();
  private readonly files = new Set<string>();

  /** `roots` are folders always readable (the app's own resources); they need not exist. */
  static async create(roots: readonly string[]): Promise<PathPolicy> {
    const p = new PathPolicy();
    for (const r of roots) {
      try {
        p.dirs.add(await realpath(r));
      } catch {
        // A root that does not exist grants nothing.
      }
    }
    return p;
  }

  async grantFile(path: string): Promise<string> {
    const real = await realpath(path);
    this.files.add(real);
    return real;
  }

  async grantDir(path: string): Promise<string> {
    const real = await realpath(path);
    this.dirs.add(real);
    return real;
  }

  /** The real path of `path` if the policy allows reading it; PathError otherwise. */
  async check(path: string): Promise<string> {
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      throw new PathError('not-found', `${basename(path)}: file not found`);
    }
    if (this.files.has(real)) return real;
    for (const d of this.dirs) if (isInside(real, d)) return real;
    throw new PathError('forbidden', `${basename(path)}: outside the folders you opened in this app`);
  }
}

/** Extensions the folder scan picks up (what sharp decodes; the decoder checks the content anyway). */
export const IMAGE_EXTENSIONS: ReadonlySet<string> = new Set([
  '.jpg', '.jpeg', '.jpe', '.png', '.webp', '.gif', '.avif', '.tif', '.tiff', '.jp2', '.jxl', '.heic', '.heif',
]);

export interface ListOptions {
  readonly maxFiles?: number;
  readonly maxDepth?: number;
}

/** Image files under `dir` (sub-folders to maxDepth; hidden entries and symlinks skipped), sorted. */
export async function listImages(dir: string, opts: ListOptions = {}): Promise<ImageRef[]> {
  const maxFiles = opts.maxFiles ?? 5000;
  const maxDepth = opts.maxDepth ?? 4;
  const out: ImageRef[] = [];
  const walk = async (d: string, depth: number): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await readdir(d, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (out.length >= maxFiles) return;
      if (e.name.startsWith('.')) continue;
      const p = join(d, e.name);
      if (e.isDirectory()) {
        if (depth < maxDepth) await walk(p, depth + 1);
      } else if (e.isFile() && IMAGE_EXTENSIONS.has(extname(e.name).toLowerCase())) {
        const st = await stat(p).catch(() => undefined);
        if (st) out.push({ path: p, name: e.name, size: st.size });
      }
    }
  };
  await walk(dir, 0);
  return out;
}
