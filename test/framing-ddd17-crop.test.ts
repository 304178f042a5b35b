/**
 * `crop: "ddd17"`: DDD17's hood crop as a rule on any sensor (src/framing/frame.ts ddd17Crop), one rule for
 * training (a run's `crop: "ddd17"`) and live framing (a pipeline's `framing.crop: "ddd17"`, the binner's
 * `crop: 'ddd17'`), so a model trained on DAVIS346 drives runs on a DAVIS240 with the same fraction of rows.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameBinner } from '../src/framing/binner.js';
import { ddd17Crop } from '../src/framing/frame.js';
import type { Frame } from '../src/framing/frame.js';
import { parsePipeline } from '../src/pipeline/config.js';
import { binOptionsOf } from '../src/pipeline/frame-options.js';
import { resolveCrop } from '../src/train/preprocess.js';
import { batchOf, type EventRow } from './helpers/batches.js';

test('ddd17Crop: 346 x 200 of a DAVIS346, the top round(H * 200 / 260) rows of any other sensor; training resolves the same rule', () => {
  assert.deepEqual(ddd17Crop(346, 260), { x: 0, y: 0, width: 346, height: 200 });
  assert.deepEqual(ddd17Crop(240, 180), { x: 0, y: 0, width: 240, height: 138 }); // 180 * 200 / 260 = 138.46
  assert.deepEqual(ddd17Crop(64, 48), { x: 0, y: 0, width: 64, height: 37 });
  assert.deepEqual(ddd17Crop(10, 1), { x: 0, y: 0, width: 10, height: 1 });
  for (const [w, h] of [[346, 260], [240, 180], [1280, 720]] as const) assert.deepEqual(resolveCrop('ddd17', w, h), ddd17Crop(w, h));
});

test("binner crop 'ddd17': rows from round(H * 200 / 260) down are dropped, on whatever sensor the stream has", () => {
  for (const [W, H, lastRow] of [[240, 180, 137], [346, 260, 199]] as const) {
    const frames: Frame[] = [];
    const b = new FrameBinner({ windowUs: 1000, crop: 'ddd17' });
    // y = lastRow is inside, lastRow + 1 (the hood) is not; x spans the whole width
    const rows: EventRow[] = [[10, 0, 0, 1], [20, W - 1, lastRow, 0], [30, 5, lastRow + 1, 1], [40, 7, H - 1, 0]];
    b.push(batchOf(rows, W, H), (f) => frames.push(f));
    b.flush((f) => frames.push(f));
    assert.equal(frames.length, 1);
    const f = frames[0]!;
    assert.deepEqual([f.width, f.height, f.events], [W, lastRow + 1, 2], `${W} x ${H}`);
  }
});

test('pipeline framing.crop "ddd17" is valid and reaches the binner as the rule; other strings are refused', () => {
  const cfg = parsePipeline({ source: { type: 'file', path: 'x.aedat4' }, framing: { crop: 'ddd17' }, model: { arch: 'spiking-fcn', checkpoint: null } }, '/');
  assert.equal(cfg.framing.crop, 'ddd17');
  assert.equal(binOptionsOf(cfg.framing).crop, 'ddd17');
  assert.throws(() => parsePipeline({ source: { type: 'file', path: 'x.aedat4' }, framing: { crop: 'hood' }, model: { arch: 'spiking-fcn', checkpoint: null } }, '/'), /\/framing\/crop/);
});
