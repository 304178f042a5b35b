/**
 * Sensor realism in src/sim: finite bandwidth, timestamp jitter and leak events of DvsSensor on crafted
 * log-intensity inputs (expectations computed by hand from the documented models), presets, and domain
 * randomisation (reproducible draws inside the preset ranges, recorded in the manifest).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventBatch } from '../src/events/types.js';
import { DvsSensor, EventBuffer, type SensorOptions } from '../src/sim/sensor.js';
import { resolveSimOptions, simulateSequence, type SimOptions } from '../src/sim/simulate.js';
import { SENSOR_PARAMS, SENSOR_PRESETS, SENSOR_PRESET_NAMES } from '../src/sim/sensor-presets.js';
import { drawOptions, drawSequence, SCENE_RANGES } from '../src/sim/randomize.js';
import { writeSimDataset, type SimManifest } from '../src/sim/dataset.js';
import { runCli } from './helpers/cli.js';

const plain: SensorOptions = { width: 1, height: 1, contrastThreshold: 0.2, thresholdSigma: 0, refractoryUs: 0, noiseRate: 0, hotPixels: 0, hotPixelRate: 0 };

/** Holds `to` from t = 0 on (reset at `from`), rendering every stepUs until endUs. */
function step(sensor: DvsSensor, from: number[], to: number[], stepUs: number, endUs: number): EventBuffer {
  const out = new EventBuffer();
  sensor.reset(Float32Array.from(from), 0);
  const frame = Float32Array.from(to);
  for (let t = stepUs; t <= endUs; t += stepUs) sensor.advance(frame, t, out);
  return out;
}

function eventsOf(out: EventBuffer, x: number): number[] {
  const ts: number[] = [];
  for (let k = 0; k < out.length; k++) if (out.x[k] === x) ts.push(out.t[k]!);
  return ts;
}

test('bandwidth: a unit log step crosses C, 2C, ... at tau ln(1 / (1 - kC)), with tau longer in a dark pixel', () => {
  const cutoffHz = 100;
  const floor = 20 / 275; // v2e's black-level fraction, the documented default
  // Pixel 0 steps from -1 to 0 (white: full cutoff), pixel 1 from -4 to -3 (dark).
  const out = step(new DvsSensor({ ...plain, width: 2, cutoffHz }, 1), [-1, -4], [0, -3], 10, 200_000);
  const tau = (L: number): number => 1e6 / (2 * Math.PI * cutoffHz * (floor + (1 - floor) * Math.min(1, Math.exp(L))));
  const bright = eventsOf(out, 0);
  const dark = eventsOf(out, 1);
  for (let k = 1; k <= 4; k++) {
    const want = tau(0) * Math.log(1 / (1 - 0.2 * k)); // 355, 813, 1458, 2561 µs
    assert.ok(Math.abs(bright[k - 1]! - want) <= 12, `bright crossing ${k}: ${bright[k - 1]} vs ${want.toFixed(1)}`);
  }
  const wantDark = tau(-3) * Math.log(1.25); // ~2987 µs: the cutoff at L = -3 is ~12 % of white's
  assert.ok(Math.abs(dark[0]! - wantDark) <= 12, `dark first crossing ${dark[0]} vs ${wantDark.toFixed(1)}`);
  assert.ok(dark[0]! - bright[0]! > 2500, 'the dark pixel responds later by (tau_dark - tau_bright) ln 1.25');
  assert.ok(out.p.subarray(0, out.length).every((p) => p === 1));
  // Off (cutoff 0): the same steps fire within the first 10 µs render interval.
  const off = step(new DvsSensor({ ...plain, width: 2 }, 1), [-1, -4], [0, -3], 10, 1000);
  assert.ok(eventsOf(off, 0)[0]! < 10 && eventsOf(off, 1)[0]! < 10);
});

test('jitter: times stay sorted, inside the render interval, within ±3 sigma, mean ~0 and sd ~sigma', () => {
  const n = 4000;
  const sigma = 100;
  const run = (jitterUs: number): EventBuffer => step(new DvsSensor({ ...plain, width: n, jitterUs }, 7), new Array<number>(n).fill(0), new Array<number>(n).fill(0.3), 10_000, 10_000);
  // Without jitter every pixel crosses 0.2 of a 0.3 ramp over 10 ms at floor(2/3 * 10000) = 6666 µs.
  const clean = run(0);
  assert.equal(clean.length, n);
  assert.ok(clean.t.subarray(0, n).every((t) => t === 6666));
  const j = run(sigma);
  assert.equal(j.length, n);
  let sum = 0;
  let sq = 0;
  const seen = new Uint8Array(n);
  for (let k = 0; k < n; k++) {
    if (k > 0) assert.ok(j.t[k]! >= j.t[k - 1]!, 'sorted');
    const d = j.t[k]! - 6666;
    assert.ok(Math.abs(d) <= 3 * sigma && Number.isInteger(j.t[k]!), `jitter ${d}`);
    assert.ok(j.t[k]! >= 0 && j.t[k]! <= 9999, 'inside the render interval');
    seen[j.x[k]!] = 1;
    sum += d;
    sq += d * d;
  }
  assert.ok(seen.every((s) => s === 1), 'every pixel still fires once');
  const mean = sum / n;
  const sd = Math.sqrt(sq / n - mean * mean);
  assert.ok(Math.abs(mean) < (4 * sigma) / Math.sqrt(n), `mean ${mean}`);
  assert.ok(Math.abs(sd - sigma) < 0.08 * sigma, `sd ${sd}`); // a normal clipped at 3 sigma has sd 0.986 sigma
  // Near an interval edge the jitter is clipped to the interval, so the output stays sorted across renders.
  const edge = new EventBuffer();
  const s = new DvsSensor({ ...plain, width: n, jitterUs: 1000 }, 3);
  s.reset(new Float32Array(n), 0);
  s.advance(new Float32Array(n).fill(0.2001), 100, edge); // crossings at ~99 µs, jitter up to 3 ms
  s.advance(new Float32Array(n).fill(-0.0001), 200, edge); // OFF crossings in [100, 199]
  for (let k = 1; k < edge.length; k++) assert.ok(edge.t[k]! >= edge.t[k - 1]!);
  assert.ok(eventsOf(edge, 0).every((t, i) => (i === 0 ? t <= 99 : t >= 100 && t <= 199)));
});

test('leak: a still scene gives ON events at leakRate per pixel (within Poisson bounds), periodic, with random phases', () => {
  const n = 2000;
  const rate = 2;
  const seconds = 5;
  const out = step(new DvsSensor({ ...plain, width: n, leakRate: rate }, 5), new Array<number>(n).fill(-1), new Array<number>(n).fill(-1), 10_000, seconds * 1e6);
  const expected = n * rate * seconds; // 20000
  assert.ok(Math.abs(out.length - expected) < 4 * Math.sqrt(expected), `${out.length} leak events, expected ${expected}`);
  assert.ok(out.p.subarray(0, out.length).every((p) => p === 1), 'leak events are ON');
  // Phases are uniform: the mean first-event time is half a period (0.25 s), not a whole one.
  const first = new Float64Array(n).fill(NaN);
  for (let k = 0; k < out.length; k++) if (Number.isNaN(first[out.x[k]!]!)) first[out.x[k]!] = out.t[k]!;
  const meanFirst = first.reduce((s, t) => s + t, 0) / n;
  assert.ok(Math.abs(meanFirst - 0.25e6) < 0.02e6, `mean first leak event at ${meanFirst} µs`);
  // Without spread a pixel leaks with period exactly 1 / rate (crossing times interpolated within renders).
  const one = eventsOf(step(new DvsSensor({ ...plain, leakRate: rate, leakJitter: 0 }, 9), [0], [0], 10_000, 3e6), 0);
  assert.ok(one.length >= 5);
  for (let k = 1; k < one.length; k++) assert.ok(Math.abs(one[k]! - one[k - 1]! - 1e6 / rate) <= 2, `period ${one[k]! - one[k - 1]!}`);
  // Off: a still scene gives nothing.
  assert.equal(step(new DvsSensor({ ...plain, width: n }, 5), new Array<number>(n).fill(-1), new Array<number>(n).fill(-1), 10_000, 1e6).length, 0);
});

function hashSequence(opts: SimOptions): { events: number; hash: string } {
  const h = createHash('sha256');
  let events = 0;
  for (const c of simulateSequence(opts)) {
    const e = c.events;
    events += e.length;
    for (const a of [e.t, e.x, e.y, e.p]) h.update(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    h.update(Buffer.from(c.label));
  }
  return { events, hash: h.digest('hex') };
}

test('effects off: events and labels are byte-identical to the simulator before they existed', () => {
  const opts: SimOptions = { seed: 11, seconds: 0.3, width: 64, height: 48, noiseRate: 2, hotPixels: 3, scene: 'highway' };
  // Digest of this sequence computed with commit 91c19c3 (the simulator before bandwidth, leak and jitter).
  const before = { events: 5138, hash: 'ad14defc969ba76847cf54ed47208bfa2fd582b20e5770d650c359b460b6c82d' };
  assert.deepEqual(hashSequence(opts), before);
  assert.deepEqual(hashSequence({ ...opts, cutoffHz: 0, leakRate: 0, jitterUs: 0, illumination: 0 }), before);
  assert.notEqual(hashSequence({ ...opts, jitterUs: 20 }).hash, before.hash, 'jitter on changes the events');
});

test('a sensor preset sets the size and its nominal parameters; given options win', () => {
  for (const name of SENSOR_PRESET_NAMES) {
    const p = SENSOR_PRESETS[name];
    const r = resolveSimOptions({ seed: 1, seconds: 1, sensor: name });
    assert.equal(r.sensor, name);
    assert.deepEqual([r.width, r.height], [p.width, p.height]);
    for (const k of ['contrastThreshold', 'thresholdSigma', 'refractoryUs', 'noiseRate', 'hotPixelRate', 'cutoffHz', 'jitterUs', 'leakRate'] as const) assert.equal(r[k], p.params[k].value, `${name}.${k}`);
    assert.equal(r.hotPixels, Math.round(p.params.hotPixelFraction.value * p.width * p.height));
    for (const k of SENSOR_PARAMS) {
      const { value, range } = p.params[k];
      assert.ok(range[0] <= value && value <= range[1], `${name}.${k} nominal inside its range`);
    }
  }
  assert.deepEqual([SENSOR_PRESETS.davis346.width, SENSOR_PRESETS.davis346.height, SENSOR_PRESETS.davis240.width, SENSOR_PRESETS.davis240.height, SENSOR_PRESETS.gen4.width, SENSOR_PRESETS.gen4.height], [346, 260, 240, 180, 1280, 720]);
  const r = resolveSimOptions({ seed: 1, seconds: 1, sensor: 'davis346', width: 64, height: 48, noiseRate: 3, leakRate: 0 });
  assert.deepEqual([r.width, r.height, r.noiseRate, r.leakRate, r.cutoffHz], [64, 48, 3, 0, 300]);
  const none = resolveSimOptions({ seed: 1, seconds: 1 });
  assert.deepEqual([none.sensor, none.cutoffHz, none.leakRate, none.jitterUs, none.width], [null, 0, 0, 0, 346]);
});

test('randomisation: same seed, same draw; other seeds differ; every value inside its range; log ranges sampled in log', () => {
  for (const name of SENSOR_PRESET_NAMES) {
    const p = SENSOR_PRESETS[name];
    assert.deepEqual(drawSequence(42, name), drawSequence(42, name));
    assert.notDeepEqual(drawSequence(42, name), drawSequence(43, name));
    const noise: number[] = [];
    const scenes = new Set<string>();
    for (let seed = 0; seed < 300; seed++) {
      const d = drawSequence(seed, name);
      for (const k of SENSOR_PARAMS) {
        const [lo, hi] = p.params[k].range;
        assert.ok(d.sensorParams[k] >= lo && d.sensorParams[k] <= hi, `${name}.${k} = ${d.sensorParams[k]} outside [${lo}, ${hi}]`);
      }
      assert.ok(d.illumination >= SCENE_RANGES.illumination[0] && d.illumination <= SCENE_RANGES.illumination[1]);
      assert.ok(d.speedFactor >= SCENE_RANGES.speedFactor[0] && d.speedFactor <= SCENE_RANGES.speedFactor[1]);
      scenes.add(d.scene);
      noise.push(d.sensorParams.noiseRate);
    }
    assert.deepEqual([...scenes].sort(), ['highway', 'suburban', 'urban']);
    // Log-uniform: the median is the geometric mean of the range, far below the arithmetic midpoint.
    const [lo, hi] = p.params.noiseRate.range;
    const median = noise.sort((a, b) => a - b)[150]!;
    assert.ok(Math.abs(Math.log(median / Math.sqrt(lo * hi))) < 0.25 * Math.log(hi / lo), `${name} noise median ${median}`);
  }
  // A fixed value is used as given and leaves every other draw unchanged.
  const free = drawSequence(5, 'davis346');
  const fixed = drawSequence(5, 'davis346', { noiseRate: 5, scene: 'highway' });
  assert.equal(fixed.sensorParams.noiseRate, 5);
  assert.equal(fixed.scene, 'highway');
  assert.deepEqual({ ...fixed.sensorParams, noiseRate: 0 }, { ...free.sensorParams, noiseRate: 0 });
  assert.equal(fixed.illumination, free.illumination);
});

async function randomizedSet(dir: string): Promise<{ manifest: SimManifest; hashes: Map<string, string> }> {
  const hashes = new Map<string, string>();
  const manifest = await writeSimDataset(dir, { seed: 8, sequences: 3, seconds: 0.1, width: 48, height: 32, randomize: true }, async (path, batches) => {
    const h = createHash('sha256');
    for await (const b of batches as AsyncIterable<EventBatch>) for (const a of [b.t, b.x, b.y, b.p]) h.update(Buffer.from(a.buffer, a.byteOffset, a.byteLength));
    hashes.set(path.slice(dir.length + 1), h.digest('hex'));
  });
  return { manifest, hashes };
}

test('writeSimDataset randomize: the manifest records each sequence draw, which reproduces its events; same seed, same set', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'evstream-rand-'));
  try {
    const a = await randomizedSet(join(dir, 'a'));
    const b = await randomizedSet(join(dir, 'b'));
    assert.deepEqual([...a.hashes.values()], [...b.hashes.values()], 'same seed, same events');
    assert.deepEqual(
      a.manifest.sequences.map((s) => s.randomized),
      b.manifest.sequences.map((s) => s.randomized),
    );
    assert.equal(new Set(a.hashes.values()).size, 3, 'sequences differ');
    const onDisk = JSON.parse(await readFile(join(dir, 'a', 'manifest.json'), 'utf8')) as SimManifest;
    assert.equal(onDisk.randomization?.sensor, 'davis346');
    assert.deepEqual(onDisk.randomization?.sensorRanges.noiseRate.range, [...SENSOR_PRESETS.davis346.params.noiseRate.range]);
    assert.equal(new Set(onDisk.sequences.map((s) => JSON.stringify(s.randomized))).size, 3);
    for (const seq of onDisk.sequences) {
      const d = seq.randomized!;
      assert.deepEqual({ ...d, hotPixels: undefined }, { ...drawSequence(seq.seed, 'davis346'), hotPixels: undefined });
      // The recorded values are the ones used: simulating them again gives the written events.
      const again = createHash('sha256');
      for (const c of simulateSequence({ ...drawOptions(d, 48, 32), hotPixels: d.hotPixels, seed: seq.seed, seconds: 0.1 })) {
        for (const arr of [c.events.t, c.events.x, c.events.y, c.events.p]) again.update(Buffer.from(arr.buffer, arr.byteOffset, arr.byteLength));
      }
      assert.equal(again.digest('hex'), a.hashes.get(seq.events), seq.name);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('evstream simulate --sensor davis240 --randomize writes a 240 x 180 set with per-sequence draws; a bad preset is refused', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'evstream-rand-cli-'));
  try {
    const r = await runCli(['simulate', '--seed', '2', '--sequences', '1', '--seconds', '0.1', '--sensor', 'davis240', '--randomize', '--out', dir]);
    assert.equal(r.code, 0, r.stderr);
    const m = JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')) as SimManifest;
    assert.deepEqual([m.width, m.height], [240, 180]);
    assert.equal(m.sequences[0]!.randomized?.sensor, 'davis240');
    const bad = await runCli(['simulate', '--seed', '2', '--sensor', 'davis999', '--out', dir]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--sensor must be one of davis346, davis240, gen4, got 'davis999'/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
