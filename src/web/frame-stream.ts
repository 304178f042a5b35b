/**
 * Model frames of an event file read as a stream of byte chunks (a browser File's `stream()`, or any
 * ReadableStream of Uint8Array): the project's own decoders (EventBytesDecoder: detection from the head,
 * then incremental decoding), the pipeline's denoising filters (framing.filters) and framing (FrameBinner with the pipeline's options, then the runner's
 * normalisation), chunk by chunk. The file is never held whole: memory is one chunk, the decoder's
 * buffers and the frames of that chunk.
 */
import { EventBytesDecoder } from '../events/decode-bytes.js';
import type { FormatWarning } from '../events/errors.js';
import type { EventBatch, StreamInfo } from '../events/types.js';
import { FilterChain } from '../filters/chain.js';
import { FrameBinner } from '../framing/binner.js';
import type { Frame } from '../framing/frame.js';
import { normalizeMinMax } from '../framing/normalize.js';
import type { FramingConfig } from '../pipeline/config.js';
import { binOptionsOf } from '../pipeline/frame-options.js';

/** The part of a WHATWG ReadableStream<Uint8Array> used here (DOM and Node streams both fit). */
export interface ByteChunkStream {
  getReader(): { read(): Promise<{ done: boolean; value?: Uint8Array }>; cancel(reason?: unknown): Promise<void> };
}

/** A binned frame and the model's input made from it. */
export interface ModelFrame extends Frame {
  /** float32 [2, H, W]: the counts, min-max normalised when the framing says so (as the Node runner does). */
  input: Float32Array;
}

export interface StreamFramesOptions {
  /** Name in error messages (the file's name). */
  source: string;
  onWarning?: (w: FormatWarning) => void;
  /** Called once at the end of the stream with what the decoder learned. */
  onInfo?: (info: StreamInfo) => void;
  /** Byte streams: called after each chunk is decoded with the bytes read so far (progress; shows the file is read incrementally). */
  onProgress?: (bytesRead: number) => void;
}

/** The model input of a frame: a copy (the raw counts stay for display), normalised as the framing says. */
export function modelInput(f: Frame, framing: FramingConfig): Float32Array {
  const input = new Float32Array(f.counts);
  if (framing.normalize) normalizeMinMax(input, 2);
  return input;
}

/**
 * One recording's way from event batches to model frames in the page (byte streams here, HDF5 in
 * hdf5-frames.ts): the pipeline's denoising filters (framing.filters, in order, as the Node runner applies
 * them), the binner with the runner's options (binOptionsOf), then the model input (modelInput). Frames
 * collect until taken.
 */
export class ModelFrameAssembler {
  private readonly binner: FrameBinner;
  private readonly filters: FilterChain | undefined;
  private ready: ModelFrame[] = [];
  private readonly emit = (f: Frame): void => void this.ready.push({ ...f, input: modelInput(f, this.framing) });

  constructor(private readonly framing: FramingConfig) {
    this.binner = new FrameBinner(binOptionsOf(framing));
    this.filters = framing.filters?.length ? new FilterChain(framing.filters) : undefined;
  }

  push(batch: EventBatch): void {
    this.binner.push(this.filters ? this.filters.apply(batch) : batch, this.emit);
  }

  /** Close the open windows (end of the recording, or a fault: the frames before it come first). */
  flush(): void {
    this.binner.flush(this.emit);
  }

  /** The frames made since the last take, in window order. */
  take(): ModelFrame[] {
    const out = this.ready;
    this.ready = [];
    return out;
  }
}

/**
 * The frames `frames` makes as `advance` feeds it, in window order: each call pushes the events it read
 * (true = the recording ended). A fault is thrown after every frame binned from the events before it (the
 * binner is flushed first), so nothing already read is lost. The one loop of the page's frame sources.
 */
export async function* assembleFrames(frames: ModelFrameAssembler, advance: () => Promise<boolean>): AsyncGenerator<ModelFrame, void, undefined> {
  for (;;) {
    let done = false;
    let fault: unknown;
    try {
      done = await advance();
      if (done) frames.flush();
    } catch (err) {
      frames.flush();
      fault = err;
    }
    for (const f of frames.take()) yield f;
    if (fault !== undefined) throw fault;
    if (done) return;
  }
}

/**
 * Frames of `stream`, in window order. A decoding fault (EventFormatError naming `source` and the byte
 * offset) is thrown after every frame binned from the events before it (the binner is flushed first).
 * Leaving the loop early cancels the stream.
 */
export async function* streamFrames(stream: ByteChunkStream, framing: FramingConfig, o: StreamFramesOptions): AsyncGenerator<ModelFrame, void, undefined> {
  const frames = new ModelFrameAssembler(framing);
  const decoder = new EventBytesDecoder((b) => frames.push(b), { source: o.source, onWarning: o.onWarning });
  const reader = stream.getReader();
  let finished = false;
  let bytesRead = 0;
  const advance = async (): Promise<boolean> => {
    const { done, value } = await reader.read();
    if (done) {
      const info = decoder.end(); // not inside `onInfo?.(...)`: the end must run even with no listener
      o.onInfo?.(info);
      return true;
    }
    if (value && value.length > 0) {
      bytesRead += value.length;
      decoder.push(value);
      o.onProgress?.(bytesRead);
    }
    return false;
  };
  try {
    yield* assembleFrames(frames, advance);
    finished = true;
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
  }
}
