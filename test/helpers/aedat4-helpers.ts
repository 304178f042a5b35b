/** Shared helpers for the AEDAT 4 tests (not a test file itself: no `.test.` in the name). */
import type { EventBatch } from '../../src/events/types.js';
import type { FormatWarning } from '../../src/events/errors.js';
import { Aedat4Decoder, type Aedat4DecoderOptions } from '../../src/events/aedat4/index.js';
import { EventStats as RunningStats } from '../../src/events/stats.js';
import { createRequire } from 'node:module';

const lz4napi = createRequire(import.meta.url)('lz4-napi') as { compressFrameSync(b: Buffer): Buffer };

/** One LZ4 frame of `raw` by lz4-napi (the native library, independent of the decoders under test). */
export function lz4napiFrame(raw: Uint8Array): Uint8Array {
  return new Uint8Array(lz4napi.compressFrameSync(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)));
}

/** A little-endian uint32 as 4 bytes. */
export function le32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v >>> 0, true);
  return b;
}

export interface EventStats {
  count: number;
  on: number;
  off: number;
  tFirst: number;
  tLast: number;
  xyp: number;
  dt: number;
  minX: number;
  maxX: number;
  minY: number;
  maxY: number;
  monotonic: boolean;
  /** ON/OFF counts in 50 ms windows [t0 + k*50000, t0 + (k+1)*50000), k = 0..4. */
  windows: Array<[number, number]>;
}

export function statsOf(batches: readonly EventBatch[]): EventStats {
  const s = new RunningStats();
  const windows: Array<[number, number]> = [[0, 0], [0, 0], [0, 0], [0, 0], [0, 0]];
  for (const b of batches) {
    s.add(b);
    for (let i = 0; i < b.length; i++) {
      const k = Math.floor((b.t[i]! - s.tFirstUs) / 50000);
      if (k >= 0 && k < 5) windows[k]![b.p[i] ? 0 : 1]++;
    }
  }
  return {
    count: s.events,
    on: s.on,
    off: s.off,
    tFirst: s.tFirstUs,
    tLast: s.tLastUs,
    xyp: s.xypChecksum,
    dt: s.dtChecksum,
    minX: s.events ? s.xMin : Infinity,
    maxX: s.events ? s.xMax : -Infinity,
    minY: s.events ? s.yMin : Infinity,
    maxY: s.events ? s.yMax : -Infinity,
    monotonic: s.nonMonotonic === 0,
    windows,
  };
}

export interface DecodeResult {
  batches: EventBatch[];
  warnings: FormatWarning[];
  decoder: Aedat4Decoder;
  error?: unknown;
}

/** Feed `bytes` in chunks of `chunkSize` (whole input when undefined); errors are captured, not thrown. */
export function decodeChunked(bytes: Uint8Array, chunkSize?: number, opts: Partial<Aedat4DecoderOptions> = {}): DecodeResult {
  const batches: EventBatch[] = [];
  const warnings: FormatWarning[] = [];
  const decoder = new Aedat4Decoder(
    { batch: (b) => batches.push(b), warn: (w) => warnings.push(w) },
    { source: 'test.aedat4', ...opts },
  );
  try {
    const step = chunkSize ?? Math.max(1, bytes.length);
    for (let i = 0; i < bytes.length; i += step) decoder.push(bytes.subarray(i, Math.min(bytes.length, i + step)));
    decoder.end();
    return { batches, warnings, decoder };
  } catch (error) {
    return { batches, warnings, decoder, error };
  }
}

/** Deterministic DVS-like events: `n` events, µs timestamps increasing from `tStart`. */
export function syntheticEvents(n: number, tStart = 1_600_000_000_000_000, seed = 7): EventBatch {
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
  const t = new Float64Array(n);
  const x = new Uint16Array(n);
  const y = new Uint16Array(n);
  const p = new Uint8Array(n);
  let now = tStart;
  for (let i = 0; i < n; i++) {
    now += Math.floor(rnd() * 20);
    t[i] = now;
    x[i] = Math.floor(rnd() * 346);
    y[i] = Math.floor(rnd() * 260);
    p[i] = rnd() < 0.5 ? 1 : 0;
  }
  return { t, x, y, p, length: n, width: 346, height: 260 };
}

export { concatBytes } from './bytes.js';

export function assertSameEvents(a: readonly EventBatch[], b: readonly EventBatch[]): string | undefined {
  const flat = (bs: readonly EventBatch[]) => {
    const n = bs.reduce((s, x) => s + x.length, 0);
    const t = new Float64Array(n);
    const xy = new Uint32Array(n);
    let o = 0;
    for (const bt of bs) {
      for (let i = 0; i < bt.length; i++, o++) {
        t[o] = bt.t[i]!;
        xy[o] = bt.x[i]! | (bt.y[i]! << 16);
      }
    }
    const p = new Uint8Array(n);
    o = 0;
    for (const bt of bs) for (let i = 0; i < bt.length; i++) p[o++] = bt.p[i]!;
    return { n, t, xy, p };
  };
  const A = flat(a);
  const B = flat(b);
  if (A.n !== B.n) return `length ${A.n} != ${B.n}`;
  for (let i = 0; i < A.n; i++) {
    if (A.t[i] !== B.t[i] || A.xy[i] !== B.xy[i] || A.p[i] !== B.p[i]) return `event ${i} differs`;
  }
  return undefined;
}
