/**
 * Packet compression for AEDAT 4: LZ4 *frame* format and ZSTD frames, one frame per packet.
 *
 * Each algorithm has two implementations; the faster one that loads is used (see bench/codecs.ts):
 * - LZ4 decode/encode: `lz4-napi` (native, lz4_flex) preferred, `lz4js` (pure JS) as fallback. (A
 *   hand-written TypeScript frame decoder was tried: ~290 MB/s vs lz4-napi's ~515 MB/s, so it was dropped.)
 * - ZSTD decode: `fzstd` (pure JS, synchronous, no init) by default; `@bokuweb/zstd-wasm` once
 *   `initZstdWasm()` has resolved, because it is faster on large packets.
 * - ZSTD encode: `@bokuweb/zstd-wasm` only (needs the async init; the writer awaits it).
 * Which packages load is platform-specific (codec-packages.ts in Node: `require` inside try/catch, so a
 * missing native binary only costs speed; codec-packages.browser.ts in browsers: the pure-JS lz4js and fzstd
 * only); package.json's `imports` map `#codec-packages` to one or the other by the `browser` condition.
 *
 * Decompression bombs. None of these decoders takes an output limit (lz4-napi and fzstd grow the output to
 * whatever the frame produces; a 64 KB payload of ZSTD RLE blocks expands to 2 GB). So before any decoder
 * runs, `decompressedBound` walks the frame and block headers (no decompression, a few bytes per block) and
 * computes an upper bound of what the decoder can produce and allocate:
 * - LZ4 frame (the decoders read the first frame only): content size when the header carries it; else per
 *   block, an uncompressed block its size, a compressed one the frame's maximum block size (64 KB .. 4 MB).
 * - ZSTD (fzstd decodes every concatenated frame): per frame, raw and RLE blocks their exact regenerated
 *   size, compressed blocks 128 KiB (the format's Block_Maximum_Size); a frame content size larger than its
 *   blocks can hold is refused (fzstd would allocate it), and without a content size fzstd allocates the
 *   window, which counts too.
 * A bound over the cap (`maxBytes`, default MAX_DECOMPRESSED_PACKET_BYTES) throws DecompressionLimitError
 * before anything is allocated; malformed or cut headers throw a plain Error (the decoder would fail too).
 * For real packets the bound is within one block of the true size, so the cap is exact to that block; the
 * walk costs under 1% of the decode (2 M events in 10 000-event packets: LZ4 127 -> 128 ms, ZSTD 87 -> 87 ms
 * of CPU, measured against the unbounded decoder).
 */
import { codecPackages } from '#codec-packages';
import type { ZstdWasm } from './codec-types.js';

export type Aedat4Compression = 'none' | 'lz4' | 'lz4_high' | 'zstd' | 'zstd_high';

/** Default cap on the decompressed size of one packet. DV packets are well under 1 MB; 64 MiB is generous. */
export const MAX_DECOMPRESSED_PACKET_BYTES = 64 * 1024 * 1024;

/** A frame that would decompress to more than the cap: refused before decompressing. */
export class DecompressionLimitError extends Error {
  override readonly name = 'DecompressionLimitError';
  constructor(
    /** Upper bound of the decompressed size (or the size a decoder would allocate). */
    readonly bound: number,
    readonly cap: number,
  ) {
    super(`would expand to ${bound} bytes or more, over the cap of ${cap} bytes`);
  }
}

/** IOHeader `compression` enum order (NONE=0, LZ4=1, LZ4_HIGH=2, ZSTD=3, ZSTD_HIGH=4). */
export const COMPRESSION_BY_ENUM: readonly Aedat4Compression[] = ['none', 'lz4', 'lz4_high', 'zstd', 'zstd_high'];

export function compressionEnum(c: Aedat4Compression): number {
  return COMPRESSION_BY_ENUM.indexOf(c);
}

/** One decompression implementation. `decode` throws on corrupt input. */
export interface FrameCodec {
  readonly algorithm: 'lz4' | 'zstd';
  readonly packageName: string;
  /**
   * Unbounded: callers check `decompressedBound` first (packetDecompressor does). `bound` (that check's
   * result) lets decoders that need an output capacity use it.
   */
  decode(src: Uint8Array, bound?: FrameBound): Uint8Array;
  /** Absent for decode-only implementations. */
  encode?(src: Uint8Array): Uint8Array;
}

function asBuffer(u8: Uint8Array): Buffer {
  return Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

/** All implementations that load in this process (benchmarked by bench/codecs.ts). */
export function availableCodecs(): FrameCodec[] {
  const out: FrameCodec[] = [];
  const napi = codecPackages.lz4Napi;
  if (napi) {
    out.push({
      algorithm: 'lz4',
      packageName: 'lz4-napi',
      decode: (src) => napi.decompressFrameSync(asBuffer(src)),
      encode: (src) => napi.compressFrameSync(asBuffer(src)),
    });
  }
  const lz4js = codecPackages.lz4js;
  if (lz4js) {
    out.push({
      algorithm: 'lz4',
      packageName: 'lz4js',
      // lz4js allocates the header's content size (or its own block bound) up front: give it ours.
      decode: (src, bound) => lz4js.decompress(src, bound?.bytes),
      encode: (src) => lz4js.compress(src),
    });
  }
  const fzstd = codecPackages.fzstd;
  if (fzstd) out.push({ algorithm: 'zstd', packageName: 'fzstd', decode: (src) => fzstd.decompress(src) });
  if (zstdWasmReady && zstdWasm) {
    const z = zstdWasm;
    out.push({
      algorithm: 'zstd',
      packageName: '@bokuweb/zstd-wasm',
      // Without a content size the wasm decoder's capacity is 1 MiB unless told: tell it the bound.
      decode: (src, bound) => z.decompress(src, { defaultHeapSize: Math.max(1, bound?.bytes ?? 1 << 20) }),
      encode: (src) => z.compress(src, 3),
    });
  }
  return out;
}

const zstdWasm: ZstdWasm | undefined = codecPackages.zstdWasm;
let zstdWasmReady = false;
let zstdWasmInit: Promise<boolean> | undefined;

/** Initialise the wasm ZSTD codec (needed for ZSTD encoding; optional speed-up for decoding). */
export function initZstdWasm(): Promise<boolean> {
  zstdWasmInit ??= (async () => {
    if (!zstdWasm) return false;
    try {
      await zstdWasm.init();
      zstdWasmReady = true;
      return true;
    } catch {
      return false;
    }
  })();
  return zstdWasmInit;
}

/** Preference order measured by bench/codecs.ts (`npm run bench -- codecs`): native LZ4 first, wasm ZSTD (when initialised) first. */
const LZ4_PREFERENCE = ['lz4-napi', 'lz4js'];
const ZSTD_PREFERENCE = ['@bokuweb/zstd-wasm', 'fzstd'];

function pick(algorithm: 'lz4' | 'zstd', needEncode: boolean, packageName?: string): FrameCodec | undefined {
  const codecs = availableCodecs().filter((c) => c.algorithm === algorithm && (!needEncode || c.encode) && (!packageName || c.packageName === packageName));
  const order = algorithm === 'lz4' ? LZ4_PREFERENCE : ZSTD_PREFERENCE;
  codecs.sort((a, b) => order.indexOf(a.packageName) - order.indexOf(b.packageName));
  return codecs[0];
}

export interface PacketDecompressorOptions {
  /** Cap on the decompressed size of one frame (packet); default MAX_DECOMPRESSED_PACKET_BYTES. */
  maxBytes?: number;
}

/**
 * Decompressor for one IOHeader compression kind; `none` returns its input. Throws if no codec loads,
 * DecompressionLimitError when a frame's bound exceeds the cap (checked before decompressing), and the
 * decoder's error on corrupt frames.
 */
export function packetDecompressor(kind: Aedat4Compression, opts: PacketDecompressorOptions = {}): (src: Uint8Array) => Uint8Array {
  if (kind === 'none') return (src) => src;
  const cap = opts.maxBytes ?? MAX_DECOMPRESSED_PACKET_BYTES;
  const algorithm = kind.startsWith('lz4') ? 'lz4' : 'zstd';
  // Resolved lazily per call so that a later initZstdWasm() upgrades the ZSTD decoder.
  let codec = pick(algorithm, false);
  let wasmSeen = zstdWasmReady;
  return (src) => {
    if (algorithm === 'zstd' && zstdWasmReady !== wasmSeen) {
      codec = pick(algorithm, false);
      wasmSeen = zstdWasmReady;
    }
    if (!codec) throw new Error(`no ${algorithm} decoder could be loaded`);
    const bound = decompressedBound(kind, src);
    if (bound.bytes > cap) throw new DecompressionLimitError(bound.bytes, cap);
    // The wasm ZSTD decoder sizes its output by the first frame only: several frames go to fzstd.
    const use = algorithm === 'zstd' && bound.frames > 1 && codec.packageName !== 'fzstd' ? (pick('zstd', false, 'fzstd') ?? codec) : codec;
    const out = use.decode(src, bound);
    if (out.length > bound.bytes) throw new Error(`decoder produced ${out.length} bytes, over the frame's bound of ${bound.bytes}`);
    return out;
  };
}

/** What `decompressedBound` found: the bound in bytes and the number of frames it covers. */
export interface FrameBound {
  bytes: number;
  frames: number;
}

const LZ4_MAGIC = 0x184d2204;
const ZSTD_MAGIC = 0xfd2fb528;
/** Skippable frames (LZ4 and ZSTD share them): magic 0x184D2A50..0x184D2A5F, uint32 size, data. */
const SKIPPABLE_MASK = 0xfffffff0;
const SKIPPABLE_MAGIC = 0x184d2a50;
const LZ4_BLOCK_MAX = [0, 0, 0, 0, 64 * 1024, 256 * 1024, 1024 * 1024, 4 * 1024 * 1024];
/** ZSTD Block_Maximum_Size: a compressed block never regenerates more. */
const ZSTD_BLOCK_MAX = 128 * 1024;
/** fzstd refuses windows above this. */
const ZSTD_MAX_WINDOW = 2145386496;

/**
 * Upper bound of the bytes the decoders produce (and allocate) for `src`, from frame and block headers only;
 * see the module comment. Throws Error on malformed or incomplete headers.
 */
export function decompressedBound(kind: Aedat4Compression, src: Uint8Array): FrameBound {
  if (kind === 'none') return { bytes: src.length, frames: 1 };
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const n = src.length;
  const u32 = (pos: number): number => {
    if (pos + 4 > n) throw new Error(`frame cut at byte ${pos} of ${n}`);
    return dv.getUint32(pos, true);
  };
  if (kind === 'lz4' || kind === 'lz4_high') {
    // lz4-napi and lz4js decode the first frame only (bytes after it are ignored).
    let pos = 0;
    while (pos < n && (u32(pos) & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) pos += 8 + u32(pos + 4);
    if (pos >= n) return { bytes: 0, frames: 0 };
    if (u32(pos) !== LZ4_MAGIC) throw new Error(`no LZ4 frame magic at byte ${pos}`);
    if (pos + 7 > n) throw new Error(`LZ4 frame header cut at byte ${n}`);
    const flg = src[pos + 4]!;
    const bd = src[pos + 5]!;
    if (flg >> 6 !== 1) throw new Error(`LZ4 frame version ${flg >> 6}, expected 1`);
    const blockMax = LZ4_BLOCK_MAX[(bd >> 4) & 7]!;
    if (blockMax === 0) throw new Error(`LZ4 block size id ${(bd >> 4) & 7}`);
    let at = pos + 6;
    let contentSize = -1;
    if (flg & 0x08) {
      contentSize = u32(at) + u32(at + 4) * 4294967296;
      at += 8;
    }
    at += (flg & 0x01 ? 4 : 0) + 1;
    const blockChecksum = flg & 0x10 ? 4 : 0;
    let bytes = 0;
    for (;;) {
      const word = u32(at);
      at += 4;
      if (word === 0) break;
      const size = word & 0x7fffffff;
      bytes += word & 0x80000000 ? size : blockMax;
      at += size + blockChecksum;
      if (at > n) throw new Error(`LZ4 block cut at byte ${n}`);
    }
    // Decoders that trust the header's content size allocate it: count the larger of the two.
    return { bytes: Math.max(bytes, contentSize), frames: 1 };
  }
  let pos = 0;
  let bytes = 0;
  let frames = 0;
  while (pos < n) {
    const magic = u32(pos);
    if ((magic & SKIPPABLE_MASK) >>> 0 === SKIPPABLE_MAGIC) {
      pos += 8 + u32(pos + 4);
      continue;
    }
    if (magic !== ZSTD_MAGIC) throw new Error(`no ZSTD frame magic at byte ${pos}`);
    if (pos + 5 > n) throw new Error(`ZSTD frame header cut at byte ${n}`);
    const fhd = src[pos + 4]!;
    if (fhd & 0x08) throw new Error('ZSTD frame header reserved bit set');
    const singleSegment = (fhd >> 5) & 1;
    const fcsFlag = fhd >> 6;
    let at = pos + 5;
    let window = 0;
    if (!singleSegment) {
      if (at >= n) throw new Error(`ZSTD frame header cut at byte ${n}`);
      const wd = src[at++]!;
      const base = 2 ** (10 + (wd >> 3));
      window = base + (base / 8) * (wd & 7);
    }
    at += [0, 1, 2, 4][fhd & 3]!;
    const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
    if (at + fcsBytes > n) throw new Error(`ZSTD frame header cut at byte ${n}`);
    let fcs = 0;
    for (let k = fcsBytes - 1; k >= 0; k--) fcs = fcs * 256 + src[at + k]!;
    if (fcsFlag === 1) fcs += 256;
    at += fcsBytes;
    if (singleSegment) window = fcs;
    if (window > ZSTD_MAX_WINDOW) throw new Error(`ZSTD window of ${window} bytes`);
    let frameBytes = 0;
    for (;;) {
      if (at + 3 > n) throw new Error(`ZSTD block header cut at byte ${n}`);
      const header = src[at]! | (src[at + 1]! << 8) | (src[at + 2]! << 16);
      at += 3;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) throw new Error(`reserved ZSTD block type at byte ${at - 3}`);
      if (type === 2) frameBytes += Math.min(ZSTD_BLOCK_MAX, window || ZSTD_BLOCK_MAX);
      else frameBytes += size;
      at += type === 1 ? 1 : size;
      if (at > n) throw new Error(`ZSTD block cut at byte ${n}`);
      if (header & 1) break;
    }
    at += fhd & 0x04 ? 4 : 0;
    if (fcsBytes > 0 && fcs > frameBytes) {
      throw new Error(`ZSTD frame content size ${fcs} is more than its blocks can hold (${frameBytes})`);
    }
    // fzstd allocates the content size, or the window when there is none: count what it allocates.
    bytes += Math.max(frameBytes, fcs > 0 ? fcs : window);
    frames++;
    pos = at;
  }
  return { bytes, frames };
}

/** Compressor for the writer. ZSTD needs `await initZstdWasm()` first (Aedat4Writer does it). */
export async function packetCompressor(kind: Aedat4Compression): Promise<(src: Uint8Array) => Uint8Array> {
  if (kind === 'none') return (src) => src;
  if (kind === 'lz4' || kind === 'lz4_high') {
    const codec = pick('lz4', true);
    if (!codec?.encode) throw new Error('no LZ4 encoder could be loaded (lz4-napi, lz4js)');
    return codec.encode;
  }
  if (!(await initZstdWasm()) || !zstdWasm) throw new Error('ZSTD encoder @bokuweb/zstd-wasm could not be loaded');
  const z = zstdWasm;
  const level = kind === 'zstd_high' ? 19 : 3;
  return (src) => z.compress(src, level);
}

/**
 * Length in bytes of the single compressed frame at the start of `src`, by walking its block headers
 * (no decompression), or -1 when the frame is malformed or incomplete. Decoders silently ignore bytes after
 * a frame, so this is how trailing garbage after the file data table is detected.
 */
export function compressedFrameLength(kind: Aedat4Compression, src: Uint8Array): number {
  const dv = new DataView(src.buffer, src.byteOffset, src.byteLength);
  const n = src.length;
  if (kind === 'lz4' || kind === 'lz4_high') {
    if (n < 7 || dv.getUint32(0, true) !== 0x184d2204) return -1;
    const flg = src[4]!;
    let pos = 6 + (flg & 0x08 ? 8 : 0) + (flg & 0x01 ? 4 : 0) + 1;
    const blockChecksum = flg & 0x10 ? 4 : 0;
    for (;;) {
      if (pos + 4 > n) return -1;
      const word = dv.getUint32(pos, true);
      pos += 4;
      if (word === 0) break;
      pos += (word & 0x7fffffff) + blockChecksum;
    }
    pos += flg & 0x04 ? 4 : 0;
    return pos <= n ? pos : -1;
  }
  if (kind === 'zstd' || kind === 'zstd_high') {
    if (n < 6 || dv.getUint32(0, true) !== 0xfd2fb528) return -1;
    const fhd = src[4]!;
    const singleSegment = (fhd >> 5) & 1;
    const fcsFlag = fhd >> 6;
    const dictBytes = [0, 1, 2, 4][fhd & 3]!;
    const fcsBytes = [singleSegment ? 1 : 0, 2, 4, 8][fcsFlag]!;
    let pos = 5 + (singleSegment ? 0 : 1) + dictBytes + fcsBytes;
    for (;;) {
      if (pos + 3 > n) return -1;
      const header = src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16);
      pos += 3;
      const type = (header >> 1) & 3;
      if (type === 3) return -1;
      pos += type === 1 ? 1 : header >>> 3;
      if (header & 1) break;
    }
    pos += fhd & 0x04 ? 4 : 0;
    return pos <= n ? pos : -1;
  }
  return n;
}
