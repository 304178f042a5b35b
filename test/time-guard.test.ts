import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventBatch } from '../src/events/types.js';
import { DEFAULT_CONFIRM_EVENTS, TimeGuard } from '../src/events/time-guard.js';
import { readEventFile } from '../src/events/read-file.js';
import { EventStats } from '../src/events/stats.js';
import { EventFormatError } from '../src/events/errors.js';
import { RECORDING_FACTS } from './helpers/facts.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';

/** Events as [t, x, y, p] rows (x carries the event's position in the input, to follow it through). */
type Row = [number, number, number, number];

function batch(rows: readonly Row[]): EventBatch {
  return {
    t: Float64Array.from(rows.map((r) => r[0])),
    x: Uint16Array.from(rows.map((r) => r[1])),
    y: Uint16Array.from(rows.map((r) => r[2])),
    p: Uint8Array.from(rows.map((r) => r[3])),
    length: rows.length,
    width: 65535,
    height: 8,
  };
}

function rows(b: EventBatch): Row[] {
  return Array.from({ length: b.length }, (_, i) => [b.t[i]!, b.x[i]!, b.y[i]!, b.p[i]!] as Row);
}

/** Run `input` through a guard in batches of `size`; returns every event out, in order, and the guard. */
function run(input: readonly Row[], size: number, opts: ConstructorParameters<typeof TimeGuard>[0] = {}) {
  const g = new TimeGuard(opts);
  const out: Row[] = [];
  let maxHeld = 0;
  for (let i = 0; i < input.length; i += size) {
    out.push(...rows(g.push(batch(input.slice(i, i + size)))));
    maxHeld = Math.max(maxHeld, g.held);
  }
  g.end();
  return { out, g, maxHeld };
}

/** n in-order events 10 µs apart from t0, x = running id from `id0`. */
function steady(t0: number, n: number, id0: number): Row[] {
  return Array.from({ length: n }, (_, i) => [t0 + 10 * i, (id0 + i) & 0xffff, i % 8, i & 1] as Row);
}

test('a clean stream passes through unchanged (same batch, no copy) with zero counters', () => {
  const g = new TimeGuard();
  const b = batch(steady(1e9, 1000, 0));
  assert.equal(g.push(b), b);
  assert.equal(g.end().length, 0);
  assert.deepEqual([g.outliers, g.discontinuities, g.held], [0, 0, 0]);
});

test('one stray timestamp, forward or backward, is dropped alone and counted', () => {
  for (const stray of [2 ** 31 - 1, 2 ** 53, -5, 0]) {
    const input = steady(300e6, 500, 0);
    input[200] = [stray, 200, 0, 1];
    const { out, g } = run(input, input.length);
    assert.equal(g.outliers, 1, `stray ${stray}`);
    assert.equal(g.discontinuities, 0);
    assert.deepEqual(out, input.filter((_, i) => i !== 200));
  }
});

test('a confirmed forward jump of 1e9 µs keeps every event and records one discontinuity', () => {
  const before = steady(5e6, 300, 0);
  const after = steady(5e6 + 10 * 299 + 1e9, 300, 300);
  const { out, g } = run([...before, ...after], 1000);
  assert.deepEqual(out, [...before, ...after]);
  assert.equal(g.outliers, 0);
  assert.equal(g.discontinuities, 1);
  assert.deepEqual(g.jumps, [{ direction: 'forward', fromUs: before.at(-1)![0], toUs: after[0]![0], sizeUs: 1e9, atEvent: 300 }]);
});

test('a confirmed backward jump (clock reset) keeps every event', () => {
  const before = steady(50e6, 300, 0);
  const after = steady(1000, 300, 300);
  const { out, g } = run([...before, ...after], 77);
  assert.deepEqual(out, [...before, ...after]);
  assert.equal(g.discontinuities, 1);
  assert.equal(g.jumps[0]!.direction, 'backward');
  assert.equal(g.jumps[0]!.toUs, 1000);
});

test('a run shorter than confirmEvents that comes back is outliers; so is one still open at the end', () => {
  const n = DEFAULT_CONFIRM_EVENTS - 1;
  const bad = steady(2e9, n, 1000);
  const input = [...steady(1e6, 100, 0), ...bad, ...steady(1e6 + 1000, 100, 2000)];
  const { out, g } = run(input, 1);
  assert.equal(g.outliers, n);
  assert.equal(out.length, 200);
  assert.ok(out.every((r) => r[0] < 2e9));
  const tail = run([...steady(1e6, 100, 0), ...bad], 1);
  assert.equal(tail.g.outliers, n, 'unconfirmed at the end of the stream');
  assert.equal(tail.out.length, 100);
});

test('an event that fits neither base drops the held run and starts a new one', () => {
  const a = steady(1e9, 10, 100); // too short: dropped when b starts
  const b = steady(5e9, DEFAULT_CONFIRM_EVENTS, 200); // long enough: confirmed
  const { out, g } = run([...steady(0, 50, 0), ...a, ...b], 1000);
  assert.equal(g.outliers, 10);
  assert.equal(g.discontinuities, 1);
  assert.equal(g.jumps[0]!.fromUs, 490);
  assert.equal(g.jumps[0]!.toUs, 5e9);
  assert.equal(out.length, 50 + DEFAULT_CONFIRM_EVENTS);
});

test('NaN and ±Infinity are always outliers and neither join nor break a held run', () => {
  const input = steady(0, 50, 0);
  input.splice(10, 0, [NaN, 0, 0, 0], [Infinity, 0, 0, 0], [-Infinity, 0, 0, 0]);
  const jump = steady(1e9, DEFAULT_CONFIRM_EVENTS, 500);
  jump.splice(5, 0, [NaN, 0, 0, 0]);
  const { out, g } = run([[NaN, 1, 1, 1], ...input, ...jump], 3);
  assert.equal(g.outliers, 5);
  assert.equal(g.discontinuities, 1);
  assert.equal(out.length, 50 + DEFAULT_CONFIRM_EVENTS);
  assert.ok(out.every((r) => Number.isFinite(r[0])));
});

test('0 and Infinity turn the guard off', () => {
  for (const maxGapUs of [0, Infinity]) {
    const input = steady(0, 100, 0);
    input[50] = [2 ** 40, 50, 0, 0];
    const { out, g } = run(input, 100, { maxGapUs });
    assert.deepEqual(out, input);
    assert.equal(g.outliers, 0);
  }
  assert.throws(() => new TimeGuard({ maxGapUs: -1 }), /maxGapUs must be >= 0/);
  assert.throws(() => new TimeGuard({ confirmEvents: 0 }), /confirmEvents/);
});

test('any batching gives the same events and counters (1-event batches vs whole), held run stays bounded', () => {
  // A seeded stream with every case: single strays both ways, short bad runs, NaN, a confirmed forward jump
  // and a confirmed clock reset. What was injected is booked here, independently of the guard.
  let seed = 12345;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const input: Row[] = [];
  let t = 1e9;
  let injected = 0;
  let id = 0;
  const push = (time: number) => input.push([time, id++ & 0xffff, Math.floor(rnd() * 8), rnd() < 0.5 ? 1 : 0]);
  for (let seg = 0; seg < 3; seg++) {
    for (let i = 0; i < 4000; i++) {
      t += Math.floor(rnd() * 50);
      const r = rnd();
      if (r < 0.003) {
        push(rnd() < 0.5 ? t + 1e8 + rnd() * 1e12 : t - 1e8 - rnd() * 1e8); // a stray, forward or backward
        injected++;
      } else if (r < 0.004) {
        const len = 1 + Math.floor(rnd() * (DEFAULT_CONFIRM_EVENTS - 2));
        const far = t + 3e9;
        for (let k = 0; k < len; k++) push(far + k);
        injected += len;
      } else if (r < 0.005) {
        push(NaN);
        injected++;
      }
      push(t);
    }
    t = seg === 0 ? t + 1e9 : t - 5e8; // a confirmed forward jump, then a clock reset (both > 10 s)
  }
  const whole = run(input, input.length);
  assert.equal(whole.g.outliers, injected);
  assert.equal(whole.g.discontinuities, 2);
  assert.deepEqual(whole.g.jumps.map((j) => j.direction), ['forward', 'backward']);
  assert.equal(whole.out.length, input.length - injected);
  for (const size of [1, 7, 64, 999]) {
    const r = run(input, size);
    assert.deepEqual(r.out, whole.out, `batches of ${size}`);
    assert.deepEqual([r.g.outliers, r.g.discontinuities, r.g.jumps], [whole.g.outliers, whole.g.discontinuities, whole.g.jumps]);
    assert.ok(r.maxHeld < DEFAULT_CONFIRM_EVENTS);
  }
});

test('a hostile stream (every time random over ±2^53) keeps the held run below confirmEvents', () => {
  const g = new TimeGuard();
  let seed = 99;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const t = new Float64Array(200_000);
  for (let i = 0; i < t.length; i++) t[i] = (rnd() - 0.5) * 2 ** 54;
  const b: EventBatch = { t, x: new Uint16Array(t.length), y: new Uint16Array(t.length), p: new Uint8Array(t.length), length: t.length, width: 1, height: 1 };
  const out = g.push(b);
  assert.ok(g.held < DEFAULT_CONFIRM_EVENTS);
  g.end();
  assert.equal(out.length + g.outliers, t.length, 'every event accounted for');
  assert.equal(out.length, 1, 'only the first event (the initial base) survives');
});

// ------------------------------------------------------------------ through readEventFile

const AEDAT3 = sharedRecording('davis240-translboxes.aedat3');
const facts = RECORDING_FACTS.find((f) => f.file === 'davis240-translboxes.aedat3')!;

async function stats(path: string, opts: Parameters<typeof readEventFile>[2] = {}) {
  const s = new EventStats();
  const info = await readEventFile(path, (b) => s.add(b), opts);
  return { s, info };
}

test('readEventFile drops the one corrupt timestamp of a mutated recording (bytes 940..943 = ff ff ff 7f)', { skip: skipUnless(AEDAT3) }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evstream-tg-'));
  try {
    const path = join(dir, 'm.aedat3');
    const bytes = readFileSync(AEDAT3!);
    bytes.set([0xff, 0xff, 0xff, 0x7f], 940);
    writeFileSync(path, bytes);
    const { s, info } = await stats(path, { chunkSize: 4096 });
    assert.equal(s.events, facts.events - 1);
    assert.equal(info.outliers, 1);
    assert.equal(info.discontinuities, 0);
    assert.equal(s.tMaxUs, facts.tLastUs, 'the stray 2^31 - 1 µs is gone');
    assert.equal(s.tMinUs, facts.tFirstUs);
    // Off: the stray time comes through (and this is what used to blow up framing).
    const off = await stats(path, { maxGapUs: Infinity });
    assert.equal(off.s.events, facts.events);
    assert.equal(off.s.tMaxUs, 2 ** 31 - 1);
    assert.equal(off.info.outliers, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a clean recording reads with zero outliers and zero discontinuities', { skip: skipUnless(AEDAT3) }, async () => {
  const { s, info } = await stats(AEDAT3!);
  assert.equal(s.events, facts.events);
  assert.deepEqual([info.outliers, info.discontinuities, info.jumps], [0, 0, []]);
});

test('on a read error the undecided held run is delivered before the error; at a clean end it is outliers', { skip: skipUnless(AEDAT3) }, async () => {
  // First polarity packet: header at byte 108, 4555 events of 8 bytes from byte 136 (timestamp at +4).
  // The last 5 events jump 20 s ahead, then the file is cut inside the next packet (an IMU packet at 36576).
  const dir = mkdtempSync(join(tmpdir(), 'evstream-tg-'));
  try {
    const src = readFileSync(AEDAT3!);
    const view = new DataView(src.buffer, src.byteOffset, src.byteLength);
    assert.equal(view.getInt16(108, true), 1, 'the recording layout this test relies on');
    assert.equal(view.getInt32(108 + 20, true), 4555);
    for (let e = 4550; e < 4555; e++) {
      const at = 136 + 8 * e + 4;
      view.setInt32(at, view.getInt32(at, true) + 20_000_000, true);
    }
    const path = join(dir, 'cut.aedat3');
    writeFileSync(path, src.subarray(0, 36576 + 100));
    const lax = await stats(path);
    assert.equal(lax.info.outliers, 5);
    const strict = new EventStats();
    await assert.rejects(readEventFile(path, (b) => strict.add(b), { strict: true }), (e: unknown) => e instanceof EventFormatError && e.kind === 'truncated');
    assert.equal(strict.events, lax.s.events + 5, 'the held run is handed over before the error');
    assert.ok(strict.tMaxUs - lax.s.tMaxUs > 19e6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const HDF5 = sharedRecording('davis240-translboxes.ddd17.hdf5');

test('readEventFile guards DDD17 HDF5 too: one overwritten event timestamp is dropped', { skip: skipUnless(HDF5) }, async () => {
  // Find event #1000's 8 bytes (cAER polarity word + int32 timestamp) in the file and overwrite the timestamp.
  let ev: Row | undefined;
  let seen = 0;
  await readEventFile(HDF5!, (b) => {
    for (let i = 0; i < b.length; i++, seen++) if (seen === 1000) ev = [b.t[i]!, b.x[i]!, b.y[i]!, b.p[i]!];
  });
  const [t, x, y, p] = ev!;
  const pattern = Buffer.alloc(8);
  pattern.writeUInt32LE((1 | (p << 1) | (y << 2) | (x << 17)) >>> 0, 0);
  pattern.writeInt32LE(t, 4);
  const bytes = readFileSync(HDF5!);
  const at = bytes.indexOf(pattern);
  assert.ok(at > 0 && bytes.indexOf(pattern, at + 1) < 0, 'the event is stored once, uncompressed');
  bytes.writeInt32LE(0x7fffffff, at + 4);
  const dir = mkdtempSync(join(tmpdir(), 'evstream-tg-'));
  try {
    const path = join(dir, 'm.hdf5');
    writeFileSync(path, bytes);
    const { s, info } = await stats(path);
    assert.equal(s.events, facts.events - 1);
    assert.equal(info.outliers, 1);
    assert.equal(s.tMaxUs, facts.tLastUs);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
