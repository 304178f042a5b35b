import { EventFormatError } from '../events/errors.js';
import { InputFileError } from '../util/input-error.js';
import { NpyError } from '../util/npy.js';
import { WeightsError } from '../snn/errors.js';

/** A bad command-line value (not a bad file), from src/cli/options.ts: one line on stderr, exit code 2. */
export class UsageError extends Error {
  override readonly name: string = 'UsageError';
}

/** Print a one-line, human-readable error (no stack for expected input errors); returns the exit code. */
export function reportError(err: unknown): number {
  // Bad input files and values: one line, exit 2 (a bug elsewhere exits 1).
  if (err instanceof EventFormatError || err instanceof InputFileError || err instanceof UsageError || err instanceof NpyError || err instanceof WeightsError) {
    console.error(`evstream: ${err.message}`);
    return 2;
  }
  const e = err as NodeJS.ErrnoException;
  if (e && typeof e === 'object' && typeof e.code === 'string' && typeof e.path === 'string') {
    console.error(`evstream: ${e.path}: ${e.message}`);
    return 2;
  }
  console.error(`evstream: ${e instanceof Error ? (process.env.EVSTREAM_DEBUG ? e.stack : e.message) : String(e)}`);
  return 1;
}
