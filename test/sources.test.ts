import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readlinkSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subscription, firstValueFrom, lastValueFrom, take, toArray, filter, timeout } from 'rxjs';
import { PacedFileSource, fromEventFile } from '../src/sources/paced-file.js';
import { fromDvTcp, parseTcpUrl, type DvConnectionStatus } from '../src/sources/dv-tcp.js';
import { startReplayServer } from '../src/server/dv-replay-server.js';
import { readEventFile } from '../src/events/read-file.js';
import { EventStats } from '../src/events/stats.js';
import { EventFormatError } from '../src/events/errors.js';
import { encodeAedat4 } from '../src/events/aedat4/index.js';
import type { EventBatch } from '../src/events/types.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import { VirtualClock } from './helpers/virtual-time.js';
import { regularEvents } from './helpers/regular-events.js';

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

/** A crafted AEDAT 4 recording: one event every `stepUs` from t = 1 s over `spanUs` (10 s by default). */
const T0 = 1_000_000;
async function craftRecording(spanUs = 10_000_000, stepUs = 200): Promise<{ path: string; events: number; bytes: number }> {
  const batch = regularEvents(spanUs, stepUs, T0);
  const n = batch.length;
  const bytes = await encodeAedat4([batch], { width: 64, height: 48, compression: 'none' });
  const path = join(mkdtempSync(join(tmpdir(), 'evs-paced-')), 'ten-seconds.aedat4');
  writeFileSync(path, bytes);
  return { path, events: n, bytes: bytes.length };
}
const tenSeconds = craftRecording();

/** One handed-on batch, seen at virtual time `at`. */
interface Seen {
  at: number;
  t0: number;
  t1: number;
  n: number;
}

interface Watch {
  seen: Seen[];
  stats: EventStats;
  done: boolean;
  error: unknown;
  sub: Subscription;
}

/** Subscribe to a source's events, recording the virtual time of each batch; `onBatch` runs after each. */
function watch(src: PacedFileSource, clock: VirtualClock, onBatch?: (w: Watch) => void): Watch {
  const w: Watch = { seen: [], stats: new EventStats(), done: false, error: undefined, sub: Subscription.EMPTY };
  w.sub = src.events$.subscribe({
    next: (b) => {
      w.seen.push({ at: clock.now(), t0: b.t[0]!, t1: b.t[b.length - 1]!, n: b.length });
      w.stats.add(b);
      onBatch?.(w);
    },
    error: (e: unknown) => {
      w.error = e;
      w.done = true;
    },
    complete: () => (w.done = true),
  });
  return w;
}

/** How many of this process's file descriptors point at `path` (-1 where /proc is absent). */
function openHandles(path: string): number {
  if (!existsSync('/proc/self/fd')) return -1;
  let n = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === path) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

test('fromEventFile emits every event of the file', { skip: skipUnless(sample) }, async () => {
  const s = new EventStats();
  const batches = await lastValueFrom(fromEventFile(sample!).pipe(toArray()));
  batches.forEach((b) => s.add(b));
  sameEvents(s, await fileStats(sample!));
});

test('paced file source: a 10 s recording replays in virtual 10 s / speed, each batch when its last event is due', async () => {
  const rec = await tenSeconds;
  for (const speed of [1, 4]) {
    const clock = new VirtualClock();
    const started = performance.now();
    const src = new PacedFileSource(rec.path, { speed, scheduler: clock.scheduler });
    const w = watch(src, clock);
    await clock.run({ until: () => w.done, what: `the end at speed ${speed}` });
    const realMs = performance.now() - started;
    assert.equal(w.error, undefined);
    assert.equal(w.stats.events, rec.events, 'every event');
    assert.equal(clock.now(), 10_000 / speed, `ends at virtual ${10_000 / speed} ms`);
    assert.equal(src.status$.value.state, 'ended');
    for (const b of w.seen) {
      const due = (b.t1 - T0) / 1000 / speed; // virtual ms at which the batch's last event happened
      assert.ok(b.at >= due - 1, `batch ending at ${b.t1} handed on at ${b.at} ms, due ${due} ms: not early`);
      assert.ok(b.at <= due + 1, `batch ending at ${b.t1} handed on at ${b.at} ms, due ${due} ms: not late`);
      assert.ok(b.t1 - b.t0 < 10_000, 'batches span at most maxBatchUs (10 ms)');
      assert.equal(src.wallOf(b.t1), due, 'wallOf maps event time to the clock');
    }
    assert.ok(clock.fired >= (10_000 / speed / 10) * 0.9, `paced by timers (${clock.fired})`);
    // real time is only reported: how fast a replay decodes is a speed goal (`npm run bench -- goals`)
    console.log(`# speed ${speed}: virtual ${clock.now()} ms in ${realMs.toFixed(0)} ms real, ${w.seen.length} batches, ${clock.fired} timers`);
  }
});

test('paced file source reads lazily: never ahead of the pace by more than a chunk', async () => {
  const rec = await tenSeconds;
  const clock = new VirtualClock();
  let bytesRead = 0;
  const chunkSize = 16 * 1024;
  const src = new PacedFileSource(rec.path, { speed: 1, scheduler: clock.scheduler, chunkSize, onProgress: (b) => (bytesRead = b) });
  const w = watch(src, clock);
  const checks: string[] = [];
  await clock.run({
    until: () => {
      // bytes needed for the events due so far (the file is uniform), plus one chunk read ahead at most
      const due = Math.min(1, clock.now() / 10_000);
      if (bytesRead > due * rec.bytes + chunkSize + 4096) checks.push(`${bytesRead} bytes read at virtual ${clock.now()} ms`);
      return w.done;
    },
  });
  assert.deepEqual(checks, []);
  assert.equal(w.stats.events, rec.events);
});

test('pause holds event time; resume continues from where it stopped', async () => {
  const rec = await tenSeconds;
  const clock = new VirtualClock();
  const src = new PacedFileSource(rec.path, { speed: 1, scheduler: clock.scheduler });
  const states: string[] = [];
  src.status$.subscribe((s) => states.push(s.state));
  const w = watch(src, clock);
  await clock.run({ until: () => w.stats.tLastUs - T0 >= 3_000_000, what: '3 s of events' });
  const pausedAt = clock.now();
  const tPaused = w.stats.tLastUs;
  src.setPaused(true);
  assert.equal(src.status$.value.state, 'paused');
  const n = w.seen.length;
  await clock.advance(5000, '5 s paused');
  assert.equal(clock.now(), pausedAt + 5000);
  assert.equal(w.seen.length, n, 'nothing handed on while paused');
  src.setPaused(false);
  assert.equal(src.status$.value.state, 'playing');
  await clock.run({ until: () => w.done, what: 'the end' });
  assert.equal(w.stats.events, rec.events);
  assert.equal(w.stats.nonMonotonic, 0);
  // the 5 s pause adds exactly 5 s: no events skipped, none rushed
  assert.equal(clock.now(), 10_000 + 5000);
  for (const b of w.seen.slice(n)) {
    const due = pausedAt + 5000 + (b.t1 - tPaused) / 1000;
    assert.ok(Math.abs(b.at - due) <= 1, `after resume, batch ending ${b.t1} at ${b.at} ms, due ${due} ms`);
  }
  assert.deepEqual(states, ['starting', 'playing', 'paused', 'playing', 'ended']);
});

test('a speed change mid-stream re-anchors at the event time reached (no jump, no burst)', async () => {
  const rec = await tenSeconds;
  const clock = new VirtualClock();
  const src = new PacedFileSource(rec.path, { speed: 1, scheduler: clock.scheduler });
  const w = watch(src, clock);
  await clock.run({ until: () => w.stats.tLastUs - T0 >= 2_000_000, what: '2 s of events' });
  const changedAt = clock.now();
  const tChanged = w.stats.tLastUs;
  const n = w.seen.length;
  src.setSpeed(4);
  assert.equal(src.speed, 4);
  await clock.run({ until: () => w.done, what: 'the end' });
  assert.equal(w.stats.events, rec.events);
  // the remaining 8 s of recording take 2 s
  assert.equal(clock.now(), changedAt + (T0 + 10_000_000 - tChanged) / 1000 / 4);
  for (const b of w.seen.slice(n)) {
    const due = changedAt + (b.t1 - tChanged) / 1000 / 4;
    assert.ok(Math.abs(b.at - due) <= 1, `batch ending ${b.t1} at ${b.at} ms, due ${due} ms at 4x`);
  }
  assert.throws(() => src.setSpeed(0), RangeError, 'speed 0 is a mode chosen at creation, not a change');
});

test('a speed change while paused takes effect at resume; unpaced replay (speed 0) needs no clock and can be paced later', async () => {
  const rec = await tenSeconds;
  const clock = new VirtualClock();
  const src = new PacedFileSource(rec.path, { scheduler: clock.scheduler, chunkSize: 16 * 1024 });
  assert.equal(src.speed, 0);
  // unpaced: as fast as the consumer takes them; the consumer pauses it once a second's worth arrived
  let pausedOnce = false;
  const w = watch(src, clock, (w) => {
    if (!pausedOnce && w.stats.tLastUs - T0 >= 1_000_000) src.setPaused((pausedOnce = true));
  });
  await clock.run({ until: () => src.paused, what: 'unpaced events' });
  assert.equal(clock.fired, 0, 'unpaced: no timer');
  assert.ok(Number.isNaN(src.wallOf(T0)), 'unpaced: no time mapping');
  await clock.advance(1000);
  const n = w.seen.length;
  const tPaused = w.stats.tLastUs;
  src.setSpeed(2);
  await clock.advance(1000);
  assert.equal(w.seen.length, n, 'still paused');
  const resumedAt = clock.now();
  src.setPaused(false);
  await clock.run({ until: () => w.done, what: 'the end' });
  assert.equal(w.stats.events, rec.events);
  assert.equal(clock.now(), resumedAt + (T0 + 10_000_000 - tPaused) / 1000 / 2);
});

test('looping keeps timestamps increasing and the pace across passes; status counts loops', async () => {
  const rec = await craftRecording(1_000_000, 500); // 1 s
  const clock = new VirtualClock();
  const src = new PacedFileSource(rec.path, { speed: 1, loop: true, scheduler: clock.scheduler });
  const w = watch(src, clock);
  await clock.run({ until: () => (src.status$.value.loops ?? 0) >= 3, what: '3 passes' });
  assert.equal(w.stats.events, 3 * rec.events);
  assert.equal(w.stats.nonMonotonic, 0, 'timestamps keep increasing across loops');
  // each later pass starts 1 µs (loopGapUs) after the previous one's last event: 3 passes = 3 s + 2 µs
  assert.ok(Math.abs(clock.now() - 3000) <= 1, `3 passes at virtual ${clock.now()} ms`);
  assert.equal(src.status$.value.state, 'playing');
  w.sub.unsubscribe();
  assert.equal(src.status$.value.state, 'stopped');
  assert.equal(clock.nextDue(), undefined, 'no timer left behind');
  // unpaced looping, on a real recording
  if (sample) {
    const looped: EventBatch[] = await lastValueFrom(fromEventFile(sample, { loop: true }).pipe(take(150), toArray()));
    const s = new EventStats();
    looped.forEach((b) => s.add(b));
    assert.ok(s.events > 111954, 'more than one pass');
    assert.equal(s.nonMonotonic, 0, 'timestamps keep increasing across loops');
  }
});

test('unsubscribing stops the replay at once and closes the file; one consumer at a time', async () => {
  const rec = await tenSeconds;
  const clock = new VirtualClock();
  const src = new PacedFileSource(rec.path, { speed: 1, scheduler: clock.scheduler, chunkSize: 4096 });
  let seen = 0;
  const second: unknown[] = [];
  const sub = src.events$.subscribe(() => {
    seen++;
    sub.unsubscribe();
  });
  src.events$.subscribe({ error: (e: unknown) => second.push(e) });
  await clock.run({ until: () => seen > 0 && second.length > 0, what: 'the first batch' });
  assert.match(String(second[0]), /already running/);
  assert.equal(src.status$.value.state, 'stopped');
  // the read in flight ends, the file is closed; no timer remains, so no batch can follow
  if (openHandles(rec.path) >= 0) await clock.run({ until: () => openHandles(rec.path) === 0, what: 'file descriptor released', realTimeoutMs: 5000 });
  assert.equal(clock.nextDue(), undefined);
  await clock.advance(11_000);
  assert.equal(seen, 1);
  // the same source runs again from the start
  const w = watch(src, clock);
  await clock.run({ until: () => w.done, what: 'the second run' });
  assert.equal(w.stats.events, rec.events);
  assert.equal(w.stats.tFirstUs, T0);
});

test('a corrupt file: every batch decoded before the fault is handed on, then an EventFormatError naming the file; status error', async () => {
  const rec = await tenSeconds;
  const { readFileSync } = await import('node:fs');
  const bytes = readFileSync(rec.path);
  const cut = join(mkdtempSync(join(tmpdir(), 'evs-paced-')), 'cut.aedat4');
  writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
  const expected = new EventStats();
  await readEventFile(cut, (b) => expected.add(b), { strict: true }).catch(() => {});
  const clock = new VirtualClock();
  const src = new PacedFileSource(cut, { speed: 1, scheduler: clock.scheduler, strict: true });
  const w = watch(src, clock);
  await clock.run({ until: () => w.done, what: 'the error' });
  assert.ok(w.error instanceof EventFormatError, String(w.error));
  assert.match((w.error as Error).message, /cut\.aedat4/);
  assert.ok(expected.events > 0);
  assert.equal(w.stats.events, expected.events, 'events before the fault delivered first');
  assert.equal(src.status$.value.state, 'error');
  assert.throws(() => new PacedFileSource(cut, { speed: 1e-300 }), RangeError);
  assert.throws(() => new PacedFileSource(cut, { speed: 1000 }), RangeError);
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
  // Server pacing and client backoff both run on one virtual clock: no real waiting. The client's idle
  // timeout is off: its timer would otherwise be pending (and fired) while the server is still reading.
  const clock = new VirtualClock();
  let server = await startReplayServer(boxes!, { port: 0, speed: 2, scheduler: clock.scheduler });
  const port = server.port;
  const src = fromDvTcp(`tcp://127.0.0.1:${port}`, { initialBackoffMs: 50, maxBackoffMs: 200, idleTimeoutMs: 0, scheduler: clock.scheduler });
  const states: DvConnectionStatus[] = [];
  const statusSub = src.status$.subscribe((s) => states.push(s));
  let events = 0;
  const sub = src.subscribe((b) => (events += b.length));
  try {
    await clock.run({ until: () => events > 1000, what: '1000 events' });
    const before = events;
    assert.ok(before > 0, 'events flowed before the kill');
    await server.close(); // camera gone
    await firstValueFrom(src.status$.pipe(filter((s) => s.state === 'reconnecting'), timeout(5000)));
    // a few failed attempts while nobody listens
    const retries = () => states.filter((s) => s.state === 'reconnecting' && s.retryInMs !== undefined).length;
    await clock.run({ until: () => retries() >= 3, what: '3 retries' });
    // count from here: bytes already in flight when the server died still arrive after `before`
    const afterKill = events;
    server = await startReplayServer(boxes!, { port, speed: 2, scheduler: clock.scheduler });
    await clock.run({ until: () => events >= afterKill + 1000, what: 'events after the reconnect' });
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
    s.end(Buffer.from('this is not an AEDAT 4 stream at all........'));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as { port: number }).port;
  const warnings: string[] = [];
  const clock = new VirtualClock();
  const src = fromDvTcp(`127.0.0.1:${port}`, { initialBackoffMs: 20, maxBackoffMs: 40, onWarning: (w) => warnings.push(w.message), idleTimeoutMs: 0, scheduler: clock.scheduler });
  const seen: DvConnectionStatus[] = [];
  const ssub = src.status$.subscribe((s) => seen.push(s));
  const sub = src.subscribe();
  try {
    await clock.run({ until: () => warnings.length >= 2 && seen.filter((s) => s.state === 'reconnecting').length >= 4, what: 'two rounds of garbage' });
  } finally {
    sub.unsubscribe();
    ssub.unsubscribe();
    await new Promise<void>((r) => srv.close(() => r()));
  }
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
  const clock = new VirtualClock();
  const sub = fromDvTcp(`tcp://127.0.0.1:${port}`, { initialBackoffMs: 20, idleTimeoutMs: 0, scheduler: clock.scheduler }).subscribe((b) => (events += b.length));
  try {
    await clock.run({ until: () => events >= 2000 + n, what: 'the full stream after the cut one', realTimeoutMs: 5000 });
  } finally {
    sub.unsubscribe();
    await new Promise<void>((r) => srv.close(() => r()));
  }
  assert.ok(connections >= 2);
  assert.equal(events, 2000 + n, 'two whole packets from the cut connection, then the full stream');
});
