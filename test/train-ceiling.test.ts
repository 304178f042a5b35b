/**
 * Resolution ceiling (src/train/ceiling.ts): the output-stride oracle on hand-made label maps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defineModel } from '../src/snn/definition.js';
import { outputStride, resolutionCeiling } from '../src/train/ceiling.js';
import type { SegData } from '../src/train/data.js';

function labelSet(maps: Uint8Array[], H: number, W: number, classes: number): SegData {
  const n = maps.length;
  const labels = new Uint8Array(n * H * W);
  maps.forEach((m, i) => labels.set(m, i * H * W));
  return { name: 'hand', layout: 'sim', split: 'all', n, channels: 2, height: H, width: W, classes, frames: new Float32Array(n * 2 * H * W), labels, labelled: new Uint8Array(n).fill(1), seq: new Int32Array(n), window: Int32Array.from({ length: n }, (_, i) => i), sequences: ['s'] };
}

test('output stride: DeepLab 4, FCN 1', () => {
  assert.equal(outputStride(defineModel('spiking-deeplab', { width: 0.25, T: 2 })), 4);
  assert.equal(outputStride(defineModel('ann-deeplab', { width: 0.25, T: 1, size: [32, 48] })), 4);
  assert.equal(outputStride(defineModel('spiking-fcn', { width: 0.25, T: 2 })), 1);
});

test('ceiling: exact at stride 1 and for block-aligned regions; a 1-pixel line is lost at stride 4 until its class is favoured', () => {
  const H = 16;
  const halves = new Uint8Array(H * H).map((_, i) => (i % H < 8 ? 0 : 1));
  const line = new Uint8Array(H * H).map((_, i) => (i % H === 5 ? 2 : 0));
  line.fill(255, 0, H); // an ignored top row
  const data = labelSet([halves, line], H, H, 3);
  const s1 = resolutionCeiling(data, 1);
  assert.equal(s1.plain.miou, 1);
  assert.equal(s1.frames, 2);
  const blocks = resolutionCeiling(labelSet([halves], H, H, 3), 4);
  assert.equal(blocks.plain.miou, 1);
  assert.deepEqual(blocks.plain.perClassIoU, [1, 1, null]);
  const s4 = resolutionCeiling(data, 4);
  assert.equal(s4.plain.perClassIoU[2], 0, 'a quarter of each cell never wins the argmax');
  assert.ok(s4.tuned.bias[2]! > 0 && s4.tuned.perClassIoU[2]! > 0, `tuned ${JSON.stringify(s4.tuned)}`);
  assert.ok(s4.tuned.miou > s4.plain.miou);
  // the ignored row is not counted; the line pixels are the only errors
  assert.ok(s4.plain.pixelAccuracy < 1 && s4.plain.pixelAccuracy > 0.9);
});

test('ceiling: unlabelled frames are skipped; none labelled is an error', () => {
  const H = 8;
  const d = labelSet([new Uint8Array(H * H), new Uint8Array(H * H).fill(1)], H, H, 2);
  d.labelled[1] = 0;
  const r = resolutionCeiling(d, 2);
  assert.equal(r.frames, 1);
  assert.deepEqual(r.plain.perClassIoU, [1, null]);
  d.labelled[0] = 0;
  assert.throws(() => resolutionCeiling(d, 2), /no labelled frames/);
  assert.throws(() => resolutionCeiling(d, 0), /stride/);
});
