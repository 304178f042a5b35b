import type { EventBatch, StreamInfo } from './types.js';
import type { FormatWarning } from './errors.js';

/**
 * Where a decoder delivers its output. Batches are delivered as soon as they are decoded, so when a fault
 * is found later, everything read before it has already reached the consumer.
 */
export interface DecoderSink {
  batch(batch: EventBatch): void;
  warn?(warning: FormatWarning): void;
}

export interface DecoderOptions {
  /** File path or stream label used in errors. */
  source: string;
  /** Strict mode: any corruption throws. Default (false): skip the bad packet with a warning and resume. */
  strict?: boolean;
}

/**
 * An incremental (push) decoder: feed it bytes in chunks of any size; identical output for any chunking.
 * Memory stays bounded by the largest packet, not the input size.
 */
export interface EventDecoder {
  /** Feed the next chunk. Throws EventFormatError on unrecoverable (or, in strict mode, any) corruption. */
  push(chunk: Uint8Array): void;
  /** End of input: flushes, and reports trailing partial data (warning, or error in strict mode). */
  end(): void;
  /** What is known so far: sensor size, skipped counts, streams. */
  info(): StreamInfo;
}
