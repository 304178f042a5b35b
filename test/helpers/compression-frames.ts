/**
 * LZ4 and ZSTD frames built by hand from their specifications (LZ4 Frame Format 1.6, RFC 8878), for the tests of
 * compression.ts's frame walks and codec choice (not a test file itself). Block contents are filler bytes
 * (0x41 in LZ4 blocks, 0x42 in ZSTD ones): a raw ZSTD block of n bytes decodes to n bytes of 0x42.
 */
import { concatBytes, le32 } from './aedat4-helpers.js';

const bytes = (...v: number[]) => new Uint8Array(v);

export interface Lz4Spec {
  /** Block maximum size id (BD bits 6..4): 4 = 64 KiB, 5 = 256 KiB, 6 = 1 MiB, 7 = 4 MiB. */
  bd?: number;
  version?: number;
  contentSize?: number;
  dictId?: boolean;
  blockChecksum?: boolean;
  contentChecksum?: boolean;
  /** Blocks: `raw` = stored uncompressed (high bit set), else `compressed` bytes of compressed data. */
  blocks: Array<{ raw: number } | { compressed: number }>;
  endMark?: boolean;
}

/** An LZ4 frame (LZ4 Frame Format 1.6): magic, FLG, BD, [content size], [dict id], HC, blocks, end mark, [checksum]. */
export function lz4Frame(s: Lz4Spec): Uint8Array {
  const flg = ((s.version ?? 1) << 6) | (s.blockChecksum ? 0x10 : 0) | (s.contentSize !== undefined ? 0x08 : 0) | (s.contentChecksum ? 0x04 : 0) | (s.dictId ? 0x01 : 0);
  const parts: Uint8Array[] = [le32(0x184d2204), bytes(flg, (s.bd ?? 4) << 4)];
  if (s.contentSize !== undefined) parts.push(le32(s.contentSize % 2 ** 32), le32(Math.floor(s.contentSize / 2 ** 32)));
  if (s.dictId) parts.push(le32(0x1234));
  parts.push(bytes(0x99)); // header checksum byte (not checked by the bound walk)
  for (const b of s.blocks) {
    const size = 'raw' in b ? b.raw : b.compressed;
    parts.push(le32(('raw' in b ? 0x80000000 : 0) + size), new Uint8Array(size).fill(0x41));
    if (s.blockChecksum) parts.push(le32(0));
  }
  if (s.endMark ?? true) parts.push(le32(0));
  if (s.contentChecksum) parts.push(le32(0));
  return concatBytes(...parts);
}

/** A skippable frame (magic 0x184D2A50 + magicLow) holding n zero bytes. */
export const skippable = (n: number, magicLow = 0) => concatBytes(le32(0x184d2a50 + magicLow), le32(n), new Uint8Array(n));

export interface ZstdSpec {
  single?: boolean;
  /** Window descriptor byte (exponent << 3 | mantissa), when not single-segment. */
  wd?: number;
  /** Frame_Content_Size_Flag 0..3 and the value (flag 1 stores value - 256). */
  fcsFlag?: number;
  fcs?: number;
  /** Dictionary_ID_Flag 0..3 (0, 1, 2, 4 bytes). */
  dict?: number;
  checksum?: boolean;
  reserved?: boolean;
  blocks: Array<{ type: 0 | 1 | 2 | 3; size: number }>;
}

/** A ZSTD frame (RFC 8878): magic, header descriptor, [window], [dict id], [content size], blocks, [checksum]. */
export function zstdFrame(s: ZstdSpec): Uint8Array {
  const fcsFlag = s.fcsFlag ?? 0;
  const fhd = (fcsFlag << 6) | (s.single ? 0x20 : 0) | (s.reserved ? 0x08 : 0) | (s.checksum ? 0x04 : 0) | (s.dict ?? 0);
  const parts: Uint8Array[] = [le32(0xfd2fb528), bytes(fhd)];
  if (!s.single) parts.push(bytes(s.wd ?? 7 << 3));
  parts.push(new Uint8Array([0, 1, 2, 4][s.dict ?? 0]!).fill(0x11));
  const fcsBytes = [s.single ? 1 : 0, 2, 4, 8][fcsFlag]!;
  let v = (s.fcs ?? 0) - (fcsFlag === 1 ? 256 : 0);
  const fcs = new Uint8Array(fcsBytes);
  for (let k = 0; k < fcsBytes; k++, v = Math.floor(v / 256)) fcs[k] = v % 256;
  parts.push(fcs);
  s.blocks.forEach((b, i) => {
    const h = (i === s.blocks.length - 1 ? 1 : 0) | (b.type << 1) | (b.size << 3);
    parts.push(bytes(h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff));
    parts.push(new Uint8Array(b.type === 1 ? 1 : b.type === 3 ? 0 : b.size).fill(0x42));
  });
  if (s.checksum) parts.push(le32(0));
  return concatBytes(...parts);
}
