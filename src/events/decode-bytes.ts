/**
 * Decode an event container held in memory (a fetched file, a drag-and-dropped File's bytes): the byte-level
 * counterpart of readEventFile for places without a file system. Same detection (detect-format.ts), same
 * decoders (create-decoder.ts), same timestamp guard; no I/O, so browser-safe.
 */
import type { FormatWarning } from './errors.js';
import type { EventBatch, StreamInfo } from './types.js';
import { EventFormatError } from './errors.js';
import { DETECT_HEAD_BYTES, detectFormat } from './detect-format.js';
import { createDecoder, type CreateDecoderOptions } from './create-decoder.js';
import { DEFAULT_MAX_GAP_US, TimeGuard } from './time-guard.js';

export interface DecodeBytesOptions extends Partial<Pick<CreateDecoderOptions, 'source' | 'strict' | 'sensor' | 'sensorSize'>> {
  onWarning?: (w: FormatWarning) => void;
  /** Timestamp guard as readEventFile's `maxGapUs` (default 10 s; 0 turns it off). */
  maxGapUs?: number;
}

/**
 * Detect the format of `bytes` (a whole file, or its chunks in order: any chunking gives the same result) and hand each decoded batch to
 * `onBatch` in order; returns what the decoder learned. Errors are `EventFormatError`s naming `source`
 * (default '(bytes)') and the byte offset, thrown after every batch decoded before the fault was delivered.
 * HDF5 files need readEventFile (Node).
 */
export function decodeEventBytes(bytes: Uint8Array | Iterable<Uint8Array>, onBatch: (batch: EventBatch) => void, opts: DecodeBytesOptions = {}): StreamInfo {
  const source = opts.source ?? '(bytes)';
  const chunks = bytes instanceof Uint8Array ? [bytes] : bytes;
  const guard = new TimeGuard({ maxGapUs: opts.maxGapUs ?? DEFAULT_MAX_GAP_US });
  const deliver = (b: EventBatch): void => {
    const g = guard.push(b);
    if (g.length > 0) onBatch(g);
  };
  let decoder: ReturnType<typeof createDecoder> | undefined;
  // Chunks are held (at most DETECT_HEAD_BYTES) until the head is long enough to detect the format.
  let head: Uint8Array[] = [];
  let headBytes = 0;
  const start = (): void => {
    const joined = new Uint8Array(headBytes);
    let at = 0;
    for (const c of head) joined.set(c, (at += c.length) - c.length);
    head = [];
    const format = detectFormat(joined);
    if (!format) throw new EventFormatError('unknown-format', source, 0, "'#!AER-DAT' header or a Prophesee '%' header", 'bytes of no known event format');
    decoder = createDecoder(format, { batch: deliver, warn: opts.onWarning }, { source, strict: opts.strict, sensor: opts.sensor, sensorSize: opts.sensorSize });
    decoder.push(joined);
  };
  try {
    for (const chunk of chunks) {
      if (decoder) {
        decoder.push(chunk);
        continue;
      }
      head.push(chunk);
      headBytes += chunk.length;
      if (headBytes >= DETECT_HEAD_BYTES) start();
    }
    if (!decoder) {
      if (headBytes === 0) throw new EventFormatError('empty', source, 0, 'an event file (AEDAT 2/3.1/4, Prophesee RAW/DAT)', 'no bytes');
      start();
    }
    decoder!.end();
  } catch (err) {
    // Events decoded before the fault come first, including a run the guard still held undecided.
    if (guard.held > 0) onBatch(guard.releaseHeld());
    throw err;
  }
  guard.end();
  return { ...decoder!.info(), outliers: guard.outliers, discontinuities: guard.discontinuities, jumps: guard.jumps.slice() };
}
