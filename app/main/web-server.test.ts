// Serving the renderer: files under the root only (no traversal, no symlinks out, no dotfiles), the
// security headers (CSP with 'wasm-unsafe-eval' and never 'unsafe-eval'; COOP/COEP), and the `npm run
// web` server's refusals (methods, foreign Host headers).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONTENT_SECURITY_POLICY, lookupStatic, securityHeaders } from './static-files';
import { startWebServer, type WebServer } from './web-server';

let root: string;
let outside: string;

before(() => {
  const base = mkdtempSync(join(tmpdir(), 'resnet-lab-web-'));
  root = join(base, 'web');
  outside = join(base, 'secret.txt');
  mkdirSync(join(root, 'ort'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
  writeFileSync(join(root, 'ort', 'x.wasm'), new Uint8Array([0, 0x61, 0x73, 0x6d]));
  writeFileSync(join(root, '.env'), 'SECRET=1');
  writeFileSync(outside, 'secret');
  symlinkSync(outside, join(root, 'link.txt'));
});
after(() => rmSync(join(root, '..'), { recursive: true, force: true }));

describe('the content security policy', () => {
  const directives = new Map(CONTENT_SECURITY_POLICY.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k!, v]));
  it('lets WebAssembly compile but never eval', () => {
    assert.deepEqual(directives.get('script-src'), ["'self'", "'wasm-unsafe-eval'"]);
    assert.ok(!CONTENT_SECURITY_POLICY.includes("'unsafe-eval'"));
    assert.ok(!CONTENT_SECURITY_POLICY.includes("'unsafe-inline'"));
  });
  it('allows nothing remote', () => {
    assert.deepEqual(directives.get('default-src'), ["'none'"]);
    assert.deepEqual(directives.get('connect-src'), ["'self'"]);
    assert.deepEqual(directives.get('worker-src'), ["'self'"]);
    assert.deepEqual(directives.get('object-src'), ["'none'"]);
    assert.deepEqual(directives.get('frame-ancestors'), ["'none'"]);
  });
  it('comes with cross-origin isolation headers', () => {
    const h = securityHeaders();
    assert.equal(h['Cross-Origin-Opener-Policy'], 'same-origin');
    assert.equal(h['Cross-Origin-Embedder-Policy'], 'require-corp');
    assert.equal(h['X-Content-Type-Options'], 'nosniff');
  });
});

describe('lookupStatic', () => {
  it('serves files under the root with their content type', async () => {
    const r = await lookupStatic(root, '/');
    assert.equal(r.status, 200);
    assert.ok(r.status === 200 && r.path.endsWith('index.html') && r.contentType.startsWith('text/html'));
    const w = await lookupStatic(root, '/ort/x.wasm');
    assert.ok(w.status === 200 && w.contentType === 'application/wasm' && w.size === 4);
  });
  const refused: [string, number][] = [
    ['/../secret.txt', 403],
    ['/%2e%2e/secret.txt', 403],
    ['/ort/%2e%2e%2f%2e%2e%2fsecret.txt', 403],
    ['/..%5csecret.txt', 400],
    ['/index.html%00.png', 400],
    ['/%E0%A4%A', 400],
    ['/.env', 403],
    ['/link.txt', 403],
    ['/missing.js', 404],
    ['/ort', 404],
  ];
  for (const [path, status] of refused) {
    it(`answers ${status} for ${path}`, async () => assert.equal((await lookupStatic(root, path)).status, status));
  }
});

describe('the web server', () => {
  let server: WebServer;
  before(async () => {
    server = await startWebServer({ root, port: 0 });
  });
  after(() => server.close());

  function get(path: string, opts: { method?: string; host?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
    const url = new URL(server.url);
    return new Promise((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, path, method: opts.method ?? 'GET', headers: opts.host ? { Host: opts.host } : {} }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => { body += String(d); });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      });
      req.on('error', reject);
      req.end();
    });
  }

  it('listens on 127.0.0.1 and serves index.html with the security headers', async () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const r = await get('/');
    assert.equal(r.status, 200);
    assert.match(r.body, /<title>t<\/title>/);
    assert.equal(r.headers['content-security-policy'], CONTENT_SECURITY_POLICY);
    assert.equal(r.headers['cross-origin-opener-policy'], 'same-origin');
    assert.equal(r.headers['cross-origin-embedder-policy'], 'require-corp');
  });
  it('refuses traversal and hidden files', async () => {
    assert.equal((await get('/../secret.txt')).status, 403);
    assert.equal((await get('/%2e%2e/secret.txt')).status, 403);
    assert.equal((await get('/.env')).status, 403);
  });
  it('says which port is busy and how to choose another', async () => {
    const port = Number(new URL(server.url).port);
    await assert.rejects(startWebServer({ root, port }), new RegExp(`^Error: port ${port} on 127\\.0\\.0\\.1 is busy .*--port ${port + 1}`));
  });
  it('refuses other methods', async () => assert.equal((await get('/', { method: 'POST' })).status, 405));
  it('refuses requests for another host name (DNS rebinding)', async () => {
    assert.equal((await get('/', { host: 'evil.example' })).status, 403);
    assert.equal((await get('/', { host: `localhost:${new URL(server.url).port}` })).status, 200);
  });
});
