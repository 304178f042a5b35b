/** `fit: 'crop'`: a sensor of another aspect than the model input is cropped (centred), not stretched. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventBatch } from '../src/events/types.js';
import { centredCrop, FrameBinner } from '../src/framing/binner.js';
import type { Frame } from '../src/framing/frame.js';

function events(xs: number[], ys: number[], width: number, height: number): EventBatch {
  return { t: Float64Array.from(xs, (_, i) => 1000 + i), x: Uint16Array.from(xs), y: Uint16Array.from(ys), p: new Uint8Array(xs.length).fill(1), length: xs.length, width, height };
}

test('centredCrop keeps the output aspect and cuts the wider side evenly', () => {
  assert.deepEqual(centredCrop(1280, 720, { width: 64, height: 64 }), { x: 280, y: 0, width: 720, height: 720 });
  assert.deepEqual(centredCrop(640, 480, { width: 64, height: 32 }), { x: 0, y: 80, width: 640, height: 320 });
  assert.deepEqual(centredCrop(128, 96, { width: 64, height: 48 }), { x: 0, y: 0, width: 128, height: 96 }, 'same aspect: the whole sensor');
  assert.deepEqual(centredCrop(304, 240, { width: 1, height: 1 }), { x: 32, y: 0, width: 240, height: 240 });
});

test("fit 'crop' drops the events outside the centred square and maps the rest without stretching", () => {
  // 8 x 4 sensor, square 2 x 2 output: the crop is x 2..5 (4 x 4), each output pixel is 2 x 2 sensor pixels.
  const frames: Frame[] = [];
  const binner = new FrameBinner({ windowUs: 50_000, resize: { width: 2, height: 2 }, fit: 'crop' });
  binner.push(events([0, 1, 2, 3, 4, 5, 6, 7], [0, 0, 0, 1, 2, 3, 3, 3], 8, 4), (f) => frames.push(f));
  binner.flush((f) => frames.push(f));
  assert.equal(frames.length, 1);
  const f = frames[0]!;
  assert.equal(f.width, 2);
  assert.equal(f.height, 2);
  const on = Array.from(f.counts.subarray(0, 4));
  // kept: (2,0) (3,1) -> top-left; (4,2) (5,3) -> bottom-right; x 0, 1, 6, 7 are outside the crop.
  // The resize is an area average: 2 events over a 2 x 2 block = 0.5.
  assert.deepEqual(on, [0.5, 0, 0, 0.5]);

  const stretched: Frame[] = [];
  const whole = new FrameBinner({ windowUs: 50_000, resize: { width: 2, height: 2 } });
  whole.push(events([0, 1, 2, 3, 4, 5, 6, 7], [0, 0, 0, 1, 2, 3, 3, 3], 8, 4), (g) => stretched.push(g));
  whole.flush((g) => stretched.push(g));
  const total = Array.from(stretched[0]!.counts.subarray(0, 4)).reduce((a, b) => a + b, 0);
  // 'stretch' keeps every event: 8 events over output pixels of 4 x 2 sensor pixels each.
  assert.equal(total * 8, 8, "the default ('stretch') keeps every event");
});
