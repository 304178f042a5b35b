import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, statSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy } from '../src/util/npy.js';
import { runCli } from './helpers/cli.js';
import { RECORDING_FACTS } from './helpers/facts.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';

const tmp = mkdtempSync(join(tmpdir(), 'evstream-cli-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('--help lists the commands', async () => {
  const r = await runCli(['--help']);
  assert.equal(r.code, 0);
  for (const cmd of ['info', 'frames', 'convert', 'replay-server']) assert.match(r.stdout, new RegExp(`\\b${cmd}\\b`));
});

for (const facts of RECORDING_FACTS) {
  const path = sharedRecording(facts.file);
  test(`info --json on ${facts.file}`, { skip: skipUnless(path) }, async () => {
    const r = await runCli(['info', path!, '--json']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.equal(lines.length, 1, 'exactly one JSON object on stdout');
    const j = JSON.parse(lines[0]!);
    assert.equal(j.format, facts.format);
    assert.equal(j.events, facts.events);
    assert.equal(j.on, facts.on);
    assert.equal(j.off, facts.off);
    if (facts.tFirstUs !== undefined) {
      assert.equal(j.tFirstUs, facts.tFirstUs);
      assert.equal(j.tLastUs, facts.tLastUs);
    }
    if (facts.width !== undefined) assert.deepEqual([j.width, j.height], [facts.width, facts.height]);
    assert.equal(typeof j.skipped, 'object');
    if (facts.format === 'aedat4') {
      assert.equal(j.compression, 'lz4');
      assert.deepEqual(j.streams.map((s: { id: number }) => s.id), [0, 2, 3]);
      assert.equal(j.skipped.imu, 59);
    }
  });
}

test('info reports skipped items by kind', { skip: skipUnless(sharedRecording('davis240-translboxes.aedat')) }, async () => {
  const j = JSON.parse((await runCli(['info', sharedRecording('davis240-translboxes.aedat')!, '--json'])).stdout);
  const skippedWords = Object.values(j.skipped as Record<string, number>).reduce((a, b) => a + b, 0);
  assert.equal(skippedWords, 33837);
});

test('frames writes [N, 2, H, W] float32 counts and prints N', { skip: skipUnless(sharedRecording('dvs-lz4-sample.aedat4')) }, async () => {
  const out = join(tmp, 'frames.npy');
  const r = await runCli(['frames', sharedRecording('dvs-lz4-sample.aedat4')!, '--window-ms', '50', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  const npy = readNpy(out);
  assert.equal(npy.dtype, '<f4');
  // 590 ms of events -> windows 0..11
  assert.deepEqual(npy.shape, [12, 2, 240, 320]);
  assert.equal(r.stdout.trim(), '12');
  const data = npy.data as Float32Array;
  const plane = 240 * 320;
  const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);
  assert.equal(sum(data.subarray(0, plane)), 2679);
  assert.equal(sum(data.subarray(plane, 2 * plane)), 2579);
  assert.equal(sum(data), 111954);
});

test('frames with crop, resize and limit', { skip: skipUnless(sharedRecording('davis240-translboxes.aedat')) }, async () => {
  const out = join(tmp, 'small.npy');
  const r = await runCli(['frames', sharedRecording('davis240-translboxes.aedat')!, '--window-ms', '50', '--crop', '0,0,240,120', '--size', '64x32', '--limit', '3', '--out', out]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout.trim(), '3');
  const npy = readNpy(out);
  assert.deepEqual(npy.shape, [3, 2, 32, 64]);
});

test('convert -> info round trip keeps every event', { skip: skipUnless(sharedRecording('davis240-translboxes.aedat3')) }, async () => {
  for (const compression of ['none', 'lz4', 'zstd']) {
    const out = join(tmp, `conv-${compression}.aedat4`);
    const c = await runCli(['convert', sharedRecording('davis240-translboxes.aedat3')!, out, '--compression', compression]);
    assert.equal(c.code, 0, c.stderr);
    const j = JSON.parse((await runCli(['info', out, '--json'])).stdout);
    assert.equal(j.format, 'aedat4');
    assert.equal(j.compression, compression);
    assert.equal(j.events, 162771);
    assert.deepEqual(j.checksums, { xyp: 430655846, dt: 3265321358 });
    assert.deepEqual([j.width, j.height], [240, 180]);
  }
});

test('bad input: unknown format, empty file, missing file and bad options fail cleanly', async () => {
  const junk = join(tmp, 'junk.bin');
  writeFileSync(junk, 'hello world, not events');
  const empty = join(tmp, 'empty.aedat4');
  writeFileSync(empty, '');
  for (const [args, pattern] of [
    [['info', junk], /junk\.bin: unknown-format at byte 0/],
    [['info', empty], /empty\.aedat4: empty at byte 0/],
    [['info', join(tmp, 'nope.aedat')], /nope\.aedat/],
    [['frames', junk, '--out', join(tmp, 'x.npy'), '--size', '64'], /expected WxH|unknown-format/],
    [['convert', junk, join(tmp, 'never.aedat4')], /unknown-format/],
  ] as const) {
    const r = await runCli([...args]);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, pattern);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace for bad input');
  }
  assert.throws(() => statSync(join(tmp, 'never.aedat4')), 'convert creates no output for unreadable input');
});

test('strict mode turns a truncation warning into an error', { skip: skipUnless(sharedRecording('dvs128-short.aedat')) }, async () => {
  const lax = await runCli(['info', sharedRecording('dvs128-short.aedat')!, '--json']);
  assert.equal(lax.code, 0);
  assert.match(lax.stderr, /warning: .*dvs128-short\.aedat/);
  assert.equal(JSON.parse(lax.stdout).events, 0);
  const strict = await runCli(['info', sharedRecording('dvs128-short.aedat')!, '--json', '--strict']);
  assert.equal(strict.code, 2);
  assert.match(strict.stderr, /truncated at byte \d+/);
});

test('simulate writes a reproducible labelled set that info and frames read', async () => {
  const run = async (dir: string) => {
    const r = await runCli(['simulate', '--seed', '5', '--sequences', '2', '--seconds', '0.3', '--size', '96x72', '--out', dir]);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { sequences: { name: string; events: string; labels: string; frames: number; eventCount: number }[] };
  };
  const a = await run(join(tmp, 'simA'));
  const b = await run(join(tmp, 'simB'));
  assert.equal(a.sequences.length, 2);
  for (const [i, seq] of a.sequences.entries()) {
    assert.equal(seq.frames, 6);
    const eventsA = join(tmp, 'simA', seq.events);
    assert.deepEqual(readFileSync(eventsA), readFileSync(join(tmp, 'simB', b.sequences[i]!.events)), 'same seed, same bytes');
    assert.equal(readdirSync(join(tmp, 'simA', seq.labels)).filter((f) => f.endsWith('.png')).length, 6);
    const info = JSON.parse((await runCli(['info', eventsA, '--json'])).stdout);
    assert.equal(info.events, seq.eventCount);
    assert.deepEqual([info.width, info.height], [96, 72]);
    assert.equal(info.nonMonotonic, 0);
  }
  const bad = await runCli(['simulate', '--seed', 'x', '--out', join(tmp, 'simC')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--seed must be an integer/);
});
