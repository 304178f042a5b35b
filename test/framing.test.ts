import { test } from 'node:test';
import assert from 'node:assert/strict';
import { from, lastValueFrom, toArray } from 'rxjs';
import type { EventBatch } from '../src/events/types.js';
import { FrameBinner } from '../src/framing/binner.js';
import { binFrames } from '../src/framing/bin-frames.js';
import { areaWeights, resizeArea } from '../src/framing/resize.js';
import { normalizeMinMax } from '../src/framing/normalize.js';
import { parseCrop, parseSize } from '../src/framing/frame.js';

function batch(events: [number, number, number, number][], width = 8, height = 6): EventBatch {
  return {
    t: Float64Array.from(events.map((e) => e[0])),
    x: Uint16Array.from(events.map((e) => e[1])),
    y: Uint16Array.from(events.map((e) => e[2])),
    p: Uint8Array.from(events.map((e) => e[3])),
    length: events.length,
    width,
    height,
  };
}

const sum = (a: Float32Array, from = 0, to = a.length) => a.subarray(from, to).reduce((s, v) => s + v, 0);

test('windows start at the first event, are half-open, and count ON in channel 0 and OFF in channel 1', () => {
  const b = new FrameBinner({ windowUs: 100 });
  const frames = [
    ...b.push(batch([
      [1000, 1, 2, 1],
      [1099, 1, 2, 1], // last µs of window 0
      [1100, 3, 4, 0], // first µs of window 1
      [1150, 3, 4, 0],
    ])),
    ...b.flush(),
  ];
  assert.equal(frames.length, 2);
  assert.deepEqual(frames.map((f) => [f.index, f.t0, f.t1, f.events]), [[0, 1000, 1100, 2], [1, 1100, 1200, 2]]);
  const plane = 8 * 6;
  assert.equal(frames[0]!.counts[2 * 8 + 1], 2); // ON at (1,2)
  assert.equal(sum(frames[0]!.counts, plane), 0);
  assert.equal(frames[1]!.counts[plane + 4 * 8 + 3], 2); // OFF at (3,4)
  assert.equal(sum(frames[1]!.counts, 0, plane), 0);
});

test('time gaps produce empty frames, not skipped windows', () => {
  const b = new FrameBinner({ windowUs: 10 });
  const frames = [...b.push(batch([[0, 0, 0, 1], [55, 0, 0, 1]])), ...b.flush()];
  assert.deepEqual(frames.map((f) => f.index), [0, 1, 2, 3, 4, 5]);
  assert.deepEqual(frames.map((f) => f.events), [1, 0, 0, 0, 0, 1]);
});

test('events late by less than one window land in their window; older ones are dropped and counted', () => {
  const b = new FrameBinner({ windowUs: 100 });
  const out = [
    ...b.push(batch([[0, 0, 0, 1], [150, 0, 0, 1]])),
    ...b.push(batch([[90, 1, 0, 1]])), // late by 60 µs < 100: goes to window 0
    ...b.push(batch([[260, 0, 0, 1]])), // window 0 now closed (260 >= 100 + 100)
    ...b.push(batch([[50, 2, 0, 0]])), // too late: dropped
  ];
  out.push(...b.flush());
  assert.deepEqual(out.map((f) => f.events), [2, 1, 1]);
  assert.equal(b.lateDropped, 1);
  assert.equal(out.at(-1)!.lateDropped, 1);
});

test('lateness 0 emits a window as soon as a later event arrives', () => {
  const b = new FrameBinner({ windowUs: 100, latenessUs: 0 });
  assert.equal(b.push(batch([[0, 0, 0, 1], [99, 0, 0, 1]])).length, 0);
  assert.equal(b.push(batch([[100, 0, 0, 1]])).length, 1);
});

test('result does not depend on how events are split into batches', () => {
  const events: [number, number, number, number][] = [];
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  for (let i = 0; i < 5000; i++) events.push([Math.floor(i * 7.3 + rnd() * 40), Math.floor(rnd() * 8), Math.floor(rnd() * 6), rnd() < 0.5 ? 1 : 0]);
  const run = (size: number) => {
    const b = new FrameBinner({ windowUs: 500 });
    const frames = [];
    for (let i = 0; i < events.length; i += size) frames.push(...b.push(batch(events.slice(i, i + size))));
    frames.push(...b.flush());
    return { frames: frames.map((f) => Array.from(f.counts)), dropped: b.lateDropped };
  };
  const whole = run(events.length);
  for (const size of [1, 3, 64, 1000]) assert.deepEqual(run(size), whole);
});

test('crop keeps the sensor region and resize area-averages it', () => {
  // 4x4 sensor, crop the top-left 4x2 and resize to 2x1: each output pixel averages a 2x2 block.
  const b = new FrameBinner({ windowUs: 100, crop: { x: 0, y: 0, width: 4, height: 2 }, resize: { width: 2, height: 1 } });
  const ev: [number, number, number, number][] = [
    [0, 0, 0, 1], [1, 1, 1, 1], [2, 1, 0, 1], [3, 0, 1, 1], // 4 ON in the left block
    [4, 2, 0, 0], [5, 3, 1, 0], // 2 OFF in the right block
    [6, 0, 3, 1], // outside the crop (y = 3)
  ];
  const [f] = [...b.push(batch(ev, 4, 4)), ...b.flush()];
  assert.equal(f!.width, 2);
  assert.equal(f!.height, 1);
  assert.deepEqual(Array.from(f!.counts), [1, 0, 0, 0.5]);
  assert.equal(f!.events, 6);
});

test('area resize preserves the mean and handles non-integer ratios (346x200 -> 64x64)', () => {
  const inW = 346;
  const inH = 200;
  const img = new Float32Array(inW * inH);
  for (let i = 0; i < img.length; i++) img[i] = (i * 2654435761) % 7;
  const out = resizeArea(img, 1, inW, inH, 64, 64);
  const meanIn = sum(img) / img.length;
  const meanOut = sum(out) / out.length;
  assert.ok(Math.abs(meanIn - meanOut) < 1e-3, `${meanIn} vs ${meanOut}`);
  const w = areaWeights(346, 64);
  for (let i = 0; i < 64; i++) {
    let s = 0;
    for (let k = w.start[i]!; k < w.start[i + 1]!; k++) s += w.weight[k]!;
    assert.ok(Math.abs(s - 1) < 1e-5);
  }
});

test('normalize scales each channel to [-0.5, 0.5] and maps constant channels to 0', () => {
  const d = Float32Array.from([0, 2, 4, 3, 3, 3]);
  normalizeMinMax(d, 2);
  assert.deepEqual(Array.from(d), [-0.5, 0, 0.5, 0, 0, 0]);
});

test('binFrames operator flushes open windows on completion', async () => {
  const frames = await lastValueFrom(from([batch([[0, 1, 1, 1]]), batch([[120, 1, 1, 0]])]).pipe(binFrames({ windowUs: 100 }), toArray()));
  assert.deepEqual(frames.map((f) => f.events), [1, 1]);
});

test('size and crop parsing reject malformed values', () => {
  assert.deepEqual(parseSize('64x32'), { width: 64, height: 32 });
  assert.throws(() => parseSize('64'), /expected WxH/);
  assert.deepEqual(parseCrop('0,0,346,200'), { x: 0, y: 0, width: 346, height: 200 });
  assert.throws(() => parseCrop('0,0,346'), /expected x,y,w,h/);
  assert.throws(() => new FrameBinner({ windowUs: 0 }), /windowUs/);
  const b = new FrameBinner({ crop: { x: 0, y: 0, width: 10, height: 10 } });
  assert.throws(() => b.push(batch([[0, 0, 0, 1]], 8, 6)), /exceeds the 8x6 sensor/);
});
