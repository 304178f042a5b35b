/// <reference lib="dom" />
/**
 * The page's one entry from a recording File to model frames: HDF5 (its signature at byte 0: event arrays
 * or DDD17 `dvs/data`) through the HDF5 worker (hdf5-frames.ts), every other format as a byte stream (frame-stream.ts: AEDAT 2 / 3.1 / 4,
 * Prophesee RAW / DAT, detected from the head there).
 */
import { HDF5_SIGNATURE } from '../events/detect-format.js';
import { streamFrames, type ByteChunkStream, type ModelFrame, type StreamFramesOptions } from './frame-stream.js';
import { hdf5Frames } from './hdf5-frames.js';
import type { FramingConfig } from '../pipeline/config.js';

/** Whether `file` starts with the HDF5 signature. */
export async function isHdf5File(file: Blob): Promise<boolean> {
  const head = new Uint8Array(await file.slice(0, HDF5_SIGNATURE.length).arrayBuffer());
  return HDF5_SIGNATURE.every((b, i) => head[i] === b);
}

/** Frames of `file` in window order; errors name `o.source` (see streamFrames / hdf5Frames). */
export async function* openFrames(file: File, framing: FramingConfig, o: StreamFramesOptions): AsyncGenerator<ModelFrame, void, undefined> {
  if (await isHdf5File(file)) yield* hdf5Frames(file, framing, o);
  else yield* streamFrames(file.stream() as unknown as ByteChunkStream, framing, o);
}
