/**
 * The static-image (VOC-style) path: VOC colour decoding (palette PNGs, the 255 border, unknown
 * colours), both layouts on generated sets (counts, shapes, labels, splits, class counts), typed errors
 * naming the file, and a tiny `evstream train` / `eval --json` run on generated images.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { Command } from 'commander';
import sharp from 'sharp';
import { initBackend } from '../src/snn/backend.js';
import { renderStaticImage, writeStaticImageDataset } from '../src/sim/static-images.js';
import { detectLayout, openSegData } from '../src/train/data.js';
import { FrameDataset } from '../src/train/dataset.js';
import { resizeLabel } from '../src/train/labels-resize.js';
import { defaultImageSplit, ImageDataError, IMAGE_MEAN, IMAGE_STD, vocColor, VOC_CLASSES } from '../src/train/images.js';
import { resolveConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { registerTrain } from '../src/cli/commands/train.js';
import { registerEval } from '../src/cli/commands/eval.js';
import { registerSimulateImages } from '../src/cli/commands/simulate-images.js';

async function cli(args: string[]): Promise<string> {
  const program = new Command().exitOverride();
  registerTrain(program);
  registerEval(program);
  registerSimulateImages(program);
  const write = process.stdout.write.bind(process.stdout);
  const log = console.log;
  let out = '';
  process.stdout.write = ((chunk: string | Uint8Array) => {
    out += typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString();
    return true;
  }) as typeof process.stdout.write;
  console.log = (...a: unknown[]) => void (out += a.join(' ') + '\n');
  try {
    await program.parseAsync(['node', 'evstream', ...args]);
  } finally {
    process.stdout.write = write;
    console.log = log;
  }
  return out;
}

/** A real 8-bit palette PNG (colour type 3) with the VOC palette, as VOC ships its masks. */
function palettePng(indices: Uint8Array, width: number, height: number): Buffer {
  const chunk = (type: string, data: Buffer): Buffer => {
    const b = Buffer.alloc(12 + data.length);
    b.writeUInt32BE(data.length, 0);
    b.write(type, 4, 'ascii');
    data.copy(b, 8);
    b.writeUInt32BE(crc32(Buffer.concat([Buffer.from(type, 'ascii'), data])), 8 + data.length);
    return b;
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8;
  ihdr[9] = 3;
  const pal = Buffer.alloc(256 * 3);
  for (let i = 0; i < 256; i++) pal.set(vocColor(i), i * 3);
  const raw = Buffer.alloc((width + 1) * height);
  for (let y = 0; y < height; y++) raw.set(indices.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  return Buffer.concat([Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]), chunk('IHDR', ihdr), chunk('PLTE', pal), chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

async function rejectsWith(p: Promise<unknown>, kind: string, file: string, detail?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ImageDataError, `ImageDataError, got ${String(e)}`);
    assert.equal(e.kind, kind);
    assert.equal(e.file, file);
    assert.ok(e.message.startsWith(file), e.message);
    if (detail) assert.match(e.message, detail);
    return true;
  });
}

test('VOC colour map: standard colours, the 255 border', () => {
  assert.deepEqual(vocColor(0), [0, 0, 0]);
  assert.deepEqual(vocColor(1), [128, 0, 0]);
  assert.deepEqual(vocColor(3), [128, 128, 0]);
  assert.deepEqual(vocColor(15), [192, 128, 128]); // person
  assert.deepEqual(vocColor(20), [0, 64, 128]); // tvmonitor
  assert.deepEqual(vocColor(255), [224, 224, 192]);
});

test('VOC layout: palette PNG masks decode to indices, border and unknown colours -> 255', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'evstream-voc-'));
  try {
    await mkdir(join(dir, 'JPEGImages'));
    await mkdir(join(dir, 'SegmentationClass'));
    await mkdir(join(dir, 'ImageSets', 'Segmentation'), { recursive: true });
    const [W, H] = [8, 2];
    // 100 is a palette colour outside the 21 classes: unknown -> 255
    const idx = Uint8Array.from([0, 1, 15, 20, 255, 100, 7, 0, 0, 0, 2, 2, 3, 3, 255, 255]);
    await writeFile(join(dir, 'SegmentationClass', 'a.png'), palettePng(idx, W, H));
    await sharp({ create: { width: W, height: H, channels: 3, background: { r: 120, g: 30, b: 200 } } }).jpeg().toFile(join(dir, 'JPEGImages', 'a.jpg'));
    await writeFile(join(dir, 'ImageSets', 'Segmentation', 'train.txt'), 'a\n');
    await writeFile(join(dir, 'ImageSets', 'Segmentation', 'val.txt'), '\n');
    assert.equal(detectLayout(dir), 'voc');
    const d = await openSegData(dir, 'train', { size: [H, W] });
    assert.equal(d.classes, VOC_CLASSES);
    assert.equal(d.classNames?.[15], 'person');
    assert.deepEqual([...d.labels], [0, 1, 15, 20, 255, 255, 7, 0, 0, 0, 2, 2, 3, 3, 255, 255]);
    // normalised RGB, clipped to [-1, 1]: (120/255 - mean) / std etc.
    const want = [120, 30, 200].map((v, c) => Math.max(-1, Math.min(1, (v / 255 - IMAGE_MEAN[c]!) / IMAGE_STD[c]!)));
    for (let c = 0; c < 3; c++) assert.ok(Math.abs(d.frames[c * W * H]! - want[c]!) < 0.1, `channel ${c}: ${d.frames[c * W * H]} vs ${want[c]}`);
    assert.equal((await openSegData(dir, 'val', { size: [H, W] })).n, 0);
    // an id without its mask
    await writeFile(join(dir, 'ImageSets', 'Segmentation', 'val.txt'), 'b\n');
    await sharp({ create: { width: W, height: H, channels: 3, background: '#000' } }).jpeg().toFile(join(dir, 'JPEGImages', 'b.jpg'));
    await rejectsWith(openSegData(dir, 'val'), 'missing-mask', join(dir, 'SegmentationClass', 'b.png'));
    await unlink(join(dir, 'ImageSets', 'Segmentation', 'val.txt'));
    await rejectsWith(openSegData(dir, 'val'), 'bad-split', join(dir, 'ImageSets', 'Segmentation', 'val.txt'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('generated VOC set: splits, shapes, labels as drawn (border 255 included)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'evstream-voc-gen-'));
  try {
    const s = await writeStaticImageDataset(dir, { seed: 5, count: 10, width: 40, height: 30, layout: 'voc' });
    assert.deepEqual([s.train.length, s.val.length], [8, 2]);
    assert.equal(readFileSync(join(dir, 'ImageSets', 'Segmentation', 'val.txt'), 'utf8'), 'img_000008\nimg_000009\n');
    const counts = await Promise.all((['train', 'val', 'test', 'all'] as const).map(async (sp) => (await openSegData(dir, sp, { size: [30, 40] })).n));
    assert.deepEqual(counts, [8, 2, 2, 10]);
    const d = await openSegData(dir, 'all', { size: [30, 40] });
    assert.deepEqual([d.layout, d.channels, d.height, d.width, d.classes], ['voc', 3, 30, 40, 21]);
    assert.equal(d.frames.length, 10 * 3 * 30 * 40);
    assert.deepEqual(d.sequences, s.ids);
    for (let i = 0; i < 10; i++) {
      const want = renderStaticImage(5, i, 40, 30).label;
      assert.deepEqual(d.labels.subarray(i * 1200, (i + 1) * 1200), want, `labels of image ${i}`);
    }
    const present = new Set(d.labels);
    assert.ok(present.has(0) && present.has(255) && [1, 2, 3].some((c) => present.has(c)), `labels ${[...present]}`);
    assert.ok(d.frames.every((v) => v >= -1 && v <= 1));
    // raw RGB (normalize off) matches the drawn pixels up to JPEG loss
    const raw = await openSegData(dir, 'all', { size: [30, 40], normalize: false });
    const rgb = renderStaticImage(5, 0, 40, 30).rgb;
    let err = 0;
    for (let c = 0; c < 3; c++) for (let p = 0; p < 1200; p++) err += Math.abs(raw.frames[c * 1200 + p]! - rgb[p * 3 + c]! / 255);
    assert.ok(err / 3600 < 0.06, `mean abs error ${err / 3600}`);
    // resized: labels follow by nearest neighbour
    const small = await openSegData(dir, 'val', { size: [15, 20] });
    assert.deepEqual(small.labels.subarray(0, 300), resizeLabel(renderStaticImage(5, 8, 40, 30).label, 40, 30, 20, 15));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('generated image folder: default and splits.json splits, class count, jpg images, errors', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'evstream-imgs-'));
  try {
    await writeStaticImageDataset(dir, { seed: 6, count: 20, width: 32, height: 24, layout: 'images', imageFormat: 'jpg' });
    assert.equal(detectLayout(dir), 'images');
    const sizes = { size: [24, 32] as [number, number] };
    const parts = await Promise.all((['train', 'val', 'test'] as const).map((sp) => openSegData(dir, sp, sizes)));
    assert.deepEqual(parts.map((p) => p.n), [16, 2, 2]);
    const names = parts.flatMap((p) => p.sequences).sort();
    assert.deepEqual(names, Array.from({ length: 20 }, (_, i) => `img_${String(i).padStart(6, '0')}`), 'the default split is a partition');
    assert.deepEqual(parts.map((p) => [p.layout, p.channels, p.classes]), Array(3).fill(['images', 3, 4]));
    assert.deepEqual(parts[1]!.classNames, ['background', 'circle', 'square', 'triangle']);
    const i0 = parts[0]!.sequences.indexOf('img_000000');
    assert.deepEqual(parts[0]!.labels.subarray(i0 * 768, (i0 + 1) * 768), renderStaticImage(6, 0, 32, 24).label);
    for (const n of [3, 10, 101]) {
      const [tr, va, te] = (['train', 'val', 'test'] as const).map((sp) => defaultImageSplit(n, sp));
      assert.deepEqual([...tr!, ...va!, ...te!].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i), `partition of ${n}`);
      assert.ok(va!.length === Math.max(1, Math.round(n / 10)) && te!.length === va!.length);
    }
    assert.deepEqual(defaultImageSplit(2, 'val'), [0, 1], 'fewer than 3 images: every split is all of them');
    // without classes.json: max label + 1 over all masks, the same for every split
    await unlink(join(dir, 'classes.json'));
    const val = await openSegData(dir, 'val', sizes);
    assert.equal(val.classes, 4);
    assert.equal(val.classNames, undefined);
    // splits.json is honoured (names with or without extension; test falls back to val)
    await writeFile(join(dir, 'splits.json'), JSON.stringify({ train: ['img_000003', 'img_000001.jpg'], val: ['img_000007'] }));
    assert.deepEqual((await openSegData(dir, 'train', sizes)).sequences, ['img_000003', 'img_000001']);
    assert.deepEqual((await openSegData(dir, 'test', sizes)).sequences, ['img_000007']);
    assert.equal((await openSegData(dir, 'all', sizes)).n, 20);
    await writeFile(join(dir, 'splits.json'), JSON.stringify({ train: ['nope'], val: [] }));
    await rejectsWith(openSegData(dir, 'train', sizes), 'bad-split', join(dir, 'splits.json'));
    await unlink(join(dir, 'splits.json'));
    // a mask of another size than its image
    const m5 = join(dir, 'masks', 'img_000005.png');
    await sharp(Buffer.alloc(10 * 10), { raw: { width: 10, height: 10, channels: 1 } }).toColourspace('b-w').png().toFile(m5);
    await rejectsWith(openSegData(dir, 'all', sizes), 'size-mismatch', m5, /10x10 .*img_000005\.jpg is 32x24/);
    // an unreadable image
    await writeStaticImageDataset(dir, { seed: 6, count: 20, width: 32, height: 24, layout: 'images', imageFormat: 'jpg' });
    const i4 = join(dir, 'images', 'img_000004.jpg');
    await writeFile(i4, 'not an image');
    await rejectsWith(openSegData(dir, 'all', sizes), 'unreadable', i4);
    // an image without its mask
    await writeStaticImageDataset(dir, { seed: 6, count: 20, width: 32, height: 24, layout: 'images', imageFormat: 'jpg' });
    await unlink(join(dir, 'masks', 'img_000011.png'));
    await rejectsWith(openSegData(dir, 'train', sizes), 'missing-mask', join(dir, 'masks', 'img_000011.png'));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('resolveConfig: the class count comes from the data unless classes / classWeights are given', () => {
  const auto = resolveConfig({ data: 'd', out: 'o' });
  assert.equal(auto.classesFromData, true);
  assert.ok(!JSON.stringify(auto).includes('classesFromData') && !('classesFromData' in { ...auto }), 'a hint, not saved configuration');
  assert.equal(resolveConfig({ data: 'd', out: 'o', classes: 6 }).classesFromData, undefined);
  assert.equal(resolveConfig({ data: 'd', out: 'o', classWeights: [1, 1, 1, 1, 1, 2] }).classesFromData, undefined);
});

test('tiny static-image run: Poisson-coded RGB input, data class count, checkpoint, eval --json', async () => {
  await initBackend('wasm', false);
  const dir = await mkdtemp(join(tmpdir(), 'evstream-train-images-'));
  try {
    const data = join(dir, 'shapes');
    const msg = await cli(['simulate-images', '--seed', '4', '--count', '20', '--size', '40x32', '--layout', 'images', '--out', data]);
    assert.match(msg, /^20 images 40x32/);
    const out = join(dir, 'run');
    const xs: Float32Array[] = [];
    const t0 = performance.now();
    const r = await train(resolveConfig({ data, out, arch: 'spiking-deeplab', size: [32, 32], T: 4, width: 0.125, batch: 4, epochs: 1, seed: 1 }), { progress: false, log: () => {}, initialEval: false, onStep: (s) => xs.push(s.x) });
    console.log(`# static-image run: ${r.state.globalStep} steps, ${r.msPerStep.toFixed(0)} ms/step, ${((performance.now() - t0) / 1000).toFixed(1)} s, val MIoU ${(r.curves.epochs[0]!.valMiou * 100).toFixed(2)} %`);
    assert.equal(r.state.globalStep, 4); // 16 training images / batch 4
    assert.ok(existsSync(r.checkpoint) && existsSync(join(out, 'best.safetensors')));
    // signed Poisson spikes of the [T, N, 3, 32, 32] input
    assert.equal(xs[0]!.length, 4 * 4 * 3 * 32 * 32);
    const spikes = xs[0]!.filter((v) => v !== 0).length;
    assert.ok(xs.every((x) => x.every((v) => v === 0 || v === 1 || v === -1)));
    assert.ok(spikes > 0.1 * xs[0]!.length && spikes < 0.95 * xs[0]!.length, `spike fraction ${spikes / xs[0]!.length}`);
    const ck = JSON.parse(await readFile(join(out, 'checkpoint.json'), 'utf8')) as { model: { inputChannels: number; classes: number } };
    assert.deepEqual([ck.model.inputChannels, ck.model.classes], [3, 4]);
    const cfg = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(cfg.classes, 4);
    assert.equal(cfg.classesFromData, undefined, 'config.json holds the resolved class count');

    const e = JSON.parse((await cli(['eval', '--checkpoint', join(out, 'best.safetensors'), '--data', data, '--json'])).trim()) as { miou: number; perClassIoU: unknown[]; frames: number; layout: string; split: string; mode: string; pixelAccuracy: number };
    assert.deepEqual([e.layout, e.split, e.mode, e.frames, e.perClassIoU.length], ['images', 'test', 'poisson', 2, 4]);
    assert.ok(e.miou >= 0 && e.miou <= 1 && e.pixelAccuracy >= 0 && e.pixelAccuracy <= 1);

    // VOC layout through the CLI: 21 classes; frames mode is refused
    const voc = join(dir, 'voc');
    await cli(['simulate-images', '--seed', '4', '--count', '6', '--size', '40x32', '--layout', 'voc', '--out', voc]);
    const j = JSON.parse((await cli(['train', '--data', voc, '--out', join(dir, 'vrun'), '--size', '32x32', '--T', '2', '--width', '0.125', '--batch', '4', '--epochs', '1', '--max-batches', '1', '--no-progress', '--json'])).trim()) as { steps: number; checkpoint: string };
    assert.equal(j.steps, 1);
    const vm = JSON.parse(await readFile(join(dir, 'vrun', 'checkpoint.json'), 'utf8')) as { model: { inputChannels: number; classes: number } };
    assert.deepEqual([vm.model.inputChannels, vm.model.classes], [3, 21]);
    await assert.rejects(cli(['train', '--data', voc, '--out', join(dir, 'frun'), '--mode', 'frames', '--size', '32x32', '--T', '2', '--width', '0.125', '--no-progress']), /static images have no consecutive frames/);
    await assert.rejects(cli(['train', '--data', voc, '--out', join(dir, 'crun'), '--classes', '4', '--size', '32x32', '--T', '2', '--width', '0.125', '--no-progress']), /21 classes/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
