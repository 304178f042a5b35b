/**
 * Bad user files that are not event streams (checkpoints and weights, .npy inputs, dataset manifests):
 * a typed error whose one-line message names the path, the field where there is one, what was found and
 * what was expected, e.g. `/tmp: is a directory, expected a .safetensors checkpoint file`. The CLI prints
 * the message alone and exits with code 2, like an `EventFormatError` (src/cli/errors.ts).
 *
 * Node's own errors do not always name the file: `readFileSync` on a directory throws `EISDIR: illegal
 * operation on a directory, read` without a path, and a file over 2 GiB a RangeError. `readInputFile`
 * checks the path first so those become InputFileErrors.
 */
import { readFileSync, statSync } from 'node:fs';

export class InputFileError extends Error {
  override readonly name: string = 'InputFileError';
  constructor(
    /** The file (or directory) at fault, as the user gave it. */
    readonly path: string,
    /** What is wrong, e.g. 'is a directory', 'is not valid JSON (...)'. */
    readonly problem: string,
    /** What was expected there, e.g. 'a .safetensors checkpoint file'. */
    readonly expected?: string,
    /** Field or part of the file at fault, e.g. `sequences[2].frames`, `header length (bytes 0..7)`. */
    readonly field?: string,
  ) {
    // one line whatever the parts hold (a JSON.parse message quotes the file's text)
    super(`${path}: ${field ? `${field}: ` : ''}${problem}${expected ? `, expected ${expected}` : ''}`.replace(/[\r\n]+/g, ' '));
  }
}

/** The largest file `readInputFile` reads whole (Node's Buffer limit is 2 GiB; checkpoints here are MBs). */
export const MAX_INPUT_FILE_BYTES = 2 ** 31 - 1;

/**
 * Size of `path`, which must be a regular file: missing, a directory or anything else is an InputFileError
 * saying what was expected (`expected`, e.g. 'a .safetensors checkpoint file').
 */
export function checkInputFile(path: string, expected: string, maxBytes = MAX_INPUT_FILE_BYTES): number {
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new InputFileError(path, 'does not exist', expected);
    if (code === 'ENOTDIR') throw new InputFileError(path, 'does not exist (a part of the path is not a directory)', expected);
    throw new InputFileError(path, `cannot be read (${(e as Error).message})`, expected);
  }
  if (st.isDirectory()) throw new InputFileError(path, 'is a directory', expected);
  if (!st.isFile()) throw new InputFileError(path, 'is not a regular file', expected);
  if (st.size > maxBytes) throw new InputFileError(path, `is ${st.size} bytes, more than the ${maxBytes} this reader accepts`, expected);
  return st.size;
}

/** `readFileSync(path)` after `checkInputFile`: every failure names the path and what was expected. */
export function readInputFile(path: string, expected: string, maxBytes = MAX_INPUT_FILE_BYTES): Buffer {
  checkInputFile(path, expected, maxBytes);
  try {
    return readFileSync(path);
  } catch (e) {
    throw new InputFileError(path, `cannot be read (${(e as Error).message})`, expected);
  }
}

/** `JSON.parse` of a user file's text; a syntax error names the file. */
export function parseJsonFile(path: string, text: string, expected: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw new InputFileError(path, `is not valid JSON (${(e as Error).message})`, expected);
  }
}
