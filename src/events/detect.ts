import { open } from 'node:fs/promises';
import type { EventFormat } from './types.js';
import { EventFormatError } from './errors.js';
import { PERCENT } from './header-lines.js';
import { DETECT_HEAD_BYTES, detectFormat } from './detect-format.js';

export { DETECT_HEAD_BYTES, detectFormat } from './detect-format.js';

/** Read the head of `path` and detect its format; throws a typed error naming the file when unknown. */
export async function detectFileFormat(path: string): Promise<EventFormat> {
  return (await detectFile(path)).format;
}

/** The format of `path` and its first DETECT_HEAD_BYTES (for callers that parse the header next, so it is read once). */
export async function detectFile(path: string): Promise<{ format: EventFormat; head: Uint8Array }> {
  const fh = await open(path, 'r');
  try {
    const head = new Uint8Array(DETECT_HEAD_BYTES);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead === 0) throw new EventFormatError('empty', path, 0, 'an event file (AEDAT 2/3.1/4, Prophesee RAW/DAT or HDF5)', 'an empty file');
    const format = detectFormat(head.subarray(0, bytesRead));
    if (!format) {
      if (head[0] === PERCENT) {
        throw new EventFormatError('unknown-format', path, 0, "a Prophesee header naming its encoding ('% evt 2.0|2.1|3.0', '% format EVT3;...') or a DAT header ('% Data file containing ...')", 'a % header that names neither');
      }
      const shown = Array.from(head.subarray(0, Math.min(bytesRead, 8)), (b) => b.toString(16).padStart(2, '0')).join(' ');
      throw new EventFormatError('unknown-format', path, 0, "'#!AER-DAT' header, a Prophesee '%' header or the HDF5 signature", `bytes ${shown}`);
    }
    return { format, head: head.subarray(0, bytesRead) };
  } finally {
    await fh.close();
  }
}
