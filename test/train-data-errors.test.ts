/**
 * Broken training data names the file (issue 12, item 11): corrupt / truncated / missing label PNGs, a bad
 * manifest.json, a damaged events.aedat4, on a tiny synthetic set (and a tiny Ev-SegNet set).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, unlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { writeSimDataset } from '../src/sim/dataset.js';
import { formatLoadSummary, openSegData, type PreprocessOptions } from '../src/train/data.js';
import { EventFormatError, type FormatWarning } from '../src/events/errors.js';
import { InputFileError } from '../src/util/input-error.js';
import { encodeNpy } from '../src/util/npy.js';

/** One synthetic set for the whole file (2 sequences x 6 windows of 64 x 48); each test corrupts a copy. */
let pristine: Promise<string> | undefined;
function baseSet(): Promise<string> {
  pristine ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'evstream-data-errors-'));
    await writeSimDataset(dir, { seed: 3, sequences: 2, seconds: 0.3, width: 64, height: 48 });
    return dir;
  })();
  return pristine;
}

async function copySet(): Promise<string> {
  const src = await baseSet();
  const dir = mkdtempSync(join(tmpdir(), 'evstream-data-errors-copy-'));
  cpSync(src, dir, { recursive: true });
  return dir;
}

const opts: PreprocessOptions = { size: [16, 16], cache: false };

/** A rejection that is `type` and whose one-line message contains every string of `parts`. */
function named(type: typeof EventFormatError | typeof InputFileError, ...parts: string[]): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof type, `expected a ${type.name}, got ${String(e)}`);
    const msg = (e as Error).message;
    assert.ok(!msg.includes('\n'), `one line: ${msg}`);
    for (const p of parts) assert.ok(msg.includes(p), `'${msg}' names '${p}'`);
    return true;
  };
}

test.after(async () => {
  if (pristine) await rm(await pristine, { recursive: true, force: true });
});

test('label PNG: corrupt bytes, truncated, not a PNG, wrong size -> EventFormatError naming the PNG', async () => {
  const dir = await copySet();
  try {
    const png = join(dir, 'seq_001', 'labels', '000002.png');
    const good = readFileSync(png);
    const corrupt = Buffer.from(good);
    for (let i = 0; i < 8; i++) corrupt[Math.floor(corrupt.length / 2) + i]! ^= 0xff;
    writeFileSync(png, corrupt);
    await assert.rejects(openSegData(dir, 'all', opts), named(EventFormatError, png, 'PNG label'));

    writeFileSync(png, good);
    truncateSync(png, Math.floor(good.length / 2));
    await assert.rejects(openSegData(dir, 'all', opts), named(EventFormatError, png));

    writeFileSync(png, 'not a png at all');
    await assert.rejects(openSegData(dir, 'all', opts), named(EventFormatError, png));

    // a valid PNG of another size would be cropped out of bounds
    await sharp(Buffer.alloc(32 * 24), { raw: { width: 32, height: 24, channels: 1 } }).toColourspace('b-w').png().toFile(png);
    await assert.rejects(openSegData(dir, 'all', opts), named(EventFormatError, png, '64 x 48', '32 x 24'));

    // the untouched file loads: the errors above came from the damage
    writeFileSync(png, good);
    const d = await openSegData(dir, 'all', opts);
    assert.equal(d.n, 12);
    assert.deepEqual(d.summary, { missingLabels: 0, missingLabelFiles: [], warnings: 0 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('missing label PNGs are counted, named in the load summary and leave their windows unlabelled (cache too)', async () => {
  const dir = await copySet();
  try {
    const before = await openSegData(dir, 'all', { size: [16, 16], cache: false });
    assert.equal(before.labelled.reduce((a, b) => a + b, 0), 12);
    const gone = [join(dir, 'seq_000', 'labels', '000001.png'), join(dir, 'seq_001', 'labels', '000004.png')];
    for (const p of gone) unlinkSync(p);
    const loaded: string[] = [];
    const d = await openSegData(dir, 'all', { size: [16, 16], onLoaded: (path) => loaded.push(path) }); // writes the cache
    assert.deepEqual(loaded, [dir]);
    assert.equal(d.summary!.missingLabels, 2);
    assert.deepEqual(d.summary!.missingLabelFiles, gone);
    const unlabelled = (x: typeof d): string[] => [...x.labelled.keys()].filter((i) => !x.labelled[i]).map((i) => `${x.sequences[x.seq[i]!]}/${x.window[i]}`);
    assert.deepEqual(unlabelled(d), ['seq_000/1', 'seq_001/4']);
    const line = formatLoadSummary(dir, d.summary)!;
    assert.match(line, /2 label files missing/);
    for (const p of gone) assert.ok(line.includes(p), line);
    // a split only reports its own sequences
    const val = await openSegData(dir, 'val', { size: [16, 16], cache: false });
    assert.deepEqual(val.summary!.missingLabelFiles, [gone[1]]);
    // a label put back is read again, not taken from the cache written while it was missing
    cpSync(join(await baseSet(), 'seq_000', 'labels', '000001.png'), gone[0]!);
    const back = await openSegData(dir, 'all', { size: [16, 16] });
    assert.equal(back.summary!.missingLabels, 1);
    assert.deepEqual(back.labels.subarray(256, 512), before.labels.subarray(256, 512));
    assert.ok(back.labels.subarray(256, 512).some((v) => v !== 255), 'a real label, not the ignore fill');
    // and one deleted after the cache holds it is still reported
    unlinkSync(gone[0]!);
    const again = await openSegData(dir, 'all', { size: [16, 16] });
    assert.deepEqual(again.summary!.missingLabelFiles, gone);
    assert.deepEqual(unlabelled(again), ['seq_000/1', 'seq_001/4']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('manifest.json: invalid JSON, wrong field types, escaping paths, absurd frame counts -> InputFileError naming file and field', async () => {
  const dir = await copySet();
  try {
    const path = join(dir, 'manifest.json');
    const good = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown> & { sequences: Record<string, unknown>[] };
    const withManifest = (m: unknown): Promise<unknown> => {
      writeFileSync(path, typeof m === 'string' ? m : JSON.stringify(m));
      return openSegData(dir, 'all', opts);
    };
    await assert.rejects(withManifest('{"width": 64, "height": '), named(InputFileError, path, 'not valid JSON'));
    await assert.rejects(withManifest('[1, 2]'), named(InputFileError, path, 'an object'));
    await assert.rejects(withManifest({ ...good, width: '64' }), named(InputFileError, path, 'width', '"64"'));
    await assert.rejects(withManifest({ ...good, windowUs: 0.001 }), named(InputFileError, path, 'windowUs'));
    await assert.rejects(withManifest({ ...good, sequences: {} }), named(InputFileError, path, 'sequences'));
    const seq = (i: number, patch: Record<string, unknown>): unknown => ({ ...good, sequences: good.sequences.map((s, j) => (j === i ? { ...s, ...patch } : s)) });
    await assert.rejects(withManifest(seq(1, { frames: '6' })), named(InputFileError, path, 'sequences[1].frames'));
    await assert.rejects(withManifest(seq(1, { frames: -1 })), named(InputFileError, path, 'sequences[1].frames'));
    await assert.rejects(withManifest(seq(0, { t0: null })), named(InputFileError, path, 'sequences[0].t0'));
    await assert.rejects(withManifest(seq(0, { events: 42 })), named(InputFileError, path, 'sequences[0].events'));
    await assert.rejects(withManifest(seq(0, { name: '../../elsewhere' })), named(InputFileError, path, 'sequences[0].name', 'inside the dataset folder'));
    await assert.rejects(withManifest(seq(1, { labels: '/etc' })), named(InputFileError, path, 'sequences[1].labels'));
    // a plausible-looking claim of millions of frames is refused before anything is allocated
    const rss = process.memoryUsage().rss;
    // (an explicit budget: the default, half of this machine's memory, would let a large machine allocate it)
    writeFileSync(path, JSON.stringify(seq(0, { frames: 5_000_000 })));
    await assert.rejects(openSegData(dir, 'all', { ...opts, maxBytes: 4 * 2 ** 30 }), named(InputFileError, path, 'sequences[].frames', 'GiB'));
    assert.ok(process.memoryUsage().rss - rss < 256 << 20, 'nothing large was allocated');
    // the budget is the loader's option: the true set fits 1 MiB at 16 x 16, not 10 KiB
    writeFileSync(path, JSON.stringify(good));
    await assert.rejects(openSegData(dir, 'all', { ...opts, maxBytes: 10_000 }), named(InputFileError, path, 'claim 12 frames'));
    assert.equal((await openSegData(dir, 'all', { ...opts, maxBytes: 1 << 20 })).n, 12);
    // an events file named by the manifest that is a folder, or absent
    await assert.rejects(withManifest(seq(1, { events: 'seq_001/labels' })), named(InputFileError, join(dir, 'seq_001/labels'), 'is a directory', 'sequences[1].events'));
    await assert.rejects(withManifest(seq(1, { events: 'seq_001/nope.aedat4' })), named(InputFileError, join(dir, 'seq_001/nope.aedat4'), 'does not exist'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('corrupt events.aedat4: decoder warnings name the file, reach onWarning and the summary; the rest still loads', async () => {
  const dir = await copySet();
  try {
    const ev = join(dir, 'seq_000', 'events.aedat4');
    const clean = await openSegData(dir, 'all', opts);
    const b = readFileSync(ev);
    // 32 bytes in the middle of an LZ4 packet (compressed data, not a size field): that packet fails to decode
    for (let i = 0; i < 32; i++) b[Math.floor(b.length / 2) + i] = 0xa5;
    writeFileSync(ev, b);
    const warnings: FormatWarning[] = [];
    const d = await openSegData(dir, 'all', { ...opts, onWarning: (w) => warnings.push(w) });
    assert.ok(warnings.length >= 1, 'the damaged packet is reported');
    for (const w of warnings) {
      assert.equal(w.source, ev);
      assert.ok(w.message.includes(ev), w.message);
    }
    assert.equal(d.summary!.warnings, warnings.length);
    assert.match(formatLoadSummary(dir, d.summary)!, /warnings? while reading/);
    assert.equal(d.n, clean.n, 'every window is still there');
    // seq_001 is untouched: its frames are identical
    const plane = 2 * 16 * 16;
    const i1 = d.seq.indexOf(1);
    assert.deepEqual(d.frames.subarray(i1 * plane), clean.frames.subarray(i1 * plane));
    assert.notDeepEqual(d.frames.subarray(0, i1 * plane), clean.frames.subarray(0, i1 * plane), 'the lost packet shows in seq_000');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Ev-SegNet: a corrupt label PNG and an unreadable event image name the file; a missing label is counted', async () => {
  const root = mkdtempSync(join(tmpdir(), 'evstream-data-errors-evseg-'));
  try {
    const events = join(root, 'test', 'events');
    const labels = join(root, 'test', 'labels');
    mkdirSync(events, { recursive: true });
    mkdirSync(labels, { recursive: true });
    const [W, H] = [32, 20];
    for (const k of [1, 2, 3]) {
      writeFileSync(join(events, `rec_${k}.npy`), encodeNpy(new Float32Array(H * W * 2).fill(k), [H, W, 2]));
      await sharp(Buffer.alloc(W * H, 1), { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w').png().toFile(join(labels, `rec_${k}.png`));
    }
    unlinkSync(join(labels, 'rec_3.png'));
    const warnings: FormatWarning[] = [];
    const d = await openSegData(root, 'test', { size: [8, 8], onWarning: (w) => warnings.push(w) });
    assert.equal(d.n, 2);
    assert.equal(d.summary!.missingLabels, 1);
    assert.deepEqual(d.summary!.missingLabelFiles, [join(labels, 'rec_3.png')]);
    assert.equal(warnings.length, 1);
    assert.ok(warnings[0]!.message.includes(join(events, 'rec_3.npy')));

    const png = join(labels, 'rec_2.png');
    truncateSync(png, 30);
    await assert.rejects(openSegData(root, 'test', { size: [8, 8] }), named(EventFormatError, png));
    await sharp(Buffer.alloc(W * H, 1), { raw: { width: W, height: H, channels: 1 } }).toColourspace('b-w').png().toFile(png);
    const npy = join(events, 'rec_1.npy');
    truncateSync(npy, 40);
    await assert.rejects(openSegData(root, 'test', { size: [8, 8] }), named(EventFormatError, npy));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
