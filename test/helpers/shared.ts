/**
 * Locating ../shared (read in place, never copied). Tests run from the repository root (`npm test`);
 * EVSTREAM_SHARED overrides the location.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const sharedDir = resolve(process.env.EVSTREAM_SHARED ?? join(process.cwd(), '..', 'shared'));
export const recordingsDir = join(sharedDir, 'recordings');
export const referenceDir = join(sharedDir, 'reference');

/** Path of a shared recording, or undefined when absent (the caller skips). */
export function sharedRecording(name: string): string | undefined {
  const p = join(recordingsDir, name);
  return existsSync(p) ? p : undefined;
}

/** `t.skip` reason helper for node:test: `{ skip: skipUnless(path) }`. */
export function skipUnless(path: string | undefined): string | false {
  return path === undefined ? 'shared recording absent' : false;
}
