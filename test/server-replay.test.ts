/** `evstream replay-server` listens too: loopback by default, and a bounded number of clients. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_REPLAY_MAX_CLIENTS, startReplayServer } from '../src/server/dv-replay-server.js';
import { fromDvTcp } from '../src/sources/dv-tcp.js';
import { encodeAedat4 } from '../src/events/aedat4/index.js';
import type { EventBatch } from '../src/events/types.js';
import { ROOT } from './helpers/server-helpers.js';
import { VirtualClock } from './helpers/virtual-time.js';

const RECORDING = join(ROOT, 'recordings', 'demo.aedat4');

interface Probe {
  socket: Socket;
  bytes: number;
  closed: boolean;
}

function probe(port: number): Probe {
  const p: Probe = { socket: connect(port, '127.0.0.1'), bytes: 0, closed: false };
  p.socket.on('data', (d: Buffer) => (p.bytes += d.length));
  p.socket.on('error', () => {});
  p.socket.on('close', () => (p.closed = true));
  return p;
}

test('replay-server binds 127.0.0.1 by default and refuses clients beyond maxClients (logged, others unaffected)', async () => {
  assert.ok(DEFAULT_REPLAY_MAX_CLIENTS >= 1 && DEFAULT_REPLAY_MAX_CLIENTS <= 64);
  const lines: string[] = [];
  const clock = new VirtualClock(); // real-time pacing, in virtual time
  const server = await startReplayServer(RECORDING, { port: 0, speed: 1, maxClients: 2, log: (l) => lines.push(l), scheduler: clock.scheduler });
  const probes: Probe[] = [];
  const until = (what: string, cond: () => boolean) => clock.run({ until: cond, what });
  try {
    // the address actually bound, read back from the listening socket
    assert.equal(server.host, '127.0.0.1');
    probes.push(probe(server.port), probe(server.port));
    await until('the first two clients get their stream', () => probes.every((p) => p.bytes > 0) && server.clients === 2);
    assert.equal(server.clients, 2);
    const third = probe(server.port);
    probes.push(third);
    await until('the third client is closed', () => third.closed);
    assert.equal(third.bytes, 0, 'the refused client got no data');
    assert.equal(server.refused, 1);
    assert.ok(lines.some((l) => /refused: 2 clients already connected/.test(l)), lines.join('\n'));
    // the first two keep streaming
    const before = probes[0]!.bytes;
    await until('first client still streaming', () => probes[0]!.bytes > before);
    assert.equal(probes[0]!.closed || probes[1]!.closed, false);
    // a slot frees up when a client leaves
    probes[0]!.socket.destroy();
    await until('client gone', () => server.clients === 1);
    const fourth = probe(server.port);
    probes.push(fourth);
    await until('a new client is served once a slot is free', () => fourth.bytes > 0);
    await assert.rejects(startReplayServer(RECORDING, { port: 0, maxClients: 0 }), /maxClients/);
    for (const speed of [1e-300, -1, 101, NaN]) await assert.rejects(startReplayServer(RECORDING, { port: 0, speed }), RangeError, `speed ${speed}`);
  } finally {
    for (const p of probes) p.socket.destroy();
    await server.close();
  }
});

test('replay-server paces each client in virtual time: nothing sent before it happened, the stream ends at duration / speed', async () => {
  // a crafted 2 s recording, one event every 100 µs
  const n = 20_001;
  const T0 = 5_000_000;
  const batch: EventBatch = {
    t: Float64Array.from({ length: n }, (_, i) => T0 + i * 100),
    x: Uint16Array.from({ length: n }, (_, i) => i % 32),
    y: Uint16Array.from({ length: n }, (_, i) => (i >> 5) % 24),
    p: Uint8Array.from({ length: n }, (_, i) => i & 1),
    length: n,
    width: 32,
    height: 24,
  };
  const file = join(mkdtempSync(join(tmpdir(), 'evs-replay-')), 'two-seconds.aedat4');
  writeFileSync(file, await encodeAedat4([batch], { width: 32, height: 24, compression: 'none' }));
  const clock = new VirtualClock();
  const speed = 2;
  const server = await startReplayServer(file, { port: 0, speed, scheduler: clock.scheduler });
  let events = 0;
  const early: string[] = [];
  // the client's own timers stay real (its idle timeout is off): only the server's pacing is on the clock
  const sub = fromDvTcp(`tcp://127.0.0.1:${server.port}`, { idleTimeoutMs: 0 }).subscribe((b) => {
    events += b.length;
    const due = (b.t[b.length - 1]! - T0) / 1000 / speed;
    if (clock.now() < due) early.push(`events up to ${b.t[b.length - 1]} received at virtual ${clock.now()} ms, due at ${due} ms`);
  });
  try {
    await clock.run({ until: () => events >= n, what: 'the whole recording' });
    assert.deepEqual(early, []);
    assert.equal(events, n);
    assert.equal(clock.now(), 2000 / speed, 'the last packet is sent when its last event is due');
    assert.ok(clock.fired >= 150, `paced packet by packet (${clock.fired} timers)`);
  } finally {
    sub.unsubscribe();
    await server.close();
  }
});
