/**
 * ajv, as bundled with fastify (fastify -> @fastify/ajv-compiler -> ajv 8). Resolved through fastify so it
 * works whether or not npm hoisted ajv to the top of node_modules.
 */
import { createRequire } from 'node:module';

export interface AjvLike {
  compile(schema: object): ((data: unknown) => boolean) & { errors?: unknown[] | null };
}
export type AjvCtor = new (opts: Record<string, unknown>) => AjvLike;

let cached: AjvCtor | undefined;

export function loadAjv(): AjvCtor {
  if (cached) return cached;
  const req = createRequire(import.meta.url);
  let mod: unknown;
  try {
    mod = req('ajv');
  } catch {
    const compiler = req.resolve('@fastify/ajv-compiler', { paths: [req.resolve('fastify')] });
    mod = createRequire(compiler)('ajv');
  }
  const m = mod as { default?: AjvCtor } & AjvCtor;
  cached = (m.default ?? m) as AjvCtor;
  return cached;
}
