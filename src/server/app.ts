/**
 * The viewer server: fastify with one plugin per concern (request guard, static viewer, JSON API,
 * websocket stream). Binds to 127.0.0.1 unless told otherwise; the guard (plugins/guard.ts) refuses
 * foreign Host and Origin headers on every route, so other web pages can neither read nor control it.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { fileURLToPath } from 'node:url';
import { dirname, resolve } from 'node:path';
import { existsSync } from 'node:fs';
import { FrameHub, type HubOptions } from './hub.js';
import { apiPlugin } from './plugins/api.js';
import { wsPlugin } from './plugins/ws.js';
import { staticPlugin } from './plugins/static.js';
import { guardPlugin, type GuardOptions } from './plugins/guard.js';
import type { LiveController } from './types.js';

export interface ViewerServerOptions {
  /** Folder of the viewer page (default: the repo's web/). */
  webRoot?: string;
  /**
   * The open-recording files of the static build (scripts/build-web.mjs: local/ bundle and ORT, models/),
   * served beside the viewer when built (default: dist/web if present; false: none).
   */
  localRoot?: string | false;
  /** fastify logger: false (default), true, or a level name. */
  logger?: boolean | string;
  hub?: HubOptions;
  /** Host / Origin checks (boundHost defaults to the listen address in startViewerServer, else 127.0.0.1). */
  guard?: GuardOptions;
}

export function defaultWebRoot(): string {
  // compiled to <out>/src/server/app.js: web/ is at the repo root
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'web');
}

/** dist/web (scripts/build-web.mjs) when it has been built, else undefined. */
export function defaultLocalRoot(): string | undefined {
  const p = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'web');
  return existsSync(resolve(p, 'local', 'local.js')) ? p : undefined;
}

/** Build the fastify app (not listening: use app.inject in tests, or listen()). */
export async function buildServer(pipeline: LiveController, opts: ViewerServerOptions = {}): Promise<{ app: FastifyInstance; hub: FrameHub }> {
  const logger = typeof opts.logger === 'string' ? { level: opts.logger } : (opts.logger ?? false);
  const app = Fastify({ logger, ajv: { customOptions: { allErrors: true, removeAdditional: false } } });
  const hub = new FrameHub(opts.hub);
  // first: its onRequest hook must run before any route, static file or websocket upgrade
  await app.register(guardPlugin, opts.guard ?? {});
  const local = opts.localRoot === false ? undefined : (opts.localRoot ?? defaultLocalRoot());
  // web/ first: the live page (not the static copy, which opens no websocket); dist/web adds local/ and models/
  await app.register(staticPlugin, { root: opts.webRoot ?? defaultWebRoot(), extraRoot: local });
  await app.register(apiPlugin, {
    pipeline,
    hub,
    onControl: (cmd) => hub.sendJson({ type: 'control', action: cmd.action, paused: pipeline.source.paused, speed: pipeline.source.speed }),
  });
  await app.register(wsPlugin, { pipeline, hub });
  return { app, hub };
}

export interface RunningServer {
  app: FastifyInstance;
  hub: FrameHub;
  url: string;
  close(): Promise<void>;
}

/** Build and listen (default 127.0.0.1:8080). */
export async function startViewerServer(pipeline: LiveController, listen: { host?: string; port?: number } = {}, opts: ViewerServerOptions = {}): Promise<RunningServer> {
  const host = listen.host ?? '127.0.0.1';
  const { app, hub } = await buildServer(pipeline, { ...opts, guard: { boundHost: host, ...opts.guard } });
  await app.listen({ host, port: listen.port ?? 8080 });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (listen.port ?? 8080);
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return { app, hub, url: `http://${shown}:${port}/`, close: () => app.close() };
}
