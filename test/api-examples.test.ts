/**
 * The README's "Use as a library" examples are the files in test/api-examples/ (this test fails when a README
 * block and its file differ), they are type-checked by the build through the package's own subpath exports
 * (`evstream/events`, ...: a self-reference, so an export that is removed or renamed breaks the build), and
 * four of the five run here on real data. Training is only type-checked: it takes minutes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readToArrays } from './api-examples/read-arrays.js';
import { fileToFrames } from './api-examples/bin-frames.js';
import { segment } from './api-examples/run-checkpoint.js';
import { onLiveEvents } from './api-examples/live-davis.js';
import { startReplayServer } from '../src/server/dv-replay-server.js';
import { factsOf } from './helpers/event-facts.js';
import { RECORDING_FACTS } from './helpers/facts.js';
import { waitFor } from './helpers/server-helpers.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';

const EXAMPLES = ['read-arrays', 'bin-frames', 'run-checkpoint', 'live-davis', 'train'];
const SAMPLE = 'dvs-lz4-sample.aedat4';
const sample = sharedRecording(SAMPLE);
const facts = RECORDING_FACTS.find((f) => f.file === SAMPLE)!;

test('README: the five library examples are the files in test/api-examples, verbatim', () => {
  const readme = readFileSync('README.md', 'utf8');
  const section = readme.slice(readme.indexOf('## Use as a library'), readme.indexOf('\n## ', readme.indexOf('## Use as a library') + 1));
  assert.ok(section.length > 100, 'README has a "Use as a library" section');
  const blocks = [...section.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.equal(blocks.length, EXAMPLES.length);
  EXAMPLES.forEach((name, i) => assert.equal(blocks[i], readFileSync(join('test', 'api-examples', `${name}.ts`), 'utf8'), `README block ${i + 1} = test/api-examples/${name}.ts`));
});

test('example 1 (read any file to arrays): the README facts of the shared AEDAT 4 sample', { skip: skipUnless(sample, SAMPLE) }, async () => {
  const f = factsOf(await readToArrays(sample!));
  assert.deepEqual([f.n, f.on, f.off, f.first, f.last, f.xyp, f.dt], [facts.events, facts.on, facts.off, facts.tFirstUs, facts.tLastUs, facts.xyp, facts.dt]);
});

test('example 2 (bin a file into frames): 12 windows of 50 ms at 64 x 64, each holding its share of the events', { skip: skipUnless(sample, SAMPLE) }, async () => {
  const frames = await fileToFrames(sample!);
  // 589917 µs from the first to the last event: windows k = 0..11.
  assert.deepEqual(frames.map((f) => f.index), [...Array(12).keys()]);
  assert.ok(frames.every((f) => f.width === 64 && f.height === 64 && f.counts.length === 2 * 64 * 64));
  // Area resize averages: a frame's sums are its window's ON / OFF counts x (64 x 64) / (320 x 240).
  const scale = (64 * 64) / (320 * 240);
  frames.slice(0, 5).forEach((f, k) => {
    const on = f.counts.subarray(0, 4096).reduce((a, b) => a + b, 0);
    const off = f.counts.subarray(4096).reduce((a, b) => a + b, 0);
    assert.ok(Math.abs(on - facts.windows![k]![0] * scale) < 1e-2 && Math.abs(off - facts.windows![k]![1] * scale) < 1e-2, `window ${k}: ${on}, ${off}`);
  });
});

test('example 3 (a checkpoint on a recording): the demo model segments the demo drive into its 6 classes', async () => {
  const maps = await segment('pipelines/demo.safetensors', 'recordings/demo.aedat4', 4);
  assert.equal(maps.length, 4);
  assert.ok(maps.every((m) => m.length === 64 * 64 && m.every((c) => c < 6)));
  assert.ok(new Set(maps[3]).size > 1, 'a trained model sees more than one class');
});

test('example 4 (a live DV stream into a callback): every event of the file served by the DV replay server', { skip: skipUnless(sample, SAMPLE), timeout: 20_000 }, async () => {
  const server = await startReplayServer(sample!, { port: 0, speed: 100 });
  let events = 0;
  const stop = onLiveEvents(`tcp://127.0.0.1:${server.port}`, (b) => (events += b.length));
  try {
    await waitFor(() => events >= facts.events, 15_000, `${facts.events} events`);
    assert.equal(events, facts.events);
  } finally {
    stop();
    await server.close();
  }
});
