/**
 * Incremental AEDAT 4.0 decoder (files and the DV TCP stream form).
 *
 * Bytes are fed in any chunking; a small state machine gathers one unit at a time (version line, header
 * size, IOHeader, 8-byte packet header, packet payload), so at most one packet is buffered. Payloads of the
 * events stream are decompressed and decoded into one EventBatch per packet; other streams' payloads are
 * skipped as they stream past without being buffered.
 *
 * `info().skipped` keys (packet counts unless noted):
 * - by stream type: `imu` (IMUS), `frame` (FRME), `trigger` (TRIG), `events` (EVTS streams other than the
 *   first one), otherwise the typeIdentifier as written;
 * - `unknownStream`: packets whose stream id is not in the info XML (skipped by their size field);
 * - `fileDataTable`: 1 when the data table region was reached (it is not decoded as packets);
 * - `corruptPackets`: packets dropped after a decompression / parse error (non-strict);
 * - `unparsedBytes`: bytes ignored after an unrecoverable fault (non-strict) — bytes, not packets.
 *
 * Error policy:
 * - no input -> 'empty'; wrong version line -> 'bad-magic'; unreadable IOHeader -> 'bad-header' (with
 *   auto-detection, input that is neither form -> 'bad-magic'); input ending inside the header ->
 *   'truncated'. These are thrown in both modes: nothing can be decoded without the header.
 * - packet payload that fails to decompress ('decompression') or parse ('corrupt-packet'): non-strict
 *   warns and resumes at the next packet (the size field is intact); strict throws.
 * - a packet whose payload would decompress to more than `maxDecompressedBytes` (default 64 MiB; a
 *   decompression bomb): 'decompression', refused from the frame headers before anything is decompressed
 *   (see compression.ts); like any packet that fails to decompress, non-strict warns and resumes at the
 *   next packet.
 * - absurd packet size (negative, > `maxPacketBytes` (default 256 MiB), or running past the data table):
 *   'corrupt-packet'. Packets carry no sync marker, so there is no reliable resync: non-strict warns and
 *   ignores the rest of the input; strict throws.
 *
 * Memory: the buffer for the unit being gathered (header, packet payload) grows with the bytes that have
 * actually arrived, never to what a size field claims up front, so a packet claiming 256 MiB in a small file
 * or on a socket costs only the bytes received. At most `maxPacketBytes` + `maxDecompressedBytes` (plus the
 * decoded events) are held at once.
 * - input ending inside a packet, or before a data table the header announced: 'truncated' at the offset
 *   of the first missing/incomplete packet header; non-strict warns from end(), strict throws from end().
 * - bytes after the data table's compressed frame (appended garbage) or an unreadable data table:
 *   warning (strict: thrown from end()).
 * Batches are delivered to the sink as each packet is decoded, so everything before a fault has already
 * been delivered when the error is thrown.
 */
import type { EventArena } from '../event-arena.js';
import { EventFormatError, warningFrom, type FormatErrorKind } from '../errors.js';
import type { DecoderOptions, DecoderSink, EventDecoder } from '../decoder.js';
import { MAX_SENSOR_SIDE, plausibleSensorSize, type EventBatch, type SkipCounts, type StreamDescriptor, type StreamInfo } from '../types.js';
import {
  DecompressionLimitError,
  MAX_DECOMPRESSED_PACKET_BYTES,
  compressedFrameLength,
  packetDecompressor,
  type Aedat4Compression,
} from './compression.js';
import {
  MAX_DATA_TABLE_BYTES,
  MAX_IOHEADER_SIZE,
  MAX_PACKET_SIZE,
  VERSION_LINE,
  VERSION_LINE_BYTES,
  decodeEventPacket,
  maxOf,
  parseDataTable,
  parseIoHeader,
  type IoHeader,
} from './format.js';

export interface Aedat4DecoderOptions extends DecoderOptions {
  /**
   * true: input must start with `#!AER-DAT4.0\r\n` (file). false: it starts directly with the int32 header
   * size (DV TCP stream). 'auto' (default): a leading `#` means the file form.
   */
  expectVersionLine?: boolean | 'auto';
  /**
   * Largest packet payload accepted, by its size field (default MAX_PACKET_SIZE, 256 MiB, for files). The
   * live TCP source sets it lower. A larger size field is a 'corrupt-packet' fault. It also caps the IOHeader
   * size (itself capped at MAX_IOHEADER_SIZE, 64 MiB).
   */
  maxPacketBytes?: number;
  /**
   * Cap on one packet's decompressed size (default MAX_DECOMPRESSED_PACKET_BYTES, 64 MiB): larger is a
   * 'decompression' fault for that packet, found before decompressing.
   */
  maxDecompressedBytes?: number;
  /**
   * Pooled output (opt-in): batches' columns are carved from this arena, so a batch is valid only until the
   * owner's next `arena.reset()` (see event-arena.ts). Without it every batch owns fresh arrays.
   */
  arena?: EventArena;
}

const enum State {
  Detect,
  Version,
  HeaderSize,
  Header,
  PacketHeader,
  EventPayload,
  SkipPayload,
  DataTable,
  Stopped,
  Failed,
}

/** The data table is small (about 40 bytes per packet); beyond this it is skipped unchecked. */
const MAX_BUFFERED_TABLE = 64 * 1024 * 1024;
/** Initial size of the gathering buffer; it grows with the bytes received. */
const ACC_INITIAL = 64;

const KIND_BY_TYPE: Record<string, string> = { IMUS: 'imu', FRME: 'frame', TRIG: 'trigger', EVTS: 'events' };

export class Aedat4Decoder implements EventDecoder {
  private readonly source: string;
  private readonly strict: boolean;
  private readonly versionMode: boolean | 'auto';
  private readonly maxPacketBytes: number;
  private readonly maxDecompressedBytes: number;
  private readonly arena: EventArena | undefined;

  private state = State.Detect;
  /** Absolute offset of the next byte to be consumed. */
  private pos = 0;
  private acc = new Uint8Array(ACC_INITIAL);
  private accFill = 0;
  private need = 0;
  private skipLeft = 0;
  private tcpForm = false;

  private header: IoHeader | undefined;
  private ioHeaderSize = 0;
  private firstPacketOffset = -1;
  private decompress: ((src: Uint8Array) => Uint8Array) | undefined;
  private decompressTable: ((src: Uint8Array) => Uint8Array) | undefined;
  private eventsStreamId = -1;
  private kindByStream = new Map<number, string>();
  private xmlWidth: number | undefined;
  private xmlHeight: number | undefined;
  private maxX = -1;
  private maxY = -1;

  private packetStart = 0;
  private packetSize = 0;
  private readonly skipped: SkipCounts = {};
  private eventPackets = 0;
  private events = 0;
  private warnings = 0;
  private tableChunks: Uint8Array[] = [];
  private tableBytes = 0;
  private tableEntries: number | undefined;
  private fatal: EventFormatError | undefined;
  private ended = false;

  constructor(
    private readonly sink: DecoderSink,
    opts: Aedat4DecoderOptions,
  ) {
    this.source = opts.source;
    this.strict = opts.strict ?? false;
    this.versionMode = opts.expectVersionLine ?? 'auto';
    this.maxPacketBytes = Math.max(0, Math.min(opts.maxPacketBytes ?? MAX_PACKET_SIZE, 0x7fffffff));
    this.maxDecompressedBytes = opts.maxDecompressedBytes ?? MAX_DECOMPRESSED_PACKET_BYTES;
    this.arena = opts.arena;
  }

  push(chunk: Uint8Array): void {
    if (this.fatal) throw this.fatal;
    if (this.ended) throw new Error('Aedat4Decoder: push() after end()');
    const n = chunk.length;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case State.Detect: {
          const fileForm = this.versionMode === 'auto' ? chunk[i] === 0x23 /* '#' */ : this.versionMode;
          this.tcpForm = !fileForm;
          if (fileForm) this.gather(State.Version, VERSION_LINE_BYTES.length);
          else this.gather(State.HeaderSize, 4);
          continue;
        }
        case State.SkipPayload: {
          const k = Math.min(this.skipLeft, n - i);
          i += k;
          this.pos += k;
          this.skipLeft -= k;
          if (this.skipLeft === 0) this.expectPacketHeader();
          continue;
        }
        case State.DataTable: {
          const rest = n - i;
          if (this.tableBytes + rest <= MAX_BUFFERED_TABLE) this.tableChunks.push(Uint8Array.prototype.slice.call(chunk, i)); // a copy, even for Buffers
          else this.tableChunks = [];
          this.tableBytes += rest;
          this.pos += rest;
          i = n;
          continue;
        }
        case State.Stopped: {
          this.skipped['unparsedBytes'] = (this.skipped['unparsedBytes'] ?? 0) + (n - i);
          this.pos += n - i;
          i = n;
          continue;
        }
        case State.Failed:
          throw this.fatal!;
        default: {
          const need = this.need;
          let unit: Uint8Array;
          // Zero-copy when the unit lies inside this chunk; an event payload also needs an even address for
          // typed views over its structs (else it is gathered into the aligned buffer: one memcpy).
          if (this.accFill === 0 && n - i >= need && (this.state !== State.EventPayload || ((chunk.byteOffset + i) & 1) === 0)) {
            unit = chunk.subarray(i, i + need);
            i += need;
            this.pos += need;
          } else {
            const k = Math.min(need - this.accFill, n - i);
            this.reserveAcc(this.accFill + k);
            this.acc.set(chunk.subarray(i, i + k), this.accFill);
            this.accFill += k;
            i += k;
            this.pos += k;
            if (this.accFill < need) continue;
            unit = this.acc.subarray(0, need);
            this.accFill = 0;
          }
          this.onUnit(unit);
        }
      }
    }
  }

  end(): void {
    if (this.fatal) throw this.fatal;
    if (this.ended) return;
    this.ended = true;
    switch (this.state) {
      case State.Detect:
        this.fail('empty', 0, VERSION_LINE.trim() + ' or an AEDAT 4 IOHeader', 'no data');
        break;
      case State.Version:
      case State.HeaderSize:
      case State.Header:
        this.fail('truncated', this.pos - this.accFill, 'a complete AEDAT 4 header', `end of input at byte ${this.pos}`);
        break;
      case State.PacketHeader: {
        const start = this.pos - this.accFill;
        const tablePos = this.tablePos();
        if (this.accFill > 0) {
          this.problem('truncated', start, 'an 8-byte packet header', `${this.accFill} bytes before end of input`, true);
        } else if (tablePos >= 0) {
          this.problem('truncated', start, `more packets and the file data table at byte ${tablePos}`, 'end of input', true);
        }
        break;
      }
      case State.EventPayload:
      case State.SkipPayload: {
        const have = this.state === State.EventPayload ? this.accFill : this.packetSize - this.skipLeft;
        this.problem(
          'truncated',
          this.packetStart,
          `a packet of ${this.packetSize} payload bytes`,
          `only ${have} bytes before end of input`,
          true,
        );
        break;
      }
      case State.DataTable:
        this.finishDataTable();
        break;
      default:
        break;
    }
  }

  info(): StreamInfo {
    const h = this.header;
    const events = h?.streams.find((s) => s.id === this.eventsStreamId);
    const header: Record<string, string | number> = {
      form: this.tcpForm ? 'tcp' : 'file',
      ioHeaderSize: this.ioHeaderSize,
      firstPacketOffset: this.firstPacketOffset,
      dataTablePosition: h?.dataTablePosition ?? -1,
      eventsStreamId: this.eventsStreamId,
      eventPackets: this.eventPackets,
      events: this.events,
      warnings: this.warnings,
    };
    if (this.tableEntries !== undefined) header['dataTableEntries'] = this.tableEntries;
    if (events) header['eventsStreamName'] = events.name;
    const info: StreamInfo = {
      format: 'aedat4',
      width: this.width(),
      height: this.height(),
      skipped: { ...this.skipped },
      header,
    };
    if (h) {
      info.compression = h.compression;
      info.streams = h.streams.map((s): StreamDescriptor => ({ ...s }));
    }
    return info;
  }

  // ------------------------------------------------------------------------------------------- internals

  /**
   * Stream offset where the data table starts, -1 if none. dataTablePosition counts the 14-byte version
   * line, so in the header-less form (a file with its version line stripped) it is shifted back by 14;
   * real DV TCP streams announce no table (-1).
   */
  private tablePos(): number {
    const p = this.header?.dataTablePosition ?? -1;
    if (p < 0) return -1;
    return this.tcpForm ? p - VERSION_LINE_BYTES.length : p;
  }

  private width(): number {
    return this.xmlWidth ?? this.maxX + 1;
  }
  private height(): number {
    return this.xmlHeight ?? this.maxY + 1;
  }

  private gather(state: State, n: number): void {
    this.state = state;
    this.need = n;
    this.accFill = 0;
    // A large packet is followed by small ones: give a big buffer back rather than hold it for the stream.
    if (this.acc.length > 1 << 20 && n < this.acc.length >> 2) this.acc = new Uint8Array(ACC_INITIAL);
  }

  /** Grow the gathering buffer to hold `fill` bytes: doubling, never beyond the unit's size. */
  private reserveAcc(fill: number): void {
    if (fill <= this.acc.length) return;
    const grown = new Uint8Array(Math.min(this.need, Math.max(fill, this.acc.length * 2)));
    grown.set(this.acc.subarray(0, this.accFill));
    this.acc = grown;
  }

  private expectPacketHeader(): void {
    const tablePos = this.tablePos();
    if (tablePos >= 0 && this.pos === tablePos) {
      this.state = State.DataTable;
      this.skipped['fileDataTable'] = 1;
      return;
    }
    this.gather(State.PacketHeader, 8);
  }

  private onUnit(unit: Uint8Array): void {
    switch (this.state) {
      case State.Version:
        return this.onVersion(unit);
      case State.HeaderSize:
        return this.onHeaderSize(unit);
      case State.Header:
        return this.onHeader(unit);
      case State.PacketHeader:
        return this.onPacketHeader(unit);
      case State.EventPayload:
        return this.onEventPayload(unit);
      default:
        throw new Error(`Aedat4Decoder: unexpected state ${this.state}`);
    }
  }

  private onVersion(unit: Uint8Array): void {
    for (let k = 0; k < VERSION_LINE_BYTES.length; k++) {
      if (unit[k] !== VERSION_LINE_BYTES[k]) {
        const found = JSON.stringify(String.fromCharCode(...unit));
        this.fail('bad-magic', 0, JSON.stringify(VERSION_LINE), found);
      }
    }
    this.gather(State.HeaderSize, 4);
  }

  /** Header failures are reported as 'bad-magic' when the TCP form was only guessed. */
  private headerKind(): FormatErrorKind {
    return this.tcpForm && this.versionMode === 'auto' ? 'bad-magic' : 'bad-header';
  }

  private onHeaderSize(unit: Uint8Array): void {
    const size = new DataView(unit.buffer, unit.byteOffset, 4).getInt32(0, true);
    // The header is one unit like a packet: a lower packet cap (the live TCP source's) bounds it too.
    const maxHeader = Math.min(MAX_IOHEADER_SIZE, this.maxPacketBytes);
    if (size < 8 || size > maxHeader) {
      this.fail(
        this.headerKind(),
        this.pos - 4,
        this.tcpForm && this.versionMode === 'auto'
          ? `${JSON.stringify(VERSION_LINE)} or an int32 IOHeader size (8..${maxHeader})`
          : `an int32 IOHeader size in 8..${maxHeader}`,
        String(size),
      );
    }
    this.ioHeaderSize = size;
    this.gather(State.Header, size);
  }

  private onHeader(unit: Uint8Array): void {
    const start = this.pos - unit.length;
    let header: IoHeader;
    try {
      header = parseIoHeader(unit);
    } catch (e) {
      return this.fail(this.headerKind(), start, 'an IOHeader flatbuffer', (e as Error).message);
    }
    const tableStart = header.dataTablePosition < 0 ? -1 : header.dataTablePosition - (this.tcpForm ? VERSION_LINE_BYTES.length : 0);
    if (header.dataTablePosition >= 0 && tableStart < this.pos) {
      return this.fail('bad-header', start, `dataTablePosition after the header (>= ${this.pos})`, String(header.dataTablePosition));
    }
    this.header = header;
    this.firstPacketOffset = this.pos;
    try {
      this.decompress = packetDecompressor(header.compression, { maxBytes: this.maxDecompressedBytes });
      this.decompressTable = packetDecompressor(header.compression, { maxBytes: MAX_DATA_TABLE_BYTES });
    } catch (e) {
      return this.fail('unsupported', start, `a ${header.compression} decoder`, (e as Error).message);
    }
    const eventsStream = header.streams.find((s) => s.typeIdentifier === 'EVTS');
    this.eventsStreamId = eventsStream?.id ?? -1;
    this.xmlWidth = eventsStream?.width;
    this.xmlHeight = eventsStream?.height;
    if ((this.xmlWidth !== undefined || this.xmlHeight !== undefined) && !plausibleSensorSize(this.xmlWidth ?? 1, this.xmlHeight ?? 1)) {
      // A size nobody makes is a corrupt header: framing would allocate grids from it. Non-strict: use the
      // events' own extent instead.
      const found = `${this.xmlWidth ?? '?'} x ${this.xmlHeight ?? '?'}`;
      this.xmlWidth = undefined;
      this.xmlHeight = undefined;
      this.problem('bad-header', start, `an events stream sizeX / sizeY of 1..${MAX_SENSOR_SIDE}`, found, true);
    }
    for (const s of header.streams) {
      if (s.id !== this.eventsStreamId) this.kindByStream.set(s.id, KIND_BY_TYPE[s.typeIdentifier] ?? s.typeIdentifier);
    }
    this.expectPacketHeader();
  }

  private onPacketHeader(unit: Uint8Array): void {
    const dv = new DataView(unit.buffer, unit.byteOffset, 8);
    const streamId = dv.getInt32(0, true);
    const size = dv.getInt32(4, true);
    this.packetStart = this.pos - 8;
    this.packetSize = size;
    const tablePos = this.tablePos();
    if (size < 0 || size > this.maxPacketBytes || (tablePos >= 0 && this.pos + size > tablePos)) {
      const limit = tablePos >= 0 ? Math.min(this.maxPacketBytes, tablePos - this.pos) : this.maxPacketBytes;
      this.problem('corrupt-packet', this.packetStart, `a packet size in 0..${limit} (stream ${streamId})`, String(size), false);
      this.state = State.Stopped;
      return;
    }
    if (streamId === this.eventsStreamId) {
      if (size === 0) {
        this.onEventPayload(new Uint8Array(0));
        return;
      }
      this.gather(State.EventPayload, size);
      return;
    }
    const kind = this.kindByStream.get(streamId) ?? 'unknownStream';
    this.skipped[kind] = (this.skipped[kind] ?? 0) + 1;
    this.skipLeft = size;
    if (size === 0) this.expectPacketHeader();
    else this.state = State.SkipPayload;
  }

  private onEventPayload(payload: Uint8Array): void {
    let raw: Uint8Array;
    try {
      raw = this.decompress!(payload);
    } catch (e) {
      const expected =
        e instanceof DecompressionLimitError
          ? `a ${this.header!.compression} frame of ${payload.length} bytes that decompresses to at most ${e.cap} bytes`
          : `a ${this.header!.compression} frame of ${payload.length} bytes`;
      this.dropPacket('decompression', expected, e);
      return;
    }
    let decoded;
    try {
      decoded = decodeEventPacket(raw, this.arena);
    } catch (e) {
      this.dropPacket('corrupt-packet', 'an EVTS event packet flatbuffer', e);
      return;
    }
    this.expectPacketHeader();
    this.eventPackets++;
    if (decoded.length === 0) return;
    this.events += decoded.length;
    if (this.xmlWidth === undefined) this.maxX = Math.max(this.maxX, maxOf(decoded.x));
    if (this.xmlHeight === undefined) this.maxY = Math.max(this.maxY, maxOf(decoded.y));
    const batch: EventBatch = {
      t: decoded.t,
      x: decoded.x,
      y: decoded.y,
      p: decoded.p,
      length: decoded.length,
      width: this.width(),
      height: this.height(),
    };
    this.sink.batch(batch);
  }

  private dropPacket(kind: FormatErrorKind, expected: string, cause: unknown): void {
    this.expectPacketHeader(); // the size field was sane, so the next packet can still be read
    this.skipped['corruptPackets'] = (this.skipped['corruptPackets'] ?? 0) + 1;
    this.problem(kind, this.packetStart, expected, (cause as Error)?.message ?? String(cause), true);
  }

  private finishDataTable(): void {
    const tablePos = this.tablePos();
    if (this.tableBytes > MAX_BUFFERED_TABLE) return;
    const bytes = concat(this.tableChunks, this.tableBytes);
    this.tableChunks = [];
    const compression: Aedat4Compression = this.header!.compression;
    if (bytes.length === 0) {
      this.problem('truncated', tablePos, 'the file data table', 'end of input', true);
      return;
    }
    let frameLength: number;
    if (compression === 'none') {
      // Uncompressed: the FTAB flatbuffer's own size prefix gives its length.
      frameLength = bytes.length >= 4 ? new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, true) + 4 : -1;
      if (frameLength > bytes.length) frameLength = -1;
    } else {
      frameLength = compressedFrameLength(compression, bytes);
    }
    if (frameLength < 0) {
      this.problem('truncated', tablePos, `a complete ${compression} file data table`, `${bytes.length} bytes`, true);
      return;
    }
    try {
      const maxEntries = Math.floor((tablePos - this.firstPacketOffset) / 8);
      this.tableEntries = parseDataTable(this.decompressTable!(bytes.subarray(0, frameLength)), maxEntries).length;
    } catch (e) {
      this.problem('corrupt-packet', tablePos, 'a readable FTAB file data table', (e as Error).message, true);
      return;
    }
    if (frameLength < bytes.length) {
      this.skipped['unparsedBytes'] = (this.skipped['unparsedBytes'] ?? 0) + bytes.length - frameLength;
      this.problem(
        'corrupt-packet',
        tablePos + frameLength,
        'end of file after the file data table',
        `${bytes.length - frameLength} trailing bytes`,
        true,
      );
    }
  }

  /** Unrecoverable in any mode. */
  private fail(kind: FormatErrorKind, offset: number, expected: string, found?: string): never {
    const err = new EventFormatError(kind, this.source, offset, expected, found);
    this.fatal = err;
    this.state = State.Failed;
    throw err;
  }

  /** Strict: throw. Non-strict: warn, and keep going if `recoverable` (the caller sets the next state). */
  private problem(kind: FormatErrorKind, offset: number, expected: string, found: string, recoverable: boolean): void {
    const err = new EventFormatError(kind, this.source, offset, expected, found);
    if (this.strict) {
      this.fatal = err;
      this.state = State.Failed;
      throw err;
    }
    this.warnings++;
    if (!recoverable) this.state = State.Stopped;
    this.sink.warn?.(warningFrom(err));
  }
}

function concat(chunks: Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let o = 0;
  for (const c of chunks) {
    out.set(c, o);
    o += c.length;
  }
  return out;
}

/** Convenience: decode a whole in-memory AEDAT 4 buffer. */
export function decodeAedat4Buffer(
  bytes: Uint8Array,
  opts: Aedat4DecoderOptions,
): { batches: EventBatch[]; info: StreamInfo; warnings: import('../errors.js').FormatWarning[] } {
  const batches: EventBatch[] = [];
  const warnings: import('../errors.js').FormatWarning[] = [];
  const dec = new Aedat4Decoder({ batch: (b) => batches.push(b), warn: (w) => warnings.push(w) }, opts);
  dec.push(bytes);
  dec.end();
  return { batches, info: dec.info(), warnings };
}
