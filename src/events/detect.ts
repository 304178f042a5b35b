import { open } from 'node:fs/promises';
import type { EventFormat } from './types.js';
import { EventFormatError } from './errors.js';

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

function startsWith(head: Uint8Array, text: string): boolean {
  if (head.length < text.length) return false;
  for (let i = 0; i < text.length; i++) if (head[i] !== text.charCodeAt(i)) return false;
  return true;
}

/**
 * Identify an event container by its first bytes (never by extension).
 * AEDAT 2 files may start with any `#` header line (jAER writes `#!AER-DAT2.0`; some older tools omit it).
 */
export function detectFormat(head: Uint8Array): EventFormat | undefined {
  if (startsWith(head, '#!AER-DAT4')) return 'aedat4';
  if (startsWith(head, '#!AER-DAT3')) return 'aedat3.1';
  if (startsWith(head, '#!AER-DAT2') || startsWith(head, '#!AER-DAT1') || startsWith(head, '#')) return 'aedat2';
  if (HDF5_SIGNATURE.every((b, i) => head[i] === b)) return 'ddd17-hdf5';
  return undefined;
}

/** Read the head of `path` and detect its format; throws a typed error naming the file when unknown. */
export async function detectFileFormat(path: string): Promise<EventFormat> {
  const fh = await open(path, 'r');
  try {
    const head = new Uint8Array(16);
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    if (bytesRead === 0) throw new EventFormatError('empty', path, 0, 'an event file (AEDAT 2/3.1/4 or DDD17 HDF5)', 'an empty file');
    const format = detectFormat(head.subarray(0, bytesRead));
    if (!format) {
      const shown = Array.from(head.subarray(0, Math.min(bytesRead, 8)), (b) => b.toString(16).padStart(2, '0')).join(' ');
      throw new EventFormatError('unknown-format', path, 0, "'#!AER-DAT' header or HDF5 signature", `bytes ${shown}`);
    }
    return format;
  } finally {
    await fh.close();
  }
}
