/**
 * Time-range reading of AEDAT 4 files. With a file data table, only the event packets whose
 * [timestampStart, timestampEnd] overlaps the range are read (positioned reads); without one (or when it is
 * unreadable) the file is scanned linearly with the incremental decoder. Ranges are half-open [t0, t1).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { EventFormatError } from '../errors.js';
import type { EventBatch } from '../types.js';
import { DecompressionLimitError, compressedFrameLength, packetDecompressor } from './compression.js';
import { Aedat4Decoder } from './decoder.js';
import {
  MAX_DATA_TABLE_BYTES,
  MAX_IOHEADER_SIZE,
  MAX_PACKET_SIZE,
  VERSION_LINE_BYTES,
  decodeEventPacket,
  maxOf,
  parseDataTable,
  parseIoHeader,
  type DataTableEntry,
  type IoHeader,
} from './format.js';

export interface Aedat4FileHeader extends IoHeader {
  ioHeaderSize: number;
  firstPacketOffset: number;
  fileSize: number;
  eventsStreamId: number;
  width: number;
  height: number;
}

async function readExactly(fh: FileHandle, position: number, length: number): Promise<Uint8Array> {
  const buf = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return done === length ? buf : buf.subarray(0, done);
}

async function readHeader(fh: FileHandle, path: string): Promise<Aedat4FileHeader> {
  const fileSize = (await fh.stat()).size;
  const head = await readExactly(fh, 0, VERSION_LINE_BYTES.length + 4);
  if (head.length < VERSION_LINE_BYTES.length || VERSION_LINE_BYTES.some((b, i) => head[i] !== b)) {
    throw new EventFormatError('bad-magic', path, 0, '#!AER-DAT4.0\\r\\n');
  }
  if (head.length < VERSION_LINE_BYTES.length + 4) throw new EventFormatError('truncated', path, 14, 'IOHeader size');
  const size = new DataView(head.buffer).getInt32(14, true);
  if (size < 8 || size > MAX_IOHEADER_SIZE) throw new EventFormatError('bad-header', path, 14, 'IOHeader size', String(size));
  const bytes = await readExactly(fh, 18, size);
  if (bytes.length < size) throw new EventFormatError('truncated', path, 18, `${size} IOHeader bytes`);
  let h: IoHeader;
  try {
    h = parseIoHeader(bytes);
  } catch (e) {
    throw new EventFormatError('bad-header', path, 18, 'an IOHeader flatbuffer', (e as Error).message);
  }
  const ev = h.streams.find((s) => s.typeIdentifier === 'EVTS');
  return {
    ...h,
    ioHeaderSize: size,
    firstPacketOffset: 18 + size,
    fileSize,
    eventsStreamId: ev?.id ?? -1,
    width: ev?.width ?? 0,
    height: ev?.height ?? 0,
  };
}

/** Header of an AEDAT 4 file (file form only). */
export async function readAedat4Header(path: string): Promise<Aedat4FileHeader> {
  const fh = await open(path, 'r');
  try {
    return await readHeader(fh, path);
  } finally {
    await fh.close();
  }
}

/** A table region larger than this is not read (a corrupt dataTablePosition pointing early in a big file). */
const MAX_TABLE_REGION = 64 * 1024 * 1024;

async function readTable(fh: FileHandle, h: Aedat4FileHeader): Promise<DataTableEntry[] | undefined> {
  if (h.dataTablePosition < h.firstPacketOffset || h.dataTablePosition >= h.fileSize) return undefined;
  if (h.fileSize - h.dataTablePosition > MAX_TABLE_REGION) return undefined;
  const bytes = await readExactly(fh, h.dataTablePosition, h.fileSize - h.dataTablePosition);
  try {
    const len = h.compression === 'none' ? bytes.length : compressedFrameLength(h.compression, bytes);
    if (len < 0) return undefined;
    const maxEntries = Math.floor((h.dataTablePosition - h.firstPacketOffset) / 8);
    const entries = parseDataTable(packetDecompressor(h.compression, { maxBytes: MAX_DATA_TABLE_BYTES })(bytes.subarray(0, len)), maxEntries);
    // Reject tables that point outside the packet region (a stale or foreign table) or claim absurd packets.
    for (const e of entries) {
      if (e.byteOffset < h.firstPacketOffset + 8 || e.size < 0 || e.size > MAX_PACKET_SIZE || e.byteOffset + e.size > h.dataTablePosition) return undefined;
    }
    return entries;
  } catch {
    return undefined;
  }
}

/** The file data table, or undefined when the file has none (or it is unreadable). */
export async function readAedat4DataTable(path: string): Promise<DataTableEntry[] | undefined> {
  const fh = await open(path, 'r');
  try {
    return await readTable(fh, await readHeader(fh, path));
  } finally {
    await fh.close();
  }
}

export interface Aedat4RangeOptions {
  /** Use the data table when present (default true); false forces the linear scan. */
  useDataTable?: boolean;
  strict?: boolean;
  /** Called once with the method used, for diagnostics/tests. */
  onMethod?(method: 'data-table' | 'linear-scan'): void;
}

function clip(b: EventBatch, t0: number, t1: number): EventBatch | undefined {
  let lo = 0;
  let hi = b.length;
  // Events are time-ordered within a packet in DV files; fall back to a filter otherwise.
  let sorted = true;
  for (let i = 1; i < b.length; i++) {
    if (b.t[i]! < b.t[i - 1]!) {
      sorted = false;
      break;
    }
  }
  if (sorted) {
    while (lo < hi && b.t[lo]! < t0) lo++;
    while (hi > lo && b.t[hi - 1]! >= t1) hi--;
    if (lo === 0 && hi === b.length) return b;
    if (hi === lo) return undefined;
    return { ...b, t: b.t.subarray(lo, hi), x: b.x.subarray(lo, hi), y: b.y.subarray(lo, hi), p: b.p.subarray(lo, hi), length: hi - lo };
  }
  const keep: number[] = [];
  for (let i = 0; i < b.length; i++) if (b.t[i]! >= t0 && b.t[i]! < t1) keep.push(i);
  if (keep.length === 0) return undefined;
  const out = { t: new Float64Array(keep.length), x: new Uint16Array(keep.length), y: new Uint16Array(keep.length), p: new Uint8Array(keep.length) };
  keep.forEach((src, k) => {
    out.t[k] = b.t[src]!;
    out.x[k] = b.x[src]!;
    out.y[k] = b.y[src]!;
    out.p[k] = b.p[src]!;
  });
  return { ...out, length: keep.length, width: b.width, height: b.height };
}

/** Events with t0 <= t < t1, one batch per packet touched. */
export async function* readAedat4Range(
  path: string,
  t0: number,
  t1: number,
  opts: Aedat4RangeOptions = {},
): AsyncGenerator<EventBatch> {
  const fh = await open(path, 'r');
  let entries: DataTableEntry[] | undefined;
  let header: Aedat4FileHeader;
  try {
    header = await readHeader(fh, path);
    if (opts.useDataTable ?? true) entries = await readTable(fh, header);
    if (entries) {
      opts.onMethod?.('data-table');
      const decompress = packetDecompressor(header.compression);
      for (const e of entries) {
        if (e.streamId !== header.eventsStreamId || e.timestampEnd < t0 || e.timestampStart >= t1) continue;
        const payload = await readExactly(fh, e.byteOffset, e.size);
        if (payload.length < e.size) throw new EventFormatError('truncated', path, e.byteOffset - 8, `${e.size} payload bytes`);
        let decoded;
        try {
          decoded = decodeEventPacket(decompress(payload));
        } catch (err) {
          const kind = err instanceof DecompressionLimitError ? 'decompression' : 'corrupt-packet';
          throw new EventFormatError(kind, path, e.byteOffset - 8, 'a readable event packet', (err as Error).message);
        }
        const clipped = clip({ ...decoded, width: header.width || maxOf(decoded.x) + 1, height: header.height || maxOf(decoded.y) + 1 }, t0, t1);
        if (clipped) yield clipped;
      }
      return;
    }
  } finally {
    await fh.close();
  }
  opts.onMethod?.('linear-scan');
  const pending: EventBatch[] = [];
  const decoder = new Aedat4Decoder({ batch: (b) => pending.push(b) }, { source: path, strict: opts.strict ?? false, expectVersionLine: true });
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    decoder.push(chunk as Buffer);
    while (pending.length > 0) {
      const c = clip(pending.shift()!, t0, t1);
      if (c) yield c;
    }
  }
  decoder.end();
  for (const b of pending) {
    const c = clip(b, t0, t1);
    if (c) yield c;
  }
}
