/**
 * Crop edges and out-of-bounds counting of the binner, on both of its paths (issue 19, Stryker survivors in
 * src/framing/binner.ts): the first event of a window goes through the slow path, later ones in the same
 * window through the fast path; both must put an event at the crop's last row / column in, one just past it
 * out (not counted as out of bounds: it is on the sensor), and count only events off the sensor as out of
 * bounds. Expected counts are worked out by hand below; the result must not depend on batching.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventBatch } from '../src/events/types.js';
import { FrameBinner } from '../src/framing/binner.js';
import type { Frame } from '../src/framing/frame.js';

const W = 8;
const H = 6;
const CROP = { x: 2, y: 1, width: 4, height: 3 };
const PLANE = CROP.width * CROP.height; // 12: ON plane [0, 12), OFF plane [12, 24)

function batch(events: number[][]): EventBatch {
  return {
    t: Float64Array.from(events.map((e) => e[0]!)),
    x: Uint16Array.from(events.map((e) => e[1]!)),
    y: Uint16Array.from(events.map((e) => e[2]!)),
    p: Uint8Array.from(events.map((e) => e[3]!)),
    length: events.length,
    width: W,
    height: H,
  };
}

// [t, x, y, p]; windows of 100 µs from t = 1000
const EVENTS = [
  [1000, 2, 1, 1], // slow path (first event): crop (0, 0) ON
  [1010, 5, 3, 0], // fast: crop's last column and row (3, 2), OFF
  [1020, 6, 3, 1], // fast: x = crop.x + width: outside the crop, on the sensor
  [1030, 5, 4, 1], // fast: y = crop.y + height: outside, on the sensor
  [1040, 1, 1, 1], // fast: x < crop.x: outside, on the sensor
  [1050, 8, 2, 1], // fast: x = sensor width: out of bounds
  [1060, 3, 6, 1], // fast: y = sensor height: out of bounds
  [1070, 9, 9, 1], // fast: both off the sensor: out of bounds (once)
  [1080, 7, 5, 1], // fast: last sensor pixel, outside the crop: not out of bounds
  [1100, 8, 0, 1], // slow (new window): x = sensor width: out of bounds
  [1101, 2, 1, 0], // fast: crop (0, 0) OFF
  [1200, 6, 1, 1], // slow: x = crop.x + width: outside, on the sensor
  [1300, 2, 4, 1], // slow: y = crop.y + height: outside, on the sensor
  [1400, 1, 2, 1], // slow: x < crop.x: outside, on the sensor
  [1500, 5, 3, 1], // slow: crop (3, 2) ON
  [1600, 3, 0, 0], // slow: y < crop.y: outside, on the sensor
  [1700, 0, 6, 1], // slow: y = sensor height: out of bounds
];
/** Per window: [index in counts, value] of the non-zero cells, and the events counted. */
const WANT: [number, number][][] = [
  [[0, 1], [PLANE + 2 * 4 + 3, 1]],
  [[PLANE + 0, 1]],
  [],
  [],
  [],
  [[2 * 4 + 3, 1]],
  [],
  [],
];

function run(split: number): { frames: Frame[]; b: FrameBinner } {
  const b = new FrameBinner({ windowUs: 100, crop: CROP });
  const frames: Frame[] = [];
  for (let i = 0; i < EVENTS.length; i += split) b.push(batch(EVENTS.slice(i, i + split)), (f) => frames.push(f));
  b.flush((f) => frames.push(f));
  return { frames, b };
}

test('crop edges and out-of-bounds events, on the fast and the slow path, for any batching', () => {
  for (const split of [EVENTS.length, 1, 2, 3]) {
    const { frames, b } = run(split);
    const cells = frames.map((f) => Array.from(f.counts).flatMap((v, i) => (v ? [[i, v] as [number, number]] : [])));
    assert.deepEqual(cells, WANT, `batches of ${split}`);
    assert.deepEqual(frames.map((f) => f.events), WANT.map((w) => w.length), `events, batches of ${split}`);
    assert.deepEqual(frames.map((f) => [f.width, f.height]), WANT.map(() => [CROP.width, CROP.height]));
    assert.equal(b.outOfBounds, 5, `out of bounds, batches of ${split}`);
  }
});

test('with the time guard off, non-finite times are counted as outliers and framing goes on', () => {
  const b = new FrameBinner({ windowUs: 100, maxGapUs: 0 });
  const frames: Frame[] = [];
  b.push(batch([[1000, 1, 1, 1], [NaN, 1, 1, 1], [Infinity, 2, 2, 1], [1010, 2, 1, 1]]), (f) => frames.push(f));
  b.flush((f) => frames.push(f));
  assert.equal(b.outliers, 2);
  assert.deepEqual(frames.map((f) => f.events), [2]);
});
