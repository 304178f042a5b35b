/**
 * `evstream run` serves the static build's open-recording files (dist/web's local/ and models/) beside the
 * live page (src/server/plugins/static.ts), byte for byte with the MIME types browsers require (a .wasm
 * must be application/wasm for streaming compilation, an .mjs JavaScript), nothing else of that folder
 * (its static index.html, which opens no websocket, must not replace the live page), and nothing at all
 * with `localRoot: false`. Every viewer file carries COOP same-origin + COEP require-corp (cross-origin
 * isolation: onnxruntime-web may then use wasm threads).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer } from '../src/server/app.js';
import { FakePipeline } from './helpers/server-helpers.js';

function fakeBuild(): string {
  const dir = mkdtempSync(join(tmpdir(), 'evstream-distweb-'));
  mkdirSync(join(dir, 'local', 'ort'), { recursive: true });
  mkdirSync(join(dir, 'models'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta name="evstream-mode" content="static">');
  writeFileSync(join(dir, 'local', 'local.js'), 'export const x = 1;');
  writeFileSync(join(dir, 'local', 'ort', 'a.mjs'), 'export {};');
  writeFileSync(join(dir, 'local', 'ort', 'a.wasm'), new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]));
  writeFileSync(join(dir, 'models', 'm.json'), '{"format":"x"}');
  return dir;
}

test('the live server serves local/ and models/ of the static build, with browser MIME types, and keeps its own page', async () => {
  const dir = fakeBuild();
  const { app } = await buildServer(new FakePipeline(), { localRoot: dir });
  try {
    const get = (url: string) => app.inject({ method: 'GET', url });
    const expect: [string, RegExp][] = [
      ['/local/local.js', /javascript/],
      ['/local/ort/a.mjs', /javascript/],
      ['/local/ort/a.wasm', /^application\/wasm$/],
      ['/models/m.json', /json/],
    ];
    for (const [url, type] of [...expect, ['/', /html/] as [string, RegExp], ['/app.js', /javascript/] as [string, RegExp]]) {
      const r = await get(url);
      assert.equal(r.statusCode, 200, url);
      assert.match(r.headers['content-type'] as string, type, url);
      // the viewer's files are served cross-origin isolated (wasm threads for the open-recording model)
      assert.deepEqual([r.headers['cross-origin-opener-policy'], r.headers['cross-origin-embedder-policy']], ['same-origin', 'require-corp'], url);
    }
    assert.deepEqual([...(await get('/local/ort/a.wasm')).rawPayload], [0, 97, 115, 109, 1, 0, 0, 0]);
    const page = await get('/');
    assert.doesNotMatch(page.body, /evstream-mode/, 'the live page, not the static copy');
    assert.equal((await get('/local/../index.html')).body.includes('evstream-mode'), false);
  } finally {
    await app.close();
  }
  const off = await buildServer(new FakePipeline(), { localRoot: false });
  try {
    assert.equal((await off.app.inject({ method: 'GET', url: '/local/local.js' })).statusCode, 404);
  } finally {
    await off.app.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
