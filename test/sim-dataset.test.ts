import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import type { EventBatch } from '../src/events/types.js';
import { writeSimDataset, type SimManifest } from '../src/sim/dataset.js';

test('writeSimDataset streams events to the injected writer and writes label PNGs and a manifest', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'evstream-sim-'));
  try {
    const written = new Map<string, { events: number; batches: number; size: { width: number; height: number } }>();
    const manifest = await writeSimDataset(dir, { seed: 4, sequences: 2, seconds: 0.2, width: 48, height: 32 }, async (path, batches, size) => {
      let events = 0;
      let n = 0;
      for await (const b of batches as AsyncIterable<EventBatch>) {
        events += b.length;
        n++;
      }
      written.set(path, { events, batches: n, size });
    });
    assert.equal(manifest.sequences.length, 2);
    const onDisk = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as SimManifest;
    assert.equal(onDisk.sequences[1]!.name, 'seq_001');
    assert.notEqual(onDisk.sequences[0]!.seed, onDisk.sequences[1]!.seed);
    for (const seq of manifest.sequences) {
      const w = written.get(join(dir, seq.events))!;
      assert.ok(w, `writer called for ${seq.events}`);
      assert.equal(w.events, seq.eventCount);
      assert.equal(w.batches, 4);
      assert.deepEqual(w.size, { width: 48, height: 32 });
      assert.equal(seq.frames, 4);
      assert.equal(seq.t0, 0);
      const total = Object.values(seq.classHistogram).reduce((s, v) => s + v, 0);
      assert.equal(total, 4 * 48 * 32);
      const pngs = (await readdir(join(dir, seq.labels))).sort();
      assert.deepEqual(pngs, ['000000.png', '000001.png', '000002.png', '000003.png']);
      const png = join(dir, seq.labels, '000003.png');
      const meta = await sharp(png).metadata();
      assert.equal(meta.channels, 1, '8-bit grayscale PNG');
      assert.equal(meta.depth, 'uchar');
      // sharp converts to sRGB on raw output unless told to keep one band.
      const { data, info } = await sharp(png).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
      assert.equal(info.width, 48);
      assert.equal(info.height, 32);
      assert.ok([...data].every((v) => v <= 5 || v === 255));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
