import { test } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { startViewerServer } from '../src/server/app.js';
import { decodeFrame, FRAME_HEADER_BYTES } from '../src/server/protocol.js';
import { FakePipeline, WsProbe, waitFor } from './helpers/server-helpers.js';

test('ws: hello, then a binary frame (class map + event bytes) and a JSON stats message per frame', async () => {
  const p = new FakePipeline(16, 8);
  const srv = await startViewerServer(p, { port: 0 });
  const wsUrl = srv.url.replace('http', 'ws') + 'ws';
  let frames: Buffer[] = [];
  const c = new WebSocket(wsUrl);
  const json: Record<string, unknown>[] = [];
  c.on('message', (d: WebSocket.RawData, bin: boolean) => (bin ? frames.push(d as Buffer) : json.push(JSON.parse(String(d)))));
  try {
    await new Promise((r) => c.once('open', r));
    await waitFor(() => json.some((m) => m.type === 'hello'), 3000, 'hello');
    const hello = json.find((m) => m.type === 'hello') as { layers: { name: string }[]; classes: { names: string[]; colors: number[][] }; model: { untrained: boolean } };
    assert.deepEqual(
      hello.layers.map((l) => l.name),
      ['features.0', 'features.1'],
    );
    assert.equal(hello.classes.names.length, 6);
    assert.equal(hello.classes.names[0], 'flat');
    assert.equal(hello.model.untrained, true);
    const sent = p.emit();
    await waitFor(() => frames.length >= 1 && json.some((m) => m.type === 'frame'), 3000, 'frame');
    const f = decodeFrame(frames[0]!);
    assert.equal(frames[0]!.length, FRAME_HEADER_BYTES + 3 * 16 * 8);
    assert.equal(f.width, 16);
    assert.equal(f.height, 8);
    assert.equal(f.classes, 6);
    assert.deepEqual([...f.classMap], [...sent.classMap]);
    assert.ok(f.on.some((v) => v > 0) && f.off.some((v) => v > 0));
    const st = json.find((m) => m.type === 'frame') as { layers: { name: string; rate: number }[]; fps: number; stepMs: number; latencyMs: number };
    assert.deepEqual(
      st.layers.map((l) => l.name),
      ['features.0', 'features.1'],
    );
    assert.equal(typeof st.fps, 'number');
    assert.equal(typeof st.latencyMs, 'number');
    // a new client gets the newest frame at once (a paused pipeline still shows a picture)
    frames = [];
    const late = new WsProbe(wsUrl);
    await late.opened;
    await waitFor(() => late.binary >= 1, 3000, 'newest frame for a late client');
    late.close();
  } finally {
    c.terminate();
    await srv.close();
  }
});

test('ws: malformed client messages are rejected and logged, the server keeps serving', async () => {
  const p = new FakePipeline(8, 8);
  const srv = await startViewerServer(p, { port: 0 });
  const url = srv.url.replace('http', 'ws') + 'ws';
  const c = new WsProbe(url);
  try {
    await c.opened;
    c.ws.send('{oops');
    c.ws.send(JSON.stringify({ type: 'control', action: 'explode' }));
    c.ws.send(JSON.stringify({ type: 'control', action: 'speed' }));
    c.ws.send(Buffer.from([1, 2, 3]));
    c.ws.send(JSON.stringify([1, 2]));
    await c.waitFor(() => c.of('error').length >= 5, 3000, '5 error replies');
    const msgs = c.of('error').map((m) => String(m.message));
    assert.match(msgs[0]!, /JSON/);
    assert.match(msgs[1]!, /action/);
    assert.match(msgs[2]!, /value/);
    assert.match(msgs[3]!, /binary/);
    assert.equal(p.commands.length, 0);
    // speed: a JSON number within the bounds; a string is not coerced, 1e-300 and 1000 are refused
    c.ws.send(JSON.stringify({ type: 'control', action: 'speed', value: '2' }));
    c.ws.send(JSON.stringify({ type: 'control', action: 'speed', value: 1e-300 }));
    c.ws.send(JSON.stringify({ type: 'control', action: 'speed', value: 1000 }));
    await c.waitFor(() => c.of('error').length >= 8, 3000, '8 error replies');
    const speedErrors = c.of('error').slice(5).map((m) => String(m.message));
    assert.match(speedErrors[0]!, /\/value must be number/);
    assert.match(speedErrors[1]!, /\/value must be >= 0\.01/);
    assert.match(speedErrors[2]!, /\/value must be <= 100/);
    assert.equal(p.commands.length, 0);
    // valid messages still work
    c.ws.send(JSON.stringify({ type: 'ping', id: 7 }));
    c.ws.send(JSON.stringify({ type: 'control', action: 'pause' }));
    await c.waitFor(() => c.of('pong').length === 1 && c.of('control').length === 1, 3000, 'pong and control ack');
    assert.deepEqual(p.commands, [{ action: 'pause' }]);
    // oversized message: that connection is closed (1009), the server lives on
    const big = new WsProbe(url);
    await big.opened;
    const closed = new Promise<number>((r) => big.ws.once('close', (code: number) => r(code)));
    big.ws.send('x'.repeat(100_000));
    assert.equal(await closed, 1009);
    p.emit();
    await c.waitFor(() => c.binary >= 1, 3000, 'frame after abuse');
    const status = await fetch(srv.url + 'api/status');
    assert.equal(status.status, 200);
  } finally {
    c.close();
    await srv.close();
  }
});

test('ws backpressure: a client that never reads stays within a fixed memory bound and does not slow another client', async () => {
  // 256x256 frames: 192 KiB each, at ~100 frames/s, so a stalled socket fills up quickly
  const p = new FakePipeline(256, 256);
  const maxBuffered = 512 * 1024;
  const srv = await startViewerServer(p, { port: 0 }, { hub: { maxBufferedBytes: maxBuffered } });
  const url = srv.url.replace('http', 'ws') + 'ws';
  const good = new WsProbe(url);
  const stalled = new WsProbe(url);
  try {
    await Promise.all([good.opened, stalled.opened]);
    await waitFor(() => good.of('hello').length === 1 && stalled.of('hello').length === 1, 3000, 'hellos');
    stalled.ws.pause(); // stop reading: the TCP window closes and the server's socket backs up
    const N = 300;
    let maxStalledBuffered = 0;
    const frameBytes = FRAME_HEADER_BYTES + 3 * 256 * 256;
    const rss0 = process.memoryUsage().rss;
    // in lockstep with the good client: frame i+1 is emitted once the good client has frame i, so the test
    // waits on socket I/O, never on a guessed sleep, and the good client must get every frame
    for (let i = 0; i < N; i++) {
      p.emit();
      for (const c of srv.hub.info()) if (c.id === 2) maxStalledBuffered = Math.max(maxStalledBuffered, c.bufferedAmount);
      await waitFor(() => good.binary >= i + 1, 10_000, `good client frame ${i + 1}`);
    }
    const info = srv.hub.info();
    const st = info.find((c) => c.id === 2)!;
    // bound: the ws limit + at most one frame written past it + its stats (the kernel buffers are outside the process)
    assert.ok(maxStalledBuffered <= maxBuffered + 2 * frameBytes + 4096, `stalled client's buffered bytes ${maxStalledBuffered} exceed the bound`);
    assert.ok(st.dropped > N / 2, `the stalled client's frames were dropped and counted (${st.dropped})`);
    assert.equal(good.binary, N, 'the good client got every frame');
    assert.equal(info.find((c) => c.id !== 2)!.dropped, 0, 'none dropped for the good client');
    const rssGrowthMB = (process.memoryUsage().rss - rss0) / 2 ** 20;
    assert.ok(rssGrowthMB < 100, `rss grew ${rssGrowthMB.toFixed(1)} MiB`);
    const s = (await (await fetch(srv.url + 'api/status')).json()) as { clients: { count: number; droppedFrames: number } };
    assert.equal(s.clients.count, 2);
    assert.ok(s.clients.droppedFrames > 0);
  } finally {
    good.close();
    stalled.close();
    await srv.close();
  }
});
