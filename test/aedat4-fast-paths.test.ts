/**
 * The fast paths of AEDAT 4 decoding (issue 17) against the general ones: the one-pass struct decoder at
 * every alignment, pooled batches (EventArena) against fresh ones, the decoder fed at every split point
 * and byte offset, readEventFile's reused, phase-shifted read buffers, and EventStats' block sums against
 * the per-event reduction.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedat4Decoder, encodeAedat4, type Aedat4Compression } from '../src/events/aedat4/index.js';
import { VERSION_LINE_BYTES, buildInfoXml, buildIoHeader, decodeEventPacket, encodeEventPacket } from '../src/events/aedat4/format.js';
import { EventArena } from '../src/events/event-arena.js';
import { EventStats } from '../src/events/stats.js';
import { readEventFile } from '../src/events/read-file.js';
import type { EventBatch } from '../src/events/types.js';
import { concatBytes, lz4napiFrame, syntheticEvents } from './helpers/aedat4-helpers.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'evstream-a4fast-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

type Ev = [number, number, number, number];
const flat = (bs: readonly EventBatch[]): Ev[] => bs.flatMap((b) => Array.from({ length: b.length }, (_, i): Ev => [b.t[i]!, b.x[i]!, b.y[i]!, b.p[i]!]));
/** A batch copied out of pooled memory. */
const copy = (b: EventBatch): EventBatch => ({ ...b, t: b.t.slice(), x: b.x.slice(), y: b.y.slice(), p: b.p.slice() });

/** Reference: the structs read one field at a time through a DataView (independent of the fast loop). */
function referenceStructs(packet: Uint8Array): Ev[] {
  const dv = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  const n = dv.getUint32(28, true); // encodeEventPacket's layout: length at 28, structs from 32
  return Array.from({ length: n }, (_, i): Ev => {
    const o = 32 + 16 * i;
    return [Number(dv.getBigInt64(o, true)), dv.getUint16(o + 8, true), dv.getUint16(o + 10, true), dv.getUint8(o + 12) !== 0 ? 1 : 0];
  });
}

/** A packet of awkward values: negative, 2^32 borders, large times, full-range coordinates, polarity bytes 0..255. */
function awkwardPacket(): Uint8Array {
  const times = [-5, -(2 ** 32), 0, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 40 + 12345, 2 ** 53 - 1, 1_600_000_000_000_123];
  const n = times.length;
  const pk = encodeEventPacket(
    Float64Array.from(times),
    Uint16Array.from({ length: n }, (_, i) => [0, 1, 345, 32767, 32768, 65535, 7, 100, 2][i]!),
    Uint16Array.from({ length: n }, (_, i) => [65535, 0, 259, 40000, 1, 2, 3, 4, 5][i]!),
    Uint8Array.from({ length: n }, (_, i) => i & 1),
    0,
    n,
  );
  // polarity bytes other than 0 / 1 (a bool written by another tool): any nonzero byte is ON
  [2, 0, 255, 128, 0, 1, 64, 0, 3].forEach((v, i) => (pk[32 + 16 * i + 12] = v));
  return pk;
}

test('struct decoder: one pass equals the field-by-field reference at every alignment, fresh or pooled', () => {
  const packets = [awkwardPacket(), encodeEventPacket(new Float64Array(0), new Uint16Array(0), new Uint16Array(0), new Uint8Array(0), 0, 0)];
  const ev = syntheticEvents(1000);
  packets.push(encodeEventPacket(ev.t, ev.x, ev.y, ev.p, 0, ev.length));
  const arena = new EventArena();
  for (const pk of packets) {
    const want = referenceStructs(pk);
    for (let offset = 0; offset < 16; offset++) {
      const host = new Uint8Array(pk.length + offset);
      host.set(pk, offset);
      const at = host.subarray(offset);
      const fresh = decodeEventPacket(at);
      assert.deepEqual(flat([{ ...fresh, width: 1, height: 1 }]), want, `fresh, offset ${offset}`);
      const pooled = decodeEventPacket(at, arena);
      assert.deepEqual(flat([{ ...pooled, width: 1, height: 1 }]), want, `pooled, offset ${offset}`);
    }
  }
});

test('EventArena: carved batches do not overlap within a round; a round after reset() reuses the memory', () => {
  const a = new EventArena();
  const one = a.alloc(10);
  const two = a.alloc(20_000); // grows: the first batch keeps its old arrays
  one.t.fill(1);
  two.t.fill(2);
  assert.ok(one.t.every((v) => v === 1) && two.t.every((v) => v === 2));
  const cap = a.capacity;
  a.reset();
  const three = a.alloc(20_000);
  assert.equal(three.t.buffer, two.t.buffer, 'same memory after reset');
  assert.equal(a.capacity, cap);
  assert.equal(a.alloc(0).t.length, 0);
});

/** A hand-laid uncompressed or LZ4 file whose packets upset alignment: odd sizes, 0 events, other streams. */
function craftedFile(compression: Aedat4Compression): { file: Uint8Array; events: Ev[] } {
  const xml = buildInfoXml({ width: 346, height: 260, compression }).replace(
    '    </node>\n</dv>',
    '        <node name="1" path="/x/1/">\n            <attr key="typeIdentifier" type="string">IMUS</attr>\n        </node>\n    </node>\n</dv>',
  );
  const pack = (raw: Uint8Array): Uint8Array => (compression === 'none' ? raw : lz4napiFrame(raw));
  const a = syntheticEvents(300, 1_600_000_000_000_000, 3);
  const b = syntheticEvents(37, a.t[299]! + 5, 4);
  const empty = encodeEventPacket(new Float64Array(0), new Uint16Array(0), new Uint16Array(0), new Uint8Array(0), 0, 0);
  const padded = concatBytes(encodeEventPacket(b.t, b.x, b.y, b.p, 0, 37), new Uint8Array(3)); // trailing bytes: odd size
  const packets: Array<[number, Uint8Array]> = [
    [0, pack(encodeEventPacket(a.t, a.x, a.y, a.p, 0, 120))],
    [1, new Uint8Array(5)], // another stream, 5 bytes: every later payload shifts by 5 (mod 8)
    [0, pack(empty)],
    [0, pack(encodeEventPacket(a.t, a.x, a.y, a.p, 120, 300))],
    [0, pack(padded)],
    [0, pack(empty)],
  ];
  const parts: Uint8Array[] = [VERSION_LINE_BYTES, buildIoHeader(compression, -1, xml)];
  for (const [id, payload] of packets) {
    const h = new Uint8Array(8);
    new DataView(h.buffer).setInt32(0, id, true);
    new DataView(h.buffer).setInt32(4, payload.length, true);
    parts.push(h, payload);
  }
  const events = [...flat([a]), ...flat([b])];
  return { file: concatBytes(...parts), events };
}

/** Push `chunks` (each copied to a buffer at byte offset `shift`), pooled or not; returns the events. */
function decodePieces(chunks: Uint8Array[], shift: number, pooled: boolean): Ev[] {
  const arena = pooled ? new EventArena() : undefined;
  const got: EventBatch[] = [];
  const d = new Aedat4Decoder({ batch: (b) => got.push(pooled ? copy(b) : b) }, { source: 'crafted', strict: true, arena });
  for (const c of chunks) {
    const host = new Uint8Array(c.length + shift);
    host.set(c, shift);
    d.push(host.subarray(shift));
    arena?.reset();
  }
  d.end();
  return flat(got);
}

for (const compression of ['none', 'lz4'] as const) {
  test(`decoder (${compression}): split at every byte, at every alignment, pooled or not, the same events`, () => {
    const { file, events } = craftedFile(compression);
    assert.deepEqual(decodePieces([file], 0, false), events);
    for (let k = 0; k <= file.length; k++) {
      const parts = [file.subarray(0, k), file.subarray(k)];
      const shift = k % 8;
      assert.deepEqual(decodePieces(parts, shift, k % 2 === 1), events, `split at ${k}, shift ${shift}`);
    }
    for (const size of [1, 3, 7, 8, 13, 64]) assert.deepEqual(decodePieces(Array.from({ length: Math.ceil(file.length / size) }, (_, i) => file.subarray(i * size, (i + 1) * size)), size % 8, true), events, `chunks of ${size}`);
  });
}

/** readEventFile's events (copied) and info, for the given options. */
async function readAll(path: string, opts: Parameters<typeof readEventFile>[2]): Promise<{ events: Ev[]; info: unknown }> {
  const got: EventBatch[] = [];
  const info = await readEventFile(path, (b) => void got.push(copy(b)), opts);
  return { events: flat(got), info };
}

test('readEventFile: pooled batches and phase-shifted reused read buffers give the same events and info as fresh ones', async () => {
  const paths: string[] = [];
  for (const compression of ['none', 'lz4'] as const) {
    const { file } = craftedFile(compression);
    const p = join(dir, `crafted-${compression}.aedat4`);
    writeFileSync(p, file);
    paths.push(p);
  }
  const ev = syntheticEvents(50_000);
  const big = join(dir, 'synthetic.aedat4');
  writeFileSync(big, await encodeAedat4([ev], { width: 346, height: 260, compression: 'none', maxPacketEvents: 777 }));
  paths.push(big);
  const sample = sharedRecording('dvs-lz4-sample.aedat4');
  if (sample) paths.push(sample);
  for (const [k, path] of paths.entries()) {
    const want = await readAll(path, { chunkSize: 1 << 20 });
    for (const chunkSize of k < 2 ? [1, 5, 4093] : [4093, 65536, 1 << 20]) // byte-sized reads on the small files only
      for (const reuseBatches of [false, true]) {
        const got = await readAll(path, { chunkSize, reuseBatches });
        assert.deepEqual(got.events, want.events, `${path}: chunks of ${chunkSize}, pooled ${reuseBatches}`);
        assert.deepEqual(got.info, want.info);
      }
  }
});

/** EventStats' per-event reduction as it was before the fast path (the reference). */
function referenceStats(batches: readonly EventBatch[]) {
  let t0 = NaN;
  let xyp = 0;
  let dt = 0;
  let prev = -Infinity;
  let nonMono = 0;
  let on = 0;
  let tMin = Infinity;
  let tMax = -Infinity;
  let xMin = Infinity;
  let xMax = -1;
  let yMin = Infinity;
  let yMax = -1;
  for (const b of batches)
    for (let i = 0; i < b.length; i++) {
      const t = b.t[i]!;
      if (Number.isNaN(t0)) t0 = t;
      on += b.p[i]!;
      if (t < prev) nonMono++;
      if (t < tMin) tMin = t;
      if (t > tMax) tMax = t;
      prev = t;
      xMin = Math.min(xMin, b.x[i]!);
      xMax = Math.max(xMax, b.x[i]!);
      yMin = Math.min(yMin, b.y[i]!);
      yMax = Math.max(yMax, b.y[i]!);
      xyp = (xyp + b.x[i]! + 1000 * b.y[i]! + 1_000_000 * b.p[i]!) % 4294967296;
      dt = (dt + ((t - t0) % 4294967296)) % 4294967296;
    }
  return { on, nonMono, tMin, tMax, xMin, xMax, yMin, yMax, xyp, dt, last: prev };
}

function statsOf(batches: readonly EventBatch[]) {
  const s = new EventStats();
  for (const b of batches) s.add(b);
  return { on: s.on, nonMono: s.nonMonotonic, tMin: s.tMinUs, tMax: s.tMaxUs, xMin: s.xMin, xMax: s.xMax, yMin: s.yMin, yMax: s.yMax, xyp: s.xypChecksum, dt: s.dtChecksum, last: s.tLastUs };
}

const batchOf = (t: number[], seed = 1): EventBatch => {
  const e = syntheticEvents(t.length, 0, seed);
  return { ...e, t: Float64Array.from(t), p: e.p.map((v, i) => (i % 5 === 0 ? 7 : v)) };
};

test('EventStats: block sums equal the per-event reduction, and the exact path takes over where they would not', () => {
  const T = 1_600_000_000_000_000;
  const cases: Record<string, EventBatch[]> = {
    'in order': [batchOf([T, T + 1, T + 1, T + 9]), batchOf([T + 10, T + 4e9, T + 4.2e9], 2)],
    'out of order inside and across batches': [batchOf([T + 5, T + 7, T + 6]), batchOf([T + 6, T + 100, T + 50], 2)],
    'before the first event (negative offsets)': [batchOf([T, T - 3, T + 2]), batchOf([T - 10, T + 1], 2)],
    'offsets of 2^32 and beyond': [batchOf([T, T + 2 ** 32 - 1]), batchOf([T + 2 ** 32, T + 2 ** 40 + 3], 2), batchOf([T + 5], 3)],
    'non-integer times': [batchOf([0.5, 1.25, 2]), batchOf([3.75, 1e9 + 0.5], 2)],
    'NaN and infinite times': [batchOf([T, NaN, T + 1]), batchOf([Infinity, T + 3, -Infinity], 2)],
    'first batch empty': [batchOf([]), batchOf([T, T + 3])],
  };
  for (const [name, batches] of Object.entries(cases)) assert.deepEqual(statsOf(batches), referenceStats(batches), name);
  // More than one block of sums (2^20 events) in one batch, with wide coordinates and polarity bytes.
  const n = (1 << 20) + 3;
  const t = new Float64Array(n);
  for (let i = 0; i < n; i++) t[i] = T + i * 4093;
  const x = Uint16Array.from({ length: n }, (_, i) => (i * 7919) & 0xffff);
  const y = Uint16Array.from({ length: n }, (_, i) => (i * 104729) & 0xffff);
  const p = Uint8Array.from({ length: n }, (_, i) => (i % 3 === 0 ? 255 : i & 1));
  const big: EventBatch = { t, x, y, p, length: n, width: 65536, height: 65536 };
  assert.deepEqual(statsOf([big]), referenceStats([big]), 'two blocks');
});
