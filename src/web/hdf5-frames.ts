/// <reference lib="dom" />
/**
 * Model frames of an HDF5 File in the page, read from h5wasm in a Web Worker (hdf5-client.ts,
 * hdf5-worker.ts) with the rules Node uses: event arrays (DSEC / plain / Prophesee) by hdf5-layout.ts's
 * decodeHdf5Events slice by slice, a DDD17 recording (`dvs/data`, classifyHdf5 'ddd17') by ddd17-layout.ts's
 * decodeDdd17Rows block of rows by block; then framed exactly as streamFrames does (ModelFrameAssembler:
 * the pipeline's filters, FrameBinner with binOptionsOf, then modelInput). Memory: one slice of events
 * (WEB_EVENTS_PER_READ) or one block of rows (WEB_DDD17_ROWS_PER_READ) and the frames it makes; the File
 * itself is read lazily by HDF5 (WORKERFS), never whole.
 */
import { Ddd17Rows, decodeDdd17Rows } from '../events/ddd17-layout.js';
import { classifyHdf5, decodeHdf5Events, Hdf5File, HDF5_STALL_TIMEOUT_MS, type H5Transport } from '../events/hdf5-layout.js';
import type { FramingConfig } from '../pipeline/config.js';
import { assembleFrames, ModelFrameAssembler, type ModelFrame, type StreamFramesOptions } from './frame-stream.js';
import { acquireWebH5Worker, releaseWebH5Worker, type WebH5Worker } from './hdf5-client.js';

/**
 * Events per worker request. Smaller than Node's 2^20: a slice's frames are held until the page takes
 * them (a 50 ms window of a busy sensor holds ~10^5 events, so a slice makes a few frames, not hundreds),
 * and each reply is a few hundred KiB to copy across.
 */
export const WEB_EVENTS_PER_READ = 1 << 16;

/**
 * DDD17 rows per worker request: Node's default. A row is one cAER packet (a few hundred to a few thousand
 * events, or one APS frame of ~100 KB), so a block stays within a few MB.
 */
export const WEB_DDD17_ROWS_PER_READ = 256;

export interface Hdf5FramesOptions extends StreamFramesOptions {
  /** Events per worker request (default WEB_EVENTS_PER_READ). Results do not depend on it. */
  eventsPerRead?: number;
  /** DDD17: rows per worker request (default WEB_DDD17_ROWS_PER_READ). Results do not depend on it. */
  rowsPerRead?: number;
  /**
   * Event arrays: sensor size when the file states none; else the largest x and y + 1 (a `guessed-size`
   * warning). Not used for DDD17 (its frame packet, else DAVIS346, as in Node's readEventFile).
   */
  sensorSize?: { width: number; height: number };
  /** Longest wait for one worker request (default HDF5_STALL_TIMEOUT_MS). */
  stallTimeoutMs?: number;
  /** The worker, ended when the file is closed (default: one of the page's pool, given back to it). */
  transport?: H5Transport;
}

/**
 * Frames of the HDF5 file `file` (event arrays or DDD17), in window order. A fault (EventFormatError naming
 * `o.source` and the row) is thrown after every frame binned from the events before it. Leaving the loop
 * early, an error and the end all close the file and give the worker back.
 */
export async function* hdf5Frames(file: File, framing: FramingConfig, o: Hdf5FramesOptions): AsyncGenerator<ModelFrame, void, undefined> {
  const t = o.transport ?? acquireWebH5Worker(file);
  // a worker of the page's pool goes back to it; one the caller gave is ended with the file
  const release = o.transport ? () => t.kill() : () => releaseWebH5Worker(t as WebH5Worker);
  const f = await Hdf5File.open(t, { path: o.source, fileSize: file.size, timeoutMs: o.stallTimeoutMs ?? HDF5_STALL_TIMEOUT_MS, what: 'an HDF5 file', release });
  const frames = new ModelFrameAssembler(framing);
  try {
    // Which reader, from the file's datasets (as Node's readEventFile decides); the file closes once.
    const batches =
      classifyHdf5(await f.describe()) === 'ddd17'
        ? decodeDdd17Rows(await Ddd17Rows.open(f), { rowsPerRead: o.rowsPerRead ?? WEB_DDD17_ROWS_PER_READ, onWarning: o.onWarning })
        : decodeHdf5Events(f, { eventsPerRead: o.eventsPerRead ?? WEB_EVENTS_PER_READ, onWarning: o.onWarning, ...(o.sensorSize ? { sensorSize: o.sensorSize } : {}) });
    yield* assembleFrames(frames, async () => {
      const n = await batches.next();
      if (n.done) o.onInfo?.(n.value);
      else frames.push(n.value);
      return n.done === true;
    });
  } finally {
    await f.close();
  }
}
