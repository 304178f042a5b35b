/**
 * Packet compression for AEDAT 4: LZ4 *frame* format and ZSTD frames, one frame per packet.
 *
 * Each algorithm has two implementations; the faster one that loads is used (see bench/codecs.ts):
 * - LZ4 decode/encode: `lz4-napi` (native, lz4_flex) preferred, `lz4js` (pure JS) as fallback. (A
 *   hand-written TypeScript frame decoder was tried: ~290 MB/s vs lz4-napi's ~515 MB/s, so it was dropped.)
 * - ZSTD decode: `fzstd` (pure JS, synchronous, no init) by default; `@bokuweb/zstd-wasm` once
 *   `initZstdWasm()` has resolved, because it is faster on large packets.
 * - ZSTD encode: `@bokuweb/zstd-wasm` only (needs the async init; the writer awaits it).
 * Packages are loaded with `require` inside try/catch so a missing native binary only costs speed.
 */
import { createRequire } from 'node:module';

export type Aedat4Compression = 'none' | 'lz4' | 'lz4_high' | 'zstd' | 'zstd_high';

/** IOHeader `compression` enum order (NONE=0, LZ4=1, LZ4_HIGH=2, ZSTD=3, ZSTD_HIGH=4). */
export const COMPRESSION_BY_ENUM: readonly Aedat4Compression[] = ['none', 'lz4', 'lz4_high', 'zstd', 'zstd_high'];

export function compressionEnum(c: Aedat4Compression): number {
  return COMPRESSION_BY_ENUM.indexOf(c);
}

/** One decompression implementation. `decode` throws on corrupt input. */
export interface FrameCodec {
  readonly algorithm: 'lz4' | 'zstd';
  readonly packageName: string;
  decode(src: Uint8Array): Uint8Array;
  /** Absent for decode-only implementations. */
  encode?(src: Uint8Array): Uint8Array;
}

const require = createRequire(import.meta.url);

interface Lz4Napi {
  decompressFrameSync(data: Buffer): Buffer;
  compressFrameSync(data: Buffer): Buffer;
}
interface Lz4Js {
  decompress(src: Uint8Array, maxSize?: number): Uint8Array;
  compress(src: Uint8Array, maxSize?: number): Uint8Array;
}
interface Fzstd {
  decompress(src: Uint8Array, out?: Uint8Array): Uint8Array;
}
interface ZstdWasm {
  init(): Promise<void>;
  decompress(src: Uint8Array): Uint8Array;
  compress(src: Uint8Array, level?: number): Uint8Array;
}

function tryRequire<T>(name: string): T | undefined {
  try {
    return require(name) as T;
  } catch {
    return undefined;
  }
}

function asBuffer(u8: Uint8Array): Buffer {
  return Buffer.isBuffer(u8) ? u8 : Buffer.from(u8.buffer, u8.byteOffset, u8.byteLength);
}

/** All implementations that load in this process (benchmarked by bench/codecs.ts). */
export function availableCodecs(): FrameCodec[] {
  const out: FrameCodec[] = [];
  const napi = tryRequire<Lz4Napi>('lz4-napi');
  if (napi) {
    out.push({
      algorithm: 'lz4',
      packageName: 'lz4-napi',
      decode: (src) => napi.decompressFrameSync(asBuffer(src)),
      encode: (src) => napi.compressFrameSync(asBuffer(src)),
    });
  }
  const lz4js = tryRequire<Lz4Js>('lz4js');
  if (lz4js) {
    out.push({
      algorithm: 'lz4',
      packageName: 'lz4js',
      decode: (src) => lz4js.decompress(src),
      encode: (src) => lz4js.compress(src),
    });
  }
  const fzstd = tryRequire<Fzstd>('fzstd');
  if (fzstd) out.push({ algorithm: 'zstd', packageName: 'fzstd', decode: (src) => fzstd.decompress(src) });
  if (zstdWasmReady && zstdWasm) {
    const z = zstdWasm;
    out.push({
      algorithm: 'zstd',
      packageName: '@bokuweb/zstd-wasm',
      decode: (src) => z.decompress(src),
      encode: (src) => z.compress(src, 3),
    });
  }
  return out;
}

const zstdWasm = tryRequire<ZstdWasm>('@bokuweb/zstd-wasm');
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

function pick(algorithm: 'lz4' | 'zstd', needEncode: boolean): FrameCodec | undefined {
  const codecs = availableCodecs().filter((c) => c.algorithm === algorithm && (!needEncode || c.encode));
  const order = algorithm === 'lz4' ? LZ4_PREFERENCE : ZSTD_PREFERENCE;
  codecs.sort((a, b) => order.indexOf(a.packageName) - order.indexOf(b.packageName));
  return codecs[0];
}

/** Decompressor for one IOHeader compression kind; `none` returns its input. Throws if no codec loads. */
export function packetDecompressor(kind: Aedat4Compression): (src: Uint8Array) => Uint8Array {
  if (kind === 'none') return (src) => src;
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
    return codec.decode(src);
  };
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
