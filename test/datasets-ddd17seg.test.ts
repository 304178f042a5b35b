import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { detectDatasetLayout, essSplit, listEssDrives, readEssDrive, readEvSegNet } from '../src/events/datasets/index.js';
import { EventFormatError } from '../src/events/errors.js';
import { writeNpy } from '../src/util/npy.js';

const H = 200;
const W = 346;

async function writeGrayPng(path: string, pixels: Uint8Array, width: number, height: number): Promise<void> {
  await sharp(Buffer.from(pixels), { raw: { width, height, channels: 1 } }).png().toFile(path);
}

function labelImage(seed: number): Uint8Array {
  const l = new Uint8Array(W * H);
  for (let i = 0; i < l.length; i++) l[i] = i % 97 === 0 ? 255 : (i + seed) % 6;
  l[5] = 7; // out-of-range class: ignored
  return l;
}

function eventImage(seed: number): Float32Array {
  const e = new Float32Array(H * W * 6);
  for (let i = 0; i < H * W; i++) for (let c = 0; c < 6; c++) e[i * 6 + c] = ((i * 7 + c * 13 + seed) % 11) / 10 - 0.5;
  return e;
}

async function makeEvSegNet(root: string, layout: 'split-first' | 'kind-first'): Promise<void> {
  const dir = (kind: string, split: string) => (layout === 'split-first' ? join(root, split, kind) : join(root, kind, split));
  for (const split of ['train', 'test']) for (const kind of ['events', 'labels', 'images']) mkdirSync(dir(kind, split), { recursive: true });
  for (const [split, ids] of [['train', [2, 10, 1]], ['test', [3]]] as const) {
    for (const n of ids) {
      const id = `rec1487339175_export_${n}`;
      writeNpy(join(dir('events', split), `${id}.npy`), eventImage(n), [H, W, 6]);
      await writeGrayPng(join(dir('labels', split), `${id}.png`), labelImage(n), W, H);
    }
  }
  // An event image without a label is skipped with a warning.
  writeNpy(join(dir('events', 'train'), 'orphan_5.npy'), eventImage(5), [H, W, 6]);
}

for (const layout of ['split-first', 'kind-first'] as const) {
  test(`Ev-SegNet layout (${layout}): samples, 2-channel ON/OFF reduction, labels with 255 = ignore`, async () => {
    const root = mkdtempSync(join(tmpdir(), 'evstream-evsegnet-'));
    try {
      await makeEvSegNet(root, layout);
      assert.equal(detectDatasetLayout(root), 'evsegnet');
      const warnings: string[] = [];
      const samples = [];
      for await (const s of readEvSegNet(root, { split: 'train', onWarning: (w) => warnings.push(w.message) })) samples.push(s);
      assert.deepEqual(samples.map((s) => s.id), ['rec1487339175_export_1', 'rec1487339175_export_2', 'rec1487339175_export_10']);
      assert.equal(warnings.length, 1);
      assert.match(warnings[0]!, /orphan_5/);
      const s = samples[1]!;
      const raw = eventImage(2);
      const want = labelImage(2);
      want[5] = 255;
      assert.equal(s.width, W);
      assert.equal(s.height, H);
      assert.equal(s.channels, 6);
      assert.deepEqual(s.raw, raw);
      assert.equal(s.events.length, 2 * H * W);
      for (const i of [0, 1, 345, 12345, H * W - 1]) {
        assert.equal(s.events[i], raw[i * 6]);
        assert.equal(s.events[H * W + i], raw[i * 6 + 1]);
      }
      assert.deepEqual(s.label, want);
      const test = [];
      for await (const t of readEvSegNet(root, { split: 'test' })) test.push(t.id);
      assert.deepEqual(test, ['rec1487339175_export_3']);
      await assert.rejects(readEvSegNet(root, { split: 'valid' }).next(), (e: unknown) => e instanceof EventFormatError && e.kind === 'unknown-format');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
}

/** One ESS drive dir: events.dat.t (int64 ns), events.dat.xyp (int16 x, y, p), index, masks. */
async function makeEssDrive(dir: string, eventsSubdir = false): Promise<{ t: number[]; x: number[]; y: number[]; p: number[] }> {
  const evDir = eventsSubdir ? join(dir, 'events') : dir;
  mkdirSync(evDir, { recursive: true });
  mkdirSync(join(dir, 'index'), { recursive: true });
  mkdirSync(join(dir, 'segmentation_masks'), { recursive: true });
  const n = 50;
  const t0 = 1487339175000000000n; // ns
  const tNs = new BigInt64Array(n);
  const xyp = new Int16Array(n * 3);
  const ev = { t: [] as number[], x: [] as number[], y: [] as number[], p: [] as number[] };
  for (let i = 0; i < n; i++) {
    tNs[i] = t0 + BigInt(i) * 4_000_000n; // every 4 ms
    xyp[3 * i] = (i * 7) % W;
    xyp[3 * i + 1] = (i * 5) % 260;
    xyp[3 * i + 2] = i % 3 === 0 ? 1 : 0;
    ev.t.push(Number(tNs[i]! / 1000n));
    ev.x.push(xyp[3 * i]!);
    ev.y.push(xyp[3 * i + 1]!);
    ev.p.push(xyp[3 * i + 2]!);
  }
  writeFileSync(join(evDir, 'events.dat.t'), new Uint8Array(tNs.buffer));
  writeFileSync(join(evDir, 'events.dat.xyp'), new Uint8Array(xyp.buffer));
  // Windows end at 50, 100, 150, 200 ms after t0 (APS image times); rows [t_ns, idx_end, idx_begin].
  const index = new BigInt64Array(4 * 3);
  for (let j = 0; j < 4; j++) {
    const endNs = t0 + BigInt(j + 1) * 50_000_000n;
    const end = Math.min(n, Math.ceil((j + 1) * 12.5));
    const begin = Math.min(n, Math.ceil(j * 12.5));
    index.set([endNs, BigInt(end), BigInt(begin)], j * 3);
  }
  writeNpy(join(dir, 'index', 'index_50ms.npy'), index, [4, 3]);
  // Masks for images 2 and 4, i.e. windows 1 and 3.
  await writeGrayPng(join(dir, 'segmentation_masks', 'segmentation_0000000002.png'), labelImage(1), W, H);
  await writeGrayPng(join(dir, 'segmentation_masks', 'segmentation_0000000004.png'), labelImage(3), W, H);
  return ev;
}

test('ESS layout: 50 ms windows with events (ns -> µs), masks matched to windows, detection', async () => {
  const root = mkdtempSync(join(tmpdir(), 'evstream-ess-'));
  try {
    const ev = await makeEssDrive(join(root, 'dir0'));
    await makeEssDrive(join(root, 'dir1'), true);
    assert.equal(detectDatasetLayout(root), 'ess');
    assert.equal(detectDatasetLayout(join(root, 'dir0')), 'ess');
    assert.deepEqual(listEssDrives(root), [join(root, 'dir0'), join(root, 'dir1')]);
    assert.deepEqual(essSplit(root, 'test'), listEssDrives(root), 'not the 7 DDD17 drives: every drive');
    for (const drive of listEssDrives(root)) {
      const windows = [];
      for await (const w of readEssDrive(drive)) windows.push(w);
      assert.deepEqual(windows.map((w) => w.index), [0, 1, 2, 3]);
      assert.deepEqual(windows.map((w) => w.batch.length), [13, 12, 13, 12]);
      const all = { t: [] as number[], x: [] as number[], y: [] as number[], p: [] as number[] };
      for (const w of windows) {
        assert.equal(w.t1 - w.t0, 50000);
        assert.equal(w.batch.width, 346);
        assert.equal(w.batch.height, 260);
        for (let i = 0; i < w.batch.length; i++) {
          assert.ok(w.batch.t[i]! >= w.t0 && w.batch.t[i]! < w.t1, 'event inside its window');
          all.t.push(w.batch.t[i]!);
          all.x.push(w.batch.x[i]!);
          all.y.push(w.batch.y[i]!);
          all.p.push(w.batch.p[i]!);
        }
      }
      assert.deepEqual(all, ev);
      assert.equal(windows[0]!.label, undefined);
      assert.deepEqual(windows[1]!.label, labelImage(1));
      assert.equal(windows[1]!.labelWidth, W);
      assert.equal(windows[1]!.labelHeight, H);
      assert.deepEqual(windows[3]!.label, labelImage(3));
      const labelled = [];
      for await (const w of readEssDrive(drive, { labelledOnly: true })) labelled.push(w.index);
      assert.deepEqual(labelled, [1, 3]);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('ESS: missing files, bad index rows and short xyp are clear errors; unknown folders detect nothing', async () => {
  const root = mkdtempSync(join(tmpdir(), 'evstream-ess-bad-'));
  try {
    assert.equal(detectDatasetLayout(root), undefined);
    await assert.rejects(readEssDrive(root).next(), (e: unknown) => e instanceof EventFormatError && e.kind === 'unknown-format');
    const drive = join(root, 'dir0');
    await makeEssDrive(drive);
    writeNpy(join(drive, 'index', 'index_50ms.npy'), new BigInt64Array([1n, 999n, 0n]), [1, 3]);
    await assert.rejects(readEssDrive(drive).next(), (e: unknown) => e instanceof EventFormatError && e.kind === 'corrupt-packet' && e.offset === 0);
    writeFileSync(join(drive, 'events.dat.xyp'), new Uint8Array(12));
    await assert.rejects(readEssDrive(drive).next(), (e: unknown) => e instanceof EventFormatError && e.kind === 'truncated');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
