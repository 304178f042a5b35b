/**
 * Which codec compression.ts runs, with what: the packages' order of preference, the ZSTD upgrade once the wasm
 * decoder is initialised (also in decompressors made before), several ZSTD frames to fzstd, the output capacity
 * the wasm decoder and lz4js are told, the cap checked before any decoder runs, a decoder's output over the
 * bound refused, the encoders and their levels. Spies wrap the codec packages' functions (`codecPackages`, the
 * object compression.ts reads); the wasm package's exports are getters, so its calls show as fzstd not called.
 * The frame walks themselves are tested in aedat4-mutants, real encoders' packets in aedat4-hostile.
 *
 * Tests run in order in one process: the ones before `initZstdWasm()` see the pure-JS ZSTD decoder only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { codecPackages } from '#codec-packages';
import {
  availableCodecs,
  COMPRESSION_BY_ENUM,
  compressionEnum,
  DecompressionLimitError,
  decompressedBound,
  initZstdWasm,
  MAX_DECOMPRESSED_PACKET_BYTES,
  packetCompressor,
  packetDecompressor,
  type Aedat4Compression,
} from '../src/events/aedat4/compression.js';
import { concatBytes } from './helpers/aedat4-helpers.js';
import { lz4Frame, zstdFrame } from './helpers/compression-frames.js';

/** A raw-block ZSTD frame of n bytes (0x42 each), with its content size (single segment) or only a 1 KiB window. */
const zstdRaw = (n: number, withSize = true): Uint8Array => zstdFrame(withSize ? { single: true, fcs: n, blocks: [{ type: 0, size: n }] } : { wd: 0, blocks: [{ type: 0, size: n }] });
const filler = (n: number): number[] => new Array<number>(n).fill(0x42);
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

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
    assert.deepEqual(Array.from(packetDecompressor('zstd')(zstdRaw(5))), filler(5));
    assert.equal(f.calls.length, 1);
  } finally {
    f.restore();
  }
  const saved = { ...codecPackages };
  try {
    codecPackages.fzstd = undefined;
    const d = packetDecompressor('zstd_high');
    assert.throws(() => d(zstdRaw(5)), /^Error: no zstd decoder could be loaded$/);
    codecPackages.lz4Napi = undefined;
    codecPackages.lz4js = undefined;
    assert.throws(() => packetDecompressor('lz4')(lz4Frame({ blocks: [{ raw: 1 }] })), /^Error: no lz4 decoder could be loaded$/);
  } finally {
    Object.assign(codecPackages, saved);
  }
});

test('packetDecompressor: none is the input itself; the cap is checked before any decoder runs; output over the bound refused', () => {
  const x = Uint8Array.of(1, 2, 3);
  assert.equal(packetDecompressor('none')(x), x);
  // RLE blocks (at most 2^21 - 1 bytes each): 64 MiB + 1 from a few bytes, over the default cap
  const bomb = zstdFrame({ wd: 16 << 3, blocks: [...Array.from({ length: 32 }, () => ({ type: 1 as const, size: (1 << 21) - 1 })), { type: 1, size: 33 }] });
  assert.equal(decompressedBound('zstd', bomb).bytes, MAX_DECOMPRESSED_PACKET_BYTES + 1);
  const f = spy(codecPackages.fzstd!, 'decompress');
  try {
    assert.throws(
      () => packetDecompressor('zstd')(bomb),
      (e: unknown) => e instanceof DecompressionLimitError && e.name === 'DecompressionLimitError' && e.bound === 67108865 && e.cap === 67108864 && e.message === 'would expand to 67108865 bytes or more, over the cap of 67108864 bytes',
    );
    assert.throws(() => packetDecompressor('zstd', { maxBytes: 4 })(zstdRaw(5)), (e: unknown) => e instanceof DecompressionLimitError && e.bound === 5 && e.cap === 4);
    assert.equal(f.calls.length, 0);
    assert.deepEqual(Array.from(packetDecompressor('zstd', { maxBytes: 5 })(zstdRaw(5))), filler(5));
  } finally {
    f.restore();
  }
  // a decoder that returns more than the frame's bound (it never should): refused, not passed on
  const orig = codecPackages.fzstd!.decompress;
  try {
    codecPackages.fzstd!.decompress = () => new Uint8Array(6);
    assert.throws(() => packetDecompressor('zstd')(zstdRaw(5)), /^Error: decoder produced 6 bytes, over the frame's bound of 5$/);
    codecPackages.fzstd!.decompress = () => new Uint8Array(5);
    assert.equal(packetDecompressor('zstd')(zstdRaw(5)).length, 5);
  } finally {
    codecPackages.fzstd!.decompress = orig;
  }
});

test('LZ4: lz4-napi first, lz4js when it is missing (told the bound, or nothing); both encode, lz4_high too', async () => {
  const data = text('lz4 lz4 lz4 lz4 lz4');
  const frame = (await packetCompressor('lz4'))(data);
  const saved = { ...codecPackages };
  const napi = spy(codecPackages.lz4Napi!, 'decompressFrameSync');
  const js = spy(codecPackages.lz4js!, 'decompress');
  try {
    assert.deepEqual(Array.from(packetDecompressor('lz4')(frame)), Array.from(data));
    assert.deepEqual([napi.calls.length, js.calls.length], [1, 0]);
    codecPackages.lz4Napi = undefined;
    assert.deepEqual(Array.from(packetDecompressor('lz4_high')(frame)), Array.from(data));
    assert.deepEqual([napi.calls.length, js.calls.length], [1, 1]);
    // lz4js allocates what it is told (else the header's size or its own guess): the bound
    assert.equal(js.calls[0]![1], decompressedBound('lz4', frame).bytes);
    const lz4js = availableCodecs().find((c) => c.packageName === 'lz4js')!;
    assert.deepEqual(Array.from(lz4js.decode(frame)), Array.from(data));
    assert.equal(js.calls[1]![1], undefined);
  } finally {
    Object.assign(codecPackages, saved);
    napi.restore();
    js.restore();
  }
  const enc = spy(codecPackages.lz4Napi!, 'compressFrameSync');
  const encJs = spy(codecPackages.lz4js!, 'compress');
  try {
    (await packetCompressor('lz4_high'))(data);
    assert.deepEqual([enc.calls.length, encJs.calls.length], [1, 0]);
    codecPackages.lz4Napi = undefined;
    (await packetCompressor('lz4'))(data);
    assert.deepEqual([enc.calls.length, encJs.calls.length], [1, 1]);
    codecPackages.lz4js = undefined;
    await assert.rejects(packetCompressor('lz4'), /^Error: no LZ4 encoder could be loaded \(lz4-napi, lz4js\)$/);
  } finally {
    Object.assign(codecPackages, saved);
    enc.restore();
    encJs.restore();
  }
  const x = Uint8Array.of(4, 5);
  assert.equal((await packetCompressor('none'))(x), x);
});

test('ZSTD after initZstdWasm: the wasm decoder (told the bound), also in a decompressor made before; several frames go to fzstd; levels 3 and 19', async () => {
  const early = packetDecompressor('zstd');
  const init = initZstdWasm();
  assert.equal(initZstdWasm(), init, 'one initialisation');
  assert.equal(await init, true);
  assert.deepEqual(availableCodecs().map((c) => c.packageName), ['lz4-napi', 'lz4js', 'fzstd', '@bokuweb/zstd-wasm']);
  // no content size: the wasm decoder's output capacity is what it is told (1 byte fails), the bound (the 1 KiB
  // window), 1 MiB when told nothing
  const noSize = zstdRaw(5, false);
  const wasm = availableCodecs().find((c) => c.packageName === '@bokuweb/zstd-wasm')!;
  assert.throws(() => wasm.decode(noSize, { bytes: 1, frames: 1 }));
  assert.deepEqual(Array.from(wasm.decode(noSize)), filler(5));
  assert.deepEqual(Array.from(wasm.decode(noSize, decompressedBound('zstd', noSize))), filler(5));
  const f = spy(codecPackages.fzstd!, 'decompress');
  try {
    assert.deepEqual(Array.from(early(noSize)), filler(5));
    assert.deepEqual(Array.from(packetDecompressor('zstd')(zstdRaw(3))), filler(3));
    assert.deepEqual(Array.from(packetDecompressor('zstd')(zstdRaw(0))), []);
    assert.equal(f.calls.length, 0, 'the wasm decoder ran');
    // two frames: the wasm decoder sizes its output by the first and fails (or stops); fzstd decodes both
    const both = concatBytes(zstdRaw(5), zstdRaw(3));
    const alone = ((): number[] | null => {
      try {
        return Array.from(wasm.decode(both, decompressedBound('zstd', both)));
      } catch {
        return null;
      }
    })();
    assert.notDeepEqual(alone, filler(8));
    assert.deepEqual(Array.from(packetDecompressor('zstd')(both)), filler(8));
    assert.equal(f.calls.length, 1);
    assert.deepEqual(Array.from(early(both)), filler(8));
    assert.equal(f.calls.length, 2);
  } finally {
    f.restore();
  }
  // levels: the codec's own encoder and zstd 3, zstd_high 19 (told apart by data where the two levels differ)
  const data = Uint8Array.from({ length: 20_000 }, (_, i) => ((i * 7919) % 251) ^ ((i >> 6) & 3));
  const level = (n: number): number[] => Array.from(codecPackages.zstdWasm!.compress(data, n));
  assert.notDeepEqual(level(3), level(19));
  assert.deepEqual(Array.from(wasm.encode!(data)), level(3));
  const fast = (await packetCompressor('zstd'))(data);
  const high = (await packetCompressor('zstd_high'))(data);
  assert.deepEqual([Array.from(fast), Array.from(high)], [level(3), level(19)]);
  for (const frame of [fast, high]) assert.deepEqual(Array.from(packetDecompressor('zstd')(frame)), Array.from(data));
});

test('compression enum: the IOHeader order NONE, LZ4, LZ4_HIGH, ZSTD, ZSTD_HIGH', () => {
  assert.deepEqual(COMPRESSION_BY_ENUM, ['none', 'lz4', 'lz4_high', 'zstd', 'zstd_high']);
  assert.deepEqual((['none', 'lz4', 'lz4_high', 'zstd', 'zstd_high'] as Aedat4Compression[]).map(compressionEnum), [0, 1, 2, 3, 4]);
});
