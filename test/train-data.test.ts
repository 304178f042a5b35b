/** Datasets: label resize, DDD17 preprocessing, synthetic-set loading + cache, frame modes, Ev-SegNet layout. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeSimDataset } from '../src/sim/dataset.js';
import { encodeNpy } from '../src/util/npy.js';
import { openSegData } from '../src/train/data.js';
import { FrameDataset } from '../src/train/dataset.js';
import { simSplitSequences } from '../src/train/loaders/sim.js';
import { preprocessFrame } from '../src/train/preprocess.js';
import { ddd17Crop } from '../src/framing/frame.js';
import { resizeLabel } from '../src/train/labels-resize.js';
import { Rng } from '../src/train/rng.js';

test('label resize: nearest (cv2 INTER_NEAREST) and majority', () => {
  // 4x2 -> 2x1
  const l = Uint8Array.from([0, 1, 2, 2, 1, 1, 2, 255]);
  assert.deepEqual([...resizeLabel(l, 4, 2, 2, 1, 'nearest')], [0, 2]);
  // majority over 2x2 blocks: {0,1,1,1} -> 1; {2,2,2,255} -> 2
  assert.deepEqual([...resizeLabel(l, 4, 2, 2, 1, 'majority')], [1, 2]);
  // upscaling by nearest repeats
  assert.deepEqual([...resizeLabel(Uint8Array.from([3, 4]), 2, 1, 4, 1)], [3, 3, 4, 4]);
});

test('DDD17 preprocessing: crop, area resize, per-channel min-max to [-0.5, 0.5]', () => {
  assert.deepEqual(ddd17Crop(346, 260), { x: 0, y: 0, width: 346, height: 200 });
  assert.deepEqual(ddd17Crop(64, 48), { x: 0, y: 0, width: 64, height: 37 });
  // 4x4 sensor, crop top 4x2, resize to 2x1: ON plane rows 0-1 = 1..8, OFF all zero
  const planes = new Float32Array(32);
  for (let i = 0; i < 8; i++) planes[i] = i + 1;
  planes[12] = 100; // row 3: cropped away
  const out = preprocessFrame(planes, 4, 4, { x: 0, y: 0, width: 4, height: 2 }, [1, 2]);
  // area means: left = (1+2+5+6)/4 = 3.5, right = (3+4+7+8)/4 = 5.5 -> -0.5, 0.5; OFF constant -> 0
  assert.deepEqual([...out], [-0.5, 0.5, 0, 0]);
  assert.deepEqual(simSplitSequences(5, 'train'), [0, 1, 2, 3]);
  assert.deepEqual(simSplitSequences(5, 'val'), [4]);
  assert.deepEqual(simSplitSequences(1, 'val'), [0]);
});

test('synthetic set: frames binned per label window, 64x64 tensors, cache, frame modes, Poisson batches', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'evstream-train-data-'));
  try {
    await writeSimDataset(dir, { seed: 3, sequences: 2, seconds: 0.6, width: 64, height: 48 });
    const train = await openSegData(dir, 'train');
    assert.equal(train.layout, 'sim');
    assert.equal(train.n, 12); // seq_000: 0.6 s / 50 ms
    assert.deepEqual([train.channels, train.height, train.width], [2, 64, 64]);
    assert.equal(train.frames.length, 12 * 2 * 64 * 64);
    assert.ok(train.frames.every((v) => v >= -0.5 && v <= 0.5));
    assert.ok([...train.labels].every((v) => v <= 5 || v === 255));
    const classes = new Set(train.labels);
    assert.ok(classes.size >= 2, `labels hold several classes (${[...classes]})`);
    // frames are not all empty (events were binned)
    let nonzero = 0;
    for (const v of train.frames) if (v !== 0) nonzero++;
    assert.ok(nonzero > 1000);
    // cache beside the sequence, identical on reload
    const files = await readdir(join(dir, 'seq_000', '.cache'));
    assert.equal(files.length, 2);
    // the reload reads the cache, not the events: with the events file replaced by garbage (dated before the
    // cache, so the entry is not stale) it still gives the same tensors, while an uncached load of that file
    // fails. (How much faster the cache is: `npm run bench -- goals`, not a test.)
    const events = join(dir, 'seq_000', 'events.aedat4');
    const cacheTime = Math.min(...files.map((f) => statSync(join(dir, 'seq_000', '.cache', f)).mtimeMs)) / 1000;
    await writeFile(events, Buffer.alloc(4096, 0x5a));
    await utimes(events, cacheTime - 60, cacheTime - 60);
    const again = await openSegData(dir, 'train');
    assert.deepEqual(again.frames, train.frames);
    assert.deepEqual(again.labels, train.labels);
    await assert.rejects(openSegData(dir, 'train', { cache: false }), /events\.aedat4/, 'the garbage events file is not readable without the cache');
    const val = await openSegData(dir, 'val');
    assert.deepEqual(val.sequences, ['seq_001']);
    // modes
    const p = new FrameDataset(train, 'poisson', 4);
    assert.equal(p.length, 12);
    const f = new FrameDataset(train, 'frames', 4);
    assert.equal(f.length, 12 - 3);
    const s = f.sample(0);
    assert.equal(s.index, 3);
    assert.deepEqual(s.frames[0], train.frames.subarray(0, 2 * 64 * 64));
    const b1 = p.batch([0, 5], new Rng(9).fn());
    const b2 = p.batch([0, 5], new Rng(9).fn());
    assert.deepEqual(b1.shape, [4, 2, 2, 64, 64]);
    assert.deepEqual(b1.x, b2.x);
    assert.ok(b1.x.every((v) => v === 0 || v === 1 || v === -1));
    assert.ok(b1.inputSpikes > 0);
    const fb = f.batch([2]);
    assert.deepEqual(fb.x.subarray(3 * 2 * 64 * 64), f.sample(2).frames[3]);
    assert.deepEqual(fb.y, f.sample(2).label);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('Ev-SegNet layout: stored 200x346 images, train/test splits, consecutive frames by name', async () => {
  const root = await mkdtemp(join(tmpdir(), 'evstream-train-evseg-'));
  try {
    for (const split of ['train', 'test']) {
      await mkdir(join(root, split, 'events'), { recursive: true });
      await mkdir(join(root, split, 'labels'), { recursive: true });
      for (const k of [7, 8, 9]) {
        const img = new Float32Array(200 * 346 * 6);
        for (let i = 0; i < 200 * 346; i++) img[i * 6] = (i % 346) / 346 + k; // ON ramps left -> right
        await writeFile(join(root, split, 'events', `rec1_export_${k}.npy`), encodeNpy(img, [200, 346, 6]));
        const lab = new Uint8Array(200 * 346);
        for (let i = 0; i < lab.length; i++) lab[i] = Math.floor(i / 346) < 100 ? 1 : 0;
        lab[0] = 9; // invalid -> 255
        await sharp(Buffer.from(lab), { raw: { width: 346, height: 200, channels: 1 } }).toColourspace('b-w').png().toFile(join(root, split, 'labels', `rec1_export_${k}.png`));
      }
    }
    const d = await openSegData(root, 'test');
    assert.equal(d.layout, 'evsegnet');
    assert.equal(d.n, 3);
    assert.deepEqual([...d.window], [7, 8, 9]);
    const plane = 64 * 64;
    assert.equal(d.frames[0], -0.5); // left edge of the ramp
    assert.ok(Math.abs(d.frames[63]! - 0.5) < 1e-6);
    assert.equal(d.frames[plane], 0); // OFF channel empty
    assert.equal(d.labels[0], 255);
    assert.equal(d.labels[1], 1);
    assert.equal(d.labels[63 * 64], 0);
    assert.equal(new FrameDataset(d, 'frames', 3).length, 1);
    const val = await openSegData(root, 'val'); // Ev-SegNet has no val split: test
    assert.equal(val.n, 3);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
