import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildServer } from '../src/server/app.js';
import { FakePipeline, ROOT } from './helpers/server-helpers.js';
import { SPEED_MAX, SPEED_MIN } from '../src/sources/speed.js';
import { PacedFileSource } from '../src/pipeline/source.js';
import { applyOverrides, parsePipeline, PipelineConfigError } from '../src/pipeline/config.js';

test('GET / serves the viewer page and its module', async () => {
  const p = new FakePipeline();
  const { app } = await buildServer(p);
  try {
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 200);
    assert.match(page.headers['content-type'] as string, /text\/html/);
    assert.match(page.body, /<canvas id="overlay"/);
    const js = await app.inject({ method: 'GET', url: '/app.js' });
    assert.equal(js.statusCode, 200);
    assert.match(js.headers['content-type'] as string, /javascript/);
    const missing = await app.inject({ method: 'GET', url: '/nope.js' });
    assert.equal(missing.statusCode, 404);
  } finally {
    await app.close();
  }
});

test('GET /api/status reports source, backend, model, fps, latency, dropped frames and clients', async () => {
  const p = new FakePipeline();
  const { app } = await buildServer(p);
  try {
    const r = await app.inject({ method: 'GET', url: '/api/status' });
    assert.equal(r.statusCode, 200);
    const s = r.json();
    for (const k of ['source', 'backend', 'model', 'fps', 'latency', 'frames', 'clients']) assert.ok(k in s, `status has ${k}`);
    assert.equal(s.clients.count, 0);
    assert.equal(s.model.layers.length, 2);
    assert.equal(typeof s.frames.dropped, 'number');
  } finally {
    await app.close();
  }
});

test('POST /api/control: pause, resume, reset, speed; bad bodies are 400 naming the field', async () => {
  const p = new FakePipeline();
  const { app } = await buildServer(p);
  try {
    const post = (body: unknown) => app.inject({ method: 'POST', url: '/api/control', payload: body as object });
    let r = await post({ action: 'pause' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.json().paused, true);
    r = await post({ action: 'resume' });
    assert.equal(r.json().paused, false);
    r = await post({ action: 'reset' });
    assert.equal(r.statusCode, 200);
    r = await post({ action: 'speed', value: 2 });
    assert.equal(r.json().speed, 2);
    assert.deepEqual(
      p.commands.map((c) => c.action),
      ['pause', 'resume', 'reset', 'speed'],
    );

    r = await post({ action: 'explode' });
    assert.equal(r.statusCode, 400);
    assert.match(r.json().message, /action/);
    r = await post({ action: 'speed' });
    assert.equal(r.statusCode, 400);
    assert.match(r.json().message, /value/);
    r = await post({ action: 'speed', value: -1 });
    assert.equal(r.statusCode, 400);
    assert.match(r.json().message, /value/);
    r = await post({ action: 'pause', extra: 1 });
    assert.equal(r.statusCode, 400);
    r = await app.inject({ method: 'POST', url: '/api/control', payload: '{not json', headers: { 'content-type': 'application/json' } });
    assert.equal(r.statusCode, 400);
    assert.equal(p.commands.length, 4, 'rejected bodies never reach the pipeline');
  } finally {
    await app.close();
  }
});

test('GET /api/snapshot.png: 503 before the first frame, then a scaled PNG', async () => {
  const p = new FakePipeline(16, 12);
  const { app } = await buildServer(p);
  try {
    let r = await app.inject({ method: 'GET', url: '/api/snapshot.png' });
    assert.equal(r.statusCode, 503);
    p.emit();
    r = await app.inject({ method: 'GET', url: '/api/snapshot.png?scale=4' });
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], 'image/png');
    const png = r.rawPayload;
    assert.equal(png.subarray(1, 4).toString(), 'PNG');
    assert.equal(png.readUInt32BE(16), 64, 'width 16 * 4');
    assert.equal(png.readUInt32BE(20), 48, 'height 12 * 4');
    r = await app.inject({ method: 'GET', url: '/api/snapshot.png?scale=99' });
    assert.equal(r.statusCode, 400);
    assert.match(r.json().message, /scale/);
  } finally {
    await app.close();
  }
});

test('speed is a number in [SPEED_MIN, SPEED_MAX] at every entry point: POST /api/control, setSpeed, pipeline file, --speed', async () => {
  assert.ok(SPEED_MIN > 0 && SPEED_MIN < 1 && SPEED_MAX > 1, 'the bounds include real time');
  const p = new FakePipeline();
  const { app } = await buildServer(p);
  try {
    const post = (value: unknown) => app.inject({ method: 'POST', url: '/api/control', payload: { action: 'speed', value } as object });
    // refused, each with a 400 naming the field and the rule, before the pipeline sees it
    const refused: [unknown, RegExp][] = [
      ['2', /body\/value must be number/], // no silent coercion of strings
      [1e-300, new RegExp(`body/value must be >= ${SPEED_MIN}`)], // would freeze the pipeline at 0 fps
      [SPEED_MIN / 2, />=/],
      [0, />=/],
      [-1, />=/],
      [SPEED_MAX * 1.01, new RegExp(`body/value must be <= ${SPEED_MAX}`)],
      [1e300, /<=/],
      [true, /number/],
      [null, /number/],
      [[2], /number/],
    ];
    for (const [value, why] of refused) {
      const r = await post(value);
      assert.equal(r.statusCode, 400, `speed ${JSON.stringify(value)} refused`);
      assert.match(r.json().message, why);
    }
    assert.equal(p.commands.length, 0);
    for (const value of [SPEED_MIN, 1, SPEED_MAX]) {
      const r = await post(value);
      assert.equal(r.statusCode, 200);
      assert.equal(r.json().speed, value);
    }
  } finally {
    await app.close();
  }

  // the paced file source itself (library users, the real pipeline's control())
  const src = new PacedFileSource('never-opened.aedat4', { speed: 1, loop: false });
  for (const bad of [1e-300, 0, -1, NaN, Infinity, SPEED_MAX + 1, '2' as unknown as number]) assert.throws(() => src.setSpeed(bad), RangeError, `setSpeed(${String(bad)})`);
  assert.equal(src.speed, 1);
  src.setSpeed(SPEED_MIN);
  assert.equal(src.speed, SPEED_MIN);
  src.setSpeed(SPEED_MAX);
  assert.equal(src.speed, SPEED_MAX);

  // pipeline files and --speed
  const withSpeed = (speed: unknown) => parsePipeline({ source: { type: 'file', path: 'a.aedat4', speed } }, ROOT, 'p.json');
  assert.throws(() => withSpeed(1e-300), (e: Error) => e instanceof PipelineConfigError && /\/source\/speed must be >= 0.01/.test(e.message));
  assert.throws(() => withSpeed('2'), /\/source\/speed must be number/);
  assert.throws(() => withSpeed(SPEED_MAX + 1), /\/source\/speed must be <=/);
  assert.deepEqual(withSpeed(SPEED_MIN).source, { type: 'file', path: 'a.aedat4', speed: SPEED_MIN, loop: true });
  const cfg = withSpeed(1);
  assert.throws(() => applyOverrides(cfg, { speed: 1e-300 }), /--speed must be in \[0\.01, 100\]/);
  assert.throws(() => applyOverrides(cfg, { speed: 101 }), /--speed/);
  const fast = applyOverrides(cfg, { speed: SPEED_MAX }).source;
  assert.ok(fast.type === 'file' && fast.speed === SPEED_MAX);
});
