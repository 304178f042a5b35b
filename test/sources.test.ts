import { test } from 'node:test';
import assert from 'node:assert/strict';
import { firstValueFrom, lastValueFrom, take, toArray, filter, timeout } from 'rxjs';
import { fromEventFile } from '../src/sources/file.js';
import { fromDvTcp, parseTcpUrl, type DvConnectionStatus } from '../src/sources/dv-tcp.js';
import { paceRealtime } from '../src/sources/pace.js';
import { startReplayServer } from '../src/server/dv-replay-server.js';
import { readEventFile } from '../src/events/read-file.js';
import { EventStats } from '../src/events/stats.js';
import type { EventBatch } from '../src/events/types.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';

const sample = sharedRecording('dvs-lz4-sample.aedat4');
const boxes = sharedRecording('davis240-translboxes.aedat');

async function fileStats(path: string): Promise<EventStats> {
  const s = new EventStats();
  await readEventFile(path, (b) => s.add(b));
  return s;
}

function sameEvents(a: EventStats, b: EventStats): void {
  assert.deepEqual(
    [a.events, a.on, a.off, a.tFirstUs, a.tLastUs, a.xypChecksum, a.dtChecksum],
    [b.events, b.on, b.off, b.tFirstUs, b.tLastUs, b.xypChecksum, b.dtChecksum],
  );
}

test('fromEventFile emits every event of the file', { skip: skipUnless(sample) }, async () => {
  const s = new EventStats();
  const batches = await lastValueFrom(fromEventFile(sample!).pipe(toArray()));
  batches.forEach((b) => s.add(b));
  sameEvents(s, await fileStats(sample!));
});

test('fromEventFile stops reading when unsubscribed and closes the file', { skip: skipUnless(boxes) }, async () => {
  const { readdirSync, existsSync } = await import('node:fs');
  const openFds = () => (existsSync('/proc/self/fd') ? readdirSync('/proc/self/fd').length : -1);
  const before = openFds();
  let seen = 0;
  // Paced at real time the 2 s file takes 2 s; unsubscribing after the first batch must end it at once.
  const sub = fromEventFile(boxes!, { speed: 1, chunkSize: 4096 }).subscribe(() => {
    seen++;
    sub.unsubscribe();
  });
  await new Promise((r) => setTimeout(r, 200));
  assert.equal(seen, 1);
  if (before >= 0) assert.equal(openFds(), before, 'file descriptor released');
});

test('fromEventFile paces at real time times speed, and loops with increasing timestamps', { skip: skipUnless(sample) }, async () => {
  const start = performance.now();
  const batches = await lastValueFrom(fromEventFile(sample!, { speed: 4 }).pipe(toArray()));
  const elapsed = performance.now() - start;
  const span = (batches.at(-1)!.t.at(-1)! - batches[0]!.t[0]!) / 1000; // 590 ms of recording
  assert.ok(elapsed >= span / 4 - 20, `took ${elapsed} ms for ${span} ms at 4x`);
  assert.ok(elapsed < span / 4 + 2000, `took ${elapsed} ms`);
  const looped: EventBatch[] = await lastValueFrom(fromEventFile(sample!, { loop: true }).pipe(take(150), toArray()));
  const s = new EventStats();
  looped.forEach((b) => s.add(b));
  assert.ok(s.events > 111954, 'more than one pass');
  assert.equal(s.nonMonotonic, 0, 'timestamps keep increasing across loops');
});

test('paceRealtime delays batches to their recorded time', { skip: skipUnless(sample) }, async () => {
  const start = performance.now();
  const n = await lastValueFrom(fromEventFile(sample!).pipe(paceRealtime(5), toArray()));
  const elapsed = performance.now() - start;
  assert.ok(n.length > 0);
  assert.ok(elapsed >= 590 / 5 - 20, `elapsed ${elapsed}`);
});

test('parseTcpUrl accepts tcp://host:port and rejects junk', () => {
  assert.deepEqual(parseTcpUrl('tcp://127.0.0.1:7777'), { host: '127.0.0.1', port: 7777 });
  assert.deepEqual(parseTcpUrl('localhost:9'), { host: 'localhost', port: 9 });
  assert.throws(() => parseTcpUrl('http://x'), /expected tcp:\/\/host:port/);
  assert.throws(() => parseTcpUrl('tcp://x:70000'), /port out of range/);
});

test('fromDvTcp against replay-server yields exactly the file events', { skip: skipUnless(boxes) }, async () => {
  const server = await startReplayServer(boxes!, { port: 0, speed: 0 });
  try {
    const expected = await fileStats(boxes!);
    const src = fromDvTcp(`tcp://127.0.0.1:${server.port}`);
    const got = new EventStats();
    await new Promise<void>((resolve, reject) => {
      const sub = src.subscribe({
        next(b) {
          got.add(b);
          if (got.events >= expected.events) {
            sub.unsubscribe();
            resolve();
          }
        },
        error: reject,
      });
      setTimeout(() => reject(new Error(`timeout with ${got.events} events`)), 20_000).unref();
    });
    sameEvents(got, expected);
  } finally {
    await server.close();
  }
});

test('fromDvTcp reconnects when the server dies and continues when it returns', { skip: skipUnless(boxes) }, async () => {
  let server = await startReplayServer(boxes!, { port: 0, speed: 2 });
  const port = server.port;
  const src = fromDvTcp(`tcp://127.0.0.1:${port}`, { initialBackoffMs: 50, maxBackoffMs: 200 });
  const states: DvConnectionStatus[] = [];
  const statusSub = src.status$.subscribe((s) => states.push(s));
  let events = 0;
  const sub = src.subscribe((b) => (events += b.length));
  try {
    const waitFor = async (cond: () => boolean) => {
      const t = Date.now();
      while (!cond() && Date.now() - t < 10_000) await new Promise((r) => setTimeout(r, 20));
    };
    await waitFor(() => events > 1000);
    const before = events;
    assert.ok(before > 0, 'events flowed before the kill');
    await server.close(); // camera gone
    await firstValueFrom(src.status$.pipe(filter((s) => s.state === 'reconnecting'), timeout(5000)));
    await new Promise((r) => setTimeout(r, 300)); // a few failed attempts while nobody listens
    assert.ok(states.some((s) => s.state === 'reconnecting' && s.retryInMs !== undefined));
    // count from here: bytes already in flight when the server died still arrive after `before`
    const afterKill = events;
    server = await startReplayServer(boxes!, { port, speed: 2 });
    await waitFor(() => events >= afterKill + 1000);
    assert.ok(events >= afterKill + 1000, `events continued after reconnect (${afterKill} -> ${events})`);
    assert.equal(states.at(-1)!.state, 'connected');
  } finally {
    sub.unsubscribe();
    statusSub.unsubscribe();
    await server.close();
  }
});

test('fromDvTcp survives garbage and half-sent packets', async () => {
  const { createServer } = await import('node:net');
  const srv = createServer((s) => {
    s.on('error', () => {}); // the client drops the connection as soon as it sees the garbage (ECONNRESET here)
    s.write(Buffer.from('this is not an AEDAT 4 stream at all........'));
    setTimeout(() => s.destroy(), 20);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  const warnings: string[] = [];
  const src = fromDvTcp(`127.0.0.1:${port}`, { initialBackoffMs: 20, maxBackoffMs: 40, onWarning: (w) => warnings.push(w.message) });
  const seen: DvConnectionStatus[] = [];
  const ssub = src.status$.subscribe((s) => seen.push(s));
  const sub = src.subscribe();
  await new Promise((r) => setTimeout(r, 400));
  sub.unsubscribe();
  ssub.unsubscribe();
  await new Promise<void>((r) => srv.close(() => r()));
  assert.ok(warnings.length >= 1, 'garbage reported as a warning');
  assert.ok(seen.filter((s) => s.state === 'reconnecting').length >= 2, 'kept reconnecting');
});

test('fromDvTcp keeps the events of whole packets when a packet is cut mid-way', async () => {
  const { createServer } = await import('node:net');
  const { encodeAedat4 } = await import('../src/events/aedat4/index.js');
  const n = 3000;
  const batch: EventBatch = {
    t: Float64Array.from({ length: n }, (_, i) => 1000 + i * 10),
    x: Uint16Array.from({ length: n }, (_, i) => i % 320),
    y: Uint16Array.from({ length: n }, (_, i) => i % 240),
    p: Uint8Array.from({ length: n }, (_, i) => i & 1),
    length: n,
    width: 320,
    height: 240,
  };
  // Network form (no version line, no table), 1000 events per packet: 3 packets.
  const bytes = await encodeAedat4([batch], { width: 320, height: 240, compression: 'lz4', versionLine: false, maxPacketEvents: 1000 });
  let connections = 0;
  const srv = createServer((s) => {
    connections++;
    if (connections === 1) {
      s.end(bytes.subarray(0, bytes.length - 500)); // the last packet is half-sent
    } else s.end(bytes);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  let events = 0;
  const sub = fromDvTcp(`tcp://127.0.0.1:${port}`, { initialBackoffMs: 20 }).subscribe((b) => (events += b.length));
  const t = Date.now();
  while (events < 2000 + n && Date.now() - t < 5000) await new Promise((r) => setTimeout(r, 10));
  sub.unsubscribe();
  await new Promise<void>((r) => srv.close(() => r()));
  assert.ok(connections >= 2);
  assert.equal(events, 2000 + n, 'two whole packets from the cut connection, then the full stream');
});
