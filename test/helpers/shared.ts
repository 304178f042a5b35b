/**
 * Locating ../shared (read in place, never copied). Tests run from the repository root (`npm test`);
 * EVSTREAM_SHARED overrides the location. The one home for "a shared input is missing": every test
 * that needs ../shared skips with `missingShared(...)`'s reason, and the test runner
 * (scripts/run-tests.mjs) lists those skips locally and fails on them under CI=true.
 */
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const sharedDir = resolve(process.env.EVSTREAM_SHARED ?? join(process.cwd(), '..', 'shared'));
export const recordingsDir = join(sharedDir, 'recordings');
export const referenceDir = join(sharedDir, 'reference');

/** The skip reason for a missing shared input (one wording for every test). */
export function missingShared(path: string): string {
  const rel = relative(sharedDir, path);
  return `shared input absent: ${join(process.env.EVSTREAM_SHARED ? '$EVSTREAM_SHARED' : '../shared', rel)} (set EVSTREAM_SHARED or put shared/ beside the repository)`;
}

/** Path of a shared recording, or undefined when absent (the caller skips). */
export function sharedRecording(name: string): string | undefined {
  const p = join(recordingsDir, name);
  return existsSync(p) ? p : undefined;
}

/** Skip reason for a missing recording `name`, or undefined when present. */
export function missingRecording(name: string): string | undefined {
  return sharedRecording(name) === undefined ? missingShared(join(recordingsDir, name)) : undefined;
}

/**
 * `t.skip` reason helper for node:test: `{ skip: skipUnless(path) }`. Pass the recording's name as
 * `name` when `path` came from sharedRecording, so the reason names the file.
 */
export function skipUnless(path: string | undefined, name?: string): string | false {
  if (path !== undefined) return false;
  return missingShared(name === undefined ? recordingsDir : join(recordingsDir, name));
}
