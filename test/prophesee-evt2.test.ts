import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { makePropheseeDecoder, type PropheseeDecoderOptions, type PropheseeFormat } from '../src/events/prophesee/index.js';
import { EventFormatError, type FormatWarning } from '../src/events/errors.js';
import { readEventFile } from '../src/events/read-file.js';
import { concatBatches, type EventBatch } from '../src/events/types.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import { decodeInChunks, factsOf } from './helpers/event-facts.js';
import {
  EVT2, evt21Cd, evt21File, evt2Cd, evt2File, evt2TimeHigh, evt2Word, propheseeHeader, synthEvents, synthEvt2, synthEvt21, type SynthEvents,
} from './helpers/prophesee-bytes.js';

const decode = (format: PropheseeFormat, data: Uint8Array, chunk: number, opts: Partial<PropheseeDecoderOptions> = {}) =>
  decodeInChunks((sink) => makePropheseeDecoder(format, sink, { source: 'test.raw', ...opts }), data, chunk);

/** Events as [t, x, y, p] tuples (small hand-built cases). */
const tuples = (b: EventBatch) => Array.from({ length: b.length }, (_, i) => [b.t[i], b.x[i], b.y[i], b.p[i]]);

const sparklers = sharedRecording('prophesee/evt2-sparklers.raw');
// README: prophesee/evt2-sparklers.raw
const SPARKLERS = {
  n: 521252, on: 185861, off: 335391, first: 913716224, last: 913812095, xyp: 2904701425, dt: 210628041,
  win: [[124237, 231739], [61624, 103652], [0, 0], [0, 0], [0, 0]],
};

test('EVT 2.0 sparklers: README facts, geometry from the Gen3 plugin', { skip: skipUnless(sparklers) }, () => {
  const { all, info, warnings } = decode('evt2', readFileSync(sparklers!), 1 << 16);
  assert.deepEqual(warnings, []);
  assert.deepEqual(factsOf(all), SPARKLERS);
  assert.equal(info.format, 'evt2');
  assert.deepEqual([info.width, info.height, info.sizeFrom], [640, 480, 'plugin']);
  assert.deepEqual(info.skipped, {}); // README word types: 0x0, 0x1, 0x8 only
  assert.equal(info.header?.['headerBytes'], 166);
  assert.equal(info.header?.['headerLines'], 7);
  let xMax = 0;
  let yMax = 0;
  for (let i = 0; i < all.length; i++) {
    xMax = Math.max(xMax, all.x[i]!);
    yMax = Math.max(yMax, all.y[i]!);
    if (i > 0) assert.ok(all.t[i]! >= all.t[i - 1]!, 'README: timestamp decreases 0');
  }
  assert.deepEqual([xMax, yMax], [639, 479]);
});

test('EVT 2.0 sparklers through readEventFile (default time guard): README facts, nothing dropped', { skip: skipUnless(sparklers) }, async () => {
  const batches: EventBatch[] = [];
  const warnings: FormatWarning[] = [];
  const info = await readEventFile(sparklers!, (b) => void batches.push(b), { onWarning: (w) => warnings.push(w) });
  assert.deepEqual(factsOf(concatBatches(batches)), SPARKLERS);
  assert.deepEqual([info.format, info.width, info.height, info.sizeFrom, info.outliers], ['evt2', 640, 480, 'plugin', 0]);
  assert.deepEqual(warnings, []);
});

test('EVT 2.0 sparklers: identical batches and info for chunk sizes 1, 3, 7, 4096 and the whole file', { skip: skipUnless(sparklers) }, () => {
  const file = readFileSync(sparklers!);
  // Tiny chunks make one batch per word, so they run on a prefix (header + 16000 words, a word boundary);
  // 4096 and whole-file chunks on the whole file.
  const prefix = file.subarray(0, 166 + 4 * 16000);
  for (const data of [prefix, file]) {
    const whole = decode('evt2', data, data.length);
    for (const chunk of data === prefix ? [1, 3, 7, 4096] : [4096, 65537]) {
      const r = decode('evt2', data, chunk);
      assert.deepEqual(r.all, whole.all, `chunk ${chunk}`);
      assert.deepEqual(r.info, whole.info, `chunk ${chunk}`);
      assert.deepEqual(r.warnings, []);
    }
  }
});

/** Same events in the same order (t, x, y, p), compared as whole arrays. */
function assertSameEvents(got: EventBatch, want: SynthEvents, label: string): void {
  assert.equal(got.length, want.length, label);
  assert.deepEqual(got.t, want.t, label);
  assert.deepEqual(got.x, want.x, label);
  assert.deepEqual(got.y, want.y, label);
  assert.deepEqual(got.p, want.p, label);
}

test('EVT 2.0 and 2.1 (both word orders): files built from the format definition decode to their events for any chunking', () => {
  // t0 near 2^33 so TIME_HIGH uses its top bits; the builders emit TIME_HIGH on every change of t[33:6].
  const ev = synthEvents(6000, { width: 1280, height: 720, rateMev: 0.5, t0: 2 ** 33 + 12345, seed: 7 });
  const files: Array<[PropheseeFormat, string, Uint8Array]> = [
    ['evt2', 'evt2', synthEvt2(ev)],
    ['evt2.1', 'evt2.1 little', synthEvt21(ev, 'little')],
    ['evt2.1', 'evt2.1 legacy', synthEvt21(ev, 'legacy')],
  ];
  for (const [format, label, data] of files) {
    const whole = decode(format, data, data.length);
    assertSameEvents(whole.all, ev, label);
    assert.deepEqual([whole.info.width, whole.info.height, whole.info.sizeFrom], [1280, 720, 'header'], label);
    for (const chunk of [1, 3, 7, 4096]) {
      const r = decode(format, data, chunk);
      assert.deepEqual(r.all, whole.all, `${label} chunk ${chunk}`);
      assert.deepEqual(r.info, whole.info, `${label} chunk ${chunk}`);
    }
  }
});

test('EVT 2.0: TIME_HIGH wrap adds 2^34 us only when it goes back by more than half its range', () => {
  const top = 2 ** 28 - 1;
  const data = evt2File([
    evt2TimeHigh(top), evt2Cd(1, 5, 1, 2), // t = top * 64 + 5
    evt2TimeHigh(0), evt2Cd(0, 7, 3, 4), // wrap: 2^34 + 7
    evt2TimeHigh(100), evt2Cd(1, 0, 5, 6), // 2^34 + 6400
    evt2TimeHigh(90), evt2Cd(1, 63, 7, 8), // a small step back is no wrap: 2^34 + 5760 + 63
  ]);
  const { all, info, warnings } = decode('evt2', data, 5);
  assert.deepEqual(tuples(all), [
    [top * 64 + 5, 1, 2, 1],
    [2 ** 34 + 7, 3, 4, 0],
    [2 ** 34 + 6400, 5, 6, 1],
    [2 ** 34 + 5760 + 63, 7, 8, 1],
  ]);
  assert.equal(info.header?.['timestampWraps'], 1);
  assert.equal(warnings.length, 1); // guessed-size only: the header states no size
  assert.equal(warnings[0]!.kind, 'guessed-size');
});

test('EVT 2.0: events before the first TIME_HIGH are dropped and counted (OpenEB); t = (high << 6) | low', () => {
  const data = evt2File([evt2Cd(1, 1, 1, 1), evt2Cd(0, 2, 2, 2), evt2TimeHigh(10), evt2Cd(0, 9, 3, 3)]);
  const { all, info } = decode('evt2', data, 4);
  assert.deepEqual(tuples(all), [[10 * 64 + 9, 3, 3, 0]]);
  assert.deepEqual(info.skipped, { beforeTimeHigh: 2 });
});

test('EVT 2.0: triggers, OTHERS, CONTINUED and unknown types are skipped and counted; strict fails on an unknown type after delivering', () => {
  const words = [
    evt2TimeHigh(1), evt2Cd(1, 0, 10, 20),
    evt2Word(EVT2.EXT_TRIGGER, 1), evt2Word(EVT2.OTHERS, 0x14), evt2Word(EVT2.CONTINUED, 3), evt2Word(EVT2.CONTINUED, 4),
    evt2Word(0x3, 0), evt2Word(0x9, 0), evt2Cd(0, 1, 11, 21),
  ];
  const data = evt2File(words);
  const { all, info } = decode('evt2', data, 3);
  assert.deepEqual(tuples(all), [[64, 10, 20, 1], [65, 11, 21, 0]]);
  assert.deepEqual(info.skipped, { trigger: 1, others: 1, continued: 2, unknownWord: 2 });

  const got: EventBatch[] = [];
  const d = makePropheseeDecoder('evt2', { batch: (b) => got.push(b) }, { source: 'strict.raw', strict: true });
  const head = propheseeHeader(['% evt 2.0']).length;
  assert.throws(() => d.push(data), (e: unknown) => e instanceof EventFormatError && e.kind === 'corrupt-packet' && e.offset === head + 6 * 4 && e.source === 'strict.raw');
  assert.deepEqual(tuples(concatBatches(got)), [[64, 10, 20, 1]], 'the event before the bad word is delivered first');
});

test('EVT 2.0: with a stated geometry, coordinates outside it are skipped and counted', () => {
  const data = evt2File(
    [evt2TimeHigh(0), evt2Cd(1, 0, 16, 0), evt2Cd(1, 1, 15, 7), evt2Cd(0, 2, 0, 8), evt2Cd(0, 3, 2047, 2047)],
    ['% evt 2.0', '% geometry 16x8'],
  );
  const { all, info, warnings } = decode('evt2', data, 7);
  assert.deepEqual(tuples(all), [[1, 15, 7, 1]]);
  assert.deepEqual(info.skipped, { outOfRange: 3 });
  assert.deepEqual([info.width, info.height, info.sizeFrom], [16, 8, 'header']);
  assert.deepEqual(warnings, []);
});

test('EVT 2.0: a trailing partial word is a warning naming its offset (events kept), an error in strict mode', () => {
  const full = evt2File([evt2TimeHigh(2), evt2Cd(1, 3, 4, 5)], ['% evt 2.0', '% geometry 640x480']);
  const data = new Uint8Array(full.length + 3);
  data.set(full);
  data.set([1, 2, 3], full.length);
  for (const chunk of [1, 2, data.length]) {
    const { all, warnings } = decode('evt2', data, chunk);
    assert.deepEqual(tuples(all), [[131, 4, 5, 1]]);
    assert.equal(warnings.length, 1);
    assert.deepEqual([warnings[0]!.kind, warnings[0]!.offset], ['truncated', full.length]);
  }
  const got: EventBatch[] = [];
  const d = makePropheseeDecoder('evt2', { batch: (b) => got.push(b) }, { source: 's.raw', strict: true });
  d.push(data);
  assert.throws(() => d.end(), (e: unknown) => e instanceof EventFormatError && e.kind === 'truncated' && e.offset === full.length);
  assert.equal(concatBatches(got).length, 1);
});

test('EVT 2.1: validity masks (all 32 bits, bit 0, bit 31, zero) in both word orders', () => {
  const words: Array<readonly [number, number]> = [
    [evt2TimeHigh(3), 0],
    [evt21Cd(1, 1, 64, 3), 0xffffffff], // 32 events x 64..95, increasing x
    [evt21Cd(0, 2, 128, 4), 0x1], // x 128
    [evt21Cd(1, 3, 160, 5), 0x80000000], // x 191
    [evt21Cd(0, 4, 192, 6), 0], // nothing
  ];
  const want = [
    ...Array.from({ length: 32 }, (_, i) => [192 + 1, 64 + i, 3, 1]),
    [192 + 2, 128, 4, 0],
    [192 + 3, 191, 5, 1],
  ];
  for (const order of ['little', 'legacy'] as const) {
    const { all, info } = decode('evt2.1', evt21File(words, order), 3);
    assert.deepEqual(tuples(all), want, order);
    assert.deepEqual(info.skipped, {}, order);
  }
  // The order matters: a legacy file read as the default order is not the same stream.
  const misread = decode('evt2.1', evt21File(words, 'legacy', ['% evt 2.1']), 8).all;
  assert.notDeepEqual(tuples(misread), want);
});

test('EVT 2.1: vectors before the first TIME_HIGH, outside the geometry, skipped word types and the TIME_HIGH wrap', () => {
  const top = 2 ** 28 - 1;
  const words: Array<readonly [number, number]> = [
    [evt21Cd(1, 0, 0, 0), 0b1011], // 3 events before any TIME_HIGH
    [evt2TimeHigh(top), 0],
    [evt21Cd(1, 5, 32, 1), 0xffffffff], // geometry 48 wide: x 32..47 kept, 48..63 out
    [evt21Cd(0, 6, 0, 16), 0x3], // y 16 >= 16: both out
    [evt2Word(EVT2.EXT_TRIGGER, 0), 0],
    [evt2Word(EVT2.OTHERS, 0), 0x1234],
    [evt2Word(EVT2.CONTINUED, 0), 0],
    [evt2Word(0x4, 0), 0],
    [evt2TimeHigh(1), 0], // wrap
    [evt21Cd(0, 7, 0, 2), 0x4],
  ];
  const data = evt21File(words, 'little', ['% evt 2.1', '% geometry 48x16']);
  const { all, info } = decode('evt2.1', data, 5);
  assert.deepEqual(tuples(all), [
    ...Array.from({ length: 16 }, (_, i) => [top * 64 + 5, 32 + i, 1, 1]),
    [2 ** 34 + 64 + 7, 2, 2, 0],
  ]);
  assert.deepEqual(info.skipped, { beforeTimeHigh: 3, outOfRange: 18, trigger: 1, others: 1, continued: 1, unknownWord: 1 });
  assert.equal(info.header?.['timestampWraps'], 1);
  const head = propheseeHeader(['% evt 2.1', '% geometry 48x16']).length;
  assert.throws(
    () => decode('evt2.1', data, 5, { strict: true }),
    (e: unknown) => e instanceof EventFormatError && e.kind === 'corrupt-packet' && e.offset === head + 7 * 8,
  );
});
