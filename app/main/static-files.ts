// Serving the built renderer (dist/web) safely, shared by the Electron app:// protocol handler and the
// `npm run web` server: URL path -> file under the root (never outside it, symlinks included), content
// types, and the security headers every response carries (strict CSP; COOP/COEP so the page is
// cross-origin isolated and wasm threads can share memory).
import { realpath, stat } from 'node:fs/promises';
import { extname, join, normalize, sep } from 'node:path';

/**
 * 'wasm-unsafe-eval' lets WebAssembly compile; plain 'unsafe-eval' (eval, new Function) stays off.
 * Workers and fetches are same-origin only; images may also be blob: (thumbnails made in the page).
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self'",
  "connect-src 'self'",
  "img-src 'self' blob: data:",
  "style-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

export function securityHeaders(): Record<string, string> {
  return {
    'Content-Security-Policy': CONTENT_SECURITY_POLICY,
    'Cross-Origin-Opener-Policy': 'same-origin',
    'Cross-Origin-Embedder-Policy': 'require-corp',
    'Cross-Origin-Resource-Policy': 'same-origin',
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'no-referrer',
    'Permissions-Policy': 'camera=(), microphone=(), geolocation=(), usb=(), serial=(), hid=()',
    'Cache-Control': 'no-cache',
  };
}

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.csv': 'text/csv; charset=utf-8',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

function contentTypeOf(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

export type StaticLookup =
  | { readonly status: 200; readonly path: string; readonly size: number; readonly contentType: string }
  | { readonly status: 400 | 403 | 404; readonly reason: string };

/**
 * The file a URL path names under `root`, or why not. Refuses malformed escapes, NUL, backslashes,
 * '..' and dot-segments, and anything whose real path (after symlinks) leaves the root.
 */
export async function lookupStatic(root: string, urlPathname: string): Promise<StaticLookup> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPathname);
  } catch {
    return { status: 400, reason: 'malformed URL escape' };
  }
  if (!decoded.startsWith('/')) return { status: 400, reason: 'path must start with /' };
  if (decoded.includes('\0') || decoded.includes('\\')) return { status: 400, reason: 'NUL or backslash in path' };
  const segments = decoded.split('/').slice(1);
  if (segments.some((s) => s.startsWith('.'))) return { status: 403, reason: 'dot segments and hidden files are not served' };
  const relative = decoded.endsWith('/') ? `${decoded}index.html` : decoded;
  let realRoot: string;
  try {
    realRoot = await realpath(root);
  } catch {
    return { status: 404, reason: `root ${root} does not exist` };
  }
  const candidate = normalize(join(realRoot, relative));
  if (!candidate.startsWith(realRoot + sep)) return { status: 403, reason: 'outside the served folder' };
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    return { status: 404, reason: 'no such file' };
  }
  if (!real.startsWith(realRoot + sep)) return { status: 403, reason: 'links outside the served folder' };
  const st = await stat(real);
  if (!st.isFile()) return { status: 404, reason: 'not a file' };
  return { status: 200, path: real, size: st.size, contentType: contentTypeOf(real) };
}
