import { open } from 'node:fs/promises';
import type { EventBatch, StreamInfo } from './types.js';
import type { FormatWarning } from './errors.js';
import { detectFileFormat } from './detect.js';
import { createDecoder } from './create-decoder.js';
import { readDdd17Hdf5 } from './ddd17-hdf5.js';
import { probeHdf5Kind, readHdf5Events } from './hdf5-events.js';
import { DEFAULT_MAX_GAP_US, TimeGuard } from './time-guard.js';
import { EventArena } from './event-arena.js';

export interface ReadEventFileOptions {
  /** Any corruption throws (default: skip corrupt packets with a warning). */
  strict?: boolean;
  /** Bytes per read (default 1 MiB). Results do not depend on it. */
  chunkSize?: number;
  signal?: AbortSignal;
  onWarning?: (w: FormatWarning) => void;
  /** AEDAT 2 only: sensor layout when the header does not say. */
  sensor?: 'dvs128' | 'davis240' | 'davis346' | 'auto';
  /** Prophesee and HDF5 event files: sensor size when the file does not state one (`--sensor WxH`). */
  sensorSize?: { width: number; height: number };
  /** Called after each chunk with bytes read so far and the file size (byte-stream formats only). */
  onProgress?: (bytesRead: number, totalBytes: number) => void;
  /**
   * Timestamp plausibility guard (time-guard.ts): events more than this far (µs) from the last accepted
   * event are dropped as outliers unless the following events confirm the jump. Default
   * DEFAULT_MAX_GAP_US (10 s); 0 or Infinity turns it off.
   */
  maxGapUs?: number;
  /**
   * Pooled batches (opt-in; AEDAT 4 so far, other formats ignore it): `onBatch` must not keep a batch or
   * views of its arrays once it has returned (or its promise settled), and copies what it keeps. The
   * decoder then carves batches from one reused arena instead of allocating per packet (event-arena.ts).
   */
  reuseBatches?: boolean;
}

/**
 * Receives each decoded batch in file order. Returning a promise pauses reading until it settles: this is
 * how consumers (real-time pacing, slow sinks) keep memory bounded.
 */
export type BatchHandler = (batch: EventBatch) => void | Promise<void>;

/**
 * Read an event file of any supported format (detected by content) chunk by chunk, handing batches to
 * `onBatch` as they are decoded. Memory stays bounded by two chunks (one is read ahead) plus one packet.
 * Every format goes through the timestamp guard (`maxGapUs`); the StreamInfo reports `outliers` and `discontinuities`.
 * Events decoded before a fault are handed over before the error is thrown, including a run the guard
 * still held undecided (see time-guard.ts). Resolves with what the decoder learned (StreamInfo).
 */
export async function readEventFile(path: string, onBatch: BatchHandler, opts: ReadEventFileOptions = {}): Promise<StreamInfo> {
  const format = await detectFileFormat(path);
  opts.signal?.throwIfAborted();
  const guard = new TimeGuard({ maxGapUs: opts.maxGapUs ?? DEFAULT_MAX_GAP_US });
  let handlerFailed = false;
  const deliver = async (b: EventBatch): Promise<void> => {
    const g = guard.push(b);
    if (g.length === 0 && b.length !== 0) return; // all held or dropped
    try {
      const r = onBatch(g);
      if (r) await r;
    } catch (err) {
      handlerFailed = true;
      throw err;
    }
  };
  const finish = (info: StreamInfo): StreamInfo => {
    guard.end();
    return { ...info, outliers: guard.outliers, discontinuities: guard.discontinuities, jumps: guard.jumps.slice() };
  };
  /** On a fault: hand over the undecided held run (data decoded before the fault), then rethrow. */
  const rescue = async (err: unknown): Promise<never> => {
    // Not when the consumer itself failed or asked to stop: it wants no more batches.
    if (guard.held > 0 && !handlerFailed && !opts.signal?.aborted) {
      const r = onBatch(guard.releaseHeld());
      if (r) await r;
    }
    throw err;
  };
  if (format === 'ddd17-hdf5') {
    // Detection calls every HDF5 file ddd17-hdf5; its datasets say which reader it needs.
    const gen =
      (await probeHdf5Kind(path)) === 'events'
        ? readHdf5Events(path, { strict: opts.strict, onWarning: opts.onWarning, signal: opts.signal, sensorSize: opts.sensorSize })
        : readDdd17Hdf5(path, { strict: opts.strict, onWarning: opts.onWarning, signal: opts.signal });
    try {
      for (;;) {
        const r = await gen.next();
        if (r.done) return finish(r.value);
        await deliver(r.value);
        if (opts.signal?.aborted) {
          await gen.return(undefined as never); // closes the HDF5 file
          opts.signal.throwIfAborted();
        }
      }
    } catch (err) {
      return await rescue(err);
    }
  }
  const pending: EventBatch[] = [];
  const arena = opts.reuseBatches ? new EventArena() : undefined;
  const decoder = createDecoder(
    format,
    { batch: (b) => void pending.push(b), warn: opts.onWarning },
    { source: path, strict: opts.strict, sensor: opts.sensor, sensorSize: opts.sensorSize, arena },
  );
  const drain = async (): Promise<void> => {
    // Splice first so a handler that throws never sees a batch twice.
    for (const b of pending.splice(0)) await deliver(b);
    arena?.reset(); // every pooled batch handed out so far is consumed
  };
  const size = opts.chunkSize ?? 1 << 20;
  // The AEDAT 4 decoder copies whatever it keeps of a chunk (its gathering buffer, the data table), so its
  // two read buffers are reused; other decoders may keep views of a chunk and get a fresh one per read.
  const reuse = format === 'aedat4';
  const buffers = reuse ? [new Uint8Array(size + 8), new Uint8Array(size + 8)] : [];
  let which = 0;
  let readPos = 0;
  // AEDAT 4: file offset (mod 8) of the event payloads once the header is known. Each read is placed so
  // that they land 8-byte aligned in memory, where the decoder views them without a copy (uncompressed
  // packets of whole 16-byte events keep that phase; others only cost one copy each).
  let phase = -1;
  const fh = await open(path, 'r');
  // One read ahead: the next chunk is read (by the thread pool) while this one is decoded.
  let ahead: Promise<Uint8Array> | undefined;
  const readNext = (): Promise<Uint8Array> => {
    const buf = reuse ? buffers[(which ^= 1)]! : new Uint8Array(size);
    const shift = reuse && phase >= 0 ? (((readPos - phase) % 8) + 8) % 8 : 0;
    return fh.read(buf, shift, size, null).then(({ bytesRead }) => {
      readPos += bytesRead;
      return buf.subarray(shift, shift + bytesRead);
    });
  };
  try {
    const total = (await fh.stat()).size;
    let done = 0;
    ahead = readNext();
    for (;;) {
      opts.signal?.throwIfAborted();
      const chunk = await ahead;
      ahead = undefined;
      if (chunk.length === 0) break;
      ahead = readNext();
      done += chunk.length;
      try {
        decoder.push(chunk);
      } finally {
        await drain();
      }
      if (reuse && phase < 0) {
        const first = decoder.info().header?.['firstPacketOffset'];
        if (typeof first === 'number' && first >= 0) phase = (first + 8) % 8;
      }
      opts.onProgress?.(done, total);
    }
    try {
      decoder.end();
    } finally {
      await drain();
    }
    return finish(decoder.info());
  } catch (err) {
    return await rescue(err);
  } finally {
    await ahead?.catch(() => undefined); // never close the file under a read in flight
    await fh.close();
  }
}
