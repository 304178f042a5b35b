export { Aedat4Decoder, decodeAedat4Buffer, type Aedat4DecoderOptions } from './decoder.js';
export {
  Aedat4Writer,
  encodeAedat4,
  type Aedat4WriterOptions,
  type Aedat4WriteCompression,
  type ByteSink,
} from './writer.js';
export {
  readAedat4Range,
  readAedat4Header,
  readAedat4DataTable,
  type Aedat4RangeOptions,
  type Aedat4FileHeader,
} from './seek.js';
export {
  DecompressionLimitError,
  MAX_DECOMPRESSED_PACKET_BYTES,
  decompressedBound,
  availableCodecs,
  initZstdWasm,
  packetCompressor,
  packetDecompressor,
  compressedFrameLength,
  COMPRESSION_BY_ENUM,
  type Aedat4Compression,
  type FrameBound,
  type FrameCodec,
  type PacketDecompressorOptions,
} from './compression.js';
export { MAX_DATA_TABLE_BYTES, MAX_PACKET_SIZE, parseDataTable, parseIoHeader, type DataTableEntry, type IoHeader } from './format.js';
