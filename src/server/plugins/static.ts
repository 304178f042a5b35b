/**
 * Serves the viewer (web/): a single page, plain ES modules, no build step; plus, when the static build
 * exists, its open-recording files (dist/web's local/ and models/: the page's bundle, ORT's loaders and
 * wasm, the model), one fixed route per file found at start-up.
 */
import type { FastifyPluginAsync } from 'fastify';
import fastifyStatic from '@fastify/static';
import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { extname, join, relative, sep } from 'node:path';

export interface StaticPluginOptions {
  root: string;
  /** The static build (dist/web) whose local/ and models/ are served too. */
  extraRoot?: string;
}

const LOCAL_DIRS = ['local', 'models'];
/**
 * Cross-origin isolation for the viewer's own files: with it the page may use SharedArrayBuffer, so
 * onnxruntime-web runs the open-recording model on several wasm threads. Everything the viewer loads is
 * same-origin, so require-corp blocks nothing it needs.
 */
const ISOLATION: Record<string, string> = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
const MIME: Record<string, string> = { '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.json': 'application/json', '.map': 'application/json' };

/** Files under `dir`, recursively; none when it is absent (or vanishes: scripts/build-web.mjs replaces dist/web while tests run). */
function filesUnder(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((d) => (d.isDirectory() ? filesUnder(join(dir, d.name)) : d.isFile() ? [join(dir, d.name)] : []));
}

export const staticPlugin: FastifyPluginAsync<StaticPluginOptions> = async (app, opts) => {
  if (!existsSync(opts.root)) throw new Error(`viewer files not found at ${opts.root}`);
  await app.register(fastifyStatic, {
    root: opts.root,
    index: 'index.html',
    wildcard: false,
    cacheControl: false,
    // the viewer is tiny and changes with the code: never cache stale copies in the browser
    setHeaders: (reply) => reply.header('cache-control', 'no-store').headers(ISOLATION),
  });
  const extra = opts.extraRoot;
  if (!extra) return;
  for (const file of LOCAL_DIRS.flatMap((d) => filesUnder(join(extra, d)))) {
    const url = '/' + relative(extra, file).split(sep).join('/');
    // Sent as one buffer, not streamed: while the live pipeline runs, its model steps hold the event loop,
    // and a stream's 64 KiB chunks (one loop turn each) took 15 s for ORT's 15 MB wasm; one write drains
    // in the kernel's socket buffer sizes instead.
    app.get(url, async (_req, reply) => reply.type(MIME[extname(file)] ?? 'application/octet-stream').header('cache-control', 'no-store').headers(ISOLATION).send(await readFile(file)));
  }
};
