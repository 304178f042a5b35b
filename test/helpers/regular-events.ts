import type { EventBatch } from '../../src/events/types.js';

/**
 * A crafted 64 x 48 stream: one event every `stepUs` from `t0` over `spanUs` (both ends included), x, y and
 * p cycling. Paced-replay tests and the pacing bench replay it as an AEDAT 4 file.
 */
export function regularEvents(spanUs: number, stepUs: number, t0 = 1_000_000): EventBatch {
  const n = Math.floor(spanUs / stepUs) + 1;
  return {
    t: Float64Array.from({ length: n }, (_, i) => t0 + i * stepUs),
    x: Uint16Array.from({ length: n }, (_, i) => i % 64),
    y: Uint16Array.from({ length: n }, (_, i) => (i >> 6) % 48),
    p: Uint8Array.from({ length: n }, (_, i) => i & 1),
    length: n,
    width: 64,
    height: 48,
  };
}
