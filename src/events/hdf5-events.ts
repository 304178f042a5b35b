/**
 * HDF5 event files (format `hdf5-events`) in Node: h5wasm in a worker thread (hdf5-session.ts) reading the
 * disk. The layouts, value rules, bounds and errors are hdf5-layout.ts's (shared with the browser page).
 */
import { acquireSession, checkHdf5File, releaseSession } from './hdf5-session.js';
import { classifyHdf5, decodeHdf5Events, Hdf5File, HDF5_STALL_TIMEOUT_MS, type Hdf5EventsOptions } from './hdf5-layout.js';
import type { EventBatch, StreamInfo } from './types.js';

export { ECF_FILTER_ID, HDF5_EVENTS_PER_READ, HDF5_MAX_COMPRESSION_RATIO, classifyHdf5, type Hdf5EventLayout, type Hdf5EventsOptions } from './hdf5-layout.js';

/** Open `path` in a pooled worker session (the cheap checks first: exists, not empty, HDF5 signature). */
async function openHdf5(path: string, timeoutMs: number, what = 'an HDF5 event file'): Promise<Hdf5File> {
  const fileSize = checkHdf5File(path, what);
  const session = acquireSession();
  return Hdf5File.open(session, { path, fileSize, timeoutMs, what, release: () => releaseSession(session) });
}

/**
 * Which reader an HDF5 file needs (one open + describe in the worker): 'ddd17' for `dvs/data`, 'events'
 * for an event layout or none known (hdf5-events reports what it looked for), undefined when its datasets
 * cannot be described (the DDD17 reader then reports it as before). A file HDF5 cannot open at all is an
 * EventFormatError from here.
 */
export async function probeHdf5Kind(path: string, stallTimeoutMs = HDF5_STALL_TIMEOUT_MS): Promise<'ddd17' | 'events' | undefined> {
  // A file HDF5 cannot open is reported from here: handing it on to the DDD17 reader would open it again in
  // a fresh worker (the failed one is discarded), doubling the time a broken file takes to refuse.
  const f = await openHdf5(path, stallTimeoutMs, 'an HDF5 file');
  try {
    return classifyHdf5(await f.describe()) === 'ddd17' ? 'ddd17' : 'events';
  } catch {
    return undefined;
  } finally {
    await f.close();
  }
}

/**
 * Decode an HDF5 event file into batches (one per slice; hdf5-layout.ts's decodeHdf5Events). The
 * generator's return value is the StreamInfo. The file is closed on completion, error, early return and
 * abort (`signal`: throws its reason).
 */
export async function* readHdf5Events(path: string, opts: Hdf5EventsOptions = {}): AsyncGenerator<EventBatch, StreamInfo> {
  opts.signal?.throwIfAborted();
  const f = await openHdf5(path, opts.stallTimeoutMs ?? HDF5_STALL_TIMEOUT_MS);
  try {
    return yield* decodeHdf5Events(f, opts);
  } finally {
    await f.close();
  }
}

/** Read a whole HDF5 event file: batches plus the StreamInfo (tests, small files). */
export async function collectHdf5Events(path: string, opts: Hdf5EventsOptions = {}): Promise<{ batches: EventBatch[]; info: StreamInfo }> {
  const batches: EventBatch[] = [];
  const it = readHdf5Events(path, opts);
  for (;;) {
    const n = await it.next();
    if (n.done) return { batches, info: n.value };
    batches.push(n.value);
  }
}
