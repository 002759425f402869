// `npm run web`: serves the built renderer (dist/web) on 127.0.0.1 with the same headers the Electron
// app:// protocol sends, so the UI runs cross-origin isolated in any Chromium.
//   node dist/web-server.js [--port N] [--host 127.0.0.1] [--root DIR]
import { createReadStream } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { lookupStatic, securityHeaders } from './static-files';

export interface WebServer {
  readonly url: string;
  close(): Promise<void>;
}

export interface WebServerOptions {
  readonly root: string;
  /** 0 picks a free port. */
  readonly port?: number;
  readonly host?: string;
}

/** Requests must name this server (DNS rebinding: a page on evil.example must not reach it). */
function hostAllowed(hostHeader: string | undefined, port: number): boolean {
  if (!hostHeader) return false;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(hostHeader.toLowerCase());
}

async function handle(root: string, port: number, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const headers = securityHeaders();
  const send = (status: number, text: string): void => {
    res.writeHead(status, { ...headers, 'Content-Type': 'text/plain; charset=utf-8' });
    res.end(req.method === 'HEAD' ? undefined : `${status} ${text}\n`);
  };
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    return send(405, 'method not allowed');
  }
  if (!hostAllowed(req.headers.host, port)) return send(403, 'unexpected Host header');
  const pathname = (req.url ?? '/').split('?')[0]!.split('#')[0]!;
  const found = await lookupStatic(root, pathname);
  if (found.status !== 200) return send(found.status, found.reason);
  res.writeHead(200, { ...headers, 'Content-Type': found.contentType, 'Content-Length': String(found.size) });
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(found.path);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}

export function startWebServer(opts: WebServerOptions): Promise<WebServer> {
  const host = opts.host ?? '127.0.0.1';
  const root = resolve(opts.root);
  return new Promise((resolvePromise, reject) => {
    let port = 0;
    const server = createServer((req, res) => {
      handle(root, port, req, res).catch(() => {
        if (!res.headersSent) res.writeHead(500);
        res.end();
      });
    });
    server.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EADDRINUSE') return reject(e);
      const busy = opts.port ?? 0;
      reject(new Error(`port ${busy} on ${host} is busy (another program, or resnet-lab already running): choose another with \`npm run web -- --port ${busy + 1}\``));
    });
    server.listen(opts.port ?? 0, host, () => {
      port = (server.address() as AddressInfo).port;
      const shownHost = host.includes(':') ? `[${host}]` : host;
      resolvePromise({
        url: `http://${shownHost}:${port}/`,
        close: () => new Promise<void>((r) => {
          server.close(() => r());
          server.closeAllConnections();
        }),
      });
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { port: { type: 'string' }, host: { type: 'string' }, root: { type: 'string' } },
    strict: true,
  });
  const port = Number(values.port ?? process.env['PORT'] ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`--port must be 0..65535, got ${values.port}`);
  const root = values.root ?? join(dirname(fileURLToPath(import.meta.url)), 'web');
  const server = await startWebServer({ root, port, host: values.host ?? '127.0.0.1' });
  process.stdout.write(`resnet-lab: serving ${server.url} (Ctrl+C to stop)\n`);
  const stop = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main().catch((e: unknown) => {
    process.stderr.write(`resnet-lab web: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
