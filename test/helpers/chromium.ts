/**
 * Finding Chromium for the browser tests, the one home for "is Chromium here": the e2e tests skip
 * when it returns undefined, and scripts/run-tests.mjs fails a CI=true run up front on the same answer.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

const NAMES = ['chromium', 'chromium-browser', 'google-chrome'];

function executable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** CHROMIUM_PATH when set (and executable), else the first Chromium on PATH, else undefined. */
export function chromiumPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CHROMIUM_PATH) return executable(env.CHROMIUM_PATH) ? env.CHROMIUM_PATH : undefined;
  for (const dir of (env.PATH ?? '').split(delimiter).filter(Boolean)) {
    for (const n of NAMES) if (executable(join(dir, n))) return join(dir, n);
  }
  return undefined;
}

/** The e2e tests' skip reason (same wording everywhere). */
export const CHROMIUM_MISSING = 'Chromium not found (CHROMIUM_PATH or chromium on PATH; apt-get install chromium); CI installs it';
