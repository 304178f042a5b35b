/**
 * DDD17 recorder HDF5 files: dataset `dvs/data` (N, 3) of variable-length uint8 cells per row
 * [ASCII host timestamp µs, 28-byte cAER packet header, packet payload]. Event times come from the cAER
 * payloads (see caer.ts); row timestamps are host time and are not used for events.
 *
 * Reading is incremental: `rowsPerRead` rows per h5wasm slice, so memory is bounded by one block of rows.
 * Sensor size: `width`/`height` options, else the first frame packet's lengthX/lengthY (found by a cheap
 * pass over the header column before any event is yielded, so every batch has the final size), else
 * DAVIS346 (346 x 260), the DDD17 camera.
 *
 * Errors and warnings name the file; their `offset` is the **row index** in `dvs/data` (byte offsets mean
 * nothing inside HDF5), and the message says so.
 *
 * API: `readDdd17Hdf5` yields batches and *returns* the StreamInfo (use `for await` plus `.next()` result,
 * or `collectDdd17Hdf5`); `probeDdd17Hdf5` gives the size, row count and packet counts by type without
 * decoding events (invalid events are only counted by a full read).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import type H5Wasm from 'h5wasm/node';
import { BatchBuilder } from './batch-builder.js';
import {
  CAER_HEADER_BYTES,
  CaerEventType,
  caerFrameSize,
  caerHeaderProblem,
  countSkippedPacket,
  decodeCaerPolarity,
  parseCaerHeader,
  type CaerPacketHeader,
} from './caer.js';
import { EventFormatError, warningFrom, type FormatWarning } from './errors.js';
import type { EventBatch, SkipCounts, StreamInfo } from './types.js';

export interface Ddd17Options {
  /** Any corrupt row throws (default: warn and skip the row). */
  strict?: boolean;
  /** Rows per h5wasm read (default 256). */
  rowsPerRead?: number;
  /** Sensor size override. */
  width?: number;
  height?: number;
  onWarning?: (w: FormatWarning) => void;
  signal?: AbortSignal;
}

export const DDD17_DEFAULT_WIDTH = 346;
export const DDD17_DEFAULT_HEIGHT = 260;

const HDF5_SIGNATURE = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
const DATASET = 'dvs/data';

type H5File = InstanceType<typeof H5Wasm.File>;

/** h5wasm (a large wasm module) is loaded on first use, so tools that never read HDF5 start fast. */
let h5wasmModule: Promise<typeof H5Wasm> | undefined;
async function loadH5wasm(): Promise<typeof H5Wasm> {
  h5wasmModule ??= import('h5wasm/node').then(async (m) => {
    await m.default.ready;
    return m.default;
  });
  return h5wasmModule;
}
interface H5Dataset {
  shape: number[] | null;
  slice(ranges: Array<[number, number] | []>): unknown;
}

function rowError(kind: EventFormatError['kind'], path: string, row: number, expected: string, found?: string): EventFormatError {
  return new EventFormatError(kind, path, row, `${DATASET} row ${row} (offset = row index, not a byte): ${expected}`, found);
}

/** Check the file exists and is HDF5 before handing it to h5wasm (whose errors are opaque). */
function checkFile(path: string): void {
  let size: number;
  try {
    size = statSync(path).size;
  } catch (e) {
    throw new EventFormatError('unknown-format', path, 0, 'a readable DDD17 HDF5 file', (e as Error).message);
  }
  if (size === 0) throw new EventFormatError('empty', path, 0, 'a DDD17 HDF5 file', 'zero bytes');
  const head = new Uint8Array(8);
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, 8, 0);
  } finally {
    closeSync(fd);
  }
  if (!HDF5_SIGNATURE.every((b, i) => head[i] === b)) {
    throw new EventFormatError('bad-magic', path, 0, 'the HDF5 signature \\x89HDF\\r\\n\\x1a\\n', Array.from(head, (b) => b.toString(16).padStart(2, '0')).join(' '));
  }
}

async function openDataset(path: string): Promise<{ file: H5File; data: H5Dataset; rows: number }> {
  checkFile(path);
  const h5wasm = await loadH5wasm();
  const file = new h5wasm.File(resolve(path), 'r');
  try {
    const data = file.get(DATASET) as unknown as H5Dataset | null;
    const shape = data?.shape;
    if (!data || !shape || shape.length !== 2 || shape[1] !== 3) {
      throw new EventFormatError('bad-header', path, 0, `a dataset '${DATASET}' of shape (N, 3)`, data ? `shape (${shape?.join(', ')})` : 'no such dataset');
    }
    return { file, data, rows: shape[0]! };
  } catch (e) {
    file.close();
    throw e;
  }
}

function cells(data: H5Dataset, from: number, to: number, column?: number): Uint8Array[] {
  const ranges: Array<[number, number]> = column === undefined ? [[from, to]] : [[from, to], [column, column + 1]];
  return data.slice(ranges) as Uint8Array[];
}

/** First frame packet's size, scanning only the 28-byte header column. */
function scanHeaders(data: H5Dataset, rows: number, block: number, skipped?: SkipCounts): { width: number; height: number } | undefined {
  let size: { width: number; height: number } | undefined;
  for (let r = 0; r < rows; r += block) {
    const end = Math.min(rows, r + block);
    const headers = cells(data, r, end, 1);
    for (let i = 0; i < headers.length; i++) {
      const hb = headers[i]!;
      if (hb.length !== CAER_HEADER_BYTES) {
        if (hb.length === 0 && skipped) skipped['emptyRows'] = (skipped['emptyRows'] ?? 0) + 1;
        continue;
      }
      const h = parseCaerHeader(hb);
      if (caerHeaderProblem(h) !== undefined) continue;
      if (skipped) {
        if (h.eventType === CaerEventType.polarity) skipped['polarityPackets'] = (skipped['polarityPackets'] ?? 0) + 1;
        else countSkippedPacket(h, skipped);
      }
      if (!size && h.eventType === CaerEventType.frame) {
        const payload = cells(data, r + i, r + i + 1, 2)[0];
        if (payload) size = caerFrameSize(h, payload);
        if (size && !skipped) return size;
      }
    }
  }
  return size;
}

/**
 * Size, row count and per-type packet counts (`<type>Packets`, `<type>` events, `emptyRows`; plus
 * `polarityPackets`) from the header column only. `invalidEvents` needs a full read.
 */
export async function probeDdd17Hdf5(path: string, opts: Pick<Ddd17Options, 'width' | 'height' | 'rowsPerRead'> = {}): Promise<StreamInfo> {
  const { file, data, rows } = await openDataset(path);
  try {
    const skipped: SkipCounts = {};
    const frame = scanHeaders(data, rows, opts.rowsPerRead ?? 1024, skipped);
    const { width, height, sizeFrom } = pickSize(opts, frame);
    return { format: 'ddd17-hdf5', width, height, skipped, header: { rows, sizeFrom } };
  } finally {
    file.close();
  }
}

function pickSize(opts: Pick<Ddd17Options, 'width' | 'height'>, frame: { width: number; height: number } | undefined): { width: number; height: number; sizeFrom: string } {
  if (opts.width && opts.height) return { width: opts.width, height: opts.height, sizeFrom: 'option' };
  if (frame) return { ...frame, sizeFrom: 'frame' };
  return { width: DDD17_DEFAULT_WIDTH, height: DDD17_DEFAULT_HEIGHT, sizeFrom: 'default' };
}

/**
 * Decode a DDD17 HDF5 recording into event batches (one per block of rows that holds events).
 * The generator's return value is the StreamInfo. The h5wasm file is closed on completion, on error, on
 * early `return()` by the consumer and on abort (`signal`: throws the signal's reason).
 */
export async function* readDdd17Hdf5(path: string, opts: Ddd17Options = {}): AsyncGenerator<EventBatch, StreamInfo> {
  opts.signal?.throwIfAborted();
  const strict = opts.strict ?? false;
  const block = Math.max(1, Math.floor(opts.rowsPerRead ?? 256));
  const { file, data, rows } = await openDataset(path);
  try {
    const { width, height, sizeFrom } = pickSize(opts, opts.width && opts.height ? undefined : scanHeaders(data, rows, Math.max(block, 1024)));
    const builder = new BatchBuilder(width, height, 8192);
    const skipped: SkipCounts = {};
    let packets = 0;
    let firstHostTime: string | undefined;
    const fault = (err: EventFormatError): void => {
      if (strict) throw err;
      opts.onWarning?.(warningFrom(err));
    };
    for (let r = 0; r < rows; r += block) {
      opts.signal?.throwIfAborted();
      const end = Math.min(rows, r + block);
      const flat = cells(data, r, end);
      let pendingError: EventFormatError | undefined;
      for (let i = 0; i < end - r && !pendingError; i++) {
        const row = r + i;
        const ts = flat[3 * i]!;
        const hb = flat[3 * i + 1]!;
        const payload = flat[3 * i + 2]!;
        if (ts.length === 0 && hb.length === 0 && payload.length === 0) {
          skipped['emptyRows'] = (skipped['emptyRows'] ?? 0) + 1;
          continue;
        }
        if (firstHostTime === undefined && ts.length > 0) firstHostTime = String.fromCharCode(...ts.subarray(0, 32));
        if (hb.length !== CAER_HEADER_BYTES) {
          pendingError = rowError('corrupt-packet', path, row, `a ${CAER_HEADER_BYTES}-byte cAER header in column 1`, `${hb.length} bytes`);
          break;
        }
        const h: CaerPacketHeader = parseCaerHeader(hb);
        const problem = caerHeaderProblem(h);
        if (problem !== undefined) {
          pendingError = rowError('corrupt-packet', path, row, 'a valid cAER packet header', problem);
          break;
        }
        const used = h.eventNumber * h.eventSize;
        if (payload.length < used) {
          pendingError = rowError('truncated', path, row, `a payload of at least ${used} bytes (${h.eventNumber} events)`, `${payload.length} bytes`);
          break;
        }
        packets++;
        if (h.eventType === CaerEventType.polarity) decodeCaerPolarity(h, payload, builder, skipped);
        else countSkippedPacket(h, skipped);
      }
      // Deliver what came before the fault first, then report it.
      const batch = builder.flush();
      if (batch) yield batch;
      if (pendingError) {
        fault(pendingError);
        // Non-strict: skip the bad row and go on with the next one.
        const next = pendingError.offset + 1;
        if (next < end) {
          r = next - block; // loop increment brings r to `next`
        }
      }
    }
    const header: Record<string, string | number> = { rows, packets, sizeFrom };
    if (firstHostTime !== undefined) header['firstHostTime'] = firstHostTime;
    return { format: 'ddd17-hdf5', width, height, skipped, header };
  } finally {
    file.close();
  }
}

/** Read a whole DDD17 file: all events in one batch list plus the StreamInfo (tests, small files). */
export async function collectDdd17Hdf5(path: string, opts: Ddd17Options = {}): Promise<{ batches: EventBatch[]; info: StreamInfo }> {
  const batches: EventBatch[] = [];
  const it = readDdd17Hdf5(path, opts);
  for (;;) {
    const n = await it.next();
    if (n.done) return { batches, info: n.value };
    batches.push(n.value);
  }
}
