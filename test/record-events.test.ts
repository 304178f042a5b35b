/**
 * Recording the live stream (issue 14): `sinks.record` / `run --record out.aedat4` writes every event the
 * pipeline receives, in order, as whole AEDAT 4 packets; bounded queue; closed on stop, source end,
 * source failure; a dropped camera leaves a file that reads back as it is. Expected events are the batches
 * the pipeline itself saw (`Pipeline.events$`), collected independently of the recorder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Subject, VirtualTimeScheduler } from 'rxjs';
import { parsePipeline, applyOverrides, PipelineConfigError } from '../src/pipeline/config.js';
import { Pipeline } from '../src/pipeline/runner.js';
import { startSinks, eventRecordSink } from '../src/pipeline/sinks.js';
import { EventRecorder, BYTES_PER_EVENT, openEventWriter, type EventFileWriter, type RecordingStatus } from '../src/pipeline/record-events.js';
import { readEventFile } from '../src/events/read-file.js';
import { encodeAedat4 } from '../src/events/aedat4/index.js';
import { VERSION_LINE_BYTES, dataTablePositionField } from '../src/events/aedat4/format.js';
import { concatBatches, type EventBatch } from '../src/events/types.js';
import { ROOT, waitFor } from './helpers/server-helpers.js';
import { VirtualClock } from './helpers/virtual-time.js';
import { cliPath, runCli } from './helpers/cli.js';

const tmp = () => mkdtempSync(join(tmpdir(), 'evs-rec-'));
const DEMO = join(ROOT, 'recordings', 'demo.aedat4');

/** Batches joined into one set of typed arrays (compared as bytes by deepStrictEqual: fast). */
type Flat = Pick<EventBatch, 't' | 'x' | 'y' | 'p'>;
const flat = (batches: readonly EventBatch[]): Flat => concatBatches(batches);
const copy = (b: EventBatch): EventBatch => ({ ...b, t: b.t.slice(), x: b.x.slice(), y: b.y.slice(), p: b.p.slice() });

/** Read a recording back; strict: any truncated packet or bad data table is an error. */
async function readBack(path: string, strict = true): Promise<Flat & { width: number; height: number }> {
  const got: EventBatch[] = [];
  const info = await readEventFile(path, (b) => void got.push(copy(b)), { strict, maxGapUs: 0 });
  return { ...flat(got), width: info.width, height: info.height };
}

/** True when the AEDAT 4 header's dataTablePosition has been patched in (-1 while the file is open). */
function hasDataTable(path: string): boolean {
  const bytes = readFileSync(path);
  const start = VERSION_LINE_BYTES.length + 4; // version line, int32 header size, then the IOHeader flatbuffer
  const fb = bytes.subarray(start, start + bytes.readInt32LE(VERSION_LINE_BYTES.length));
  const pos = fb.readBigInt64LE(dataTablePositionField(fb));
  assert.ok(pos === -1n || (pos > 0n && pos < BigInt(bytes.length)), `dataTablePosition ${pos}`);
  return pos !== -1n;
}

function pipelineCfg(source: Record<string, unknown>, recordPath: string, metricsPath: string | null = null) {
  return parsePipeline(
    {
      name: 'rec-test',
      source,
      framing: { windowMs: 50, size: [16, 16] },
      model: { arch: 'spiking-deeplab', checkpoint: null, width: 0.0625, T: 4, seed: 1 },
      sinks: { viewer: { enabled: false }, record: { path: recordPath }, metrics: { path: metricsPath, intervalMs: 100 } },
    },
    ROOT,
  );
}

test('replayed file: stopped mid-way (the Ctrl-C path), the file holds exactly the events the pipeline received, with its data table', async () => {
  const dir = tmp();
  const out = join(dir, 'rec.aedat4');
  const metrics = join(dir, 'm.jsonl');
  const clock = new VirtualClock();
  const p = await Pipeline.create(pipelineCfg({ type: 'file', path: DEMO, speed: 1, loop: false }, out, metrics), { scheduler: clock.scheduler });
  const seen: EventBatch[] = [];
  p.events$.subscribe((b) => seen.push(copy(b)));
  const sinks = startSinks(p);
  p.start();
  let status: RecordingStatus | undefined;
  try {
    await clock.run({ until: () => clock.now() >= 3000, what: '3 s of replay', realTimeoutMs: 20_000 });
    status = p.status().recording;
    // the metrics sink (its own real 100 ms interval) reports the recording too
    await waitFor(() => existsSync(metrics) && readFileSync(metrics, 'utf8').includes('"recording":{"state":"recording"'), 5000, 'a metrics line with the recording');
  } finally {
    p.stop();
    await Promise.all(sinks.map((s) => s.close()));
  }
  const want = flat(seen);
  const whole = await readBack(DEMO);
  // mid-way: a few seconds of an 8 s recording
  assert.ok(want.t.length > 0 && want.t.length < whole.t.length, `received ${want.t.length} of ${whole.t.length}`);
  assert.ok(want.t[want.t.length - 1]! - want.t[0]! >= 2_500_000, 'about 3 s of event time received');
  assert.equal(status?.state, 'recording');
  assert.equal(status?.received, want.t.length, 'status counts what was received');
  const got = await readBack(out);
  assert.equal(got.t.length, want.t.length, 'count');
  assert.deepEqual(got.t, want.t);
  assert.deepEqual(got.x, want.x);
  assert.deepEqual(got.y, want.y);
  assert.deepEqual(got.p, want.p);
  assert.deepEqual([got.width, got.height], [whole.width, whole.height], 'sensor size from the source');
  assert.ok(hasDataTable(out), 'closed cleanly: the data table position is patched in');
});

test('recording to .raw (Prophesee EVT 3.0): a replay stopped mid-way reads back with exactly the events received', async () => {
  const dir = tmp();
  const out = join(dir, 'rec.raw');
  const clock = new VirtualClock();
  const p = await Pipeline.create(pipelineCfg({ type: 'file', path: DEMO, speed: 1, loop: false }, out), { scheduler: clock.scheduler });
  const seen: EventBatch[] = [];
  p.events$.subscribe((b) => seen.push(copy(b)));
  const sinks = startSinks(p);
  p.start();
  try {
    await clock.run({ until: () => clock.now() >= 1500, what: '1.5 s of replay', realTimeoutMs: 20_000 });
  } finally {
    p.stop();
    await Promise.all(sinks.map((s) => s.close()));
  }
  const want = flat(seen);
  assert.ok(want.t.length > 0, 'events received');
  const got = await readBack(out);
  assert.equal(got.t.length, want.t.length, 'count');
  assert.deepEqual(got.t, want.t);
  assert.deepEqual(got.x, want.x);
  assert.deepEqual(got.y, want.y);
  assert.deepEqual(got.p, want.p);
  const whole = await readBack(DEMO);
  assert.deepEqual([got.width, got.height], [whole.width, whole.height], 'the EVT 3 header states the source sensor size');
  assert.match(readFileSync(out).subarray(0, 200).toString('latin1'), /^% evt 3\.0\n/);
});

test('replayed file that ends: the recording closes by itself (no stop), holding the whole file', async () => {
  const out = join(tmp(), 'rec.aedat4');
  const clock = new VirtualClock();
  const p = await Pipeline.create(pipelineCfg({ type: 'file', path: DEMO, speed: 100, loop: false }, out), { scheduler: clock.scheduler });
  const sinks = startSinks(p);
  p.start();
  try {
    await clock.run({ until: () => p.status().recording?.state === 'closed', what: 'recording closed at source end', realTimeoutMs: 20_000 });
    const whole = await readBack(DEMO);
    const got = await readBack(out);
    assert.equal(got.t.length, whole.t.length);
    assert.deepEqual(got.t, whole.t);
    assert.deepEqual(got.x, whole.x);
    assert.ok(hasDataTable(out));
  } finally {
    p.stop();
    await Promise.all(sinks.map((s) => s.close()));
  }
});

test('a source that fails mid-way: the events before the failure are recorded and the file is closed', async () => {
  const out = join(tmp(), 'rec.aedat4');
  // the sink wired to a stand-in pipeline whose event stream errors (a real file source only errors on
  // damage the readers otherwise skip)
  const events$ = new Subject<EventBatch>();
  const logs: string[] = [];
  const fake = { source: { kind: 'live' }, events$, log: (l: string) => logs.push(l), recording: undefined as undefined | (() => RecordingStatus) };
  const sink = eventRecordSink(fake as unknown as Pipeline, { path: out, compression: 'none', maxBufferMB: 1 });
  const batches = [0, 1, 2].map((k) => batchOf(500, 1000 + k * 10_000, 64, 48));
  for (const b of batches) events$.next(b);
  events$.error(new Error('camera gone'));
  await waitFor(() => fake.recording!().state === 'closed', 5000, 'closed after the error');
  const got = await readBack(out);
  assert.deepEqual(got, { ...flat(batches), width: 64, height: 48 });
  assert.ok(hasDataTable(out));
  await sink.close(); // idempotent
  assert.ok(logs.some((l) => l.includes('recorded 1500 events')), logs.join('\n'));
});

function batchOf(n: number, t0: number, width = 320, height = 240): EventBatch {
  return {
    t: Float64Array.from({ length: n }, (_, i) => t0 + i * 7),
    x: Uint16Array.from({ length: n }, (_, i) => (i * 13) % width),
    y: Uint16Array.from({ length: n }, (_, i) => (i * 5) % height),
    p: Uint8Array.from({ length: n }, (_, i) => (i >> 1) & 1),
    length: n,
    width,
    height,
  };
}

test('live DV TCP camera dropped mid-stream: the open file reads back with every event received; a reconnect appends to it', async () => {
  const out = join(tmp(), 'live.aedat4');
  const PER = 400;
  const stream = async (n: number, t0: number) => Buffer.from(await encodeAedat4([batchOf(n, t0)], { width: 320, height: 240, compression: 'lz4', versionLine: false, maxPacketEvents: PER }));
  const first = await stream(PER * 6, 1000);
  const second = await stream(PER * 3, 50); // a restarted camera: its clock starts again near zero
  let conns = 0;
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    conns++;
    if (conns === 1) s.end(first); // all of it, then the camera drops
    else if (conns === 2) s.write(second); // then stays open
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const scheduler = new VirtualTimeScheduler(); // reconnect backoff runs only when the test says
  const p = await Pipeline.create(pipelineCfg({ type: 'dv-tcp', url: `tcp://127.0.0.1:${port}`, idleTimeoutMs: 0 }, out), { scheduler });
  const seen: EventBatch[] = [];
  p.events$.subscribe((b) => seen.push(copy(b)));
  const sinks = startSinks(p);
  p.start();
  const idle = () => {
    const r = p.status().recording;
    return r !== undefined && r.written === r.received && r.bufferedBytes === 0;
  };
  try {
    await waitFor(() => p.source.status$.value.state === 'reconnecting' && flat(seen).t.length === PER * 6 && idle(), 5000, 'drop after 6 packets');
    // the camera is gone and the file is still open: it already reads back whole (no data table yet)
    assert.equal(hasDataTable(out), false);
    const atDrop = await readBack(out);
    assert.deepEqual(atDrop.t, flat(seen).t);
    assert.deepEqual(atDrop.x, flat(seen).x);
    assert.equal(atDrop.t.length, PER * 6);
    // reconnect (backoff on the virtual clock): the second session goes into the same file
    scheduler.maxFrames = scheduler.now() + 10_000;
    scheduler.flush();
    scheduler.maxFrames = Infinity;
    await waitFor(() => flat(seen).t.length === PER * 9 && idle(), 5000, 'second session recorded');
  } finally {
    p.stop();
    await Promise.all(sinks.map((s) => s.close()));
    for (const s of sockets) s.destroy();
    server.close();
  }
  const want = flat(seen);
  const got = await readBack(out);
  assert.equal(got.t.length, PER * 9);
  assert.deepEqual(got.t, want.t, 'times as the pipeline saw them (the restart rebased to continue)');
  assert.deepEqual(got.y, want.y);
  assert.deepEqual(got.p, want.p);
  assert.ok(hasDataTable(out));
});

/** A writer whose writes wait until the test releases them (a disk that is behind, or stuck). */
function slowWriter() {
  const waiting: (() => void)[] = [];
  let written = 0;
  const w: EventFileWriter = {
    write: (b) =>
      new Promise<void>((r) =>
        waiting.push(() => {
          written += b.length;
          r();
        }),
      ),
    flush: async () => {},
    close: async () => {},
  };
  return { w, release: () => waiting.splice(0).forEach((f) => f()), written: () => written, pending: () => waiting.length };
}

test('bounded queue, live source: a stuck disk drops whole batches (counted, logged), memory stays at the bound', async () => {
  const slow = slowWriter();
  const logs: string[] = [];
  const max = 1 << 20;
  const rec = new EventRecorder({ path: 'x.aedat4', format: 'aedat4', open: async () => slow.w, maxBufferedBytes: max, overflow: { kind: 'drop' }, log: (l) => logs.push(l) });
  const b = batchOf(10_000, 0); // 130 000 bytes queued per batch
  const before = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < 5000; i++) rec.push(b); // 50 M events, 650 MB if kept
  const grown = process.memoryUsage().arrayBuffers - before;
  const s = rec.status();
  assert.ok(s.bufferedBytes <= max, `queued ${s.bufferedBytes}`);
  assert.equal(s.bufferedBytes, Math.floor(max / (10_000 * BYTES_PER_EVENT)) * 10_000 * BYTES_PER_EVENT, 'filled up to the bound');
  assert.equal(s.received, 50_000_000);
  assert.equal(s.dropped + s.bufferedBytes / BYTES_PER_EVENT, s.received, 'every event is queued or counted as dropped');
  assert.equal(s.droppedBatches, 5000 - s.bufferedBytes / (10_000 * BYTES_PER_EVENT));
  assert.ok(grown < 4 * max, `array buffers grew ${grown} bytes`);
  assert.match(logs[0] ?? '', /events dropped so far \(the disk is behind/);
  assert.ok(logs.length < 100, 'drops are logged sparsely');
  // the disk catches up: what was queued is written, in order, and nothing more
  await waitFor(async () => {
    slow.release();
    await new Promise((r) => setImmediate(r));
    return rec.status().bufferedBytes === 0;
  }, 5000, 'queue drained');
  assert.equal(slow.written(), s.received - s.dropped);
  await rec.close();
  assert.equal(rec.status().state, 'closed');
});

test('bounded queue, file source: the source is paused while the disk is behind and resumed when half drained; nothing dropped', async () => {
  const slow = slowWriter();
  const calls: string[] = [];
  const max = 10 * 1000 * BYTES_PER_EVENT;
  const rec = new EventRecorder({ path: 'x.aedat4', format: 'aedat4', open: async () => slow.w, maxBufferedBytes: max, overflow: { kind: 'pause', pause: () => calls.push('pause'), resume: () => calls.push('resume') } });
  for (let i = 0; i < 10; i++) rec.push(batchOf(1000, i * 10_000));
  assert.deepEqual(calls, [], 'at the bound, not past it');
  rec.push(batchOf(1000, 100_000));
  assert.deepEqual(calls, ['pause']);
  rec.push(batchOf(1000, 110_000)); // the one a paced source may still hand on
  assert.deepEqual(calls, ['pause'], 'paused once');
  // release one write at a time until the queue is at half the bound
  while (rec.status().bufferedBytes > max / 2) {
    await waitFor(() => slow.pending() > 0, 2000, 'a write');
    slow.release();
    await new Promise((r) => setImmediate(r));
  }
  await waitFor(() => calls.length === 2, 2000, 'resume');
  assert.deepEqual(calls, ['pause', 'resume']);
  const closing = rec.close();
  await waitFor(async () => {
    slow.release();
    await new Promise((r) => setImmediate(r));
    return rec.status().state === 'closed';
  }, 5000, 'closed');
  await closing;
  assert.equal(rec.status().dropped, 0);
  assert.equal(slow.written(), 12_000);
});

test('a write error stops the recording with one log line; the rest is counted as dropped, nothing throws', async () => {
  const logs: string[] = [];
  let n = 0;
  const w: EventFileWriter = {
    write: async () => {
      if (++n === 2) throw new Error('ENOSPC: no space left on device');
    },
    flush: async () => {},
    close: async () => {},
  };
  const rec = new EventRecorder({ path: 'x.aedat4', format: 'aedat4', open: async () => w, log: (l) => logs.push(l) });
  rec.push(batchOf(100, 0));
  rec.push(batchOf(100, 1000));
  rec.push(batchOf(100, 2000));
  await waitFor(() => rec.status().state === 'error', 2000, 'error state');
  rec.push(batchOf(100, 3000));
  await rec.close();
  const s = rec.status();
  assert.equal(s.state, 'error');
  assert.match(s.error ?? '', /ENOSPC/);
  assert.equal(s.written, 100);
  assert.equal(s.dropped, 300);
  assert.equal(logs.filter((l) => l.includes('stopped recording')).length, 1);
});

test('record paths: .aedat4 records events, .evpred is refused with where it moved; old pipeline files say so; .raw is EVT 3', () => {
  const base = { source: { type: 'file', path: 'a.aedat4' } };
  assert.throws(() => parsePipeline({ ...base, sinks: { record: { path: 'p.evpred' } } }, ROOT, 'old.json'), (e: Error) => e instanceof PipelineConfigError && /old\.json: \/sinks\/record\/path 'p\.evpred' is a prediction file: .*\/sinks\/predictions\/path/.test(e.message));
  assert.throws(() => parsePipeline({ ...base, sinks: { record: { path: 'x.txt' } } }, ROOT), /must end in \.aedat4 .* or \.raw/);
  assert.throws(() => parsePipeline({ ...base, sinks: { predictions: { path: 'x.aedat4' } } }, ROOT), /looks like an event recording/);
  const cfg = parsePipeline({ ...base, sinks: { record: { path: 'x.aedat4' }, predictions: { path: 'y.evpred' } } }, ROOT);
  assert.deepEqual(cfg.sinks.record, { path: 'x.aedat4', compression: 'lz4', maxBufferMB: 32 });
  assert.equal(cfg.sinks.predictions.path, 'y.evpred');
  assert.equal(typeof openEventWriter('x.raw'), 'function', '.raw opens the EVT 3 writer');
  assert.throws(() => applyOverrides(parsePipeline(base, ROOT), { recordPredictions: 'p.aedat4' }), /^PipelineConfigError: --record-predictions '.*p\.aedat4' looks like an event recording/);
  const plain = parsePipeline(base, ROOT);
  assert.throws(() => applyOverrides(plain, { record: 'out.evpred' }), /^PipelineConfigError: --record '.*out\.evpred' is a prediction file: use --record-predictions/);
  assert.equal(applyOverrides(plain, { recordPredictions: 'out.evpred' }).sinks.predictions.path, join(process.cwd(), 'out.evpred'));
});

test('CLI: run demo --record out.aedat4 --record-predictions out.evpred, stopped by SIGINT: both files closed cleanly before exit', async () => {
  // one CLI run (the model load dominates): SIGINT goes through the same stop() as --duration
  const dir = tmp();
  const ev = join(dir, 'out.aedat4');
  const pred = join(dir, 'out.evpred');
  const child = spawn(process.execPath, [cliPath, 'run', 'demo', '--no-viewer', '-q', '--speed', '4', '--record', ev, '--record-predictions', pred], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  try {
    await waitFor(() => existsSync(ev) && readFileSync(ev).length > 65536 && existsSync(pred) && readFileSync(pred).length > 8192, 60_000, `events and class maps recorded (${stderr})`);
    child.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
  } finally {
    child.kill('SIGKILL');
  }
  assert.ok(hasDataTable(ev), 'data table written on SIGINT');
  const got = await readBack(ev);
  assert.match(stderr, new RegExp(`recorded ${got.t.length} events to `));
  const demo = await readBack(DEMO);
  // a looped replay from the start: the recording begins with the demo file's own events
  const k = Math.min(got.t.length, demo.t.length);
  assert.ok(k > 1000, `${got.t.length} events recorded`);
  assert.deepEqual(got.t.slice(0, k), demo.t.slice(0, k));
  assert.deepEqual(got.x.slice(0, k), demo.x.slice(0, k));
  const buf = readFileSync(pred);
  const nl = buf.indexOf(10);
  const head = JSON.parse(buf.subarray(0, nl).toString()) as { format: string; width: number; height: number };
  assert.equal(head.format, 'evstream-predictions');
  const records = (buf.length - nl - 1) / (24 + head.width * head.height);
  assert.ok(Number.isInteger(records) && records >= 1, `${records} whole class-map records`);
});

test('CLI: --record refuses a .evpred (pointing at --record-predictions) and a folder that is not there, before the model loads', async () => {
  const dir = tmp();
  const bad = await runCli(['run', 'demo', '--no-viewer', '--record', join(dir, 'x.evpred')]);
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /^evstream: --record '.*x\.evpred' is a prediction file: use --record-predictions/);
  const noDir = await runCli(['run', 'demo', '--no-viewer', '--record', join(dir, 'missing', 'x.aedat4')]);
  assert.notEqual(noDir.code, 0);
  assert.match(noDir.stderr, /missing or not writable/);
  assert.doesNotMatch(noDir.stderr, /pipeline 'demo'/, 'refused before the pipeline started');
});
