/**
 * DDD17 recorder HDF5 files (format `ddd17-hdf5`), platform-neutral: the rules of `dvs/data`, over an open
 * Hdf5File (hdf5-layout.ts) whose worker serves h5wasm-handler.ts's protocol. One home for them: Node reads
 * files with them through ddd17-hdf5.ts (a worker_threads session on the disk), the browser page through
 * src/web/hdf5-frames.ts (a Web Worker on a File). No Node built-ins, no Buffer.
 *
 * Dataset `dvs/data` (N, 3) of variable-length uint8 cells per row [ASCII host timestamp µs, 28-byte cAER
 * packet header, packet payload]. Event times come from the cAER payloads (see caer.ts); row timestamps
 * are host time and are not used for events.
 *
 * Reading is incremental: `rowsPerRead` rows per worker request, so memory is bounded by one block of rows.
 * Sensor size: `width`/`height` options, else the first frame packet's lengthX/lengthY (found by a cheap
 * pass over the header column before any event is yielded, so every batch has the final size), else
 * DAVIS346 (346 x 260), the DDD17 camera.
 *
 * Errors and warnings name the file; their `offset` is the **row index** in `dvs/data` (byte offsets mean
 * nothing inside HDF5): `unit` is 'row' and the message says "at row N".
 *
 * Hostile files (h5wasm's failure modes and the worker's watchdog: h5wasm-handler.ts, hdf5-layout.ts):
 * - A block of rows that fails is re-read row by row by the worker: the rows before the bad one are
 *   delivered, then the fault (non-strict: a warning, and reading goes on with the next row; strict:
 *   thrown). A wasm crash, a dead or stalled worker ends the file in both modes.
 * - The stored row count is bounded by the file size: every row stores three 16-byte variable-length
 *   references, and a non-empty row's cells also occupy more than 48 bytes of the global heap (compression
 *   does not touch the heap), so more than fileSize / 48 rows is a `bad-header` error (a corrupt row count
 *   of 2^31 otherwise reads two billion empty rows: "spins forever").
 */
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
import type { H5Reply } from './h5wasm-handler.js';
import { HDF5_STALL_TIMEOUT_MS, type Hdf5File } from './hdf5-layout.js';
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
  /**
   * Longest wait for one request to the HDF5 worker (open, or one block of rows), default
   * DDD17_STALL_TIMEOUT_MS. Beyond it the worker is killed and the file fails with an EventFormatError.
   */
  stallTimeoutMs?: number;
}

/** The worker's watchdog, one for every HDF5 reader (hdf5-layout.ts says why 20 s). */
export const DDD17_STALL_TIMEOUT_MS = HDF5_STALL_TIMEOUT_MS;

export const DDD17_DEFAULT_WIDTH = 346;
export const DDD17_DEFAULT_HEIGHT = 260;

/** Bytes a `dvs/data` row occupies in the file at least (see the module comment). */
export const DDD17_MIN_ROW_BYTES = 48;

/** The rows dataset of a DDD17 file. */
export const DDD17_DATASET = 'dvs/data';

/** What a file HDF5 cannot open was expected to be (Hdf5File.open's `what` for a DDD17 file). */
export const DDD17_OPEN_WHAT = 'an HDF5 file';

/** An open `dvs/data`: rows, and reads of row blocks as cells (3 per row, or 1 with a column). */
export class Ddd17Rows {
  private constructor(
    private readonly file: Hdf5File,
    readonly rows: number,
  ) {}

  get path(): string {
    return this.file.path;
  }

  /**
   * Select `dvs/data` in the open `file` and check its shape and row count (module comment). On an error
   * the file is closed (its worker given back) before the EventFormatError is thrown.
   */
  static async open(file: Hdf5File): Promise<Ddd17Rows> {
    const { path, transport } = file;
    let reply: H5Reply;
    try {
      reply = await transport.request({ op: 'rows', dataset: DDD17_DATASET }, file.timeoutMs);
    } catch (e) {
      transport.kill();
      await file.close();
      throw new EventFormatError('bad-header', path, 0, `${DDD17_OPEN_WHAT} the HDF5 reader can open`, (e as Error).message);
    }
    try {
      if ('error' in reply) {
        const what = reply.error === 'dataset' ? `a readable dataset '${DDD17_DATASET}'` : `${DDD17_OPEN_WHAT} the HDF5 reader can open`;
        throw new EventFormatError('bad-header', path, 0, what, reply.error === 'crash' ? `h5wasm crashed (${reply.reason})` : reply.reason);
      }
      if (reply.ok !== 'rows') throw new Error(`unexpected HDF5 worker reply ${reply.ok}`);
      const shape = reply.shape;
      if (!shape || shape.length !== 2 || shape[1] !== 3) {
        throw new EventFormatError('bad-header', path, 0, `a dataset '${DDD17_DATASET}' of shape (N, 3)`, shape ? `shape (${shape.join(', ')})` : 'no such dataset');
      }
      const rows = shape[0]!;
      const maxRows = Math.floor(file.fileSize / DDD17_MIN_ROW_BYTES);
      if (!Number.isSafeInteger(rows) || rows < 0 || rows > maxRows) {
        throw new EventFormatError(
          'bad-header',
          path,
          0,
          `a '${DDD17_DATASET}' row count (shape[0]) of at most ${maxRows} (file size ${file.fileSize} / ${DDD17_MIN_ROW_BYTES} bytes per row)`,
          `${rows} rows`,
        );
      }
      return new Ddd17Rows(file, rows);
    } catch (e) {
      await file.close();
      throw e;
    }
  }

  /**
   * Cells of rows [from, to), stopping before the first row HDF5 cannot read (`bad`). Throws an
   * EventFormatError when the worker crashed, died or stalled: nothing more can be read from this file.
   */
  async read(from: number, to: number, column?: number): Promise<{ cells: Uint8Array[]; bad?: { row: number; reason: string } }> {
    let reply: H5Reply;
    try {
      reply = await this.file.transport.request(column === undefined ? { op: 'read', from, to } : { op: 'read', from, to, column }, this.file.timeoutMs);
    } catch (e) {
      throw crashError(this.path, from, to, (e as Error).message);
    }
    if ('error' in reply) throw crashError(this.path, from, to, reply.error === 'crash' ? `h5wasm crashed (${reply.reason})` : reply.reason);
    if (reply.ok !== 'read') throw new Error(`unexpected HDF5 worker reply ${reply.ok}`);
    const cells: Uint8Array[] = new Array(reply.lengths.length);
    let o = 0;
    for (let i = 0; i < cells.length; i++) {
      const n = reply.lengths[i]!;
      cells[i] = reply.data.subarray(o, o + n);
      o += n;
    }
    return reply.bad ? { cells, bad: reply.bad } : { cells };
  }

  /** Close the file and give the worker back (or kill it if it saw an error). Never throws. */
  close(): Promise<void> {
    return this.file.close();
  }
}

/** The EventFormatError for a worker that crashed, died or stalled while reading rows [from, to). */
function crashError(path: string, from: number, to: number, why: string): EventFormatError {
  const rows = to - from === 1 ? 'this row' : `rows ${from}..${to - 1}`;
  return new EventFormatError('corrupt-packet', path, from, `${rows} of ${DDD17_DATASET} readable by HDF5`, why, 'row');
}

function rowError(kind: EventFormatError['kind'], path: string, row: number, expected: string, found?: string): EventFormatError {
  return new EventFormatError(kind, path, row, `${expected} in ${DDD17_DATASET}`, found, 'row');
}

/**
 * Bytes as latin1 text (one code point per byte), as Node's Buffer 'latin1' decodes them. Not
 * TextDecoder('latin1'): WHATWG maps that label to windows-1252, which differs for 0x80..0x9F.
 */
export function latin1(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i++) s += String.fromCharCode(bytes[i]!);
  return s;
}

/**
 * First frame packet's size, scanning only the 28-byte header column. Rows HDF5 cannot read are skipped
 * here (the full read reports them) and counted as `unreadableRows` when `skipped` is given.
 */
async function scanHeaders(o: Ddd17Rows, block: number, skipped?: SkipCounts): Promise<{ width: number; height: number } | undefined> {
  let size: { width: number; height: number } | undefined;
  for (let r = 0; r < o.rows; ) {
    const end = Math.min(o.rows, r + block);
    const read = await o.read(r, end, 1);
    const headers = read.cells;
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
        const payload = (await o.read(r + i, r + i + 1, 2)).cells[0];
        if (payload) size = caerFrameSize(h, payload);
        if (size && !skipped) return size;
      }
    }
    if (read.bad) {
      if (skipped) skipped['unreadableRows'] = (skipped['unreadableRows'] ?? 0) + 1;
      r = read.bad.row + 1;
    } else {
      r = end;
    }
  }
  return size;
}

function pickSize(opts: Pick<Ddd17Options, 'width' | 'height'>, frame: { width: number; height: number } | undefined): { width: number; height: number; sizeFrom: string } {
  if (opts.width && opts.height) return { width: opts.width, height: opts.height, sizeFrom: 'option' };
  if (frame) return { ...frame, sizeFrom: 'frame' };
  return { width: DDD17_DEFAULT_WIDTH, height: DDD17_DEFAULT_HEIGHT, sizeFrom: 'default' };
}

/**
 * Size, row count and per-type packet counts (`<type>Packets`, `<type>` events, `emptyRows`,
 * `unreadableRows`; plus `polarityPackets`) from the header column only. `invalidEvents` needs a full read.
 * The caller closes `o`.
 */
export async function probeDdd17Rows(o: Ddd17Rows, opts: Pick<Ddd17Options, 'width' | 'height' | 'rowsPerRead'> = {}): Promise<StreamInfo> {
  const skipped: SkipCounts = {};
  const frame = await scanHeaders(o, opts.rowsPerRead ?? 1024, skipped);
  const { width, height, sizeFrom } = pickSize(opts, frame);
  return { format: 'ddd17-hdf5', width, height, skipped, header: { rows: o.rows, sizeFrom } };
}

/**
 * Decode an open `dvs/data` into event batches (one per block of rows that holds events). The generator's
 * return value is the StreamInfo. The caller closes `o` (on completion, error, early return and abort:
 * `signal` throws its reason). A row HDF5 cannot read, or whose cells are not a cAER packet, is a fault at
 * that row: the rows before it are delivered first; non-strict warns and goes on with the next row, strict
 * throws. A wasm crash ends the file in both modes.
 */
export async function* decodeDdd17Rows(o: Ddd17Rows, opts: Ddd17Options = {}): AsyncGenerator<EventBatch, StreamInfo> {
  const path = o.path;
  const strict = opts.strict ?? false;
  const block = Math.max(1, Math.floor(opts.rowsPerRead ?? 256));
  const rows = o.rows;
  const { width, height, sizeFrom } = pickSize(opts, opts.width && opts.height ? undefined : await scanHeaders(o, Math.max(block, 1024)));
  const builder = new BatchBuilder(width, height, 8192);
  const skipped: SkipCounts = {};
  let packets = 0;
  let firstHostTime: string | undefined;
  const fault = (err: EventFormatError): void => {
    if (strict) throw err;
    opts.onWarning?.(warningFrom(err));
  };
  for (let r = 0; r < rows; ) {
    opts.signal?.throwIfAborted();
    const end = Math.min(rows, r + block);
    const read = await o.read(r, end);
    const flat = read.cells;
    const readRows = flat.length / 3;
    let pendingError: EventFormatError | undefined;
    for (let i = 0; i < readRows && !pendingError; i++) {
      const row = r + i;
      const ts = flat[3 * i]!;
      const hb = flat[3 * i + 1]!;
      const payload = flat[3 * i + 2]!;
      if (ts.length === 0 && hb.length === 0 && payload.length === 0) {
        skipped['emptyRows'] = (skipped['emptyRows'] ?? 0) + 1;
        continue;
      }
      if (firstHostTime === undefined && ts.length > 0) firstHostTime = latin1(ts.subarray(0, 32));
      if (hb.length !== CAER_HEADER_BYTES) {
        pendingError = rowError('corrupt-packet', path, row, `a ${CAER_HEADER_BYTES}-byte cAER header (column 1)`, `${hb.length} bytes`);
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
    if (!pendingError && read.bad) {
      pendingError = rowError('corrupt-packet', path, read.bad.row, 'cells HDF5 can read', read.bad.reason);
    }
    // Deliver what came before the fault first, then report it.
    const batch = builder.flush();
    if (batch) yield batch;
    if (pendingError) {
      fault(pendingError);
      // Non-strict: skip the bad row and go on with the next one.
      r = pendingError.offset + 1;
    } else {
      r = end;
    }
  }
  const header: Record<string, string | number> = { rows, packets, sizeFrom };
  if (firstHostTime !== undefined) header['firstHostTime'] = firstHostTime;
  return { format: 'ddd17-hdf5', width, height, skipped, header };
}
