import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DvsSensor, EventBuffer, type SensorOptions } from '../src/sim/sensor.js';

const base: SensorOptions = { width: 1, height: 1, contrastThreshold: 0.2, thresholdSigma: 0, refractoryUs: 0, noiseRate: 0, hotPixels: 0, hotPixelRate: 0 };

function ramp(sensor: DvsSensor, pixels: number, from: number, to: number, steps: number, dtUs: number): EventBuffer {
  const out = new EventBuffer();
  sensor.reset(new Float32Array(pixels).fill(from), 0);
  for (let s = 1; s <= steps; s++) sensor.advance(new Float32Array(pixels).fill(from + ((to - from) * s) / steps), s * dtUs, out);
  return out;
}

test('a log-intensity ramp of 1.0 gives about 1.0 / C ON events, with interpolated times', () => {
  const out = ramp(new DvsSensor(base, 1), 1, 0, 1.0001, 1, 1000);
  assert.equal(out.length, 5);
  assert.ok(out.p.subarray(0, 5).every((p) => p === 1));
  // Crossings of 0.2, 0.4, ... within one render interval land at 200, 400, ... µs.
  assert.deepEqual([...out.t.subarray(0, 5)].map((t) => Math.round(t / 100) * 100), [200, 400, 600, 800, 1000]);

  const down = ramp(new DvsSensor({ ...base, contrastThreshold: 0.25 }, 1), 1, 0, -1.0001, 20, 500);
  assert.equal(down.length, 4);
  assert.ok(down.p.subarray(0, 4).every((p) => p === 0));
});

test('with threshold mismatch the mean count stays about 1.0 / C', () => {
  const pixels = 400;
  const out = ramp(new DvsSensor({ ...base, width: pixels, thresholdSigma: 0.03 }, 2), pixels, 0, 1, 50, 1000);
  const mean = out.length / pixels;
  assert.ok(Math.abs(mean - 5) < 0.6, `mean ${mean} events per pixel`);
});

test('refractory period drops crossings but the reference keeps up', () => {
  const out = ramp(new DvsSensor({ ...base, refractoryUs: 10_000 }, 1), 1, 0, 1.0001, 10, 1000);
  // Ten steps of 1 ms: events at ~2 ms and then no sooner than 10 ms later.
  assert.equal(out.length, 1);
  const later = new EventBuffer();
  const s = new DvsSensor({ ...base, refractoryUs: 10_000 }, 1);
  s.reset(new Float32Array([0]), 0);
  s.advance(new Float32Array([0.5]), 1000, later); // two crossings, second one refractory
  s.advance(new Float32Array([0.5]), 20_000, later); // no change: reference followed, no catch-up burst
  assert.equal(later.length, 1);
});
