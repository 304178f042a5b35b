/**
 * AEDAT 4.0 writer: version line, IOHeader (info XML with one `events` stream, EVTS), event packets, and a
 * file data table at the end whose position is patched into the header on close (the header is written
 * first with dataTablePosition = -1, the same way DV's recorder does it).
 *
 * Memory stays bounded: events are buffered only until a packet is full (maxPacketEvents or
 * maxPacketDurationUs), then compressed and streamed out; only the data table entries (~48 bytes per
 * packet) are kept until close.
 */
import { open, type FileHandle } from 'node:fs/promises';
import type { EventBatch } from '../types.js';
import { initZstdWasm, packetCompressor, type Aedat4Compression } from './compression.js';
import {
  VERSION_LINE_BYTES,
  buildDataTable,
  buildInfoXml,
  buildIoHeader,
  dataTablePositionField,
  encodeEventPacket,
  type DataTableEntry,
} from './format.js';

export type Aedat4WriteCompression = 'none' | 'lz4' | 'zstd' | 'zstd_high';

export interface Aedat4WriterOptions {
  width: number;
  height: number;
  /** Default 'lz4' (what DV records by default). */
  compression?: Aedat4WriteCompression;
  /** Events per packet, default 10000. */
  maxPacketEvents?: number;
  /** A packet is also closed when it spans this many µs, default 10000 (10 ms). */
  maxPacketDurationUs?: number;
  /** `source` attribute in the info XML (camera name). */
  sourceName?: string;
  /** Write the file data table (default true). */
  dataTable?: boolean;
  /** Write the `#!AER-DAT4.0` line (default true); false gives the DV TCP stream form (implies no table). */
  versionLine?: boolean;
  /** Stream id of the events stream, default 0. */
  streamId?: number;
}

/** Where the writer's bytes go: sequential appends plus one in-place patch at close. */
export interface ByteSink {
  append(bytes: Uint8Array): Promise<void>;
  patch(position: number, bytes: Uint8Array): Promise<void>;
  close(): Promise<void>;
}

/** ByteSink over a file handle (also used by the EVT 3 writer). */
export class FileSink implements ByteSink {
  private position = 0;
  constructor(private readonly fh: FileHandle) {}
  async append(bytes: Uint8Array): Promise<void> {
    let done = 0;
    while (done < bytes.length) {
      const { bytesWritten } = await this.fh.write(bytes, done, bytes.length - done, this.position + done);
      done += bytesWritten;
    }
    this.position += bytes.length;
  }
  async patch(position: number, bytes: Uint8Array): Promise<void> {
    await this.fh.write(bytes, 0, bytes.length, position);
  }
  async close(): Promise<void> {
    await this.fh.close();
  }
}

class MemorySink implements ByteSink {
  chunks: Uint8Array[] = [];
  length = 0;
  private patches: Array<[number, Uint8Array]> = [];
  async append(bytes: Uint8Array): Promise<void> {
    this.chunks.push(Uint8Array.prototype.slice.call(bytes));
    this.length += bytes.length;
  }
  async patch(position: number, bytes: Uint8Array): Promise<void> {
    this.patches.push([position, Uint8Array.prototype.slice.call(bytes)]);
  }
  async close(): Promise<void> {}
  bytes(): Uint8Array {
    const out = new Uint8Array(this.length);
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.length;
    }
    for (const [pos, b] of this.patches) out.set(b, pos);
    return out;
  }
}

export class Aedat4Writer {
  private position = 0;
  private tablePatchPosition = -1;
  private readonly entries: DataTableEntry[] = [];
  private readonly cap: number;
  private readonly maxDuration: number;
  private readonly streamId: number;
  private readonly withTable: boolean;
  private pendingT: Float64Array;
  private pendingX: Uint16Array;
  private pendingY: Uint16Array;
  private pendingP: Uint8Array;
  private pending = 0;
  private closed = false;
  private headerWritten = false;
  /** Events and packets written so far. */
  eventCount = 0;
  packetCount = 0;

  private constructor(
    private readonly sink: ByteSink,
    private readonly opts: Aedat4WriterOptions,
    private readonly compress: (src: Uint8Array) => Uint8Array,
  ) {
    this.cap = Math.max(1, opts.maxPacketEvents ?? 10000);
    this.maxDuration = opts.maxPacketDurationUs ?? 10000;
    this.streamId = opts.streamId ?? 0;
    this.withTable = (opts.dataTable ?? true) && (opts.versionLine ?? true);
    this.pendingT = new Float64Array(this.cap);
    this.pendingX = new Uint16Array(this.cap);
    this.pendingY = new Uint16Array(this.cap);
    this.pendingP = new Uint8Array(this.cap);
  }

  /** Writer over any ByteSink (async because the ZSTD encoder needs a one-time wasm init). */
  static async create(sink: ByteSink, opts: Aedat4WriterOptions): Promise<Aedat4Writer> {
    const compression = opts.compression ?? 'lz4';
    if (compression.startsWith('zstd')) await initZstdWasm();
    const w = new Aedat4Writer(sink, opts, await packetCompressor(compression));
    await w.writeHeader();
    return w;
  }

  /** Create (truncate) `path` and write the header. */
  static async open(path: string, opts: Aedat4WriterOptions): Promise<Aedat4Writer> {
    const fh = await open(path, 'w');
    try {
      return await Aedat4Writer.create(new FileSink(fh), opts);
    } catch (e) {
      await fh.close();
      throw e;
    }
  }

  private get compression(): Aedat4Compression {
    return this.opts.compression ?? 'lz4';
  }

  private async writeHeader(): Promise<void> {
    const xml = buildInfoXml({
      width: this.opts.width,
      height: this.opts.height,
      compression: this.compression,
      source: this.opts.sourceName,
    });
    const header = buildIoHeader(this.compression, -1, xml);
    if (this.opts.versionLine ?? true) await this.append(VERSION_LINE_BYTES);
    // +4: the field position is relative to the flatbuffer after the int32 size prefix.
    this.tablePatchPosition = this.position + 4 + dataTablePositionField(header.subarray(4));
    await this.append(header);
    this.headerWritten = true;
  }

  private async append(bytes: Uint8Array): Promise<void> {
    await this.sink.append(bytes);
    this.position += bytes.length;
  }

  /** Buffer events; full packets are compressed and written as they fill. */
  async write(batch: EventBatch): Promise<void> {
    if (this.closed) throw new Error('Aedat4Writer: write() after close()');
    const n = batch.length;
    let i = 0;
    while (i < n) {
      if (this.pending > 0 && batch.t[i]! - this.pendingT[0]! >= this.maxDuration) await this.flushPacket();
      // Copy a run that fits in the packet and stays within the duration limit.
      const first = this.pending > 0 ? this.pendingT[0]! : batch.t[i]!;
      let j = i;
      const room = Math.min(n, i + this.cap - this.pending);
      while (j < room && batch.t[j]! - first < this.maxDuration) j++;
      if (j === i) j = i + 1; // always make progress (e.g. out-of-order timestamps)
      this.pendingT.set(batch.t.subarray(i, j), this.pending);
      this.pendingX.set(batch.x.subarray(i, j), this.pending);
      this.pendingY.set(batch.y.subarray(i, j), this.pending);
      this.pendingP.set(batch.p.subarray(i, j), this.pending);
      this.pending += j - i;
      i = j;
      if (this.pending === this.cap) await this.flushPacket();
    }
  }

  /** Write buffered events now as a (short) packet: for live streams, where latency beats packet size. */
  async flush(): Promise<void> {
    if (this.closed) throw new Error('Aedat4Writer: flush() after close()');
    await this.flushPacket();
  }

  private async flushPacket(): Promise<void> {
    const n = this.pending;
    if (n === 0) return;
    const raw = encodeEventPacket(this.pendingT, this.pendingX, this.pendingY, this.pendingP, 0, n);
    const payload = this.compress(raw);
    const head = new Uint8Array(8);
    const dv = new DataView(head.buffer);
    dv.setInt32(0, this.streamId, true);
    dv.setInt32(4, payload.length, true);
    await this.append(head);
    let tMin = this.pendingT[0]!;
    let tMax = tMin;
    for (let k = 1; k < n; k++) {
      const t = this.pendingT[k]!;
      if (t < tMin) tMin = t;
      if (t > tMax) tMax = t;
    }
    this.entries.push({
      byteOffset: this.position,
      streamId: this.streamId,
      size: payload.length,
      numElements: n,
      timestampStart: Math.round(tMin),
      timestampEnd: Math.round(tMax),
    });
    await this.append(payload);
    this.pending = 0;
    this.eventCount += n;
    this.packetCount++;
  }

  /** Flush the last packet, write the data table, patch its position into the header, close the sink. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await this.flushPacket();
      if (this.withTable && this.headerWritten) {
        const tablePosition = this.position;
        await this.append(this.compress(buildDataTable(this.entries)));
        const patch = new Uint8Array(8);
        new DataView(patch.buffer).setBigInt64(0, BigInt(tablePosition), true);
        await this.sink.patch(this.tablePatchPosition, patch);
      }
    } finally {
      await this.sink.close();
    }
  }

  /** Data table entries written so far (one per packet). */
  dataTable(): readonly DataTableEntry[] {
    return this.entries;
  }
}

/** Encode batches into an in-memory AEDAT 4 file (tests, small exports). */
export async function encodeAedat4(batches: Iterable<EventBatch>, opts: Aedat4WriterOptions): Promise<Uint8Array> {
  const sink = new MemorySink();
  const w = await Aedat4Writer.create(sink, opts);
  for (const b of batches) await w.write(b);
  await w.close();
  return sink.bytes();
}
