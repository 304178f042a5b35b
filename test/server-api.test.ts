import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildServer } from '../src/server/app.js';
import { FakePipeline } from './server-helpers.js';

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
