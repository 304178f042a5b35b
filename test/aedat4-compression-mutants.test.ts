/**
 * compression.ts by its rules, on frames built byte by byte: the bound `decompressedBound` reads off LZ4 / ZSTD
 * frame and block headers (hand-computed for every header field), where `compressedFrameLength` says a frame
 * ends, and which codec `packetDecompressor` / `packetCompressor` call with what (spies on the codec packages).
 * Real encoders' frames and files are tested in aedat4-hostile, aedat4-conformance and aedat4-roundtrip.
 *
 * Tests run in order in one process: the ones before `initZstdWasm()` see the pure-JS ZSTD decoder only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codecPackages } from '#codec-packages';
import {
  availableCodecs,
  COMPRESSION_BY_ENUM,
  compressedFrameLength,
  compressionEnum,
  DecompressionLimitError,
  decompressedBound,
  initZstdWasm,
  MAX_DECOMPRESSED_PACKET_BYTES,
  packetCompressor,
  packetDecompressor,
  type Aedat4Compression,
} from '../src/events/aedat4/compression.js';

type Part = number | readonly number[] | Uint8Array;
/** Bytes from numbers (one byte each) and byte lists. */
const bytes = (...parts: Part[]): Uint8Array => Uint8Array.from(parts.flatMap((p) => (typeof p === 'number' ? [p] : Array.from(p))));
const u32 = (v: number): number[] => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];
const ascii = (s: string): number[] => Array.from(s, (c) => c.charCodeAt(0));
const fill = (n: number, v: number): number[] => new Array<number>(n).fill(v);

// ------------------------------------------------------------------------------------------------------ LZ4 frames

const LZ4_MAGIC = u32(0x184d2204);
interface Lz4Opts {
  version?: number;
  /** BD byte (block maximum size id in bits 4-6) */
  bd?: number;
  contentSize?: [number, number];
  dictId?: boolean;
  blockChecksum?: boolean;
  contentChecksum?: boolean;
}
/** An LZ4 frame: header (HC byte not checked by the walkers), blocks [uncompressed?, data], end mark. */
function lz4(blocks: [boolean, number[]][], o: Lz4Opts = {}): Uint8Array {
  const flg = ((o.version ?? 1) << 6) | 0x20 | (o.blockChecksum ? 0x10 : 0) | (o.contentSize ? 0x08 : 0) | (o.contentChecksum ? 0x04 : 0) | (o.dictId ? 0x01 : 0);
  const header = [...LZ4_MAGIC, flg, o.bd ?? 0x40, ...(o.contentSize ? [...u32(o.contentSize[0]), ...u32(o.contentSize[1])] : []), ...(o.dictId ? [1, 2, 3, 4] : []), 0xaa];
  const body = blocks.flatMap(([raw, data]) => [...u32((raw ? 0x80000000 : 0) + data.length), ...data, ...(o.blockChecksum ? [9, 9, 9, 9] : [])]);
  return bytes(header, body, u32(0), o.contentChecksum ? [7, 7, 7, 7] : []);
}
const skippable = (magicLow: number, data: number[]): number[] => [...u32(0x184d2a50 + magicLow), ...u32(data.length), ...data];

test('decompressedBound LZ4: an uncompressed block its size, a compressed one the BD block maximum, the larger of that and the content size', () => {
  const two: [boolean, number[]][] = [[true, ascii('hello')], [false, [1, 2, 3]]];
  // 5 + 64 KiB; the BD id's bit 7 is not part of the id
  for (const bd of [0x40, 0xc0]) assert.deepEqual(decompressedBound('lz4', lz4(two, { bd })), { bytes: 65541, frames: 1 });
  assert.deepEqual(decompressedBound('lz4_high', lz4(two, { bd: 0x50 })), { bytes: 5 + 262144, frames: 1 });
  assert.deepEqual(decompressedBound('lz4', lz4(two, { bd: 0x60 })), { bytes: 5 + 1048576, frames: 1 });
  assert.deepEqual(decompressedBound('lz4', lz4(two, { bd: 0x70 })), { bytes: 5 + 4194304, frames: 1 });
  assert.deepEqual(decompressedBound('lz4', lz4([[true, ascii('hi')]])), { bytes: 2, frames: 1 });
  assert.deepEqual(decompressedBound('lz4', lz4([])), { bytes: 0, frames: 1 });
  // content size (8 bytes, little-endian): larger than the blocks' bound, it is the bound; smaller, it is not
  assert.deepEqual(decompressedBound('lz4', lz4(two, { contentSize: [100_000, 0] })), { bytes: 100_000, frames: 1 });
  assert.deepEqual(decompressedBound('lz4', lz4(two, { contentSize: [7, 1] })), { bytes: 4294967303, frames: 1 });
  assert.deepEqual(decompressedBound('lz4', lz4(two, { contentSize: [10, 0] })), { bytes: 65541, frames: 1 });
  // dictionary id, block checksums: skipped over, the blocks read the same
  assert.deepEqual(decompressedBound('lz4', lz4(two, { dictId: true, blockChecksum: true, contentSize: [3, 0] })), { bytes: 65541, frames: 1 });
  // skippable frames first (magic 0x184D2A50..5F): passed over; only skippable frames: nothing
  const after = bytes(skippable(0xf, [1, 2, 3]), skippable(0, []), lz4([[true, ascii('abc')]]));
  assert.deepEqual(decompressedBound('lz4', after), { bytes: 3, frames: 1 });
  assert.deepEqual(decompressedBound('lz4', bytes(skippable(3, [5]))), { bytes: 0, frames: 0 });
  assert.deepEqual(decompressedBound('lz4', new Uint8Array(0)), { bytes: 0, frames: 0 });
  // bytes after the frame are not read (the decoders read the first frame only)
  assert.deepEqual(decompressedBound('lz4', bytes(lz4([[true, ascii('abc')]]), 1, 2, 3, 4, 5)), { bytes: 3, frames: 1 });
  // a view into a larger buffer reads its own bytes
  const big = bytes(0xff, 0xff, 0xff, lz4([[true, ascii('view')]]), 0xff);
  assert.deepEqual(decompressedBound('lz4', big.subarray(3, big.length - 1)), { bytes: 4, frames: 1 });
});

test('decompressedBound LZ4: each malformed or cut header is refused with its byte', () => {
  const err = (src: Uint8Array, message: string): void => assert.throws(() => decompressedBound('lz4', src), (e: unknown) => e instanceof Error && !(e instanceof DecompressionLimitError) && e.message === message, message);
  const ok = lz4([[true, ascii('hello')]]);
  err(bytes(skippable(0x10, [1])), 'no LZ4 frame magic at byte 0');
  err(bytes(skippable(1, [1, 2]), u32(0x184d2205), 0, 0, 0), 'no LZ4 frame magic at byte 10');
  err(ok.subarray(0, 6), 'LZ4 frame header cut at byte 6');
  // 7 bytes are a whole header: what is missing is the first block word
  err(ok.subarray(0, 7), 'frame cut at byte 7 of 7');
  err(ok.subarray(0, 2), 'frame cut at byte 0 of 2');
  err(bytes(u32(0x184d2a50), 9), 'frame cut at byte 4 of 5');
  for (const version of [0, 2, 3]) err(lz4([], { version }), `LZ4 frame version ${version}, expected 1`);
  for (const id of [0, 3]) err(lz4([], { bd: id << 4 }), `LZ4 block size id ${id}`);
  // the block word cut, the block data cut, no end mark
  err(ok.subarray(0, 9), 'frame cut at byte 7 of 9');
  err(ok.subarray(0, 14), 'LZ4 block cut at byte 14');
  err(ok.subarray(0, ok.length - 4), `frame cut at byte 16 of 16`);
  // block checksums count in the block's length
  const sums = lz4([[true, ascii('hello')]], { blockChecksum: true });
  err(sums.subarray(0, 18), 'LZ4 block cut at byte 18');
  // the content size and dictionary id fields count in the header: cut inside them, the next word is cut
  err(lz4([], { contentSize: [1, 0] }).subarray(0, 12), 'frame cut at byte 10 of 12');
});

test('compressedFrameLength LZ4: header fields, blocks, checksums; -1 when cut or not LZ4; bytes after the frame not counted', () => {
  const two: [boolean, number[]][] = [[true, ascii('hello')], [false, [1, 2, 3]]];
  // 7 header + (4 + 5) + (4 + 3) + 4 end mark
  assert.equal(compressedFrameLength('lz4', lz4(two)), 27);
  assert.equal(compressedFrameLength('lz4_high', bytes(lz4(two), 1, 2, 3)), 27);
  assert.equal(compressedFrameLength('lz4', lz4(two, { contentSize: [5, 0] })), 35);
  assert.equal(compressedFrameLength('lz4', lz4(two, { dictId: true })), 31);
  assert.equal(compressedFrameLength('lz4', lz4(two, { blockChecksum: true })), 35);
  assert.equal(compressedFrameLength('lz4', lz4(two, { contentChecksum: true })), 31);
  assert.equal(compressedFrameLength('lz4', lz4([], { contentSize: [0, 0], dictId: true, contentChecksum: true })), 27);
  const f = lz4(two, { contentChecksum: true });
  for (const cut of [0, 3, 6, 7, 10, 20, 26, 27, 30]) assert.equal(compressedFrameLength('lz4', f.subarray(0, cut)), -1, `cut at ${cut}`);
  assert.equal(compressedFrameLength('lz4', bytes(u32(0x184d2205), fill(20, 0))), -1);
  // a compressed block's length is its word less the flag bit
  assert.equal(compressedFrameLength('lz4', bytes(f.subarray(0, 7), u32(0x80000002), 1, 2, u32(0), 7, 7, 7, 7)), 21);
  // 'none': the whole input
  assert.equal(compressedFrameLength('none', bytes(1, 2, 3)), 3);
});

// ----------------------------------------------------------------------------------------------------- ZSTD frames

const ZSTD_MAGIC = u32(0xfd2fb528);
/** Block header: last bit, type (0 raw, 1 RLE, 2 compressed, 3 reserved), size; then its content. */
const block = (type: number, size: number, last: boolean, content: number[]): number[] => {
  const h = (size << 3) | (type << 1) | (last ? 1 : 0);
  return [h & 255, (h >> 8) & 255, (h >> 16) & 255, ...content];
};
const raw = (data: number[], last = true): number[] => block(0, data.length, last, data);
const rle = (size: number, v: number, last = true): number[] => block(1, size, last, [v]);
const compressed = (size: number, last = true): number[] => block(2, size, last, fill(size, 0x55));
/** A frame: FHD byte, then window descriptor / dictionary id / content size bytes as given, blocks, checksum. */
const zstd = (fhd: number, headerRest: number[], blocks: number[], checksum = false): number[] => [...ZSTD_MAGIC, fhd, ...headerRest, ...blocks, ...(checksum ? [1, 2, 3, 4] : [])];

test('decompressedBound ZSTD: raw and RLE blocks their size, compressed ones min(128 KiB, window); content size and window per frame', () => {
  const b = (...parts: Part[]) => decompressedBound('zstd', bytes(...parts));
  // single segment, 1-byte content size 5: raw 'hello'
  assert.deepEqual(b(zstd(0x20, [5], raw(ascii('hello')))), { bytes: 5, frames: 1 });
  // RLE: its size, one byte of content
  assert.deepEqual(b(zstd(0x20, [200], rle(200, 0x61))), { bytes: 200, frames: 1 });
  // content size flag 1: 2 bytes + 256; 2: 4 bytes; 3: 8 bytes (little-endian)
  assert.deepEqual(b(zstd(0x60, [0x2c, 0x01], rle(556, 0x62))), { bytes: 556, frames: 1 });
  assert.deepEqual(b(zstd(0xa0, u32(70_000), rle(70_000, 0x63))), { bytes: 70_000, frames: 1 });
  assert.deepEqual(b(zstd(0xe0, [...u32(0x30000), ...u32(0)], [...rle(0x20000, 1, false), ...rle(0x10000, 2)])), { bytes: 0x30000, frames: 1 });
  // window descriptor (no content size): 2^(10 + exponent) + mantissa eighths; a compressed block counts the window
  // when under 128 KiB, and the frame at least its window (what fzstd allocates)
  assert.deepEqual(b(zstd(0x00, [(1 << 3) | 3], compressed(3))), { bytes: 2816, frames: 1 });
  assert.deepEqual(b(zstd(0x00, [0], [...raw(fill(10, 1), false), ...compressed(2)])), { bytes: 1034, frames: 1 });
  assert.deepEqual(b(zstd(0x00, [0], raw(fill(10, 1)))), { bytes: 1024, frames: 1 });
  assert.deepEqual(b(zstd(0x00, [(7 << 3) | 4], [...compressed(1, false), ...raw(fill(10, 1))])), { bytes: 196608, frames: 1 });
  // with a content size (flag 1) beside the window: the blocks' bound, not the window
  assert.deepEqual(b(zstd(0x40, [(7 << 3) | 4, 0, 0], [...compressed(1, false), ...compressed(1)])), { bytes: 262144, frames: 1 });
  assert.deepEqual(b(zstd(0x40, [(1 << 3) | 3, 0, 0], [...compressed(1, false), ...compressed(1)])), { bytes: 5632, frames: 1 });
  // a content size and a larger window (flag 1, window 192 KiB, 300 raw bytes): the content size is what fzstd
  // allocates, not the window
  assert.deepEqual(b(zstd(0x40, [(7 << 3) | 4, 0, 0], raw(fill(300, 1)))), { bytes: 300, frames: 1 });
  // single segment with content size 0: no window, a compressed block counts 128 KiB
  assert.deepEqual(b(zstd(0x20, [0], compressed(2))), { bytes: 131072, frames: 1 });
  // dictionary id of 1, 2, 4 bytes: skipped
  for (const [flag, n] of [[1, 1], [2, 2], [3, 4]] as const) assert.deepEqual(b(zstd(0x20 | flag, [...fill(n, 0xee), 4], raw([1, 2, 3, 4]))), { bytes: 4, frames: 1 }, `dict flag ${flag}`);
  // several frames (a checksum after one's last block), skippable frames between: summed, counted
  const two = bytes(zstd(0x24, [5], raw(ascii('hello')), true), skippable(2, [9, 9]), zstd(0x20, [3], rle(3, 0x7a)));
  assert.deepEqual(decompressedBound('zstd_high', two), { bytes: 8, frames: 2 });
  assert.deepEqual(b(skippable(0, [1])), { bytes: 0, frames: 0 });
  assert.deepEqual(b(), { bytes: 0, frames: 0 });
  // a cut content checksum is the decoder's to find: the bound stands
  assert.deepEqual(b(zstd(0x24, [5], raw(ascii('hello')), true).slice(0, 16)), { bytes: 5, frames: 1 });
  assert.deepEqual(decompressedBound('none', bytes(1, 2, 3)), { bytes: 3, frames: 1 });
  const big = bytes(0xff, zstd(0x20, [2], raw([1, 2])), 0xff);
  assert.deepEqual(decompressedBound('zstd', big.subarray(1, big.length - 1)), { bytes: 2, frames: 1 });
});

test('decompressedBound ZSTD: each malformed or cut header is refused with its byte or value', () => {
  const err = (parts: Part[], message: string): void =>
    assert.throws(() => decompressedBound('zstd', bytes(...parts)), (e: unknown) => e instanceof Error && e.message === message, message);
  err([zstd(0x20, [5], raw(ascii('hello'))), u32(0x184d2a60)], 'no ZSTD frame magic at byte 14');
  err([ZSTD_MAGIC], 'ZSTD frame header cut at byte 4');
  err([ZSTD_MAGIC, 0x00], 'ZSTD frame header cut at byte 5');
  err([ZSTD_MAGIC, 0xa0, 1, 2], 'ZSTD frame header cut at byte 7');
  err([ZSTD_MAGIC, 0x23, 1, 2, 3], 'ZSTD frame header cut at byte 8');
  // a whole header and nothing after it: the block header is what is cut
  err([ZSTD_MAGIC, 0x20, 5], 'ZSTD block header cut at byte 6');
  err([zstd(0x28, [5], raw(ascii('hello')))], 'ZSTD frame header reserved bit set');
  err([zstd(0x20, [5], block(3, 5, true, ascii('hello')))], 'reserved ZSTD block type at byte 6');
  err([zstd(0x20, [5], [...raw([1], false), ...block(3, 1, true, [1])])], 'reserved ZSTD block type at byte 10');
  err([zstd(0x20, [5], raw(ascii('hello'))).slice(0, 8)], 'ZSTD block header cut at byte 8');
  err([zstd(0x20, [5], raw(ascii('hello'))).slice(0, 12)], 'ZSTD block cut at byte 12');
  err([zstd(0x20, [5], rle(5, 1)).slice(0, 9)], 'ZSTD block cut at byte 9');
  err([zstd(0x20, [5], raw(ascii('hello'))), 1, 2], 'frame cut at byte 14 of 16');
  // windows over fzstd's limit (2145386496 bytes): by descriptor, or a single segment's content size
  err([zstd(0x00, [21 << 3], raw([1]))], 'ZSTD window of 2147483648 bytes');
  err([zstd(0xa0, u32(2145386497), raw([1]))], 'ZSTD window of 2145386497 bytes');
  // a content size its blocks cannot hold (fzstd would allocate it): refused, the 8 bytes read in order
  err([zstd(0xa0, u32(2145386496), raw([1]))], 'ZSTD frame content size 2145386496 is more than its blocks can hold (1)');
  err([zstd(0xc0, [0, ...u32(0), 0, 1, 0, 0], raw([1]))], 'ZSTD frame content size 1099511627776 is more than its blocks can hold (1)');
  err([zstd(0x60, [0, 0], raw([1]))], 'ZSTD frame content size 256 is more than its blocks can hold (1)');
});

test('compressedFrameLength ZSTD: window, dictionary id, content size, blocks and checksum; -1 when cut, reserved or not ZSTD', () => {
  const len = (...parts: Part[]) => compressedFrameLength('zstd', bytes(...parts));
  assert.equal(len(zstd(0x20, [5], raw(ascii('hello')))), 14);
  assert.equal(len(zstd(0x20, [5], raw(ascii('hello'))), 1, 2, 3), 14);
  assert.equal(compressedFrameLength('zstd_high', bytes(zstd(0x24, [5], raw(ascii('hello')), true), 1)), 18);
  // a last block header that ends the input exactly (an empty raw block)
  assert.equal(len(zstd(0x20, [0], raw([]))), 9);
  // window byte, 2-byte dictionary id, 2-byte content size; RLE blocks carry one byte
  assert.equal(len(zstd(0x42, [0, 7, 7, 0, 0], [...rle(300, 1, false), ...compressed(3)])), 4 + 1 + 5 + 4 + 6);
  assert.equal(len(zstd(0xe3, [...fill(4, 1), ...fill(8, 0)], raw([1]))), 4 + 1 + 12 + 4);
  assert.equal(len(zstd(0x81, [0, 9, ...u32(1)], raw([1]))), 4 + 1 + 6 + 4);
  const f = bytes(zstd(0x24, [5], raw(ascii('hello')), true));
  for (const cut of [0, 5, 6, 8, 13, 14, 17]) assert.equal(compressedFrameLength('zstd', f.subarray(0, cut)), -1, `cut at ${cut}`);
  assert.equal(len(zstd(0x20, [5], block(3, 5, true, ascii('hello')))), -1);
  assert.equal(len(u32(0xfd2fb529), fill(10, 0)), -1);
  // a whole frame behind a magic one bit off is not ZSTD
  assert.equal(len(u32(0xfd2fb529), 0x20, 5, raw(ascii('hello'))), -1);
});

// ---------------------------------------------------------------------------------------------- codecs and choice

const zstdHello = bytes(zstd(0x20, [5], raw(ascii('hello'))));
const zstdWorld = bytes(zstd(0x20, [5], raw(ascii('world'))));

/** Replaces `obj[name]` by a recording wrapper until `restore()`. */
function spy<T extends object, K extends keyof T>(obj: T, name: K): { calls: unknown[][]; restore: () => void } {
  const orig = obj[name] as (...a: unknown[]) => unknown;
  const calls: unknown[][] = [];
  obj[name] = ((...a: unknown[]) => (calls.push(a), orig.apply(obj, a))) as T[K];
  return { calls, restore: () => void (obj[name] = orig as T[K]) };
}

test('before initZstdWasm: fzstd decodes ZSTD; with no decoder package a decompressor says so when called', () => {
  assert.deepEqual(availableCodecs().map((c) => [c.algorithm, c.packageName, Boolean(c.encode)]), [['lz4', 'lz4-napi', true], ['lz4', 'lz4js', true], ['zstd', 'fzstd', false]]);
  const f = spy(codecPackages.fzstd!, 'decompress');
  try {
    assert.deepEqual(Array.from(packetDecompressor('zstd')(zstdHello)), ascii('hello'));
    assert.equal(f.calls.length, 1);
  } finally {
    f.restore();
  }
  const saved = { ...codecPackages };
  try {
    codecPackages.fzstd = undefined;
    const d = packetDecompressor('zstd_high');
    assert.throws(() => d(zstdHello), /^Error: no zstd decoder could be loaded$/);
    codecPackages.lz4Napi = undefined;
    codecPackages.lz4js = undefined;
    assert.throws(() => packetDecompressor('lz4')(lz4([[true, [1]]])), /^Error: no lz4 decoder could be loaded$/);
  } finally {
    Object.assign(codecPackages, saved);
  }
});

test('packetDecompressor: none is the input itself; the cap is checked before decoding (at the bound: decoded); output over the bound refused', () => {
  const x = bytes(1, 2, 3);
  assert.equal(packetDecompressor('none')(x), x);
  assert.equal(packetDecompressor('none', { maxBytes: 1 })(x), x);
  // RLE blocks (at most 2^21 - 1 bytes each): 64 MiB + 1 from a few bytes, over the default cap; no decoder is called
  const blocks: number[] = [];
  for (let i = 0; i < 32; i++) blocks.push(...rle((1 << 21) - 1, 0, false));
  const bomb = bytes(zstd(0x00, [(16 << 3) | 0], [...blocks, ...rle(33, 0)]));
  assert.equal(decompressedBound('zstd', bomb).bytes, MAX_DECOMPRESSED_PACKET_BYTES + 1);
  const f = spy(codecPackages.fzstd!, 'decompress');
  try {
    assert.throws(
      () => packetDecompressor('zstd')(bomb),
      (e: unknown) => e instanceof DecompressionLimitError && e.name === 'DecompressionLimitError' && e.bound === 67108865 && e.cap === 67108864 && e.message === 'would expand to 67108865 bytes or more, over the cap of 67108864 bytes',
    );
    assert.throws(() => packetDecompressor('zstd', { maxBytes: 4 })(zstdHello), (e: unknown) => e instanceof DecompressionLimitError && e.bound === 5 && e.cap === 4);
    assert.equal(f.calls.length, 0);
    assert.deepEqual(Array.from(packetDecompressor('zstd', { maxBytes: 5 })(zstdHello)), ascii('hello'));
  } finally {
    f.restore();
  }
  // a decoder that returns more than the frame's bound (it never should): refused, not passed on
  const orig = codecPackages.fzstd!.decompress;
  codecPackages.fzstd!.decompress = () => new Uint8Array(6);
  try {
    assert.throws(() => packetDecompressor('zstd')(zstdHello), /^Error: decoder produced 6 bytes, over the frame's bound of 5$/);
    codecPackages.fzstd!.decompress = () => new Uint8Array(5);
    assert.equal(packetDecompressor('zstd')(zstdHello).length, 5);
  } finally {
    codecPackages.fzstd!.decompress = orig;
  }
});

test('LZ4: lz4-napi first, lz4js when it is missing (given the bound); both encode, lz4_high too', async () => {
  const frame = (await packetCompressor('lz4'))(Uint8Array.from(ascii('lz4 lz4 lz4 lz4 lz4')));
  const saved = { ...codecPackages };
  const napi = spy(codecPackages.lz4Napi!, 'decompressFrameSync');
  const js = spy(codecPackages.lz4js!, 'decompress');
  try {
    assert.deepEqual(Array.from(packetDecompressor('lz4')(frame)), ascii('lz4 lz4 lz4 lz4 lz4'));
    assert.deepEqual([napi.calls.length, js.calls.length], [1, 0]);
    codecPackages.lz4Napi = undefined;
    assert.deepEqual(Array.from(packetDecompressor('lz4_high')(frame)), ascii('lz4 lz4 lz4 lz4 lz4'));
    assert.deepEqual([napi.calls.length, js.calls.length], [1, 1]);
    // lz4js is told the bound (it allocates what it is told, else the header's size or its own guess)
    assert.equal(js.calls[0]![1], decompressedBound('lz4', frame).bytes);
    // ... and decodes without one
    const lz4jsCodec = availableCodecs().find((c) => c.packageName === 'lz4js')!;
    assert.deepEqual(Array.from(lz4jsCodec.decode(frame)), ascii('lz4 lz4 lz4 lz4 lz4'));
    assert.equal(js.calls[1]![1], undefined);
  } finally {
    Object.assign(codecPackages, saved);
    napi.restore();
    js.restore();
  }
  const enc = spy(codecPackages.lz4Napi!, 'compressFrameSync');
  const encJs = spy(codecPackages.lz4js!, 'compress');
  try {
    const c = await packetCompressor('lz4_high');
    c(Uint8Array.of(1, 2, 3));
    assert.deepEqual([enc.calls.length, encJs.calls.length], [1, 0]);
    codecPackages.lz4Napi = undefined;
    (await packetCompressor('lz4'))(Uint8Array.of(1, 2, 3));
    assert.deepEqual([enc.calls.length, encJs.calls.length], [1, 1]);
    codecPackages.lz4js = undefined;
    await assert.rejects(packetCompressor('lz4'), /^Error: no LZ4 encoder could be loaded \(lz4-napi, lz4js\)$/);
  } finally {
    Object.assign(codecPackages, saved);
    enc.restore();
    encJs.restore();
  }
  const none = await packetCompressor('none');
  const x = Uint8Array.of(4, 5);
  assert.equal(none(x), x);
});

test('ZSTD after initZstdWasm: the wasm decoder (given the bound), upgraded in a decompressor made before; several frames go to fzstd; levels 3 and 19', async () => {
  const early = packetDecompressor('zstd');
  const data0 = Uint8Array.from(ascii('wasm wasm wasm'));
  const init = initZstdWasm();
  assert.equal(initZstdWasm(), init, 'one initialisation');
  assert.equal(await init, true);
  assert.deepEqual(availableCodecs().map((c) => c.packageName), ['lz4-napi', 'lz4js', 'fzstd', '@bokuweb/zstd-wasm']);
  // no content size: the wasm decoder's output capacity is what it is told (1 byte fails), the bound here
  // (the 1 KiB window), 1 MiB when told nothing
  const noSize = bytes(zstd(0x00, [0], raw(ascii('hello'))));
  const wasm = availableCodecs().find((c) => c.packageName === '@bokuweb/zstd-wasm')!;
  assert.throws(() => wasm.decode(noSize, { bytes: 1, frames: 1 }));
  assert.deepEqual(Array.from(wasm.decode(noSize)), ascii('hello'));
  assert.deepEqual(Array.from(wasm.decode(noSize, decompressedBound('zstd', noSize))), ascii('hello'));
  // the package is not wrapped (its exports are getters): that fzstd is not called tells the wasm decoder ran
  const f = spy(codecPackages.fzstd!, 'decompress');
  try {
    assert.deepEqual(Array.from(early(noSize)), ascii('hello'));
    assert.deepEqual(Array.from(packetDecompressor('zstd')(zstdWorld)), ascii('world'));
    assert.deepEqual(Array.from(packetDecompressor('zstd')(bytes(zstd(0x20, [0], raw([]))))), []);
    assert.equal(f.calls.length, 0);
    // two frames: the wasm decoder sizes its output by the first and fails (or stops); fzstd decodes both
    const both = bytes(zstdHello, zstdWorld);
    const alone = ((): number[] | null => {
      try {
        return Array.from(wasm.decode(both, decompressedBound('zstd', both)));
      } catch {
        return null;
      }
    })();
    assert.notDeepEqual(alone, ascii('helloworld'));
    assert.deepEqual(Array.from(packetDecompressor('zstd')(both)), ascii('helloworld'));
    assert.equal(f.calls.length, 1);
    assert.deepEqual(Array.from(early(both)), ascii('helloworld'));
    assert.equal(f.calls.length, 2);
  } finally {
    f.restore();
  }
  // the wasm codec's own encoder is level 3
  assert.deepEqual(Array.from(wasm.encode!(data0)), Array.from(codecPackages.zstdWasm!.compress(data0, 3)));
  // levels: zstd 3, zstd_high 19 (told apart by their frames of data where the two levels differ)
  const data = Uint8Array.from({ length: 20_000 }, (_, i) => ((i * 7919) % 251) ^ ((i >> 6) & 3));
  const level = (n: number): number[] => Array.from(codecPackages.zstdWasm!.compress(data, n));
  assert.notDeepEqual(level(3), level(19));
  const fast = (await packetCompressor('zstd'))(data);
  const high = (await packetCompressor('zstd_high'))(data);
  assert.deepEqual([Array.from(fast), Array.from(high)], [level(3), level(19)]);
  for (const frame of [fast, high]) assert.deepEqual(packetDecompressor('zstd')(frame), data);
});

test('compression enum: the IOHeader order NONE, LZ4, LZ4_HIGH, ZSTD, ZSTD_HIGH', () => {
  assert.deepEqual(COMPRESSION_BY_ENUM, ['none', 'lz4', 'lz4_high', 'zstd', 'zstd_high']);
  assert.deepEqual((['none', 'lz4', 'lz4_high', 'zstd', 'zstd_high'] as Aedat4Compression[]).map(compressionEnum), [0, 1, 2, 3, 4]);
});
