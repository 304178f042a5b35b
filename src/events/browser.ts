/**
 * `evstream/events` in browsers (the `browser` export condition): the byte-level part of the events API,
 * with no Node built-ins. AEDAT 4 packets are decompressed by the pure-JS lz4js / fzstd there. Node gets
 * index.ts, which re-exports all of this and adds the file readers and writers.
 */

// Events in memory.
export { concatBatches, emptyBatch, type EventBatch, type EventFormat, type SkipCounts, type StreamDescriptor, type StreamInfo, type TimeJump } from './types.js';
// Errors and warnings: every reader reports bad input as an EventFormatError naming the source and byte offset.
export { EventFormatError, type FormatErrorKind, type FormatWarning } from './errors.js';
// Detection by content, and decoding bytes held in memory.
export { detectFormat, DETECT_HEAD_BYTES } from './detect-format.js';
export { decodeEventBytes, type DecodeBytesOptions } from './decode-bytes.js';
// Incremental decoders: push chunks of any size, batches arrive at the sink as they are decoded.
export type { DecoderOptions, DecoderSink, EventDecoder } from './decoder.js';
export { createDecoder, type CreateDecoderOptions } from './create-decoder.js';
export { Aedat2Decoder, type Aedat2Options, type Aedat2Sensor } from './aedat2.js';
export { Aedat3Decoder, type Aedat3Options } from './aedat3.js';
export { Aedat4Decoder, decodeAedat4Buffer, type Aedat4DecoderOptions } from './aedat4/decoder.js';
export { DecompressionLimitError, MAX_DECOMPRESSED_PACKET_BYTES, type Aedat4Compression } from './aedat4/compression.js';
export { makePropheseeDecoder, parsePropheseeHeader, type PropheseeDecoderOptions, type PropheseeFormat, type PropheseeHeaderFacts } from './prophesee/index.js';
// The timestamp guard every reader applies (events with implausible times are dropped as outliers).
export { DEFAULT_MAX_GAP_US, TimeGuard, type TimeGuardOptions } from './time-guard.js';
