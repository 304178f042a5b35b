import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyOverrides, loadPipeline, parsePipeline, PipelineConfigError } from '../src/pipeline/config.js';

test('shipped pipelines validate, with defaults filled in', () => {
  const demo = loadPipeline('demo');
  assert.equal(demo.source.type, 'file');
  assert.equal(demo.sinks.viewer.host, '127.0.0.1');
  assert.equal(demo.sinks.viewer.port, 8080);
  assert.equal(demo.runtime.dropPolicy, 'drop');
  const live = loadPipeline('live-davis');
  assert.deepEqual(live.source, { type: 'dv-tcp', url: 'tcp://127.0.0.1:7777' });
  const ddd = loadPipeline('ddd17');
  assert.equal(ddd.framing.crop, 'ddd17');
});

test('defaults of a minimal pipeline', () => {
  const c = parsePipeline({ source: { type: 'file', path: 'a.aedat4' } }, '/x');
  assert.deepEqual(c.source, { type: 'file', path: 'a.aedat4', speed: 1, loop: true });
  assert.equal(c.framing.windowMs, 50);
  assert.deepEqual(c.framing.size, [64, 64]);
  assert.equal(c.model.arch, 'spiking-deeplab');
  assert.equal(c.model.stepsPerFrame, 1);
  assert.equal(c.sinks.metrics.path, null);
  const tcp = parsePipeline({ source: { type: 'dv-tcp' } }, '/x');
  assert.deepEqual(tcp.source, { type: 'dv-tcp', url: 'tcp://127.0.0.1:7777' });
});

test('errors name the bad field', () => {
  const bad = (data: unknown, re: RegExp) => assert.throws(() => parsePipeline(data, '/x', 'p.json'), (e: unknown) => e instanceof PipelineConfigError && re.test(e.message) && /^p\.json: /.test(e.message));
  bad({ source: { type: 'file', path: 'a' }, framing: { windowMs: 0 } }, /\/framing\/windowMs must be >= 0\.1/);
  bad({ source: { type: 'file', path: 'a' }, framing: { windowMs: 0.001 } }, /\/framing\/windowMs must be >= 0\.1/);
  bad({ source: { type: 'file', path: 'a' }, framing: { windowMs: 1, latenessMs: 257 } }, /\/framing\/latenessMs must be <= 256 windows \(256 ms\), got 257/);
  assert.equal(parsePipeline({ source: { type: 'file', path: 'a' }, framing: { windowMs: 1, latenessMs: 256 } }, '/x').framing.latenessMs, 256);
  bad({ source: { type: 'file', path: 'a' }, framing: { size: [64] } }, /\/framing\/size/);
  bad({ source: { type: 'camera' } }, /\/source\/type must be one of "file", "ddd17", "dv-tcp"/);
  bad({ source: { type: 'file' } }, /\/source\/path is required/);
  bad({ source: { type: 'dv-tcp', url: 'http://x' } }, /\/source\/url must match/);
  bad({ source: { type: 'dv-tcp', path: 'a' } }, /\/source\/path is not a known field/);
  bad({ source: { type: 'file', path: 'a' }, model: { encoder: 'magic' } }, /\/model\/encoder must be one of/);
  bad({ source: { type: 'file', path: 'a' }, model: { bnPolicy: 'x' } }, /\/model\/bnPolicy/);
  bad({ source: { type: 'file', path: 'a' }, sinks: { viewer: { port: 70000 } } }, /\/sinks\/viewer\/port must be <= 65535/);
  bad({ source: { type: 'file', path: 'a' }, runtime: { dropPolicy: 'queue' } }, /\/runtime\/dropPolicy/);
  bad({ source: { type: 'file', path: 'a' }, bogus: 1 }, /\/bogus is not a known field/);
  bad({}, /\/source is required/);
});

test('loadPipeline: file errors and JSON errors are reported with the path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'evs-pipe-'));
  const p = join(dir, 'broken.json');
  writeFileSync(p, '{ "source": ');
  assert.throws(() => loadPipeline(p), /broken\.json: not valid JSON/);
  assert.throws(() => loadPipeline('no-such-pipeline'), /no pipeline named 'no-such-pipeline'/);
  writeFileSync(p, JSON.stringify({ source: { type: 'file', path: 'rec.aedat4' }, framing: { normalize: 'yes' } }));
  assert.throws(() => loadPipeline(p), /\/framing\/normalize must be boolean/);
});

test('command-line overrides', () => {
  const demo = loadPipeline('demo');
  const tcp = applyOverrides(demo, { source: 'tcp://127.0.0.1:9000', port: 0, host: '0.0.0.0' });
  assert.deepEqual(tcp.source, { type: 'dv-tcp', url: 'tcp://127.0.0.1:9000' });
  assert.equal(tcp.sinks.viewer.port, 0);
  assert.equal(tcp.sinks.viewer.host, '0.0.0.0');
  const file = applyOverrides(loadPipeline('live-davis'), { source: 'some/file.aedat4', speed: 2, loop: false });
  assert.equal(file.source.type, 'file');
  assert.ok(file.source.type === 'file' && file.source.path.endsWith('some/file.aedat4') && file.source.speed === 2 && !file.source.loop);
  assert.throws(() => applyOverrides(demo, { port: 70000 }), /--port/);
  assert.throws(() => applyOverrides(demo, { speed: 0 }), /--speed/);
  assert.equal(demo.sinks.viewer.port, 8080, 'the original is untouched');
});

test('model.resetEvery: default 0, validated, and the live model zeroes its membranes every N frames', async () => {
  assert.equal(parsePipeline({ source: { type: 'file', path: 'a.aedat4' } }, '/x').model.resetEvery, 0);
  assert.throws(() => parsePipeline({ source: { type: 'file', path: 'a.aedat4' }, model: { resetEvery: -1 } }, '/x'), PipelineConfigError);
  const { LiveModel } = await import('../src/pipeline/model-adapter.js');
  const cfg = parsePipeline({ source: { type: 'file', path: 'a.aedat4' }, model: { width: 0.125, T: 2, resetEvery: 3, engine: 'tfjs' } }, '/x').model;
  const every3 = await LiveModel.create(cfg, null, [16, 16]);
  const never = await LiveModel.create({ ...cfg, resetEvery: 0 }, null, [16, 16]);
  const fresh = await LiveModel.create({ ...cfg, resetEvery: 0 }, null, [16, 16]);
  // low thresholds: the untrained net's output then depends on its input and history
  for (const m of [every3, never, fresh]) for (const l of m.model.layerNames) m.model.setThreshold(l, 0.1);
  try {
    const frame = (i: number): Float32Array => Float32Array.from({ length: 2 * 16 * 16 }, (_, j) => Math.sin(i * 1.7 + j * 0.37) * 0.8);
    const ts: number[] = [];
    for (let i = 0; i < 7; i++) {
      const a = every3.step(frame(i));
      const b = never.step(frame(i));
      ts.push(a.t);
      if (i < 3) assert.deepEqual(a.classMap, b.classMap, `frame ${i}: before the first periodic reset`);
      if (i === 3) {
        // zeroed before frame 3: it sees what a fresh model sees, not the carried history
        assert.deepEqual(a.classMap, fresh.step(frame(i)).classMap);
        assert.notDeepEqual(a.classMap, b.classMap, 'the periodic reset changes the output');
      }
    }
    // t counts the live model's steps since its last reset(); periodic resets do not restart it
    assert.deepEqual(ts, [0, 1, 2, 3, 4, 5, 6]);
    every3.reset();
    assert.equal(every3.step(frame(0)).t, 0);
    assert.equal(every3.step(frame(1)).t, 1);
  } finally {
    every3.dispose();
    never.dispose();
    fresh.dispose();
  }
});

test('model.slidingWindow: every frame equals the offline forward over the last T frames', async () => {
  assert.throws(() => parsePipeline({ source: { type: 'file', path: 'a.aedat4' }, model: { slidingWindow: true, resetEvery: 4 } }, '/x'), /exclude each other/);
  assert.throws(() => parsePipeline({ source: { type: 'file', path: 'a.aedat4' }, model: { slidingWindow: true, stepsPerFrame: 2 } }, '/x'), /stepsPerFrame 1/);
  const tf = await import('@tensorflow/tfjs');
  const { LiveModel } = await import('../src/pipeline/model-adapter.js');
  const T = 3;
  const cfg = parsePipeline({ source: { type: 'file', path: 'a.aedat4' }, model: { width: 0.125, T, slidingWindow: true, engine: 'tfjs' } }, '/x').model;
  const live = await LiveModel.create(cfg, null, [16, 16]);
  // low thresholds: the untrained net's output then depends on its input
  for (const l of live.model.layerNames) live.model.setThreshold(l, 0.1);
  const before = tf.memory().numTensors;
  try {
    const F = 2 * 16 * 16;
    const frames = Array.from({ length: 8 }, (_, i) => Float32Array.from({ length: F }, (_, j) => Math.sin(i * 1.7 + j * 0.37) * 0.8));
    let differing = 0;
    const seen = new Set<string>();
    for (let i = 0; i < frames.length; i++) {
      const got = live.step(frames[i]!);
      seen.add(got.classMap.join(','));
      const from = Math.max(0, i - T + 1);
      const window = frames.slice(from, i + 1);
      assert.equal(got.t, i);
      const offline = tf.tidy(() => {
        const x = tf.tensor5d(Float32Array.from(window.flatMap((f) => [...f])), [window.length, 1, 2, 16, 16]);
        return live.model.forward(x).output.dataSync() as Float32Array;
      });
      if (window.length < T) continue; // the offline forward of a shorter window runs fewer BNTT steps: compare full windows only
      for (let p = 0; p < 256; p++) {
        let best = 0;
        for (let c = 1; c < 6; c++) if (offline[c * 256 + p]! > offline[best * 256 + p]!) best = c;
        if (best !== got.classMap[p]) differing++;
      }
    }
    assert.equal(differing, 0, `${differing} pixels differ from the offline forward`);
    assert.ok(seen.size >= 4, `the class maps must change with the input (${seen.size} distinct)`);
  } finally {
    live.dispose();
  }
  assert.ok(tf.memory().numTensors <= before, 'tensors leaked');
});
