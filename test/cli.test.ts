import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, statSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readNpy } from '../src/util/npy.js';
import { execFile } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { cliPath, runCli, type CliResult } from './helpers/cli.js';
import { encodeAedat4 } from '../src/events/aedat4/writer.js';
import type { EventBatch } from '../src/events/types.js';
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
      // Monotonic recordings: the smallest / largest timestamps are the first / last.
      assert.equal(j.tMinUs, facts.tFirstUs);
      assert.equal(j.tMaxUs, facts.tLastUs);
    }
    assert.equal(j.outliers, 0);
    assert.equal(j.discontinuities, 0);
    if (facts.width !== undefined) assert.deepEqual([j.width, j.height], [facts.width, facts.height]);
    assert.equal(j.sizeFrom, facts.sizeFrom ?? 'header');
    if (facts.sizeFrom === 'max+1') assert.match(r.stderr, /states no sensor size: using \d+ x \d+/, 'a guessed size is said on stderr');
    assert.deepEqual([j.checksums.xyp, j.checksums.dt], facts.xyp === undefined ? [0, 0] : [facts.xyp, facts.dt]);
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

for (const facts of RECORDING_FACTS.filter((f) => f.file.startsWith('prophesee/'))) {
  test(`frames on ${facts.file}: one frame per 50 ms window at the sensor size, counts as the README says`, { skip: skipUnless(sharedRecording(facts.file)) }, async () => {
    const out = join(tmp, `${facts.format}.npy`);
    const r = await runCli(['frames', sharedRecording(facts.file)!, '--window-ms', '50', '--out', out]);
    assert.equal(r.code, 0, r.stderr);
    const npy = readNpy(out);
    // a file that states no size (N-CARS) is scanned first: the frames already have the final size
    assert.deepEqual(npy.shape, [facts.windows!.length, 2, facts.height, facts.width]);
    const data = npy.data as Float32Array;
    const plane = facts.width! * facts.height!;
    const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);
    const got = facts.windows!.map((_, k) => [sum(data.subarray(2 * k * plane, (2 * k + 1) * plane)), sum(data.subarray((2 * k + 1) * plane, (2 * k + 2) * plane))]);
    assert.deepEqual(got, facts.windows);
  });
}

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
    [['frames', junk, '--out', join(tmp, 'x.npy'), '--size', '64x'], /--size must be W x H in pixels, width first/],
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
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, "evstream: --seed must be an integer, got 'x'\n");
});

// ------------------------------------------------------------------ hostile timestamps (issue 12)

/** Run the CLI and also report the child's peak RSS (bytes), read by a preload module at exit. */
function runCliRss(args: string[], timeoutMs = 60_000): Promise<CliResult & { maxRss: number }> {
  const preload = join(tmp, 'rss-preload.mjs');
  writeFileSync(preload, "process.on('exit', () => process.stderr.write(`\\nmaxrss ${process.resourceUsage().maxRSS * 1024}\\n`));\n");
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', pathToFileURL(preload).href, cliPath, ...args], { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      const m = /maxrss (\d+)/.exec(stderr);
      resolve({ code, stdout, stderr: stderr.replace(/\nmaxrss \d+\n/, ''), maxRss: m ? Number(m[1]) : NaN });
    });
  });
}

/** A copy of the shared AEDAT 3.1 recording with bytes 940..943 (one event's timestamp) = ff ff ff 7f. */
function mutatedAedat3(): string {
  const path = join(tmp, 'ts-mutant.aedat3');
  const bytes = readFileSync(sharedRecording('davis240-translboxes.aedat3')!);
  bytes.set([0xff, 0xff, 0xff, 0x7f], 940);
  writeFileSync(path, bytes);
  return path;
}

test('convert keeps every event as read, a stray timestamp included (the guard is for consumers)', { skip: skipUnless(sharedRecording('davis240-translboxes.aedat3')) }, async () => {
  const mutant = mutatedAedat3();
  const out = join(tmp, 'converted-mutant.aedat4');
  const r = await runCli(['convert', mutant, out, '--compression', 'none']);
  assert.equal(r.code, 0, r.stderr);
  const src = JSON.parse((await runCli(['info', mutant, '--json', '--max-gap', '0'])).stdout);
  const dst = JSON.parse((await runCli(['info', out, '--json', '--max-gap', '0'])).stdout);
  assert.equal(dst.events, src.events);
  assert.equal(dst.tMaxUs, 0x7fffffff, 'the stray time is carried over');
  assert.deepEqual(dst.checksums, src.checksums);
});

test('one corrupt timestamp: frames and info drop that event only, in bounded memory', { skip: skipUnless(sharedRecording('davis240-translboxes.aedat3')) }, async () => {
  const mutant = mutatedAedat3();
  const clean = sharedRecording('davis240-translboxes.aedat3')!;
  const facts = RECORDING_FACTS.find((f) => f.file === 'davis240-translboxes.aedat3')!;
  const a = await runCliRss(['frames', clean, '--out', join(tmp, 'clean.npy')]);
  const b = await runCliRss(['frames', mutant, '--out', join(tmp, 'mutant.npy')]);
  assert.equal(a.code, 0, a.stderr);
  assert.equal(b.code, 0, b.stderr);
  assert.equal(b.stdout.trim(), a.stdout.trim(), 'same number of frames as the clean file');
  assert.match(b.stderr, /frames: 1 event with an implausible timestamp dropped as an outlier/);
  const sum = (p: string) => (readNpy(p).data as Float32Array).reduce((s, v) => s + v, 0);
  assert.equal(sum(join(tmp, 'mutant.npy')), sum(join(tmp, 'clean.npy')) - 1);
  assert.ok(b.maxRss < 400 * 2 ** 20, `frames peak RSS ${(b.maxRss / 2 ** 20).toFixed(0)} MB`);
  const info = await runCliRss(['info', mutant, '--json']);
  assert.equal(info.code, 0, info.stderr);
  const j = JSON.parse(info.stdout);
  assert.equal(j.events, facts.events - 1);
  assert.equal(j.outliers, 1);
  assert.equal(j.tMaxUs, facts.tLastUs);
  assert.equal(j.tMinUs, facts.tFirstUs);
  assert.ok(info.maxRss < 400 * 2 ** 20, `info peak RSS ${(info.maxRss / 2 ** 20).toFixed(0)} MB`);
  // With the guard off the stray time is reported as the largest timestamp.
  const off = JSON.parse((await runCli(['info', mutant, '--json', '--max-gap', '0'])).stdout);
  assert.equal(off.events, facts.events);
  assert.equal(off.tMaxUs, 2 ** 31 - 1);
  assert.equal(off.tLastUs, facts.tLastUs);
  const text = await runCli(['info', mutant]);
  assert.match(text.stdout, /outliers\s+1 event/);
  assert.match(text.stdout, new RegExp(`time range\\s+${facts.tFirstUs} \\.\\. ${facts.tLastUs}`));
});

test('frames: a confirmed 1e9 µs jump skips its silent windows unless --keep-gaps', async () => {
  const w = 50_000;
  const n = 600;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = 1_000_000 + i * 1000 + (i >= 300 ? 1e9 : 0);
  const ev: EventBatch = { t, x: Uint16Array.from(t, (_, i) => i % 8), y: Uint16Array.from(t, (_, i) => i % 6), p: Uint8Array.from(t, (_, i) => i & 1), length: n, width: 8, height: 6 };
  const path = join(tmp, 'jump.aedat4');
  writeFileSync(path, await encodeAedat4([ev], { width: 8, height: 6, compression: 'none' }));
  const windows = (a: number, b: number) => Math.floor((t[b]! - t[0]!) / w) - Math.floor((t[a]! - t[0]!) / w) + 1;
  const withEvents = windows(0, 299) + windows(300, n - 1);
  const all = windows(0, n - 1);

  const skip = await runCli(['frames', path, '--out', join(tmp, 'jump.npy')]);
  assert.equal(skip.code, 0, skip.stderr);
  assert.equal(Number(skip.stdout.trim()), withEvents);
  assert.match(skip.stderr, new RegExp(`1 time discontinuity, ${all - withEvents} silent windows skipped`));
  assert.deepEqual(readNpy(join(tmp, 'jump.npy')).shape, [withEvents, 2, 6, 8]);

  const keep = await runCli(['frames', path, '--keep-gaps', '--out', join(tmp, 'jump-keep.npy')]);
  assert.equal(keep.code, 0, keep.stderr);
  assert.equal(Number(keep.stdout.trim()), all);
  assert.doesNotMatch(keep.stderr, /skipped/);
  const npy = readNpy(join(tmp, 'jump-keep.npy'));
  assert.deepEqual(npy.shape, [all, 2, 6, 8]);
  assert.equal((npy.data as Float32Array).reduce((s, v) => s + v, 0), n);

  // --limit also stops inside a kept gap.
  const lim = await runCli(['frames', path, '--keep-gaps', '--limit', '50', '--out', join(tmp, 'jump-lim.npy')]);
  assert.equal(lim.stdout.trim(), '50');
});

test('frames refuses windows below 0.1 ms and bad --max-gap with one line and exit code 2', async () => {
  const junk = join(tmp, 'never-read.aedat');
  writeFileSync(junk, '');
  for (const [args, pattern] of [
    [['--window-ms', '0.001'], /--window-ms must be a number between 0\.1 and 60000, got '0\.001'/],
    [['--window-ms', '120000'], /--window-ms must be a number between/],
    [['--window-ms', 'abc'], /--window-ms must be a number between 0\.1 and 60000, got 'abc'/],
    [['--max-gap', '-1'], /--max-gap must be a number >= 0 \(seconds; 0 or Infinity: off\), got '-1'/],
  ] as const) {
    const out = join(tmp, 'refused.npy');
    const r = await runCli(['frames', junk, ...args, '--out', out]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, pattern);
    assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    assert.throws(() => statSync(out), 'nothing written');
  }
  const info = await runCli(['info', junk, '--max-gap', 'x']);
  assert.equal(info.code, 2);
  assert.match(info.stderr, /--max-gap must be/);
});

// ------------------------------------------------------------------ one options module (issue 13)

const COMMANDS = ['info', 'frames', 'convert', 'replay-server', 'simulate', 'simulate-images', 'infer', 'run', 'make-demo', 'train', 'eval', 'report', 'train-stream', 'export-model', 'simulate-scene', 'export'];

test('every command prints its help (built-in defaults parse at start-up) and every --size is WxH', async () => {
  const top = await runCli(['--help']);
  for (const cmd of COMMANDS) assert.match(top.stdout, new RegExp(`^  ${cmd}\\b`, 'm'), `${cmd} listed`);
  let sizes = 0;
  for (const cmd of COMMANDS) {
    const r = await runCli([cmd, '--help']);
    assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
    assert.equal(r.stderr, '');
    assert.doesNotMatch(r.stdout, /HxW|H x W/, `${cmd} --help`);
    if (/--size </.test(r.stdout)) {
      sizes++;
      assert.match(r.stdout, /--size <WxH>/, cmd);
    }
  }
  assert.equal(sizes, 7, 'frames, simulate, simulate-images, infer, train, simulate-scene, export');
});

test("commander's own usage errors are one line with exit code 2, like a bad value", async () => {
  for (const [args, line] of [
    [['info', 'x', '--bogus'], "evstream: unknown option '--bogus' (run with --help for usage)"],
    [['simulate', '--seed', '1'], "evstream: required option '--out <dir>' not specified (run with --help for usage)"],
    [['frames'], /^evstream: (missing required argument 'file'|required option '--out <frames\.npy>' not specified) \(run with --help for usage\)$/],
    [['inf'], "evstream: unknown command 'inf' (Did you mean info?) (run with --help for usage)"],
    [['replay-server', 'x', '--port', '70000'], "evstream: --port must be an integer between 0 and 65535, got '70000'"],
    [['report', join(tmp, 'no-run')], `evstream: ${join(tmp, 'no-run')}: does not exist, expected a training run directory for <run_dir>`],
  ] as const) {
    const r = await runCli([...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    if (typeof line === 'string') assert.equal(lines[0], line);
    else assert.match(lines[0]!, line);
  }
  const version = await runCli(['--version']);
  assert.equal(version.code, 0);
  assert.match(version.stdout, /^\d+\.\d+\.\d+/);
});

test('infer reads --size as W x H and notes the old H x W reading of a non-square size', async () => {
  const { initBackend } = await import('../src/snn/backend.js');
  const { SegModel } = await import('../src/snn/model.js');
  const { encodeCheckpoint } = await import('../src/snn/checkpoint.js');
  const { encodeNpy } = await import('../src/util/npy.js');
  await initBackend('wasm', false);
  const [W, H] = [32, 16];
  const m = SegModel.create('ann-fcn', { width: 0.125, size: [H, W], classes: 3 });
  const w = join(tmp, 'wide.safetensors');
  writeFileSync(w, encodeCheckpoint(m));
  m.dispose();
  const x = join(tmp, 'wide-x.npy');
  writeFileSync(x, encodeNpy(new Float32Array(1 * 1 * 2 * H * W).fill(0.5), [1, 1, 2, H, W]));
  const y = join(tmp, 'wide-y.npy');
  const ok = await runCli(['infer', '--arch', 'ann-fcn', '--weights', w, '--input', x, '--out', y, '--classes', '3', '--size', `${W}x${H}`]);
  assert.equal(ok.code, 0, ok.stderr);
  assert.deepEqual(readNpy(y).shape, [1, 3, H, W], '32x16 = 32 wide, 16 high');
  assert.match(ok.stderr, /^note: --size is W x H \(width first\) in every command; train and infer used to read H x W\. 32x16 = 32 wide, 16 high$/m);
  // the old form (height first) no longer fits this model; the note says how it was read
  const old = await runCli(['infer', '--arch', 'ann-fcn', '--weights', w, '--input', x, '--out', y, '--classes', '3', '--size', `${H}x${W}`]);
  assert.notEqual(old.code, 0);
  assert.match(old.stderr, /16x32 = 16 wide, 32 high/);
  // a square size means the same in both readings: no note
  const sq = await runCli(['infer', '--arch', 'ann-fcn', '--weights', w, '--input', x, '--out', y, '--classes', '3', '--size', '32x32']);
  assert.doesNotMatch(sq.stderr, /note:/);
  // a corrupt .npy input is a bad file: one line naming it, exit 2 (not a crash, not exit 1)
  const bad = join(tmp, 'bad-x.npy');
  writeFileSync(bad, Buffer.from('not an npy file at all'));
  const corrupt = await runCli(['infer', '--weights', w, '--input', bad, '--out', y]);
  assert.equal(corrupt.code, 2, corrupt.stderr);
  // (the backend lines before it are start-up information)
  assert.match(corrupt.stderr.trim().split('\n').at(-1)!, /^evstream: .*bad-x\.npy: not a \.npy file/);
  assert.doesNotMatch(corrupt.stderr, /^\s+at /m);
});
