/**
 * Recording the incoming events of a live run (`sinks.record`, `evstream run --record out.aedat4`).
 *
 * The recorder takes every batch the pipeline receives from its source (before framing, so nothing the
 * model's pace drops is missing) and hands it to an event-file writer on its own async loop:
 *
 * - Whole packets: after each group of queued batches the writer is flushed, so what is on disk is always
 *   a sequence of complete packets (AEDAT 4: the header says "no data table" until close). A killed process
 *   leaves a file that reads back up to its last whole packet; a clean close adds the file data table.
 * - Bounded memory: batches wait in a queue of at most `maxBufferedBytes` (13 bytes per event). When the disk
 *   cannot keep up, a file source is paused (backpressure: event time stands still, nothing is lost) and
 *   resumed once the queue is half empty; a live camera cannot be paused, so batches that do not fit are
 *   dropped whole, counted (`dropped`, `droppedBatches`) and logged, never silently.
 * - A write error (disk full, file removed) stops the recording with one log line and state 'error'; the
 *   run goes on.
 *
 * Writers plug in by path: `.aedat4` is Aedat4Writer; `.raw` is Evt3Writer (Prophesee EVT 3.0).
 */
import { Evt3Writer } from '../events/prophesee/evt3-writer.js';
import { accessSync, constants, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { Aedat4Writer, type Aedat4WriteCompression } from '../events/aedat4/writer.js';
import type { EventBatch } from '../events/types.js';

/** Bytes one queued event costs (t f64, x u16, y u16, p u8). */
export const BYTES_PER_EVENT = 13;

/** What the recorder needs from a file format: appends, whole packets on flush, a final close. */
export interface EventFileWriter {
  /** Buffer (and write whole packets of) a batch. */
  write(batch: EventBatch): Promise<void>;
  /** Put everything buffered on disk as whole packets. */
  flush(): Promise<void>;
  /** Flush, write any trailer (AEDAT 4: the data table), close the file. */
  close(): Promise<void>;
}

export type RecordFormat = 'aedat4' | 'evt3';

export interface RecordWriterOptions {
  /** AEDAT 4 packet compression (default lz4: what DV records, and cheap enough for any camera's rate). */
  compression?: Aedat4WriteCompression;
}

/** Opens the writer once the sensor size is known (from the first batch). */
export type OpenEventWriter = (geometry: { width: number; height: number }) => Promise<EventFileWriter>;

/** `.aedat4` -> AEDAT 4, `.raw` -> Prophesee EVT 3; anything else is refused (the extension is the contract). */
export function recordFormatOf(path: string): RecordFormat {
  const p = path.toLowerCase();
  if (p.endsWith('.aedat4')) return 'aedat4';
  if (p.endsWith('.raw')) return 'evt3';
  if (p.endsWith('.evpred')) throw new RangeError(`${path}: event recordings are .aedat4 (or .raw); class maps (.evpred) are recorded with --record-predictions / sinks.predictions`);
  throw new RangeError(`${path}: an event recording must end in .aedat4 (AEDAT 4) or .raw (Prophesee EVT 3)`);
}

/**
 * Refuse a path that cannot be recorded to before the run starts (the file itself is created with the
 * first batch, when the sensor size is known): unknown extension, missing or read-only folder, a folder.
 */
export function checkRecordPath(path: string): RecordFormat {
  const format = recordFormatOf(path);
  let dirOk = true;
  try {
    accessSync(dirname(path), constants.W_OK);
  } catch {
    dirOk = false;
  }
  if (!dirOk) throw new RangeError(`${path}: cannot record there (folder ${dirname(path)} is missing or not writable)`);
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    // absent: created on the first batch
  }
  if (isDir) throw new RangeError(`${path}: is a folder, expected a file to record to`);
  return format;
}

/** The writer for `path` by its extension (see recordFormatOf). */
export function openEventWriter(path: string, opts: RecordWriterOptions = {}): OpenEventWriter {
  const format = recordFormatOf(path);
  if (format === 'evt3') return async ({ width, height }) => Evt3Writer.open(path, { width, height });
  return async ({ width, height }) => {
    const w = await Aedat4Writer.open(path, { width, height, compression: opts.compression ?? 'lz4', sourceName: 'evstream-record' });
    return w; // write / flush / close as EventFileWriter asks
  };
}

export type RecorderState = 'waiting' | 'recording' | 'closed' | 'error';

/** What status / metrics report about a recording. */
export interface RecordingStatus {
  path: string;
  format: RecordFormat;
  state: RecorderState;
  /** Events received from the source. */
  received: number;
  /** Events written to the file (whole packets on disk after the next flush). */
  written: number;
  /** Events dropped because the queue was full (live sources), or left unwritten after a write error. */
  dropped: number;
  droppedBatches: number;
  /** Times the file source was paused because the disk fell behind. */
  backpressurePauses: number;
  /** Bytes waiting in the queue now, and the bound. */
  bufferedBytes: number;
  maxBufferedBytes: number;
  error?: string;
}

/** How a full queue is handled: pause the source (file replay) or drop and count (live camera). */
export type OverflowPolicy = { kind: 'drop' } | { kind: 'pause'; pause(): void; resume(): void };

export interface EventRecorderOptions {
  path: string;
  format: RecordFormat;
  open: OpenEventWriter;
  /** Queue bound in bytes (BYTES_PER_EVENT per event), default 32 MiB. */
  maxBufferedBytes?: number;
  overflow?: OverflowPolicy;
  log?: (line: string) => void;
}

function copyBatch(b: EventBatch): EventBatch {
  // a copy: the source's arrays may be views into a larger read buffer, which the queue would keep alive
  return { t: b.t.slice(), x: b.x.slice(), y: b.y.slice(), p: b.p.slice(), length: b.length, width: b.width, height: b.height };
}

export class EventRecorder {
  private readonly queue: EventBatch[] = [];
  private queued = 0;
  private writer: EventFileWriter | undefined;
  private loop: Promise<void> | undefined;
  private closing: Promise<void> | undefined;
  private pausedByUs = false;
  private readonly max: number;
  private readonly overflow: OverflowPolicy;
  private readonly log: (line: string) => void;
  private readonly s: RecordingStatus;

  constructor(private readonly opts: EventRecorderOptions) {
    this.max = opts.maxBufferedBytes ?? 32 * 2 ** 20;
    this.overflow = opts.overflow ?? { kind: 'drop' };
    this.log = opts.log ?? (() => {});
    this.s = { path: opts.path, format: opts.format, state: 'waiting', received: 0, written: 0, dropped: 0, droppedBatches: 0, backpressurePauses: 0, bufferedBytes: 0, maxBufferedBytes: this.max };
  }

  status(): RecordingStatus {
    return { ...this.s, bufferedBytes: this.queued };
  }

  /** One batch from the source (synchronous: queued, written by the loop). */
  push(batch: EventBatch): void {
    if (batch.length === 0) return;
    this.s.received += batch.length;
    if (this.closing || this.s.state === 'error') {
      this.drop(batch.length, this.s.state === 'error' ? 'the recording failed' : 'the recording is closing');
      return;
    }
    const bytes = batch.length * BYTES_PER_EVENT;
    if (this.overflow.kind === 'drop' && this.queued + bytes > this.max && this.queue.length > 0) {
      this.drop(batch.length, `the disk is behind (${this.queued} bytes queued, bound ${this.max})`);
      return;
    }
    this.queue.push(copyBatch(batch));
    this.queued += bytes;
    // a file source may hand on one more batch after the pause: the bound is exceeded by at most that one
    if (this.overflow.kind === 'pause' && this.queued > this.max && !this.pausedByUs) {
      this.pausedByUs = true;
      this.s.backpressurePauses++;
      this.overflow.pause();
    }
    this.loop ??= this.run();
  }

  private drop(n: number, why: string): void {
    this.s.dropped += n;
    this.s.droppedBatches++;
    // the first drop in full, then one line per 100 dropped batches
    if (this.s.droppedBatches === 1 || this.s.droppedBatches % 100 === 0) this.log(`evstream: record ${this.opts.path}: ${this.s.dropped} events dropped so far (${why})`);
  }

  /** Write queued batches until the queue is empty; flush after each group so the file ends on a whole packet. */
  private async run(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const b = this.queue[0]!;
        if (!this.writer) {
          this.writer = await this.opts.open({ width: b.width, height: b.height });
          this.s.state = 'recording';
        }
        await this.writer.write(b);
        this.queue.shift();
        this.queued -= b.length * BYTES_PER_EVENT;
        this.s.written += b.length;
        if (this.queue.length === 0) await this.writer.flush();
        if (this.pausedByUs && this.queued <= this.max / 2) {
          this.pausedByUs = false;
          if (this.overflow.kind === 'pause') this.overflow.resume();
        }
      }
    } catch (e) {
      this.fail(e);
    } finally {
      this.loop = undefined;
    }
    // batches pushed while the last await settled
    if (this.queue.length > 0 && this.s.state !== 'error') this.loop = this.run();
  }

  private fail(e: unknown): void {
    const msg = (e as Error).message ?? String(e);
    this.s.state = 'error';
    this.s.error = msg;
    const left = this.queued / BYTES_PER_EVENT;
    this.queue.length = 0;
    this.queued = 0;
    if (left > 0) this.drop(left, 'the recording failed');
    this.log(`evstream: record ${this.opts.path}: stopped recording: ${msg}`);
    if (this.pausedByUs && this.overflow.kind === 'pause') this.overflow.resume();
    this.pausedByUs = false;
  }

  /** Write what is queued, then close the file (AEDAT 4: with its data table). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      // until the write loop has emptied the queue (a loop that ended leaves `loop` unset or replaced)
      for (let l = this.loop; l; l = this.loop === l ? undefined : this.loop) await l;
      if (this.pausedByUs && this.overflow.kind === 'pause') this.overflow.resume();
      this.pausedByUs = false;
      const w = this.writer;
      if (!w) {
        if (this.s.state === 'waiting') {
          this.s.state = 'closed';
          this.log(`evstream: record ${this.opts.path}: no events received, no file written`);
        }
        return;
      }
      const failed = this.s.state === 'error';
      try {
        await w.close();
        if (!failed) this.s.state = 'closed';
      } catch (e) {
        if (!failed) this.fail(e); // after a write error the close failing too adds nothing
      }
    })();
    return this.closing;
  }
}
