import { open } from 'node:fs/promises';
import type { EventFormat } from './types.js';
import { EventFormatError } from './errors.js';
import { CommentHeaderReader, PERCENT } from './header-lines.js';
import { isPropheseeHeaderEnd, parsePropheseeHeader } from './prophesee/header.js';

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
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
