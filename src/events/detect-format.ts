/** Format detection from a file's first bytes: no I/O, so browsers can use it too (detect.ts reads files). */
import type { EventFormat } from './types.js';
import { CommentHeaderReader, PERCENT } from './header-lines.js';
import { isPropheseeHeaderEnd, parsePropheseeHeader } from './prophesee/header.js';

/** The 8 bytes every HDF5 file starts with (at offset 0 here: a user block would move them). */
export const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
/** Bytes read to detect a format: enough for any real Prophesee header (they are a few hundred bytes). */
export const DETECT_HEAD_BYTES = 64 * 1024;

function startsWith(head: Uint8Array, text: string): boolean {
  if (head.length < text.length) return false;
  for (let i = 0; i < text.length; i++) if (head[i] !== text.charCodeAt(i)) return false;
  return true;
}

/** What a `%` header says the file is: a RAW encoding, DAT, or nothing known. */
function detectPercentHeader(head: Uint8Array): EventFormat | undefined {
  const reader = new CommentHeaderReader('(detect)', isPropheseeHeaderEnd, PERCENT);
  try {
    reader.feed(head);
  } catch {
    return undefined; // a runaway header: the decoder reports it with its offset
  }
  const facts = parsePropheseeHeader(reader.lines);
  if (facts.encoding) return facts.encoding;
  if (facts.dat) return 'dat';
  return undefined;
}

/**
 * Identify an event container by its first bytes (never by extension).
 * AEDAT 2 files may start with any `#` header line (jAER writes `#!AER-DAT2.0`; some older tools omit it).
 * Prophesee files start with `%` lines: RAW files name their encoding (`% evt 3.0`, `% format EVT3;...`),
 * DAT files say `% Data file containing ...`. HDF5 files are all reported as `ddd17-hdf5` here; the reader
 * tells a DDD17 recording from an event-array file by its datasets.
 */
export function detectFormat(head: Uint8Array): EventFormat | undefined {
  if (startsWith(head, '#!AER-DAT4')) return 'aedat4';
  if (startsWith(head, '#!AER-DAT3')) return 'aedat3.1';
  if (startsWith(head, '#!AER-DAT2') || startsWith(head, '#!AER-DAT1') || startsWith(head, '#')) return 'aedat2';
  if (HDF5_SIGNATURE.every((b, i) => head[i] === b)) return 'ddd17-hdf5';
  if (head[0] === PERCENT) return detectPercentHeader(head);
  return undefined;
}
