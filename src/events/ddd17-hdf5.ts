/**
 * DDD17 recorder HDF5 files (format `ddd17-hdf5`) in Node: h5wasm in a worker thread (hdf5-session.ts)
 * reading the disk. The rules of `dvs/data` (open checks, row-count bound, size scan, row decoding, faults,
 * skipped counts, StreamInfo) are ddd17-layout.ts's, shared with the browser page.
 *
 * Hostile files (see h5wasm-handler.ts for h5wasm's failure modes):
 * - h5wasm runs in a worker thread with its throwing error handler: HDF5 errors become one EventFormatError
 *   naming the file, the row and HDF5's innermost message; HDF5 prints nothing. A worker that saw an HDF5
 *   error, trapped, aborted or died is terminated and the next file gets a fresh one; a clean worker is
 *   kept (unref'd) for the next file.
 * - Every request to the worker has a watchdog (`stallTimeoutMs`, default 20 s): HDF5 looping on a corrupt
 *   structure is killed and reported as an EventFormatError instead of stalling silently.
 *
 * API: `readDdd17Hdf5` yields batches and *returns* the StreamInfo (use `for await` plus `.next()` result,
 * or `collectDdd17Hdf5`); `probeDdd17Hdf5` gives the size, row count and packet counts by type without
 * decoding events (invalid events are only counted by a full read).
 */
import { acquireSession, checkHdf5File, releaseSession } from './hdf5-session.js';
import { DDD17_OPEN_WHAT, DDD17_STALL_TIMEOUT_MS, Ddd17Rows, decodeDdd17Rows, probeDdd17Rows, type Ddd17Options } from './ddd17-layout.js';
import { Hdf5File } from './hdf5-layout.js';
import type { EventBatch, StreamInfo } from './types.js';

export { DDD17_DEFAULT_HEIGHT, DDD17_DEFAULT_WIDTH, DDD17_MIN_ROW_BYTES, DDD17_STALL_TIMEOUT_MS, type Ddd17Options } from './ddd17-layout.js';

/** Open `path`'s `dvs/data` in a pooled worker session (the cheap checks first: exists, not empty, HDF5 signature). */
async function openDdd17(path: string, timeoutMs: number): Promise<Ddd17Rows> {
  const fileSize = checkHdf5File(path, 'a DDD17 HDF5 file');
  const session = acquireSession();
  const f = await Hdf5File.open(session, { path, fileSize, timeoutMs, what: DDD17_OPEN_WHAT, release: () => releaseSession(session) });
  return Ddd17Rows.open(f);
}

/**
 * Size, row count and per-type packet counts (`<type>Packets`, `<type>` events, `emptyRows`,
 * `unreadableRows`; plus `polarityPackets`) from the header column only. `invalidEvents` needs a full read.
 */
export async function probeDdd17Hdf5(path: string, opts: Pick<Ddd17Options, 'width' | 'height' | 'rowsPerRead' | 'stallTimeoutMs'> = {}): Promise<StreamInfo> {
  const o = await openDdd17(path, opts.stallTimeoutMs ?? DDD17_STALL_TIMEOUT_MS);
  try {
    return await probeDdd17Rows(o, opts);
  } finally {
    await o.close();
  }
}

/**
 * Decode a DDD17 HDF5 recording into event batches (ddd17-layout.ts's decodeDdd17Rows). The generator's
 * return value is the StreamInfo. The h5wasm file is closed on completion, on error, on early `return()` by
 * the consumer and on abort (`signal`: throws the signal's reason).
 */
export async function* readDdd17Hdf5(path: string, opts: Ddd17Options = {}): AsyncGenerator<EventBatch, StreamInfo> {
  opts.signal?.throwIfAborted();
  const o = await openDdd17(path, opts.stallTimeoutMs ?? DDD17_STALL_TIMEOUT_MS);
  try {
    return yield* decodeDdd17Rows(o, opts);
  } finally {
    await o.close();
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
