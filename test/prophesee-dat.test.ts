import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { makePropheseeDecoder, type PropheseeDecoderOptions } from '../src/events/prophesee/index.js';
import { EventFormatError, type FormatWarning } from '../src/events/errors.js';
import { readEventFile } from '../src/events/read-file.js';
import { concatBatches, type EventBatch } from '../src/events/types.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import { decodeInChunks, factsOf } from './helpers/event-facts.js';
import { datData, datFile, propheseeHeader, synthDat, synthEvents } from './helpers/prophesee-bytes.js';

const decode = (data: Uint8Array, chunk: number, opts: Partial<PropheseeDecoderOptions> = {}) =>
  decodeInChunks((sink) => makePropheseeDecoder('dat', sink, { source: 'test.dat', ...opts }), data, chunk);

const tuples = (b: EventBatch) => Array.from({ length: b.length }, (_, i) => [b.t[i], b.x[i], b.y[i], b.p[i]]);

const ncars = sharedRecording('prophesee/ncars-car.dat');
// README: prophesee/ncars-car.dat
const NCARS = {
  n: 4407, on: 1671, off: 2736, first: 0, last: 99937, xyp: 1805302033, dt: 239318661,
  win: [[637, 1249], [1034, 1487], [0, 0], [0, 0], [0, 0]],
};
const DEFAULT_HEAD = propheseeHeader(['% Data file containing Event2D events.', '% Version 2']).length;

test('DAT ncars: README facts; no size in the header: max + 1 (54 x 61) with one guessed-size warning', { skip: skipUnless(ncars) }, () => {
  const { all, info, warnings } = decode(readFileSync(ncars!), 4096);
  assert.deepEqual(factsOf(all), NCARS);
  assert.deepEqual([info.format, info.width, info.height, info.sizeFrom], ['dat', 54, 61, 'max+1']);
  assert.deepEqual(info.skipped, {});
  assert.equal(info.header?.['headerBytes'], 91);
  assert.equal(info.header?.['eventSize'], 8);
  assert.deepEqual(warnings.map((w) => w.kind), ['guessed-size']);
  let xMin = Infinity;
  let yMin = Infinity;
  for (let i = 0; i < all.length; i++) {
    xMin = Math.min(xMin, all.x[i]!);
    yMin = Math.min(yMin, all.y[i]!);
  }
  assert.deepEqual([xMin, yMin], [0, 1]); // README: x 0..53, y 1..60
});

test('DAT ncars: --sensor 304x240 sets the size (sizeFrom option) and silences the warning', { skip: skipUnless(ncars) }, () => {
  const { all, info, warnings } = decode(readFileSync(ncars!), 1000, { sensorSize: { width: 304, height: 240 } });
  assert.deepEqual(factsOf(all), NCARS);
  assert.deepEqual([info.width, info.height, info.sizeFrom], [304, 240, 'option']);
  assert.deepEqual(warnings, []);
});

test('DAT ncars through readEventFile (default time guard): README facts', { skip: skipUnless(ncars) }, async () => {
  const batches: EventBatch[] = [];
  const warnings: FormatWarning[] = [];
  const info = await readEventFile(ncars!, (b) => void batches.push(b), { onWarning: (w) => warnings.push(w) });
  assert.deepEqual(factsOf(concatBatches(batches)), NCARS);
  assert.deepEqual([info.format, info.width, info.height, info.sizeFrom, info.outliers], ['dat', 54, 61, 'max+1', 0]);
  assert.deepEqual(warnings.map((w) => w.kind), ['guessed-size']);
});

test('DAT ncars: identical batches and info for chunk sizes 1, 3, 7, 4096 and the whole file', { skip: skipUnless(ncars) }, () => {
  const data = readFileSync(ncars!);
  const whole = decode(data, data.length);
  for (const chunk of [1, 3, 7, 4096]) {
    const r = decode(data, chunk);
    // Without a stated size each batch carries the largest coordinates seen so far (+1): that depends on
    // where batches end; the events and the final info do not.
    const sized = (d: typeof r) => concatBatches(d.batches, d.info.width, d.info.height);
    assert.deepEqual(sized(r), sized(whole), `chunk ${chunk}`);
    assert.deepEqual(r.info, whole.info, `chunk ${chunk}`);
    assert.deepEqual(r.warnings, whole.warnings, `chunk ${chunk}`);
  }
});

test('DAT: a file built from the format definition decodes to its events; % Width / % Height give the size', () => {
  const ev = synthEvents(3000, { width: 304, height: 240, rateMev: 0.01, t0: 5, seed: 3 });
  const data = synthDat(ev, ['% Data file containing Event2D events.', '% Width 304', '% Height 240']);
  const whole = decode(data, data.length);
  assert.deepEqual([whole.all.t, whole.all.x, whole.all.y, whole.all.p], [ev.t, ev.x, ev.y, ev.p]);
  assert.deepEqual([whole.info.width, whole.info.height, whole.info.sizeFrom], [304, 240, 'header']);
  for (const chunk of [1, 3, 7, 4096]) assert.deepEqual(decode(data, chunk).all, whole.all, `chunk ${chunk}`);
});

test('DAT: x bits 0..13, y bits 14..27, p = 1 for any non-zero polarity field; event type 0x0C accepted', () => {
  const records: Array<[number, number]> = [
    [10, datData(16383, 0, 0)],
    [11, datData(0, 16383, 1)],
    [12, datData(5, 6, 0xf)],
    [13, datData(7, 8, 2)],
  ];
  for (const eventType of [0, 0x0c]) {
    const { all } = decode(datFile(records, { eventType }), 5);
    assert.deepEqual(tuples(all), [[10, 16383, 0, 0], [11, 0, 16383, 1], [12, 5, 6, 1], [13, 7, 8, 1]]);
  }
});

test('DAT: 32-bit timestamps unwrap only on a real wrap (AEDAT 2 rule)', () => {
  const T = 2 ** 32;
  const rec = (ts: number[]) => ts.map((t, i): [number, number] => [t, datData(i, 0, 1)]);
  const times = (ts: number[]) => Array.from(decode(datFile(rec(ts)), 3).all.t);
  // A real wrap: +2^32 from there on, counted.
  assert.deepEqual(times([T - 300, T - 100, 10, 20]), [T - 300, T - 100, T + 10, T + 20]);
  assert.equal(decode(datFile(rec([T - 300, T - 100, 10])), 8).info.header?.['timestampWraps'], 1);
  // A stray high value is reached by a huge step: the values after it are not a wrap.
  assert.deepEqual(times([1000, 2000, T - 1, 3000]), [1000, 2000, T - 1, 3000]);
  // A stray low value near the top: the immediate jump back up undoes the wrap (only the stray keeps +2^32).
  assert.deepEqual(times([T - 7000, T - 6000, 5, T - 5000]), [T - 7000, T - 6000, T + 5, T - 5000]);
  // The first record has no plausible predecessor: a drop after it is not a wrap.
  assert.deepEqual(times([T - 1, 7]), [T - 1, 7]);
});

test('DAT: the event type / size preamble: truncated is a warning (strict: error); a wrong size or type is unsupported, naming the byte', () => {
  const head = propheseeHeader(['% Data file containing Event2D events.', '% Version 2']);
  const one = new Uint8Array(head.length + 1);
  one.set(head);
  const r = decode(one, 1);
  assert.equal(r.all.length, 0);
  assert.deepEqual(r.warnings.map((w) => [w.kind, w.offset]), [['truncated', head.length]]);
  assert.throws(() => decode(one, 4, { strict: true }), (e: unknown) => e instanceof EventFormatError && e.kind === 'truncated' && e.offset === head.length);

  const rec: Array<[number, number]> = [[1, datData(1, 1, 1)]];
  assert.throws(
    () => decode(datFile(rec, { eventSize: 12 }), 3),
    (e: unknown) => e instanceof EventFormatError && e.kind === 'unsupported' && e.offset === DEFAULT_HEAD + 1 && /size 12/.test(e.message),
  );
  assert.throws(
    () => decode(datFile(rec, { eventType: 0x0e }), 3),
    (e: unknown) => e instanceof EventFormatError && e.kind === 'unsupported' && e.offset === DEFAULT_HEAD,
  );
});

test('DAT: a trailing partial record is a warning naming its offset; out-of-range records are counted', () => {
  const full = datFile([[1, datData(31, 15, 1)], [2, datData(32, 0, 0)], [3, datData(0, 16, 0)], [4, datData(2, 3, 0)]], {
    headerLines: ['% Data file containing Event2D events.', '% Width 32', '% Height 16'],
  });
  const data = new Uint8Array(full.length + 5);
  data.set(full);
  const { all, info, warnings } = decode(data, 6);
  assert.deepEqual(tuples(all), [[1, 31, 15, 1], [4, 2, 3, 0]]);
  assert.deepEqual(info.skipped, { outOfRange: 2 });
  assert.deepEqual(warnings.map((w) => [w.kind, w.offset]), [['truncated', full.length]]);
});
