/**
 * Serves the viewer (web/): a single page, plain ES modules, no build step; plus, when the static build
 * exists, its open-recording files (dist/web's local/ and models/) behind web/ (web/'s files win).
 */
import type { FastifyPluginAsync } from 'fastify';
import fastifyStatic from '@fastify/static';
import { existsSync } from 'node:fs';

export interface StaticPluginOptions {
  root: string;
  /** A second folder searched after `root` (dist/web). */
  extraRoot?: string;
}

export const staticPlugin: FastifyPluginAsync<StaticPluginOptions> = async (app, opts) => {
  if (!existsSync(opts.root)) throw new Error(`viewer files not found at ${opts.root}`);
  await app.register(fastifyStatic, {
    root: opts.extraRoot ? [opts.root, opts.extraRoot] : opts.root,
    index: 'index.html',
    wildcard: false,
    cacheControl: false,
    // the viewer is tiny and changes with the code: never cache stale copies in the browser
    setHeaders: (res) => res.header('cache-control', 'no-store'),
  });
};
