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
  assert.deepEqual(ddd.framing.crop, [0, 0, 346, 200]);
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
  bad({ source: { type: 'file', path: 'a' }, framing: { windowMs: 0 } }, /\/framing\/windowMs must be > 0/);
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
