/**
 * Decode an event container held in memory (a fetched file, a drag-and-dropped File's bytes): the byte-level
 * counterpart of readEventFile for places without a file system. Same detection (detect-format.ts), same
 * decoders (create-decoder.ts), same timestamp guard; no I/O, so browser-safe. `EventBytesDecoder` is the
 * push form (chunks as they arrive, e.g. from a File's stream in a browser); `decodeEventBytes` drives it
 * over bytes already at hand.
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
 * Push decoding of an event container: `push(chunk)` in order (any chunking gives the same batches),
 * then `end()`. The format is detected from the head (chunks are held, at most DETECT_HEAD_BYTES, until
 * it is long enough); each decoded batch goes to `onBatch` in order. Errors are `EventFormatError`s naming
 * `source` (default '(bytes)') and the byte offset, thrown by push / end after every batch decoded before
 * the fault was delivered. HDF5 files need readEventFile (Node).
 */
export class EventBytesDecoder {
  private readonly source: string;
  private readonly guard: TimeGuard;
  private decoder: ReturnType<typeof createDecoder> | undefined;
  private head: Uint8Array[] = [];
  private headBytes = 0;

  constructor(
    private readonly onBatch: (batch: EventBatch) => void,
    private readonly opts: DecodeBytesOptions = {},
  ) {
    this.source = opts.source ?? '(bytes)';
    this.guard = new TimeGuard({ maxGapUs: opts.maxGapUs ?? DEFAULT_MAX_GAP_US });
  }

  private deliver = (b: EventBatch): void => {
    const g = this.guard.push(b);
    if (g.length > 0) this.onBatch(g);
  };

  private start(): void {
    const joined = new Uint8Array(this.headBytes);
    let at = 0;
    for (const c of this.head) joined.set(c, (at += c.length) - c.length);
    this.head = [];
    const format = detectFormat(joined);
    if (!format) throw new EventFormatError('unknown-format', this.source, 0, "'#!AER-DAT' header or a Prophesee '%' header", 'bytes of no known event format');
    const o = this.opts;
    this.decoder = createDecoder(format, { batch: this.deliver, warn: o.onWarning }, { source: this.source, strict: o.strict, sensor: o.sensor, sensorSize: o.sensorSize });
    this.decoder.push(joined);
  }

  /** Runs `f`; on a fault, events decoded before it come first (including a run the guard still held undecided). */
  private guarded(f: () => void): void {
    try {
      f();
    } catch (err) {
      if (this.guard.held > 0) this.onBatch(this.guard.releaseHeld());
      throw err;
    }
  }

  push(chunk: Uint8Array): void {
    this.guarded(() => {
      if (this.decoder) return this.decoder.push(chunk);
      this.head.push(chunk);
      this.headBytes += chunk.length;
      if (this.headBytes >= DETECT_HEAD_BYTES) this.start();
    });
  }

  /** The end of the bytes: flushes the decoder and the guard; returns what the decoder learned. */
  end(): StreamInfo {
    this.guarded(() => {
      if (!this.decoder) {
        if (this.headBytes === 0) throw new EventFormatError('empty', this.source, 0, 'an event file (AEDAT 2/3.1/4, Prophesee RAW/DAT)', 'no bytes');
        this.start();
      }
      this.decoder!.end();
    });
    const last = this.guard.end();
    if (last.length > 0) this.onBatch(last);
    const g = this.guard;
    return { ...this.decoder!.info(), outliers: g.outliers, discontinuities: g.discontinuities, jumps: g.jumps.slice() };
  }
}

/**
 * Detect the format of `bytes` (a whole file, or its chunks in order: any chunking gives the same result) and hand each decoded batch to
 * `onBatch` in order; returns what the decoder learned. Errors are `EventFormatError`s naming `source`
 * (default '(bytes)') and the byte offset, thrown after every batch decoded before the fault was delivered.
 * HDF5 files need readEventFile (Node).
 */
export function decodeEventBytes(bytes: Uint8Array | Iterable<Uint8Array>, onBatch: (batch: EventBatch) => void, opts: DecodeBytesOptions = {}): StreamInfo {
  const d = new EventBytesDecoder(onBatch, opts);
  for (const chunk of bytes instanceof Uint8Array ? [bytes] : bytes) d.push(chunk);
  return d.end();
}
