/**
 * EVT 3.0 writer: the words it emits (checked against hand-built words), vectorisation, the 24-bit wrap and
 * the time offset, its refusals, and round trips writer -> reader and reader -> writer -> reader on random
 * event sets and on every shared recording (Prophesee EVT 3 and the DAVIS files through readEventFile).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Evt3Writer, encodeEvt3 } from '../src/events/prophesee/evt3-writer.js';
import { makePropheseeDecoder } from '../src/events/prophesee/index.js';
import { readEventFile } from '../src/events/read-file.js';
import { detectFormat } from '../src/events/detect.js';
import { concatBatches, type EventBatch } from '../src/events/types.js';
import type { DecoderSink } from '../src/events/decoder.js';
import { Rng } from '../src/sim/prng.js';
import { decodeInChunks } from './helpers/event-facts.js';
import { sharedRecording } from './helpers/shared.js';
import { assertSameEvents } from './helpers/aedat4-helpers.js';
import { addrX, addrY, evt3File, evt3HeaderLines, evt3Words, extTrigger, timeHigh, timeLow, vect12, vect8, vectBase } from './helpers/evt3-words.js';

const dir = mkdtempSync(join(tmpdir(), 'evstream-evt3-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const make = (sink: DecoderSink) => makePropheseeDecoder('evt3', sink, { source: 'written.raw', strict: true });
const decode = (bytes: Uint8Array, chunk = 4096) => decodeInChunks(make, bytes, chunk);

/** A batch from [t, x, y, p] rows. */
function batch(rows: ReadonlyArray<readonly [number, number, number, number]>, width = 640, height = 480): EventBatch {
  const n = rows.length;
  const b = { t: new Float64Array(n), x: new Uint16Array(n), y: new Uint16Array(n), p: new Uint8Array(n), length: n, width, height };
  rows.forEach(([t, x, y, p], i) => {
    b.t[i] = t;
    b.x[i] = x;
    b.y[i] = y;
    b.p[i] = p;
  });
  return b;
}

const T = (high: number, low = 0) => high * 4096 + low;
const L = 2 ** 24;

test('header: evt 3.0, the OpenEB format line, geometry, `% end`; detected as EVT 3.0 with the stated size', () => {
  const bytes = encodeEvt3([batch([[T(5, 7), 3, 10, 1]])], { width: 640, height: 480 });
  assert.deepEqual(evt3HeaderLines(bytes), ['% evt 3.0', '% format EVT3;height=480;width=640', '% geometry 640x480', '% end']);
  assert.equal(detectFormat(bytes), 'evt3');
  const d = decode(bytes);
  assert.deepEqual([d.info.width, d.info.height, d.info.sizeFrom], [640, 480, 'header']);
  // An empty recording is a header alone and reads back as no events.
  const empty = encodeEvt3([], { width: 320, height: 320 });
  assert.equal(decode(empty).all.length, 0);
});

test('single events: TIME_HIGH, TIME_LOW, EVT_ADDR_Y, EVT_ADDR_X; state words only when they change', () => {
  const bytes = encodeEvt3(
    [
      batch([
        [T(5, 7), 3, 10, 1],
        [T(5, 7), 9, 10, 0], // same t and y: one word
        [T(5, 8), 9, 11, 0],
        [T(6, 8), 1, 11, 1], // next 4096 µs step: TIME_HIGH resets t[11:0] to 0, so TIME_LOW 8 again
      ]),
    ],
    { width: 640, height: 480 },
  );
  assert.deepEqual(evt3Words(bytes), [
    timeHigh(5), timeLow(7), addrY(10), addrX(3, 1),
    addrX(9, 0),
    timeLow(8), addrY(11), addrX(9, 0),
    timeHigh(6), timeLow(8), addrX(1, 1),
  ]);
});

test('vectors: 4+ input-consecutive events with one t, y, polarity and rising x within 32 columns', () => {
  const t = T(2, 9);
  const run = [100, 101, 105, 120, 131].map((x) => [t, x, 40, 1] as const);
  const bytes = encodeEvt3([batch([...run, [t, 50, 40, 1], [t, 40, 40, 1], [t, 41, 40, 0]])], { width: 640, height: 480 });
  assert.deepEqual(evt3Words(bytes), [
    timeHigh(2), timeLow(9), addrY(40),
    vectBase(100, 1), vect12(0b10_0011), vect12(1 << 8), vect8(1 << 7),
    // falling x, then a polarity change: single events, in input order
    addrX(50, 1), addrX(40, 1), addrX(41, 0),
  ]);
  // Three events cost three words as EVT_ADDR_X, four as a new vector: they stay single.
  const three = [7, 8, 9].map((x) => [t, x, 3, 1] as const);
  assert.deepEqual(evt3Words(encodeEvt3([batch(three)], { width: 640, height: 480 })).slice(3), [addrX(7, 1), addrX(8, 1), addrX(9, 1)]);
  // A run continuing past the vector reuses the advanced base (no second VECT_BASE_X); 3 events suffice.
  const long = Array.from({ length: 35 }, (_, i) => [t, 200 + i, 7, 0] as const);
  const w2 = evt3Words(encodeEvt3([batch(long)], { width: 640, height: 480 }));
  assert.deepEqual(w2, [timeHigh(2), timeLow(9), addrY(7), vectBase(200, 0), vect12(0xfff), vect12(0xfff), vect8(0xff), vect12(0b111), vect12(0), vect8(0)]);
  // Near the right edge the base moves left so that base + 32 <= width (OpenEB checks it).
  const edge = [630, 631, 636, 639].map((x) => [t, x, 1, 1] as const);
  const w3 = evt3Words(encodeEvt3([batch(edge)], { width: 640, height: 480 }));
  // base 608: x 630, 631 are bits 10, 11 of the second VECT_12; 636, 639 bits 4, 7 of the VECT_8.
  assert.deepEqual(w3.slice(3), [vectBase(608, 1), vect12(0), vect12((1 << 10) | (1 << 11)), vect8((1 << 4) | (1 << 7))]);
});

test('TIME_HIGH at every 4096 µs step, wrapping 4095 -> 0; long silences jump one loop per 4095 -> 0 pair', () => {
  const rows: Array<[number, number, number, number]> = [
    [L - 4096 * 2 + 5, 1, 1, 1], // TIME_HIGH 4094
    [L + 3, 2, 1, 1], // TIME_HIGH 4095, 0
    [L + 3 * L + T(17, 1), 3, 1, 1], // 3 loops later: 4095, 0 (x3), then 17
  ];
  const bytes = encodeEvt3([batch(rows)], { width: 640, height: 480 });
  const highs = evt3Words(bytes).filter((w) => w >>> 12 === 0x8).map((w) => w & 0xfff);
  assert.deepEqual(highs, [4094, 4095, 0, 4095, 0, 4095, 0, 4095, 0, 17]);
  assert.deepEqual(Array.from(decode(bytes).all.t), rows.map((r) => r[0]));
});

test('absolute times beyond 2^24 µs: whole loops go to `% t_offset`, and every t comes back exactly', () => {
  const t0 = 1_605_537_493_718_345; // an AEDAT 4 epoch time (README)
  const rows: Array<[number, number, number, number]> = [
    [t0, 1, 2, 1],
    [t0 + 1, 1, 2, 0],
    [t0 + 20_000_000, 5, 6, 1], // crosses a loop
  ];
  const bytes = encodeEvt3([batch(rows)], { width: 640, height: 480 });
  const offset = Math.floor(t0 / L) * L;
  assert.ok(evt3HeaderLines(bytes).includes(`% t_offset ${offset}`));
  assert.deepEqual(Array.from(decode(bytes).all.t), rows.map((r) => r[0]));
});

test('small steps back in time (real recordings have them) are written exactly, within a TIME_HIGH step and across steps', () => {
  const L = 2 ** 24;
  const rows: Array<[number, number, number, number]> = [
    [1000, 1, 1, 1],
    [9000, 2, 1, 0],
    [5000, 3, 2, 1], // back 4000 µs: a lower TIME_HIGH
    [5001, 4, 2, 1],
    [4990, 5, 2, 0], // back within one 4096 µs step: a lower TIME_LOW
    [4_000_000, 6, 3, 1],
    [3_990_000, 7, 3, 0],
    [L - 100, 8, 4, 1],
    [L + 200, 9, 4, 0], // forward across the 24-bit loop
    [L + 199, 10, 4, 1], // and back inside the new loop
  ];
  const bytes = encodeEvt3([batch(rows)], { width: 640, height: 480 });
  const got = decode(bytes).all;
  assert.deepEqual(Array.from(got.t), rows.map((r) => r[0]));
  assert.deepEqual(Array.from(got.x), rows.map((r) => r[1]));
});

test('the writer refuses what EVT 3.0 cannot hold exactly: big steps back, fractional times, events outside the sensor', () => {
  const opts = { width: 640, height: 480 };
  assert.throws(() => encodeEvt3([batch([[9_600_000, 1, 1, 1], [1_000_000, 1, 1, 1]])], opts), /event 1 has t = 1000000/, '8.6 s back: more than half the TIME_HIGH range');
  assert.throws(() => encodeEvt3([batch([[2 ** 24 + 10, 1, 1, 1], [2 ** 24 - 10, 1, 1, 1]])], opts), /event 1 has t = 16777206/, 'back across a 24-bit loop');
  assert.throws(() => encodeEvt3([batch([[10.5, 1, 1, 1]])], opts), RangeError);
  assert.throws(() => encodeEvt3([batch([[10, 640, 1, 1]])], opts), /outside the 640 x 480/);
  assert.throws(() => encodeEvt3([batch([[10, 1, 480, 1]])], opts), RangeError);
  assert.throws(() => encodeEvt3([], { width: 4096, height: 480 }), /1\.\.2048/);
});

/** Random events: sparse ones, bursts that vectorise, same-t/same-y runs in any x order, gaps and loops. */
function randomEvents(seed: number, n: number, width: number, height: number, t0: number): EventBatch {
  const rng = new Rng(seed);
  const rows: Array<[number, number, number, number]> = [];
  let t = t0;
  while (rows.length < n) {
    const kind = rng.next();
    if (kind < 0.4) {
      rows.push([t, rng.int(width), rng.int(height), rng.int(2)]);
    } else if (kind < 0.8) {
      // A burst on one row: rising x with holes, one polarity, sometimes long enough to continue a vector.
      const y = rng.int(height);
      const p = rng.int(2);
      let x = rng.int(width);
      const len = 1 + rng.int(70);
      for (let k = 0; k < len && x < width; k++, x += 1 + (rng.chance(0.3) ? rng.int(4) : 0)) rows.push([t, x, y, p]);
    } else {
      // Same t and y, x in random order and repeats, mixed polarity: must come back in input order.
      const y = rng.int(height);
      const x = rng.int(width - 8);
      for (let k = 0; k < 6; k++) rows.push([t, x + rng.int(8), y, rng.chance(0.8) ? 1 : 0]);
    }
    const step = rng.next();
    if (step < 0.5) t += rng.int(3);
    else if (step < 0.98) t += rng.int(9000);
    else t += rng.int(40 * L); // a long silence, several 24-bit loops
  }
  return batch(rows.slice(0, n), width, height);
}

/** Split a batch at random points (the writer must not care where batches end). */
function split(b: EventBatch, seed: number): EventBatch[] {
  const rng = new Rng(seed);
  const out: EventBatch[] = [];
  for (let i = 0; i < b.length; ) {
    const j = Math.min(b.length, i + 1 + rng.int(500));
    out.push({ t: b.t.subarray(i, j), x: b.x.subarray(i, j), y: b.y.subarray(i, j), p: b.p.subarray(i, j), length: j - i, width: b.width, height: b.height });
    i = j;
  }
  return out;
}

test('writer -> reader: random event sets (bursts, repeats, loops, absolute times) come back exactly, in order', () => {
  const cases = [
    { seed: 1, width: 1280, height: 720, t0: 0 },
    { seed: 2, width: 640, height: 480, t0: 123_456 },
    { seed: 3, width: 346, height: 260, t0: 1_600_000_000_000_000 },
    { seed: 4, width: 20, height: 20, t0: L - 50 }, // narrower than a vector: single events only
  ];
  for (const c of cases) {
    const events = randomEvents(c.seed, 5000, c.width, c.height, c.t0);
    const bytes = encodeEvt3(split(events, c.seed), { width: c.width, height: c.height });
    const words = evt3Words(bytes);
    const vectors = words.filter((w) => w >>> 12 === 0x4).length;
    if (c.width >= 32) assert.ok(vectors > 100, `seed ${c.seed}: the bursts vectorise (${vectors} VECT_12)`);
    else assert.equal(vectors, 0);
    for (const chunk of [7, bytes.length]) {
      const d = decode(bytes, chunk);
      assert.equal(assertSameEvents([events], [d.all]), undefined, `seed ${c.seed} chunk ${chunk}`);
      assert.deepEqual(d.info.skipped, {});
    }
  }
});

test('reader -> writer -> reader: hand-built words with vectors, triggers and a wrap give the same events back', () => {
  const words: number[] = [timeHigh(4090)];
  for (let k = 0; k < 400; k++) {
    words.push(timeHigh((4090 + (k >> 5)) % 4096), timeLow((k % 32) * 120), addrY((k * 7) % 480), vectBase((k * 13) % 600, k & 1));
    words.push(vect12(k * 11), vect12(k * 7 + 1), vect8(k), addrX((k * 29) % 640, (k >> 1) & 1), extTrigger(k & 1, 1));
  }
  const first = decode(evt3File(words, ['% evt 3.0', '% geometry 640x480', '% end']));
  assert.ok(first.all.length > 2000);
  assert.equal(first.info.skipped['trigger'], 400);
  const again = decode(encodeEvt3(first.batches, { width: 640, height: 480 }), 5);
  assert.equal(assertSameEvents([first.all], [again.all]), undefined);
});

/**
 * The rules OpenEB's HAL decoder and its grammar validator apply (evt3_decoder.h, evt3_validator.h), checked
 * word by word: the first word is a TIME_HIGH; vectors are VECT_12, VECT_12, VECT_8 triples after a
 * VECT_BASE_X with base + 32 <= width; no CD word before an EVT_ADDR_Y; TIME_HIGH moves by 0 or 1 step
 * (4095 -> 0 at a wrap) except across silences longer than a loop. Returns the first violation.
 */
function openEbViolation(words: readonly number[], width: number): string | undefined {
  if (words.length && words[0]! >>> 12 !== 0x8) return 'first word is not TIME_HIGH';
  let base = -1;
  let haveY = false;
  let high = words.length ? words[0]! & 0xfff : 0;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const type = w >>> 12;
    if (type === 0x0) haveY = true;
    else if (type === 0x3) base = w & 0x7ff;
    else if (type === 0x2 && !haveY) return `ADDR_X before ADDR_Y at word ${i}`;
    else if (type === 0x4) {
      if (words[i + 1]! >>> 12 !== 0x4 || words[i + 2]! >>> 12 !== 0x5) return `partial 12-12-8 vector at word ${i}`;
      if (base < 0 || base + 32 > width || !haveY) return `vector base ${base} invalid at word ${i}`;
      base += 32;
      i += 2;
    } else if (type === 0x5) return `lone VECT_8 at word ${i}`;
    else if (type === 0x8) {
      const h = w & 0xfff;
      const step = (h - high + 4096) % 4096;
      // Jumps only in a long silence: straight to 4095, and from the 0 of a 4095 -> 0 pair to the target.
      const silence = h === 4095 || (high === 0 && i > 0 && words[i - 1]! >>> 12 === 0x8);
      if (step > 1 && !silence) return `TIME_HIGH ${high} -> ${h} at word ${i}`;
      high = h;
    }
  }
  return undefined;
}

test('written words follow the EVT 3.0 grammar OpenEB checks grammar (triples, valid base, rows before columns, continuous TIME_HIGH)', () => {
  for (const [seed, width, height] of [[11, 1280, 720], [12, 346, 260], [13, 64, 64]] as const) {
    const events = randomEvents(seed, 4000, width, height, 1_000_000);
    assert.equal(openEbViolation(evt3Words(encodeEvt3([events], { width, height })), width), undefined, `seed ${seed}`);
  }
  // The checker itself rejects what it should.
  assert.match(openEbViolation([timeHigh(1), addrY(0), vectBase(0, 1), vect12(1), vect8(1)], 640)!, /partial/);
  assert.match(openEbViolation([timeHigh(1), addrY(0), vectBase(620, 1), vect12(1), vect12(0), vect8(0)], 640)!, /base 620/);
  assert.match(openEbViolation([timeHigh(1), timeLow(3), timeHigh(5)], 640)!, /1 -> 5/);
});

/** Every shared recording the readers can open, with the size readEventFile reports. */
const RECORDINGS = [
  'prophesee/evt3-pedestrians.raw',
  'davis240-translboxes.aedat',
  'davis240-translboxes.aedat3',
  'davis240-translboxes.ddd17.hdf5',
  'dvs-lz4-sample.aedat4',
  'overflow-test.aedat3',
];

for (const name of RECORDINGS) {
  const path = sharedRecording(name);
  test(`round trip of ${name} through Evt3Writer and readEventFile is lossless`, { skip: path === undefined ? 'shared recording absent' : false }, async () => {
    const original: EventBatch[] = [];
    const info = await readEventFile(path!, (b) => void original.push(b), { maxGapUs: 0 });
    const out = join(dir, name.replace(/\W/g, '_') + '.raw');
    const w = await Evt3Writer.open(out, { width: info.width, height: info.height });
    for (const b of original) await w.write(b);
    await w.close();
    const back: EventBatch[] = [];
    const info2 = await readEventFile(out, (b) => void back.push(b), { maxGapUs: 0, strict: true, chunkSize: 4099 });
    assert.equal(info2.format, 'evt3');
    assert.deepEqual([info2.width, info2.height], [info.width, info.height]);
    assert.deepEqual(info2.skipped, {});
    const all = concatBatches(original);
    assert.ok(all.length > 0);
    assert.equal(w.eventCount, all.length);
    assert.equal(assertSameEvents([all], back), undefined);
  });
}

test('Evt3Writer.flush makes what was written so far a readable file (a live recording cut off later)', async () => {
  const path = join(dir, 'live.raw');
  const events = randomEvents(9, 3000, 640, 480, 5_000_000);
  const w = await Evt3Writer.open(path, { width: 640, height: 480 });
  const parts = split(events, 9);
  const half = Math.floor(parts.length / 2);
  let written = 0;
  for (const b of parts.slice(0, half)) {
    await w.write(b);
    written += b.length;
  }
  await w.flush();
  const prefix = decode(new Uint8Array(readFileSync(path)), 1000);
  assert.equal(prefix.all.length, written);
  assert.deepEqual(prefix.warnings, []);
  for (const b of parts.slice(half)) await w.write(b);
  await w.close();
  assert.equal(assertSameEvents([events], [decode(new Uint8Array(readFileSync(path))).all]), undefined);
  await assert.rejects(() => w.write(parts[0]!), /after close/);
});
