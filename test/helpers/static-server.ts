/**
 * A plain node:http static file server (no evstream code): what "any static host" means for dist/web in the
 * browser tests and the browser bench. Correct MIME types for .wasm (streaming compilation needs
 * application/wasm) and .mjs; every path asked for is recorded.
 */
import { createServer, type Server } from 'node:http';
import { once } from 'node:events';
import { readFileSync, statSync } from 'node:fs';
import { extname, join, normalize } from 'node:path';

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
  '.json': 'application/json',
  '.map': 'application/json',
};

export interface StaticServer {
  server: Server;
  url: string;
  /** Every path requested, in order. */
  paths: string[];
  close(): Promise<void>;
}

/** `isolated`: send COOP same-origin + COEP require-corp, as a host configured for cross-origin isolation does. */
export async function serveStatic(root: string, o: { isolated?: boolean } = {}): Promise<StaticServer> {
  const isolation = o.isolated ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' } : {};
  const paths: string[] = [];
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    paths.push(path);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    if (!file.startsWith(root) || !statSync(file, { throwIfNoEntry: false })?.isFile()) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': MIME[extname(file)] ?? 'application/octet-stream', ...isolation }).end(readFileSync(file));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  return { server, url, paths, close: () => new Promise((r) => server.close(() => r())) };
}
