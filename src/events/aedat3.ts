/**
 * AEDAT 3.1 decoder: `#!AER-DAT3.1` header lines up to `#!END-HEADER`, then cAER packets (see caer.ts).
 *
 * Sensor size: from a `#Source <id>: <chip>` header line (e.g. `DAVIS240C`), else `width`/`height` options,
 * else inferred from the largest coordinates seen (batches then carry the size known so far; `info()` has the
 * final one). Options override the header.
 *
 * Faults. A packet header that cannot be real (negative sizes, number > capacity, absurd size, wrong event
 * size for its type, unknown type with absurd size): strict mode throws `corrupt-packet`; otherwise one
 * warning is issued and the decoder resynchronises by sliding one byte at a time until a header of a known
 * type passes all checks (bytes skipped are counted in `skipped.resyncBytes`). A packet cut by the end of
 * input: `truncated` warning (error in strict) naming the packet's byte offset; its events are dropped.
 */
import { BatchBuilder } from './batch-builder.js';
import { ByteQueue } from './byte-queue.js';
import {
  CAER_HEADER_BYTES,
  CaerEventType,
  caerFrameSize,
  caerHeaderProblem,
  caerPayloadBytes,
  caerTypeName,
  countSkippedPacket,
  decodeCaerPolarity,
  parseCaerHeader,
  sensorSizeFromName,
} from './caer.js';
import { CommentHeaderReader } from './header-lines.js';
import type { DecoderOptions, DecoderSink, EventDecoder } from './decoder.js';
import { EventFormatError, warningFrom } from './errors.js';
import type { SkipCounts, StreamInfo } from './types.js';

export interface Aedat3Options extends DecoderOptions {
  /** Sensor size override (else from the header, else inferred from coordinates). */
  width?: number;
  height?: number;
}

const MAGIC = '#!AER-DAT3.';
const FLUSH_EVENTS = 1 << 16;
const STAGE_LIMIT = 4096;

export class Aedat3Decoder implements EventDecoder {
  private readonly header: CommentHeaderReader;
  private readonly queue = new ByteQueue();
  private readonly skipped: SkipCounts = {};
  private readonly strict: boolean;
  private readonly source: string;
  private readonly builder = new BatchBuilder(0, 0, 8192);
  private magicBytes = '';
  private seenBytes = 0;
  private dataStarted = false;
  private resyncing = false;
  private sizeKnown = false;
  private maxX = -1;
  private maxY = -1;
  private sensor: string | undefined;
  private packets = 0;
  private ended = false;
  private stage = new Uint8Array(256);
  private stageLength = 0;
  /** Bytes the queue must hold before drain() can make progress. */
  private need = CAER_HEADER_BYTES;

  constructor(
    private readonly sink: DecoderSink,
    private readonly opts: Aedat3Options,
  ) {
    this.source = opts.source;
    this.strict = opts.strict ?? false;
    this.header = new CommentHeaderReader(this.source, (l) => /^#!END-HEADER/.test(l));
    if (opts.width && opts.height) {
      this.builder.width = opts.width;
      this.builder.height = opts.height;
      this.sizeKnown = true;
    }
  }

  push(chunk: Uint8Array): void {
    if (this.ended) throw new Error('Aedat3Decoder: push() after end()');
    if (chunk.length === 0) return;
    this.seenBytes += chunk.length;
    let from = 0;
    if (!this.header.done) {
      this.checkMagic(chunk);
      from = this.header.feed(chunk);
      if (!this.header.done) return;
      this.queue.offset = this.header.bytes;
      this.startData();
    }
    const data = from === 0 ? chunk : chunk.subarray(from);
    if (data.length < STAGE_LIMIT) {
      // Tiny chunks are gathered until the next step can run: ByteQueue costs per chunk, and a 32 KB packet
      // arriving byte by byte would otherwise be 32768 chunks.
      if (this.stageLength + data.length > this.stage.length) {
        const grown = new Uint8Array(Math.max(this.stage.length * 2, this.stageLength + data.length));
        grown.set(this.stage.subarray(0, this.stageLength));
        this.stage = grown;
      }
      this.stage.set(data, this.stageLength);
      this.stageLength += data.length;
      if (this.queue.available + this.stageLength < this.need) return;
      this.pushStage();
    } else {
      this.pushStage();
      this.queue.push(data);
    }
    this.drain();
    this.flush();
  }

  private pushStage(): void {
    if (this.stageLength === 0) return;
    this.queue.push(this.stage.slice(0, this.stageLength));
    this.stageLength = 0;
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.seenBytes === 0) throw new EventFormatError('empty', this.source, 0, 'an AEDAT 3.1 file', 'zero bytes');
    if (!this.header.done) {
      this.startData();
      this.fault(new EventFormatError('truncated', this.source, this.header.bytes, "a '#!END-HEADER' line", 'end of input inside the header'));
      return;
    }
    this.pushStage();
    this.drain();
    this.flush();
    const left = this.queue.available;
    if (left === 0) return;
    const at = this.queue.offset;
    if (this.resyncing) {
      this.bump('resyncBytes', left);
      this.queue.skip(left);
      return; // already reported when the corruption started
    }
    let expected = `a ${CAER_HEADER_BYTES}-byte packet header`;
    if (left >= CAER_HEADER_BYTES) {
      const h = parseCaerHeader(this.queue.peek(CAER_HEADER_BYTES)!);
      expected = `a whole ${caerPayloadBytes(h) + CAER_HEADER_BYTES}-byte ${caerTypeName(h.eventType)} packet`;
    }
    this.queue.skip(left);
    this.fault(new EventFormatError('truncated', this.source, at, expected, `${left} bytes before the end of input`));
  }

  info(): StreamInfo {
    const header: Record<string, string | number> = { headerLines: this.header.lines.length, headerBytes: this.header.bytes, packets: this.packets };
    if (this.header.lines[0]) header['version'] = this.header.lines[0];
    if (this.sensor) header['sensor'] = this.sensor;
    for (const l of this.header.lines) {
      const m = /^#(Format|Start-Time|Source \d+):\s*(.*)$/.exec(l);
      if (m) header[m[1]!] = m[2]!;
    }
    return { format: 'aedat3.1', width: this.width(), height: this.height(), skipped: { ...this.skipped }, header };
  }

  private width(): number {
    return this.sizeKnown ? this.builder.width : this.maxX + 1;
  }

  private height(): number {
    return this.sizeKnown ? this.builder.height : this.maxY + 1;
  }

  private checkMagic(chunk: Uint8Array): void {
    if (this.magicBytes.length >= MAGIC.length) return;
    for (let i = 0; i < chunk.length && this.magicBytes.length < MAGIC.length; i++) this.magicBytes += String.fromCharCode(chunk[i]!);
    if (!MAGIC.startsWith(this.magicBytes)) {
      throw new EventFormatError('bad-magic', this.source, 0, `'#!AER-DAT3.1'`, `'${this.magicBytes.replace(/[^\x20-\x7e]/g, '?')}'`);
    }
  }

  private startData(): void {
    if (this.dataStarted) return;
    this.dataStarted = true;
    const version = this.header.lines[0] ?? '';
    if (version !== '' && !version.startsWith('#!AER-DAT3.1')) {
      const err = new EventFormatError('bad-header', this.source, 0, "'#!AER-DAT3.1'", `'${version}' (decoded as 3.1)`);
      if (this.strict) throw err;
      this.sink.warn?.(warningFrom(err));
    }
    const format = this.header.lines.find((l) => l.startsWith('#Format:'));
    if (format && !/^#Format:\s*RAW\s*$/i.test(format)) {
      throw new EventFormatError('unsupported', this.source, 0, "'#Format: RAW'", `'${format}'`);
    }
    for (const l of this.header.lines) {
      if (!/^#-?Source\b/i.test(l)) continue;
      const s = sensorSizeFromName(l);
      if (s) {
        this.sensor = s.sensor;
        if (!this.sizeKnown) {
          this.builder.width = s.width;
          this.builder.height = s.height;
          this.sizeKnown = true;
        }
        break;
      }
    }
  }

  private drain(): void {
    const q = this.queue;
    this.need = CAER_HEADER_BYTES;
    for (;;) {
      if (q.available < CAER_HEADER_BYTES) return;
      const h = parseCaerHeader(q.peek(CAER_HEADER_BYTES)!);
      if (this.resyncing) {
        if (caerHeaderProblem(h, true) === undefined) {
          this.resyncing = false;
        } else {
          q.skip(1);
          this.bump('resyncBytes', 1);
          continue;
        }
      }
      const problem = caerHeaderProblem(h);
      if (problem !== undefined) {
        this.fault(new EventFormatError('corrupt-packet', this.source, q.offset, 'a valid cAER packet header', problem));
        this.resyncing = true;
        q.skip(1);
        this.bump('resyncBytes', 1);
        continue;
      }
      const payloadBytes = caerPayloadBytes(h);
      if (q.available < CAER_HEADER_BYTES + payloadBytes) {
        this.need = CAER_HEADER_BYTES + payloadBytes;
        return;
      }
      q.skip(CAER_HEADER_BYTES);
      const payload = q.take(payloadBytes)!;
      this.packets++;
      this.packet(h, payload);
      if (this.builder.length >= FLUSH_EVENTS) this.flush();
    }
  }

  private packet(h: ReturnType<typeof parseCaerHeader>, payload: Uint8Array): void {
    if (h.eventType === CaerEventType.polarity) {
      const start = this.builder.length;
      decodeCaerPolarity(h, payload, this.builder, this.skipped);
      if (!this.sizeKnown) {
        const { x, y } = this.builder;
        let mx = this.maxX;
        let my = this.maxY;
        for (let i = start; i < this.builder.length; i++) {
          if (x[i]! > mx) mx = x[i]!;
          if (y[i]! > my) my = y[i]!;
        }
        this.maxX = mx;
        this.maxY = my;
      }
      return;
    }
    if (h.eventType === CaerEventType.frame && !this.sizeKnown) {
      const s = caerFrameSize(h, payload);
      if (s) {
        this.builder.width = s.width;
        this.builder.height = s.height;
        this.sizeKnown = true;
      }
    }
    countSkippedPacket(h, this.skipped);
  }

  private bump(key: string, by: number): void {
    this.skipped[key] = (this.skipped[key] ?? 0) + by;
  }

  private fault(err: EventFormatError): void {
    this.flush();
    if (this.strict) throw err;
    this.sink.warn?.(warningFrom(err));
  }

  private flush(): void {
    if (!this.sizeKnown) {
      this.builder.width = this.maxX + 1;
      this.builder.height = this.maxY + 1;
    }
    const b = this.builder.flush();
    if (b) this.sink.batch(b);
  }
}
