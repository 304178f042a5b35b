/** ESS DDD17 layout end to end: writeEssDataset (synthetic drives) -> readEssDrive / loadEssData, splits, bad files. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectDatasetLayout, essSplit, listEssDrives, readEssDrive, type EssWindow } from '../src/events/datasets/index.js';
import { essMaskRows, writeEssDataset, type EssDriveSummary } from '../src/sim/ess-writer.js';
import { EventFormatError } from '../src/events/errors.js';
import { simulateSequence, type SimChunk } from '../src/sim/simulate.js';
import { loadEssData } from '../src/train/loaders/ess.js';
import { countEvents, preprocessFrame } from '../src/train/preprocess.js';
import { ddd17Crop } from '../src/framing/frame.js';
import { resizeLabel } from '../src/train/labels-resize.js';

const SECONDS = 0.2; // 4 windows of 50 ms per drive
const T0_US = 1_487_339_175_000_000; // epoch µs: ns values beyond 2^53
const OPTS = { seed: 5, seconds: SECONDS, t0Us: T0_US, labelEvery: 2, scene: 'urban', carDensity: 2 } as const;

/** What the writer simulated for a drive: the same seeded simulation, run again. */
function simulated(s: EssDriveSummary): SimChunk[] {
  const { seed: _s, t0Us: _t, labelEvery: _l, ...sim } = OPTS;
  return [...simulateSequence({ ...sim, seed: s.seed, width: 346, height: 260, windowUs: 50_000 })];
}

async function readAll(dir: string, intervalMs: 10 | 50 | 250 = 50): Promise<EssWindow[]> {
  const out: EssWindow[] = [];
  for await (const w of readEssDrive(dir, { intervalMs })) out.push(w);
  return out;
}

function isFormatError(kind: string, file: string): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof EventFormatError, `an EventFormatError, got ${String(e)}`);
    assert.equal(e.kind, kind, e.message);
    assert.equal(e.source, file);
    assert.ok(e.message.includes(file), 'the message names the file');
    return true;
  };
}

test('ESS writer -> reader: exactly the simulated events and masks, all three window indexes, ESS splits', async () => {
  const root = mkdtempSync(join(tmpdir(), 'evstream-ess-w-'));
  try {
    const summaries = await writeEssDataset(root, 7, OPTS);
    assert.equal(detectDatasetLayout(root), 'ess');
    assert.deepEqual(listEssDrives(root), summaries.map((s) => s.dir));
    assert.deepEqual(essSplit(root, 'train').map((d) => d.slice(root.length + 1)), ['dir0', 'dir2', 'dir3', 'dir5', 'dir6']);
    assert.deepEqual(essSplit(root, 'valid').map((d) => d.slice(root.length + 1)), ['dir1']);
    assert.deepEqual(essSplit(root, 'test').map((d) => d.slice(root.length + 1)), ['dir4']);
    assert.equal(new Set(summaries.map((s) => s.seed)).size, 7, 'every drive its own scene');

    for (const s of summaries.slice(0, 2)) {
      const chunks = simulated(s);
      const windows = await readAll(s.dir);
      assert.equal(s.windows, 4);
      assert.deepEqual(s.labelled, [0, 2]);
      assert.deepEqual(windows.map((w) => w.index), [0, 1, 2, 3]);
      assert.deepEqual(windows.map((w) => w.batch.length), chunks.map((c) => c.events.length));
      assert.equal(s.events, chunks.reduce((a, c) => a + c.events.length, 0));
      assert.ok(s.events > 1000, `a busy scene (${s.events} events)`);
      for (const [k, w] of windows.entries()) {
        const e = chunks[k]!.events;
        assert.equal(w.t1, T0_US + (k + 1) * 50_000);
        assert.equal(w.t0, T0_US + k * 50_000);
        assert.equal(w.batch.width, 346);
        assert.equal(w.batch.height, 260);
        assert.deepEqual(w.batch.t, e.t.map((t) => T0_US + t), `window ${k} times`);
        assert.deepEqual(w.batch.x, e.x);
        assert.deepEqual(w.batch.y, e.y);
        assert.deepEqual(w.batch.p, e.p);
        if (k % 2 === 0) {
          assert.equal(w.labelWidth, 346);
          assert.equal(w.labelHeight, essMaskRows(260));
          assert.equal(w.labelHeight, 200);
          assert.deepEqual(w.label, chunks[k]!.label.subarray(0, 346 * 200), `mask of window ${k}`);
        } else assert.equal(w.label, undefined);
      }
      const first = windows.find((w) => w.batch.length > 0)!.batch;
      const last = windows.filter((w) => w.batch.length > 0).at(-1)!.batch;
      assert.equal(first.t[0], Number(s.firstNs! / 1000n));
      assert.equal(last.t[last.length - 1], Number(s.lastNs! / 1000n));
      assert.equal(s.firstNs, BigInt(T0_US) * 1000n, 'the sim anchor event at t = 0');
      const labels = new Set<number>();
      for (const w of windows) if (w.label) for (const v of w.label) labels.add(v);
      assert.ok(labels.size >= 3, `several classes in the masks (${[...labels].join(', ')})`);

      // 10 ms and 250 ms indexes: same rows, windows [t1 - interval, t1)
      const all = { t: chunks.flatMap((c) => [...c.events.t].map((t) => T0_US + t)) };
      for (const ms of [10, 250] as const) {
        const ws = await readAll(s.dir, ms);
        assert.deepEqual(ws.map((w) => w.t1), windows.map((w) => w.t1));
        for (const w of ws) {
          const want = all.t.filter((t) => t >= w.t1 - ms * 1000 && t < w.t1);
          assert.deepEqual([...w.batch.t], want, `${ms} ms window ${w.index}`);
        }
      }
    }

    // The training loader: labelled windows only, preprocessed like every DDD17 frame, ESS splits.
    const expectFor = async (split: 'train' | 'val' | 'test', dirs: string[]) => {
      const data = await loadEssData(root, split);
      assert.deepEqual(data.sequences, dirs, split);
      assert.equal(data.n, dirs.length * 2);
      assert.deepEqual([...data.window], dirs.flatMap(() => [0, 2]));
      assert.deepEqual([...data.seq], dirs.flatMap((_, i) => [i, i]));
      assert.ok(data.labelled.every((v) => v === 1));
      return data;
    };
    await expectFor('val', ['dir1']);
    await expectFor('test', ['dir4']);
    const train = await expectFor('train', ['dir0', 'dir2', 'dir3', 'dir5', 'dir6']);
    const chunks = simulated(summaries[0]!);
    const plane = 64 * 64;
    const crop = ddd17Crop(346, 260);
    for (const [i, k] of [0, 2].entries()) {
      const c = chunks[k]!;
      const frame = preprocessFrame(countEvents(c.events, 346, 260), 346, 260, crop, [64, 64]);
      assert.deepEqual(train.frames.subarray(i * 2 * plane, (i + 1) * 2 * plane), frame, `dir0 frame of window ${k}`);
      const label = resizeLabel(c.label.subarray(0, 346 * 200), 346, 200, 64, 64);
      assert.deepEqual(train.labels.subarray(i * plane, (i + 1) * plane), label, `dir0 label of window ${k}`);
    }
    const all = await loadEssData(root, 'all');
    assert.deepEqual(all.sequences, ['dir0', 'dir1', 'dir2', 'dir3', 'dir4', 'dir5', 'dir6']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('ESS: truncated or corrupt files are EventFormatErrors naming the file (reader and loader)', async () => {
  const src = mkdtempSync(join(tmpdir(), 'evstream-ess-src-'));
  const roots: string[] = [];
  // A fresh copy of one written drive per case.
  const copy = (): string => {
    const r = mkdtempSync(join(tmpdir(), 'evstream-ess-bad-'));
    roots.push(r);
    cpSync(join(src, 'dir0'), join(r, 'dir0'), { recursive: true });
    return join(r, 'dir0');
  };
  try {
    await writeEssDataset(src, [0], { ...OPTS, seconds: 0.1, labelEvery: 1 });

    let d = copy();
    let f = join(d, 'events.dat.t');
    truncateSync(f, readFileSync(f).length - 3); // a partial int64
    await assert.rejects(readAll(d), isFormatError('truncated', f));
    await assert.rejects(loadEssData(d, 'all'), isFormatError('truncated', f));

    d = copy();
    f = join(d, 'events.dat.t');
    truncateSync(f, readFileSync(f).length - 8 * 10); // whole events lost: the index points past the end
    await assert.rejects(readAll(d), (e: unknown) => isFormatError('corrupt-packet', join(d, 'index', 'index_50ms.npy'))(e) && (e as Error).message.includes(f));

    d = copy();
    f = join(d, 'events.dat.xyp');
    truncateSync(f, readFileSync(f).length - 6);
    await assert.rejects(readAll(d), isFormatError('truncated', f));

    d = copy();
    f = join(d, 'index', 'index_50ms.npy');
    truncateSync(f, readFileSync(f).length - 5);
    await assert.rejects(readAll(d), isFormatError('truncated', f));
    writeFileSync(f, 'not an npy file');
    await assert.rejects(readAll(d), isFormatError('bad-header', f));

    d = copy();
    f = join(d, 'segmentation_masks', 'segmentation_0000000002.png');
    truncateSync(f, 40);
    await assert.rejects(loadEssData(d, 'all'), isFormatError('corrupt-packet', f));
    const before: number[] = [];
    await assert.rejects(async () => {
      for await (const w of readEssDrive(d)) before.push(w.index);
    }, isFormatError('corrupt-packet', f));
    assert.deepEqual(before, [0], 'windows before the bad mask are delivered first');
  } finally {
    for (const r of [src, ...roots]) rmSync(r, { recursive: true, force: true });
  }
});

test('ESS writer --randomize: each drive draws its sensor and scene from the preset ranges, fixed values stay, and the events are those of the draw', async () => {
  const { SENSOR_PRESETS } = await import('../src/sim/sensor-presets.js');
  const { drawSequence, drawOptions } = await import('../src/sim/randomize.js');
  const root = mkdtempSync(join(tmpdir(), 'evstream-ess-r-'));
  try {
    const opts = { seed: 11, seconds: 0.1, t0Us: T0_US, randomize: true, noiseRate: 0.3 } as const;
    const drives = await writeEssDataset(join(root, 'a'), 3, opts);
    const ranges = SENSOR_PRESETS.davis346.params;
    for (const s of drives) {
      const r = s.randomized!;
      assert.ok(r, 'the summary records the draw');
      assert.equal(r.sensor, 'davis346', 'davis346 when no sensor is named');
      assert.equal(r.sensorParams.noiseRate, 0.3, 'a value the caller gives is not drawn');
      for (const k of ['contrastThreshold', 'thresholdSigma', 'refractoryUs', 'cutoffHz'] as const) {
        const [lo, hi] = ranges[k].range;
        assert.ok(r.sensorParams[k] >= lo && r.sensorParams[k] <= hi, `${k} ${r.sensorParams[k]} in [${lo}, ${hi}]`);
      }
      // the drive's events are the simulation of exactly that draw, on the DAVIS346 array
      const { seed: _s, t0Us: _t, randomize: _r, ...fixed } = opts;
      const sim = { ...fixed, sensor: 'davis346' as const };
      const draw = drawSequence(s.seed, 'davis346', sim);
      assert.deepEqual(draw, r);
      const chunks = [...simulateSequence({ ...sim, ...drawOptions(draw, 346, 260, sim), seed: s.seed, width: 346, height: 260, windowUs: 50_000 })];
      const windows = await readAll(s.dir);
      assert.deepEqual(windows.map((w) => Array.from(w.batch.x)), chunks.map((c) => Array.from(c.events.x)));
    }
    assert.equal(new Set(drives.map((s) => s.randomized!.sensorParams.contrastThreshold)).size, 3, 'every drive its own threshold');
    // same seed, same draws and bytes; without --randomize, no draw and other events
    const again = await writeEssDataset(join(root, 'b'), [0], opts);
    assert.deepEqual(again[0]!.randomized, drives[0]!.randomized);
    assert.deepEqual(readFileSync(join(again[0]!.dir, 'events.dat.xyp')), readFileSync(join(drives[0]!.dir, 'events.dat.xyp')));
    const plain = await writeEssDataset(join(root, 'c'), [0], { seed: 11, seconds: 0.1, t0Us: T0_US, noiseRate: 0.3 });
    assert.equal(plain[0]!.randomized, undefined);
    assert.notDeepEqual(readFileSync(join(plain[0]!.dir, 'events.dat.xyp')), readFileSync(join(drives[0]!.dir, 'events.dat.xyp')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
