import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLASS_NAMES, IGNORE_LABEL, NUM_CLASSES, ClassId } from '../src/labels/index.js';
import { simulateSequence, type SimChunk, type SimOptions } from '../src/sim/simulate.js';
import { renderPreview } from '../src/sim/preview.js';

const small: SimOptions = { seed: 7, seconds: 0.3, width: 64, height: 48 };
const run = (o: SimOptions): SimChunk[] => [...simulateSequence(o)];

test('same seed gives identical events and labels; another seed differs', () => {
  const a = run(small);
  const b = run(small);
  const c = run({ ...small, seed: 8 });
  assert.equal(a.length, 6);
  for (let k = 0; k < a.length; k++) {
    assert.deepEqual(a[k]!.events.t, b[k]!.events.t);
    assert.deepEqual(a[k]!.events.x, b[k]!.events.x);
    assert.deepEqual(a[k]!.events.y, b[k]!.events.y);
    assert.deepEqual(a[k]!.events.p, b[k]!.events.p);
    assert.deepEqual(a[k]!.label, b[k]!.label);
  }
  const total = (cs: SimChunk[]) => cs.reduce((s, ch) => s + ch.events.length, 0);
  const same = a.every((ch, k) => ch.events.length === c[k]!.events.length && ch.label.every((v, i) => v === c[k]!.label[i]));
  assert.ok(!same || total(a) !== total(c), 'different seeds produced the same sequence');
});

test('events are time-sorted, inside the sensor and their window; both polarities; anchor event at t = 0', () => {
  const chunks = run({ ...small, seconds: 0.5 });
  let on = 0;
  let off = 0;
  let prevT = -1;
  assert.equal(chunks[0]!.events.t[0], 0);
  for (const ch of chunks) {
    assert.equal(ch.t0, ch.index * 50_000);
    assert.equal(ch.t1, ch.t0 + 50_000);
    assert.equal(ch.label.length, 64 * 48);
    const e = ch.events;
    assert.equal(e.width, 64);
    assert.equal(e.height, 48);
    for (let k = 0; k < e.length; k++) {
      const t = e.t[k]!;
      assert.ok(t >= prevT, 'not time-sorted');
      assert.ok(t >= ch.t0 && t < ch.t1, `event at ${t} outside window [${ch.t0}, ${ch.t1})`);
      assert.ok(Number.isInteger(t));
      assert.ok(e.x[k]! < 64 && e.y[k]! < 48);
      if (e.p[k] === 1) on++;
      else if (e.p[k] === 0) off++;
      else assert.fail('polarity not 0/1');
      prevT = t;
    }
  }
  assert.ok(on > 100 && off > 100, `ON ${on}, OFF ${off}`);
});

test('every class appears in a few seconds of the default scene; ignore only in the hood band', () => {
  const hist = new Float64Array(256);
  const o: SimOptions = { seed: 3, seconds: 4, width: 173, height: 130, renderHz: 100, noiseRate: 0 };
  for (const ch of simulateSequence(o)) {
    for (const v of ch.label) hist[v]!++;
    // Hood: bottom rows are ignore, top row is never ignore.
    assert.equal(ch.label[(130 - 1) * 173 + 86], IGNORE_LABEL);
    assert.ok(ch.label.subarray(0, 173).every((v) => v !== IGNORE_LABEL));
  }
  const present = Array.from(hist, (v, i) => (v > 0 ? i : -1)).filter((i) => i >= 0);
  assert.deepEqual(present, [0, 1, 2, 3, 4, 5, IGNORE_LABEL], `histogram ${[...hist.subarray(0, NUM_CLASSES)].map((v, i) => `${CLASS_NAMES[i]}=${v}`).join(' ')}`);
});

test('labels align with events: with a parked camera, events sit on (or within 3 px of) moving vehicles and people', () => {
  const W = 173;
  const H = 130;
  let near = 0;
  let total = 0;
  for (const ch of simulateSequence({ seed: 5, seconds: 1, width: W, height: H, noiseRate: 0, speed: 0, shake: 0 })) {
    const moving = dilate(ch.label, W, H, (v) => v === ClassId.vehicle || v === ClassId.human, 3);
    const e = ch.events;
    for (let k = 0; k < e.length; k++) if (moving[e.y[k]! * W + e.x[k]!]) near++;
    total += e.length;
  }
  assert.ok(total > 1000, `${total} events`);
  assert.ok(near > 0.9 * total, `${near} of ${total} events near moving objects`);
});

test('labels align with events: with ego-motion, vehicles and people fire more per pixel than road and sky/buildings', () => {
  const perClassEvents = new Float64Array(256);
  const perClassPixels = new Float64Array(256);
  for (const ch of simulateSequence({ seed: 5, seconds: 1.5, width: 173, height: 130, noiseRate: 0 })) {
    const e = ch.events;
    for (let k = 0; k < e.length; k++) perClassEvents[ch.label[e.y[k]! * ch.width + e.x[k]!]!]!++;
    for (const v of ch.label) perClassPixels[v]!++;
  }
  const rate = (c: number) => perClassEvents[c]! / Math.max(1, perClassPixels[c]!);
  const rates = [0, 1, 2, 3, 4, 5, IGNORE_LABEL].map((c) => `${c}:${rate(c).toFixed(2)}`).join(' ');
  for (const c of [ClassId.vehicle, ClassId.human]) {
    assert.ok(rate(c) > 1.2 * rate(ClassId.constructionSky), rates);
    assert.ok(rate(c) > 3 * rate(ClassId.flat), rates);
  }
  assert.ok(rate(IGNORE_LABEL) < 0.01, `the static hood should be silent: ${rates}`);
});

function dilate(label: Uint8Array, W: number, H: number, keep: (v: number) => boolean, r: number): Uint8Array {
  const out = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      if (!keep(label[y * W + x]!)) continue;
      for (let yy = Math.max(0, y - r); yy <= Math.min(H - 1, y + r); yy++) out.fill(1, yy * W + Math.max(0, x - r), yy * W + Math.min(W, x + r + 1));
    }
  }
  return out;
}

test('refractory period holds per pixel', () => {
  const refractoryUs = 2000;
  const last = new Float64Array(64 * 48).fill(-Infinity);
  let events = 0;
  for (const ch of simulateSequence({ ...small, seconds: 0.5, refractoryUs, noiseRate: 2 })) {
    const e = ch.events;
    for (let k = 0; k < e.length; k++) {
      const i = e.y[k]! * 64 + e.x[k]!;
      assert.ok(e.t[k]! - last[i]! >= refractoryUs, `pixel ${i}: ${last[i]} then ${e.t[k]}`);
      last[i] = e.t[k]!;
      events++;
    }
  }
  assert.ok(events > 1000);
});

test('a static scene only produces background noise at the configured rate', () => {
  const still: SimOptions = { seed: 9, seconds: 2, width: 64, height: 48, speed: 0, shake: 0, carDensity: 0, pedestrianDensity: 0 };
  const silent = run({ ...still, noiseRate: 0 }).reduce((s, ch) => s + ch.events.length, 0);
  assert.equal(silent, 1, 'only the anchor event');
  const noiseRate = 5;
  const n = run({ ...still, noiseRate }).reduce((s, ch) => s + ch.events.length, 0);
  const expected = noiseRate * 64 * 48 * 2;
  assert.ok(Math.abs(n - expected) < 0.08 * expected, `${n} noise events, expected about ${expected}`);
});

test('preview has label colours and event pixels', () => {
  const ch = run(small)[5]!;
  const img = renderPreview(ch);
  assert.equal(img.rgb.length, 64 * 48 * 3);
  let white = 0;
  for (let i = 0; i < 64 * 48; i++) if (img.rgb[3 * i] === 255 && img.rgb[3 * i + 1] === 255) white++;
  assert.ok(white > 0);
});
