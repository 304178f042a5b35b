/**
 * The sensor size a whole file will decode with, known before its first event is framed or written.
 *
 * Most containers state their size up front (AEDAT 2 / 3.1 / 4 headers, DDD17 frames, Prophesee headers
 * that name a geometry, sensor generation or plugin). A file that states none gets the largest
 * coordinates + 1, which a streaming reader only knows at the end: framing and writers that fix their size
 * at the first batch would otherwise cut the events beyond the first batch's extent. For those files this
 * reads the file once (decoding only, no time guard) to learn the final size.
 */
import { detectFile } from './detect.js';
import type { FormatWarning } from './errors.js';
import { CommentHeaderReader, PERCENT } from './header-lines.js';
import { isPropheseeHeaderEnd, parsePropheseeHeader, resolveGeometry } from './prophesee/header.js';
import { readEventFile } from './read-file.js';
import type { EventFormat } from './types.js';

export interface SensorSize {
  width: number;
  height: number;
  /** 'stated': the file (or `--sensor`) says it; 'scanned': largest coordinates + 1 over the whole file. */
  from: 'stated' | 'scanned';
}

const UNSTATED_CAPABLE: ReadonlySet<EventFormat> = new Set(['evt2', 'evt2.1', 'evt3', 'dat']);

/**
 * Undefined when the reader will find the size itself before the first batch (the file states it, or
 * `option` is given); otherwise the scanned size. Warnings of the scan (e.g. `guessed-size`) go to `onWarning`.
 */
export async function scanSensorSizeIfUnstated(
  path: string,
  opts: { option?: { width: number; height: number }; strict?: boolean; onWarning?: (w: FormatWarning) => void } = {},
): Promise<SensorSize | undefined> {
  if (opts.option) return undefined;
  const { format, head } = await detectFile(path);
  if (!UNSTATED_CAPABLE.has(format)) return undefined;
  const reader = new CommentHeaderReader(path, isPropheseeHeaderEnd, PERCENT);
  reader.feed(head);
  if (resolveGeometry(parsePropheseeHeader(reader.lines))) return undefined;
  const info = await readEventFile(path, () => {}, { maxGapUs: 0, strict: opts.strict, onWarning: (w) => w.kind === 'guessed-size' && opts.onWarning?.(w) });
  return { width: Math.max(1, info.width), height: Math.max(1, info.height), from: 'scanned' };
}
