/**
 * The part every Prophesee decoder shares (RAW EVT 2.0 / 2.1 / 3.0, DAT): the `%` header, an optional
 * fixed preamble after it (DAT's event type and size bytes), fixed-size little-endian words cut at any
 * chunk boundary, the sensor geometry, and the bookkeeping of skipped words and trailing bytes.
 *
 * A subclass decodes whole words only: `decodeWords` receives a byte array holding a whole number of words
 * whose byteOffset is a multiple of 8, so it may view it as Uint16Array / Uint32Array / BigUint64Array
 * without copying. Bytes of a word cut by a chunk boundary are carried over (at most wordBytes - 1).
 * Output is identical for any chunking; memory is bounded by one chunk.
 *
 * Geometry (header.ts): the header, else the sensor generation / plugin, else `sensorSize` (--sensor),
 * else the largest coordinate seen + 1, with a `guessed-size` warning at the end. With a known size, events
 * outside it are skipped and counted (`outOfRange`): framing allocates its grids from the size.
 */
import { BatchBuilder } from '../batch-builder.js';
import type { DecoderOptions, DecoderSink, EventDecoder } from '../decoder.js';
import { EventFormatError, warningFrom } from '../errors.js';
import { CommentHeaderReader, PERCENT } from '../header-lines.js';
import type { EventBatch, EventFormat, SkipCounts, StreamInfo } from '../types.js';
import { type Geometry, type PropheseeHeaderFacts, isPropheseeHeaderEnd, parsePropheseeHeader, resolveGeometry } from './header.js';

export interface PropheseeDecoderOptions extends DecoderOptions {
  /** Sensor size to use when the file does not state one (`--sensor WxH`); the file wins when it does. */
  sensorSize?: { width: number; height: number };
}

/** Events gathered before a batch is handed on, at most (a batch per chunk otherwise). */
const FLUSH_EVENTS = 1 << 18;

export abstract class PropheseeWordDecoder implements EventDecoder {
  protected abstract readonly format: EventFormat;
  /** Bytes per word: 2 (EVT 3.0), 4 (EVT 2.0), 8 (EVT 2.1, DAT records). */
  protected abstract readonly wordBytes: number;
  /** Bytes between the header and the first word (DAT: 2). */
  protected readonly preambleBytes: number = 0;

  protected readonly builder = new BatchBuilder(0, 0, 1 << 16);
  protected readonly skipped: SkipCounts = {};
  protected readonly source: string;
  protected readonly strict: boolean;
  /** Coordinates must be below these (the sensor size when known, else 65536: anything a Uint16 holds). */
  protected limitX = 65536;
  protected limitY = 65536;
  /** Header facts, once the header has been read. */
  protected facts: PropheseeHeaderFacts = { fields: {}, dat: false };

  private readonly header: CommentHeaderReader;
  private geometry: Geometry | undefined;
  private maxX = -1;
  private maxY = -1;
  /** Builder events already scanned for maxX / maxY. */
  private scanned = 0;
  private preamble = new Uint8Array(0);
  /** Absolute offset of the next data byte not yet handed to decodeWords (carry included). */
  private consumed = 0;
  private carry: Uint8Array;
  private carryLength = 0;
  private scratch = new Uint8Array(0);
  private ended = false;

  constructor(
    protected readonly sink: DecoderSink,
    protected readonly opts: PropheseeDecoderOptions,
  ) {
    this.source = opts.source;
    this.strict = opts.strict ?? false;
    this.header = new CommentHeaderReader(this.source, isPropheseeHeaderEnd, PERCENT);
    this.carry = new Uint8Array(8);
  }

  /** Decode `words.length / wordBytes` whole words starting at absolute byte `offset`; push events into builder. */
  protected abstract decodeWords(words: Uint8Array, offset: number): void;

  /** Check the preamble (the `preambleBytes` after the header); throw EventFormatError when it is wrong. */
  protected readPreamble(_bytes: Uint8Array, _offset: number): void {}

  /** Called once at end of input, before the final flush (decoders with state to report). */
  protected finish(): void {}

  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error(`${this.constructor.name}: push() after end()`);
    if (chunk.length === 0) return;
    let data = chunk;
    if (!this.header.done) {
      if (this.header.bytes === 0 && chunk[0] !== PERCENT) {
        throw new EventFormatError('bad-magic', this.source, 0, "a Prophesee '%' header line", `byte 0x${chunk[0]!.toString(16).padStart(2, '0')}`);
      }
      const from = this.header.feed(chunk);
      if (!this.header.done) return;
      this.startData();
      data = chunk.subarray(from);
    }
    if (this.preamble.length < this.preambleBytes) {
      const take = Math.min(this.preambleBytes - this.preamble.length, data.length);
      const grown = new Uint8Array(this.preamble.length + take);
      grown.set(this.preamble);
      grown.set(data.subarray(0, take), this.preamble.length);
      this.preamble = grown;
      data = data.subarray(take);
      if (this.preamble.length < this.preambleBytes) return;
      this.readPreamble(this.preamble, this.header.bytes);
      this.consumed = this.header.bytes + this.preambleBytes;
    }
    if (data.length === 0) return;
    this.feedData(data);
    this.flush();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (!this.header.done) {
      // A file of header lines only (or empty): no events. The header is complete if the last line ended.
      const pending = this.header.pendingLine;
      this.header.done = true;
      this.startData();
      if (pending !== undefined) {
        this.fault(new EventFormatError('truncated', this.source, this.header.bytes, 'the end of a header line', 'end of input inside the header'));
      }
    } else if (this.preamble.length < this.preambleBytes && this.preambleBytes > 0) {
      this.fault(new EventFormatError('truncated', this.source, this.header.bytes, `${this.preambleBytes} bytes (event type and size) after the header`, `${this.preamble.length}`));
    }
    this.finish();
    this.flush();
    if (this.carryLength > 0) {
      const at = this.consumed;
      const left = this.carryLength;
      this.carryLength = 0;
      this.fault(new EventFormatError('truncated', this.source, at, `a whole ${this.wordBytes}-byte word`, `${left} trailing bytes`));
    }
    if (!this.geometry && this.size().width > 0) {
      this.sink.warn?.({
        kind: 'guessed-size',
        source: this.source,
        offset: 0,
        message: `${this.source}: the header states no sensor size: using ${this.maxX + 1} x ${this.maxY + 1} (largest coordinates + 1); pass --sensor WxH to set it`,
      });
    }
  }

  info(): StreamInfo {
    const header: Record<string, string | number> = { headerLines: this.header.lines.length, headerBytes: this.header.bytes };
    // Field keys are lower-cased, so none replaces headerLines / headerBytes.
    for (const [k, v] of Object.entries(this.facts.fields)) if (v !== '') header[k] = v;
    const size = this.size();
    return {
      format: this.format,
      width: size.width,
      height: size.height,
      sizeFrom: this.geometry?.from ?? 'max+1',
      skipped: { ...this.skipped },
      header,
    };
  }

  /** Count a skipped item (`outOfRange`, `trigger`, `others`, `unknownWord`, ...). */
  protected bump(kind: string, n = 1): void {
    this.skipped[kind] = (this.skipped[kind] ?? 0) + n;
  }

  /** A non-fatal problem: a warning (reading goes on), or the error in strict mode. */
  protected fault(err: EventFormatError): void {
    if (this.strict) throw err;
    this.sink.warn?.(warningFrom(err));
  }

  private startData(): void {
    this.facts = parsePropheseeHeader(this.header.lines);
    this.geometry = resolveGeometry(this.facts, this.opts.sensorSize);
    if (this.geometry) {
      this.limitX = this.geometry.width;
      this.limitY = this.geometry.height;
      this.builder.width = this.geometry.width;
      this.builder.height = this.geometry.height;
    }
    this.consumed = this.header.bytes;
  }

  private feedData(data: Uint8Array): void {
    const wb = this.wordBytes;
    const total = this.carryLength + data.length;
    const whole = total - (total % wb);
    if (whole === 0) {
      this.carry.set(data, this.carryLength);
      this.carryLength += data.length;
      return;
    }
    let words: Uint8Array;
    let rest: Uint8Array;
    if (this.carryLength === 0 && data.byteOffset % 8 === 0) {
      words = data.subarray(0, whole);
      rest = data.subarray(whole);
    } else {
      // Realign (a word cut by the previous chunk, or data starting after an odd-sized header).
      if (this.scratch.length < whole) this.scratch = new Uint8Array(Math.max(whole, this.scratch.length * 2));
      this.scratch.set(this.carry.subarray(0, this.carryLength), 0);
      const fromData = whole - this.carryLength;
      this.scratch.set(data.subarray(0, fromData), this.carryLength);
      words = this.scratch.subarray(0, whole);
      rest = data.subarray(fromData);
    }
    this.decodeWords(words, this.consumed);
    this.consumed += whole;
    this.carry.set(rest, 0);
    this.carryLength = rest.length;
  }

  /** Fold the builder's not yet scanned events into maxX / maxY (only used while the size is unknown). */
  private trackMax(): void {
    const { x, y, length } = this.builder;
    let mx = this.maxX;
    let my = this.maxY;
    for (let i = this.scanned; i < length; i++) {
      if (x[i]! > mx) mx = x[i]!;
      if (y[i]! > my) my = y[i]!;
    }
    this.maxX = mx;
    this.maxY = my;
    this.scanned = length;
  }

  private size(): { width: number; height: number } {
    if (this.geometry) return this.geometry;
    this.trackMax();
    return { width: this.maxX + 1, height: this.maxY + 1 };
  }

  protected flush(): void {
    if (this.builder.length === 0) return;
    if (!this.geometry) {
      this.trackMax();
      this.builder.width = this.maxX + 1;
      this.builder.height = this.maxY + 1;
    }
    const b = this.takeBatch();
    this.scanned = 0;
    this.sink.batch(b);
  }

  /**
   * The builder's events as a batch. A mostly full builder hands its arrays over as views (no copy) and gets
   * fresh ones of the same size: copying 13 bytes per event cost about a third of the decode time.
   * A sparse one is copied to size (BatchBuilder.flush) so a small batch never pins a large buffer.
   */
  private takeBatch(): EventBatch {
    const bl = this.builder;
    const n = bl.length;
    const cap = bl.t.length;
    if (n < cap >>> 1) return bl.flush()!;
    const batch: EventBatch = { t: bl.t.subarray(0, n), x: bl.x.subarray(0, n), y: bl.y.subarray(0, n), p: bl.p.subarray(0, n), length: n, width: bl.width, height: bl.height };
    bl.t = new Float64Array(cap);
    bl.x = new Uint16Array(cap);
    bl.y = new Uint16Array(cap);
    bl.p = new Uint8Array(cap);
    bl.length = 0;
    return batch;
  }

  /** Flush when the builder holds many events (call now and then from long decode loops). */
  protected maybeFlush(): void {
    if (this.builder.length >= FLUSH_EVENTS) this.flush();
  }
}
