import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Aedat3Decoder, type Aedat3Options } from '../src/events/aedat3.js';
import { EventFormatError } from '../src/events/errors.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import { caerPacket, feedAll } from './helpers/bytes.js';

const boxes = sharedRecording('davis240-translboxes.aedat3');

const HEADER = '#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DAVIS346B\r\n#!END-HEADER\r\n';

interface Polarity { x: number; y: number; p: number; t: number; valid?: boolean }

/** A cAER polarity packet; `capacity` may exceed the events (zero-filled slots, as libcaer writes). */
function polarityPacket(events: Polarity[], overflow = 0, capacity = events.length): Uint8Array {
  const { bytes, view } = caerPacket({ type: 1, eventSize: 8, tsOverflow: overflow, capacity, number: events.length, valid: events.filter((e) => e.valid !== false).length });
  events.forEach((e, i) => {
    view.setUint32(28 + i * 8, ((e.x << 17) | (e.y << 2) | (e.p << 1) | (e.valid === false ? 0 : 1)) >>> 0, true);
    view.setInt32(32 + i * 8, e.t, true);
  });
  return bytes;
}

function imu6Packet(n: number): Uint8Array {
  const out = new Uint8Array(28 + n * 36);
  const dv = new DataView(out.buffer);
  dv.setInt16(0, 3, true);
  dv.setInt32(4, 36, true);
  dv.setInt32(8, 4, true);
  dv.setInt32(16, n, true);
  dv.setInt32(20, n, true);
  dv.setInt32(24, n, true);
  return out;
}

function file(...parts: Uint8Array[]): Uint8Array {
  const head = Buffer.from(HEADER, 'latin1');
  return Buffer.concat([head, ...parts]);
}

type Seen = { kind: 'batch'; n: number } | { kind: 'warn'; w: string; offset: number };

function run(data: Uint8Array, opts: Partial<Aedat3Options> = {}, chunk = data.length || 1) {
  const seen: Seen[] = [];
  const xs: number[] = [];
  const ts: number[] = [];
  const d = new Aedat3Decoder(
    {
      batch: (b) => {
        seen.push({ kind: 'batch', n: b.length });
        for (let i = 0; i < b.length; i++) {
          xs.push(b.x[i]!);
          ts.push(b.t[i]!);
        }
      },
      warn: (w) => seen.push({ kind: 'warn', w: w.kind, offset: w.offset }),
    },
    { source: 'synthetic.aedat3', ...opts },
  );
  const error = feedAll(d, data, chunk);
  return { seen, xs, ts, info: d.info(), error, warnings: seen.filter((s) => s.kind === 'warn') };
}

const p1 = polarityPacket([{ x: 1, y: 2, p: 1, t: 10 }, { x: 2, y: 3, p: 0, t: 11, valid: false }, { x: 3, y: 4, p: 0, t: 12 }], 0, 5);
const p2 = polarityPacket([{ x: 345, y: 259, p: 1, t: 5 }], 1);

test('synthetic: header size, capacity > number, invalid events, overflow, IMU packet', () => {
  for (const chunk of [1, 2, 1000]) {
    const r = run(file(p1, imu6Packet(2), p2), { strict: true }, chunk);
    assert.equal(r.error, undefined);
    assert.deepEqual(r.xs, [1, 3, 345]);
    assert.deepEqual(r.ts, [10, 12, 2147483653]);
    assert.equal(r.info.width, 346);
    assert.equal(r.info.height, 260);
    assert.deepEqual(r.info.skipped, { invalidEvents: 1, imu6Packets: 1, imu6: 2 });
  }
});

test('no sensor in header: size from options, else inferred from coordinates', () => {
  const bare = Buffer.concat([Buffer.from('#!AER-DAT3.1\r\n#!END-HEADER\r\n', 'latin1'), p1]);
  assert.deepEqual([run(bare).info.width, run(bare).info.height], [4, 5]);
  const given = run(bare, { width: 640, height: 480 });
  assert.deepEqual([given.info.width, given.info.height], [640, 480]);
});

test('truncated at a packet boundary: no fault; mid-packet and mid-header: warning at the packet offset', () => {
  const whole = file(p1, p2);
  const p2At = whole.length - p2.length;
  assert.deepEqual(run(whole.subarray(0, p2At), { strict: true }).xs, [1, 3]);
  for (const cutAt of [p2At + 3, p2At + 30]) {
    for (const chunk of [1, 7, whole.length]) {
      const r = run(whole.subarray(0, cutAt), {}, chunk);
      assert.equal(r.error, undefined);
      assert.deepEqual(r.xs, [1, 3]);
      assert.deepEqual(r.warnings, [{ kind: 'warn', w: 'truncated', offset: p2At }]);
      assert.equal(r.seen[r.seen.length - 1]!.kind, 'warn', 'events delivered before the warning');
    }
    const s = run(whole.subarray(0, cutAt), { strict: true });
    assert.ok(s.error instanceof EventFormatError && s.error.kind === 'truncated' && s.error.offset === p2At);
    assert.equal(s.error.source, 'synthetic.aedat3');
    assert.deepEqual(s.xs, [1, 3]);
  }
});

test('corrupt packet header: non-strict warns and resyncs at the next packet; strict throws with offset', () => {
  const bad = polarityPacket([{ x: 9, y: 9, p: 1, t: 13 }]);
  new DataView(bad.buffer).setInt32(4, -8, true); // negative eventSize
  const data = file(p1, bad, p2);
  const badAt = Buffer.from(HEADER).length + p1.length;
  for (const chunk of [1, 5, data.length]) {
    const r = run(data, {}, chunk);
    assert.equal(r.error, undefined);
    assert.deepEqual(r.xs, [1, 3, 345]);
    assert.deepEqual(r.warnings, [{ kind: 'warn', w: 'corrupt-packet', offset: badAt }]);
    assert.equal(r.info.skipped['resyncBytes'], bad.length);
  }
  const s = run(data, { strict: true });
  assert.ok(s.error instanceof EventFormatError && s.error.kind === 'corrupt-packet' && s.error.offset === badAt);
  assert.match((s.error as Error).message, /eventSize -8/);
  assert.deepEqual(s.xs, [1, 3], 'events before the fault delivered before the throw');
});

test('absurd capacity and unknown type with absurd size are corrupt', () => {
  const absurd = polarityPacket([]);
  new DataView(absurd.buffer).setInt32(16, 0x7fffffff, true);
  const r = run(file(p1, absurd), { strict: true });
  assert.ok(r.error instanceof EventFormatError && r.error.kind === 'corrupt-packet');
  const unknown = polarityPacket([]);
  new DataView(unknown.buffer).setInt16(0, 999, true);
  new DataView(unknown.buffer).setInt32(4, 1 << 30, true);
  const u = run(file(p1, unknown), { strict: true });
  assert.ok(u.error instanceof EventFormatError && u.error.kind === 'corrupt-packet');
});

test('shared file: garbage appended, cut mid-packet, corrupted header in the middle', { skip: skipUnless(boxes) }, () => {
  const data = readFileSync(boxes!);
  const garbage = Buffer.concat([data, Buffer.alloc(100, 0xff)]);
  const g = run(garbage, {}, 4096);
  assert.equal(g.xs.length, 162771);
  assert.deepEqual(g.warnings, [{ kind: 'warn', w: 'corrupt-packet', offset: data.length }]);
  const gs = run(garbage, { strict: true });
  assert.ok(gs.error instanceof EventFormatError && gs.error.kind === 'corrupt-packet' && gs.error.offset === data.length);
  assert.equal(gs.xs.length, 162771);

  // Walk the packets to find offsets.
  const offsets: number[] = [];
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (let at = 108; at < data.length; at += 28 + dv.getInt32(at + 4, true) * dv.getInt32(at + 16, true)) offsets.push(at);
  const mid = offsets[40]!;
  const cut = run(data.subarray(0, mid + 100), {}, 777);
  assert.deepEqual(cut.warnings, [{ kind: 'warn', w: 'truncated', offset: mid }]);
  const before = run(data.subarray(0, mid)).xs.length;
  assert.equal(cut.xs.length, before);

  const corrupt = Buffer.from(data);
  const target = offsets.find((o) => dv.getInt16(o, true) === 1 && o > mid)!;
  const lost = dv.getInt32(target + 24, true);
  corrupt.writeInt32LE(-1, target + 16); // negative capacity
  const c = run(corrupt, {}, 65536);
  assert.deepEqual(c.warnings, [{ kind: 'warn', w: 'corrupt-packet', offset: target }]);
  assert.equal(c.xs.length, 162771 - lost);
});

test('wrong magic, AEDAT 2 input and zero-length input are clear errors', () => {
  const wrong = run(Buffer.from('#!AER-DAT2.0\r\n# x\r\n'), {}, 1);
  assert.ok(wrong.error instanceof EventFormatError && wrong.error.kind === 'bad-magic' && wrong.error.offset === 0);
  const binary = run(new Uint8Array([1, 2, 3]));
  assert.ok(binary.error instanceof EventFormatError && binary.error.kind === 'bad-magic');
  const empty = run(new Uint8Array(0));
  assert.ok(empty.error instanceof EventFormatError && empty.error.kind === 'empty');
  const noEnd = run(Buffer.from('#!AER-DAT3.1\r\n#Format: RAW\r\n'), { strict: true });
  assert.ok(noEnd.error instanceof EventFormatError && noEnd.error.kind === 'truncated');
});
