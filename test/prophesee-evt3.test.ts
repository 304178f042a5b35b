/**
 * Prophesee RAW EVT 3.0 decoder: the shared Gen4.1 recording against its README facts, chunk-size
 * independence, and hand-built word sequences for what the recording lacks (vectors, triggers, system
 * words, the 24-bit wrap, out-of-range addresses, a trailing byte).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { makePropheseeDecoder } from '../src/events/prophesee/index.js';
import { readEventFile } from '../src/events/read-file.js';
import { EventFormatError } from '../src/events/errors.js';
import { concatBatches, type EventBatch } from '../src/events/types.js';
import type { DecoderSink } from '../src/events/decoder.js';
import { decodeInChunks, factsOf } from './helpers/event-facts.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import {
  addrX,
  addrY,
  continued,
  continued4,
  evt3File,
  extTrigger,
  others,
  timeHigh,
  timeLow,
  vect12,
  vect8,
  vectBase,
} from './helpers/evt3-words.js';

const pedestrians = sharedRecording('prophesee/evt3-pedestrians.raw');
const make = (strict = false) => (sink: DecoderSink) => makePropheseeDecoder('evt3', sink, { source: 'test.raw', strict });

/** README facts of evt3-pedestrians.raw. */
const PEDESTRIANS = {
  n: 5000,
  on: 2894,
  off: 2106,
  first: 5840504,
  last: 5885714,
  xyp: 27780856,
  dt: 107645280,
  win: [[2894, 2106], [0, 0], [0, 0], [0, 0], [0, 0]],
};

function ranges(b: EventBatch) {
  let x0 = Infinity, x1 = -1, y0 = Infinity, y1 = -1;
  for (let i = 0; i < b.length; i++) {
    x0 = Math.min(x0, b.x[i]!);
    x1 = Math.max(x1, b.x[i]!);
    y0 = Math.min(y0, b.y[i]!);
    y1 = Math.max(y1, b.y[i]!);
  }
  return { x: [x0, x1], y: [y0, y1] };
}

/** Events as [t, x, y, p] rows (small hand-built cases only). */
function rows(b: EventBatch): number[][] {
  return Array.from({ length: b.length }, (_, i) => [b.t[i]!, b.x[i]!, b.y[i]!, b.p[i]!]);
}

const T = (high: number, low = 0) => high * 4096 + low;

test('evt3-pedestrians.raw matches every README fact, at any chunk size', { skip: skipUnless(pedestrians) }, () => {
  const data = new Uint8Array(readFileSync(pedestrians!));
  for (const chunk of [1, 3, 7, 4096, data.length]) {
    const d = decodeInChunks(make(true), data, chunk);
    assert.deepEqual(factsOf(d.all), PEDESTRIANS, `chunk ${chunk}`);
    assert.deepEqual(ranges(d.all), { x: [11, 1279], y: [22, 698] });
    // Header: 166 bytes, no geometry line: the size comes from the plugin (gen41 -> 1280 x 720).
    assert.equal(d.info.format, 'evt3');
    assert.deepEqual([d.info.width, d.info.height, d.info.sizeFrom], [1280, 720, 'plugin']);
    assert.equal(d.info.header?.['headerBytes'], 166);
    assert.equal(d.info.header?.['plugin_name'], 'hal_plugin_gen41_evk3');
    // The file has only ADDR_Y / ADDR_X / TIME_LOW / TIME_HIGH words: nothing is skipped.
    assert.deepEqual(d.info.skipped, {});
    assert.deepEqual(d.warnings, []);
    for (const b of d.batches) assert.deepEqual([b.width, b.height], [1280, 720]);
  }
});

test('evt3-pedestrians.raw through readEventFile (detected by content)', { skip: skipUnless(pedestrians) }, async () => {
  const batches: EventBatch[] = [];
  const info = await readEventFile(pedestrians!, (b) => void batches.push(b), { strict: true, chunkSize: 1000 });
  assert.deepEqual(factsOf(concatBatches(batches)), PEDESTRIANS);
  assert.deepEqual([info.format, info.width, info.height, info.sizeFrom], ['evt3', 1280, 720, 'plugin']);
  assert.equal(info.outliers, 0);
});

test('EVT_ADDR_X: one event at (x, current y) with its own polarity; EVT_ADDR_Y bit 11 is ignored', () => {
  const d = decodeInChunks(make(), evt3File([timeHigh(5), timeLow(7), addrY(10, 1), addrX(3, 1), addrX(4, 0), addrY(11), addrX(3, 0)]), 1);
  assert.deepEqual(rows(d.all), [
    [T(5, 7), 3, 10, 1],
    [T(5, 7), 4, 10, 0],
    [T(5, 7), 3, 11, 0],
  ]);
  assert.deepEqual(d.info.skipped, {});
});

test('VECT_BASE_X / VECT_12 / VECT_8: events at base + set bits, base advancing by 12 and 8 across vectors', () => {
  const words = [
    timeHigh(2),
    timeLow(9),
    addrY(40),
    vectBase(100, 1),
    vect12(0b1000_0000_0001), // x 100, 111; base -> 112
    vect12(0b0000_0000_0001), // x 112; base -> 124
    vect8(0b1000_0001), // x 124, 131; base -> 132
    vect12(0b0000_0000_0011), // x 132, 133; base -> 144
    0x5f01, // VECT_8 with stray bits 11..8: only bits 7..0 are the mask -> x 144
    vectBase(7, 0),
    vect8(0b0000_0100), // x 9, OFF
    addrX(500, 1), // ADDR_X between vectors does not move the base
    vect8(0b0000_0001), // x 15
  ];
  const d = decodeInChunks(make(), evt3File(words), 3);
  const t = T(2, 9);
  assert.deepEqual(rows(d.all), [
    [t, 100, 40, 1],
    [t, 111, 40, 1],
    [t, 112, 40, 1],
    [t, 124, 40, 1],
    [t, 131, 40, 1],
    [t, 132, 40, 1],
    [t, 133, 40, 1],
    [t, 144, 40, 1],
    [t, 9, 40, 0],
    [t, 500, 40, 1],
    [t, 15, 40, 0],
  ]);
});

test('EXT_TRIGGER, OTHERS, CONTINUED (12 and 4) and unknown types are skipped, counted, and change no state', () => {
  const words = [
    timeHigh(1),
    timeLow(1),
    addrY(5),
    vectBase(20, 1),
    extTrigger(1, 3),
    others(0x014),
    continued(0xfff),
    continued(0x123),
    continued4(0x00f),
    0x1003, // type 0x1: not an EVT 3.0 CD word
    0x9abc, // 0x9
    0xb000, // 0xB
    0xcfff, // 0xC
    0xd001, // 0xD
    vect12(1), // still base 20, y 5, ON, t(1, 1)
    addrX(2, 0),
  ];
  const d = decodeInChunks(make(true), evt3File(words), 7);
  assert.deepEqual(rows(d.all), [
    [T(1, 1), 20, 5, 1],
    [T(1, 1), 2, 5, 0],
  ]);
  assert.deepEqual(d.info.skipped, { trigger: 1, others: 1, continued: 3, unknownWord: 5 });
});

test('the 24-bit time wraps only when TIME_HIGH goes back (by half its range or more), never on a TIME_LOW decrease', () => {
  const words = [
    timeHigh(3),
    timeLow(4000),
    addrY(1),
    addrX(1, 1), // 3*4096 + 4000
    timeLow(10),
    addrX(2, 1), // TIME_LOW decreased: 3*4096 + 10, NOT + 4096
    timeHigh(4),
    addrX(3, 1), // a new TIME_HIGH resets t[11:0]: 4*4096
    timeHigh(4095),
    timeLow(4095),
    addrX(4, 1), // 2^24 - 1
    timeHigh(0),
    timeLow(1),
    addrX(5, 1), // wrapped: 2^24 + 1
    timeHigh(3000),
    addrX(6, 1), // 2^24 + 3000*4096
    timeHigh(2999),
    addrX(7, 1), // one step back is a reordered word, not a wrap: 2^24 + 2999*4096
    timeHigh(900),
    addrX(8, 1), // 2099 steps back (>= 2048): a wrap: 2 * 2^24 + 900*4096
  ];
  const L = 2 ** 24;
  const d = decodeInChunks(make(), evt3File(words), 1);
  assert.deepEqual(Array.from(d.all.t), [T(3, 4000), T(3, 10), T(4), L - 1, L + 1, L + T(3000), L + T(2999), 2 * L + T(900)]);
  assert.deepEqual(Array.from(d.all.x), [1, 2, 3, 4, 5, 6, 7, 8]);
});

test('a repeated TIME_HIGH keeps t[11:0] (as OpenEB does); a changed one resets it', () => {
  const words = [timeHigh(5), timeLow(100), addrY(0), addrX(1, 0), timeHigh(5), addrX(2, 0), timeHigh(6), addrX(3, 0)];
  const d = decodeInChunks(make(), evt3File(words), 2);
  assert.deepEqual(Array.from(d.all.t), [T(5, 100), T(5, 100), T(6)]);
});

test('events before the first TIME_HIGH and before the first EVT_ADDR_Y are dropped and counted', () => {
  const words = [
    addrY(3),
    timeLow(5),
    addrX(1, 1), // no time base yet: 1 event
    vectBase(10, 1),
    vect12(0b111), // 3 events
    vect8(0b11), // 2 events
    timeHigh(7), // time base set; the ADDR_Y above was skipped too, so y is unknown
    addrX(2, 1), // no row: dropped
    vect12(0b1001), // 2 more without a row
    addrY(4),
    addrX(3, 1),
  ];
  for (const chunk of [1, 5, 1000]) {
    const d = decodeInChunks(make(), evt3File(words), chunk);
    assert.deepEqual(rows(d.all), [[T(7), 3, 4, 1]]);
    assert.deepEqual(d.info.skipped, { beforeTimeHigh: 6, beforeAddrY: 3 });
  }
});

test('addresses outside the stated geometry are skipped as outOfRange, vector bits included', () => {
  const words = [
    timeHigh(1),
    addrY(719),
    addrX(1279, 0), // kept
    addrX(1280, 0), // x = width
    vectBase(1275, 1),
    vect12(0xfff), // x 1275..1279 kept, 1280..1286 out
    addrY(720), // y = height: everything on this row is out
    addrX(0, 1),
    vectBase(0, 1),
    vect8(0xff),
  ];
  const d = decodeInChunks(make(), evt3File(words), 4);
  assert.deepEqual(Array.from(d.all.x), [1279, 1275, 1276, 1277, 1278, 1279]);
  assert.deepEqual(d.info.skipped, { outOfRange: 1 + 7 + 1 + 8 });
  assert.deepEqual([d.info.width, d.info.height, d.info.sizeFrom], [1280, 720, 'header']);
});

test('a trailing odd byte: events first, then a truncation warning naming the offset (an error in strict mode)', () => {
  const file = evt3File([timeHigh(1), addrY(2), addrX(3, 1)]);
  const odd = new Uint8Array(file.length + 1);
  odd.set(file);
  const d = decodeInChunks(make(), odd, 2);
  assert.equal(d.all.length, 1);
  assert.equal(d.warnings.length, 1);
  assert.equal(d.warnings[0]!.kind, 'truncated');
  assert.equal(d.warnings[0]!.offset, file.length);
  const delivered: EventBatch[] = [];
  const dec = makePropheseeDecoder('evt3', { batch: (b) => void delivered.push(b) }, { source: 'odd.raw', strict: true });
  dec.push(odd);
  assert.throws(() => dec.end(), (e: unknown) => e instanceof EventFormatError && e.kind === 'truncated' && e.offset === file.length && /odd\.raw/.test(e.message));
  assert.equal(concatBatches(delivered).length, 1);
});

test('a `% t_offset` header line is added to every timestamp; a malformed one is reported and ignored', () => {
  const words = [timeHigh(1), timeLow(2), addrY(0), addrX(0, 1)];
  const off = 3 * 2 ** 24 + 1_600_000_000_000_000;
  const withOffset = evt3File(words, ['% evt 3.0', '% geometry 640x480', `% t_offset ${off}`, '% end']);
  const d = decodeInChunks(make(true), withOffset, 5);
  assert.deepEqual(Array.from(d.all.t), [off + T(1, 2)]);
  const bad = evt3File(words, ['% evt 3.0', '% geometry 640x480', '% t_offset -5', '% end']);
  const b = decodeInChunks(make(), bad, 5);
  assert.deepEqual(Array.from(b.all.t), [T(1, 2)]);
  assert.equal(b.warnings.length, 1);
  assert.equal(b.warnings[0]!.kind, 'bad-header');
  assert.throws(() => decodeInChunks(make(true), bad, 5), (e: unknown) => e instanceof EventFormatError && e.kind === 'bad-header');
});

test('hand-built sequences decode identically for every chunk size', () => {
  const words: number[] = [addrX(9, 1), timeHigh(4094)];
  for (let k = 0; k < 300; k++) {
    words.push(timeHigh((4094 + (k >> 4)) % 4096), timeLow((k * 37) % 4096), addrY(k % 720), vectBase((k * 13) % 1200, k & 1));
    words.push(vect12(k * 11), vect12(k * 7), vect8(k), addrX((k * 29) % 1280, (k >> 1) & 1), extTrigger(k & 1, 0));
  }
  const file = evt3File(words);
  const whole = decodeInChunks(make(), file, file.length);
  assert.ok(whole.all.length > 1000);
  for (const chunk of [1, 3, 7, 4096]) {
    const d = decodeInChunks(make(), file, chunk);
    assert.deepEqual(rows(d.all), rows(whole.all), `chunk ${chunk}`);
    assert.deepEqual(d.info.skipped, whole.info.skipped);
  }
});
