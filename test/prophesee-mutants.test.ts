/**
 * Prophesee decoder behaviour that Stryker's mutants survived (issue 19, item 4): DAT's error text and info
 * facts (dat.ts); EVT 2.1 masks bit by bit, dense bursts and the TIME_HIGH wrap boundary (evt21.ts,
 * evt2.ts); the shared word decoder's info fields, size from the events, end inside the header and batch
 * sizing (word-decoder.ts). Header lines: prophesee-header-mutants.test.ts. Files are built from the format
 * definition (test/helpers/prophesee-bytes.ts); expected values follow from it by hand or are counted
 * independently in the test (mask bits).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePropheseeDecoder } from '../src/events/prophesee/index.js';
import { EventFormatError } from '../src/events/errors.js';
import { decodeInChunks } from './helpers/event-facts.js';
import { concatBytes } from './helpers/bytes.js';
import { datData, datFile, evt21Cd, evt21File, evt2Cd, evt2File, evt2TimeHigh, evt2Word, propheseeHeader, synthEvents, synthEvt2 } from './helpers/prophesee-bytes.js';

const latin1 = (s: string) => new Uint8Array(Buffer.from(s, 'latin1'));
const decode = (data: Uint8Array, chunk: number) => decodeInChunks((sink) => makePropheseeDecoder('dat', sink, { source: 'm.dat' }), data, chunk);

test('DAT: a wrong event type or size is reported as what was expected and what was found', () => {
  const rec: Array<[number, number]> = [[1, datData(1, 1, 1)]];
  assert.throws(
    () => decode(datFile(rec, { eventType: 0x0e }), 4),
    (e: unknown) => e instanceof EventFormatError && e.expected === 'DAT event type 0 or 0x0C (CD events)' && e.found === 'type 0xe',
  );
  assert.throws(
    () => decode(datFile(rec, { eventSize: 12 }), 4),
    (e: unknown) => e instanceof EventFormatError && e.expected === 'DAT event size 8 for CD events' && e.found === 'size 12',
  );
});

test('DAT info: eventType / eventSize once the preamble is read, timestampWraps only after a wrap', () => {
  const rec: Array<[number, number]> = [[10, datData(1, 2, 1)], [20, datData(3, 4, 0)]];
  const h = decode(datFile(rec, { eventType: 0x0c }), 3).info.header!;
  assert.equal(h['eventType'], 0x0c);
  assert.equal(h['eventSize'], 8);
  assert.equal('timestampWraps' in h, false, 'no wrap in 10, 20');
  const h0 = decode(datFile(rec, { eventType: 0 }), 5).info.header!;
  assert.equal(h0['eventType'], 0, 'type 0 is a known type too');
  // a file of header lines only: no preamble, so neither fact is known
  const headerOnly = decode(propheseeHeader(['% Data file containing Event2D events.', '% Version 2']), 7).info.header!;
  assert.equal('eventType' in headerOnly, false);
  assert.equal('eventSize' in headerOnly, false);
  assert.equal('timestampWraps' in headerOnly, false);
});

// ------------------------------------------------------------------ EVT 2.1 masks (evt21.ts)

test('EVT 2.1: every mask bit is one event, counted one by one when dropped (before TIME_HIGH, row or column outside the sensor)', () => {
  let s = 0x9e3779b9;
  const rnd32 = () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>>= 0);
  };
  const masks = [0xffffffff, 0x80000000, 0x1, 0x55555555, 0xaaaaaaaa, 0x0f0f0f0f, 0xf0f0f0f0, 0x00ff00ff, 0xff00ff00, 0xffff0000, 0x0000ffff, 0x80000001, 0x7fffffff, 0xfffffffe];
  for (let i = 0; i < 40; i++) masks.push(rnd32());
  const bits = (m: number) => Array.from({ length: 32 }, (_, b) => b).filter((b) => (m >>> b) & 1);
  const total = (ms: number[]) => ms.reduce((a, m) => a + bits(m).length, 0);
  const W = 48; // x bases 0 and 32: the second vector's bits 16..31 are past the last column
  const H = 16;
  const words: Array<readonly [number, number]> = masks.map((m, i) => [evt21Cd(i & 1, 0, 0, 1), m] as const); // before TIME_HIGH
  words.push([evt2TimeHigh(5), 0]);
  for (const [i, m] of masks.entries()) words.push([evt21Cd(i & 1, 1, 0, H), m]); // row H: outside
  const want: number[][] = [];
  let outX = 0;
  for (const [i, m] of masks.entries()) {
    const [xBase, y, tLow] = [(i % 2) * 32, i % H, i % 64];
    words.push([evt21Cd(i & 1, tLow, xBase, y), m]);
    for (const b of bits(m)) {
      if (xBase + b < W) want.push([5 * 64 + tLow, xBase + b, y, i & 1]);
      else outX++;
    }
  }
  for (const order of ['little', 'legacy'] as const) {
    const lines = order === 'legacy' ? ['% format EVT21;endianness=legacy', `% geometry ${W}x${H}`] : ['% evt 2.1', `% geometry ${W}x${H}`];
    for (const chunk of [8, 1000, 1 << 20]) {
      const { all, info } = decodeInChunks((sink) => makePropheseeDecoder('evt2.1', sink, { source: 'm.raw' }), evt21File(words, order, lines), chunk);
      assert.deepEqual(Array.from({ length: all.length }, (_, i) => [all.t[i], all.x[i], all.y[i], all.p[i]]), want, `${order}, chunk ${chunk}`);
      assert.deepEqual(info.skipped, { beforeTimeHigh: total(masks), outOfRange: total(masks) + outX }, `${order}, chunk ${chunk}`);
    }
  }
});

// ------------------------------------------------------------------ shared word decoder (word-decoder.ts)

const evt2 = (data: Uint8Array, chunk: number, opts: { strict?: boolean } = {}) =>
  decodeInChunks((sink) => makePropheseeDecoder('evt2', sink, { source: 'w.raw', ...opts }), data, chunk);

test('info(): header line count and bytes, then the non-empty header fields; timestampWraps only after a wrap', () => {
  const lines = ['% evt 2.0', '% geometry 8x4', '% note', '% camera  my cam ', '% constructor c1'];
  const data = evt2File([evt2TimeHigh(1), evt2Cd(1, 2, 3, 1)], lines);
  const bytes = lines.join('\n').length + 1;
  for (const [format, extra] of [['evt2', {}], ['evt2.1', { wordOrder: 'little (mask, header)' }]] as const) {
    const d = format === 'evt2' ? data : evt21File([[evt2TimeHigh(1), 0]], 'little', lines);
    const { info } = decodeInChunks((sink) => makePropheseeDecoder(format, sink, { source: 'w.raw' }), d, 5);
    assert.deepEqual(info.header, { headerLines: 5, headerBytes: bytes, evt: '2.0', geometry: '8x4', camera: 'my cam', constructor: 'c1', ...extra }, format);
  }
});

test('size from the events: each batch is as wide and high as the largest coordinates so far, and one warning names the size', () => {
  // chunk 1 holds events up to x 5, y 2; chunk 2 up to x 9, y 1; chunk 3 up to x 3, y 6
  const words = [evt2TimeHigh(1), evt2Cd(1, 0, 5, 0), evt2Cd(0, 1, 2, 2), evt2Cd(1, 2, 9, 1), evt2Cd(1, 3, 0, 0), evt2Cd(0, 4, 3, 6), evt2Cd(0, 5, 1, 1)];
  const head = propheseeHeader(['% evt 2.0']).length;
  const data = evt2File(words);
  const batches: Array<[number, number, number]> = [];
  const warnings: string[] = [];
  const d = makePropheseeDecoder('evt2', { batch: (b) => batches.push([b.length, b.width, b.height]), warn: (w) => warnings.push(`${w.kind}@${w.offset} ${w.message}`) }, { source: 'w.raw' });
  d.push(data.subarray(0, head + 12));
  d.push(data.subarray(head + 12, head + 20));
  d.push(data.subarray(head + 20));
  d.end();
  assert.deepEqual(batches, [[2, 6, 3], [2, 10, 3], [2, 10, 7]]);
  assert.deepEqual(d.info().width, 10);
  assert.deepEqual(d.info().height, 7);
  assert.deepEqual(warnings, ['guessed-size@0 w.raw: the header states no sensor size: using 10 x 7 (largest coordinates + 1); pass --sensor WxH to set it']);
  // no events and no size: nothing to guess, no warning
  const none = evt2(propheseeHeader(['% evt 2.0']), 4);
  assert.deepEqual([none.info.width, none.info.height, none.warnings], [0, 0, []]);
  const dropped = evt2(evt2File([evt2Cd(1, 0, 5, 5)]), 4);
  assert.deepEqual([dropped.info.width, dropped.warnings], [0, []], 'events dropped before TIME_HIGH set no size');
});

test('end of input inside the header: a truncated warning at the header end (strict: the error); push after end() throws', () => {
  for (const text of ['% evt 2.0', '% evt 2.0\n% geom']) {
    const r = evt2(latin1(text), 3);
    assert.deepEqual(r.warnings.map((w) => [w.kind, w.offset]), [['truncated', text.length]], text);
    assert.throws(() => evt2(latin1(text), 3, { strict: true }), (e: unknown) => e instanceof EventFormatError && e.kind === 'truncated' && e.offset === text.length);
  }
  assert.deepEqual(evt2(latin1('% evt 2.0\n'), 3).warnings, [], 'a header whose last line ended is complete');
  const d = makePropheseeDecoder('evt2', { batch: () => {} }, { source: 'w.raw' });
  d.push(new Uint8Array(0)); // an empty chunk is nothing, not a bad magic byte
  d.push(latin1('% evt 2.0\n'));
  d.end();
  d.end(); // twice is fine
  assert.throws(() => d.push(latin1('x')), /push\(\) after end\(\)/);
});

test('batches: a small one is copied to its size (it pins no decoder buffer); a huge chunk is handed on in bounded batches, all intact', () => {
  const small = evt2(evt2File([evt2TimeHigh(1), evt2Cd(1, 0, 5, 0), evt2Cd(0, 1, 2, 2)]), 1 << 10);
  assert.equal(small.batches.length, 1);
  const b = small.batches[0]!;
  assert.deepEqual([b.t.buffer.byteLength, b.x.buffer.byteLength, b.y.buffer.byteLength, b.p.buffer.byteLength], [16, 4, 4, 2]);
  // 600 000 events in one chunk: handed on in several batches of at most 2 x 2^18 events (the decoder's
  // flush threshold plus one slice), which stay intact while the next ones are decoded
  const ev = synthEvents(600_000, { width: 1280, height: 720, seed: 3 });
  const data = synthEvt2(ev);
  for (const chunk of [data.length, 1 << 20]) {
    const r = evt2(data, chunk);
    assert.ok(r.batches.length >= 2, `chunk ${chunk}: ${r.batches.length} batches`);
    for (const x of r.batches) assert.ok(x.length <= 2 * (1 << 18), `batch of ${x.length}`);
    assert.equal(r.all.length, ev.length);
    assert.deepEqual([r.all.t, r.all.x, r.all.y, r.all.p], [ev.t, ev.x, ev.y, ev.p], `chunk ${chunk}`);
  }
});

test('EVT 2.0 / 2.1 TIME_HIGH wrap at its exact boundary: a step back of 2^27 is a glitch, of 2^27 + 1 a wrap', () => {
  const half = 2 ** 27;
  // step back exactly half the range: no wrap, t = 5 * 64; one more: wrap, t = 2^34 + 5 * 64
  const cases: Array<[number, number]> = [[half + 5, 5 * 64], [half + 6, 2 ** 34 + 5 * 64]];
  for (const [prev, want] of cases) {
    const e2 = evt2(evt2File([evt2TimeHigh(prev), evt2TimeHigh(5), evt2Cd(1, 0, 1, 1)]), 4);
    const e21 = decodeInChunks((sink) => makePropheseeDecoder('evt2.1', sink, { source: 'w.raw' }), evt21File([[evt2TimeHigh(prev), 0], [evt2TimeHigh(5), 0], [evt21Cd(1, 0, 0, 1), 2]]), 8);
    for (const [name, r] of [['evt2', e2], ['evt2.1', e21]] as const) {
      assert.deepEqual([r.all.t[0], r.info.header?.['timestampWraps']], [want, want > 2 ** 34 ? 1 : undefined], `${name}: ${prev} -> 5`);
    }
  }
});

test('EVT 2.1: a dense burst (every mask full, 96 000 events in one chunk) keeps every event; strict names the bad word by its own offset', () => {
  const words: Array<readonly [number, number]> = [[evt2TimeHigh(7), 0]];
  const want: number[][] = [];
  for (let i = 0; i < 3000; i++) {
    const [xBase, y, tLow] = [(i % 40) * 32, i % 720, i % 64];
    words.push([evt21Cd(1, tLow, xBase, y), 0xffffffff]);
    for (let b = 0; b < 32; b++) want.push([7 * 64 + tLow, xBase + b, y]);
  }
  const data = evt21File(words, 'little', ['% format EVT21;height=720;width=1280']);
  const { all, info } = decodeInChunks((sink) => makePropheseeDecoder('evt2.1', sink, { source: 'w.raw' }), data, data.length);
  assert.equal(all.length, want.length);
  assert.deepEqual(Array.from({ length: all.length }, (_, i) => [all.t[i], all.x[i], all.y[i]]), want);
  assert.deepEqual(info.skipped, {});
  // an unknown word type (0x4) as word 3 of a file pushed whole: the error names byte head + 3 * 8
  const lines = ['% format EVT21;endianness=legacy'];
  const bad = evt21File([[evt2TimeHigh(1), 0], [evt21Cd(1, 0, 0, 0), 1], [evt21Cd(0, 0, 0, 0), 1], [evt2Word(0x4, 0), 0]], 'legacy', lines);
  const got: number[] = [];
  const d = makePropheseeDecoder('evt2.1', { batch: (b) => got.push(b.length) }, { source: 'w.raw', strict: true });
  assert.throws(() => d.push(bad), (e: unknown) => e instanceof EventFormatError && e.kind === 'corrupt-packet' && e.offset === propheseeHeader(lines).length + 3 * 8);
  assert.deepEqual(got, [2], 'the two events before it are delivered first');
  assert.equal(d.info().header?.['wordOrder'], 'legacy (header, mask)');
});

// ------------------------------------------------------------ survivors of the word-decoder.ts Stryker run

test('a sink without warn(): a size guessed from the events and a cut trailing word are not a crash; end() twice changes nothing', () => {
  // '% evt 2.0' states no geometry: the size is guessed (a guessed-size warning); 2 trailing bytes cut a word
  const words = [evt2TimeHigh(1), evt2Cd(1, 5, 10, 20), evt2Cd(0, 6, 3, 4)];
  const file = concatBytes(evt2File(words), new Uint8Array([0x12, 0x34]));
  const batches: number[] = [];
  const d = makePropheseeDecoder('evt2', { batch: (b) => batches.push(b.length) }, { source: 'nowarn.raw' });
  d.push(file);
  d.end();
  assert.deepEqual(batches, [2]);
  const info = d.info();
  assert.deepEqual([info.width, info.height, info.sizeFrom], [11, 21, 'max+1']);
  d.end();
  assert.deepEqual(batches, [2], 'a second end() delivers nothing again');
  // with warn(): exactly the two warnings, once each, even after a second end()
  const warned: string[] = [];
  const w = makePropheseeDecoder('evt2', { batch: () => {}, warn: (x) => warned.push(x.kind) }, { source: 'warn.raw' });
  w.push(file);
  w.end();
  w.end();
  assert.deepEqual(warned.sort(), ['guessed-size', 'truncated']);
});

test('DAT: the preamble split across pushes at every byte gives the same events, and a cut word is reported at its offset', () => {
  const rec: Array<[number, number]> = [[10, datData(1, 2, 1)], [20, datData(3, 4, 0)], [30, datData(5, 6, 1)]];
  const file = datFile(rec, { eventType: 0x0c });
  const whole = decode(file, file.length);
  for (const chunk of [1, 2, 3, 5, 7]) {
    const r = decode(file, chunk);
    assert.deepEqual([...r.all.t], [...whole.all.t], `chunks of ${chunk}`);
    assert.deepEqual([...r.all.x], [1, 3, 5]);
  }
  // 3 bytes of a fourth record: the fault names the byte where that record starts (header + 2-byte preamble + 3 x 8)
  const cut = concatBytes(file, new Uint8Array([1, 2, 3]));
  for (const chunk of [1, 4, cut.length]) {
    const r = decode(cut, chunk);
    const cutWord = r.warnings.filter((w) => w.kind === 'truncated');
    assert.equal(cutWord.length, 1);
    assert.equal(cutWord[0]!.offset, file.length, `chunks of ${chunk}`);
    assert.match(cutWord[0]!.message, /a whole 8-byte word/);
    assert.match(cutWord[0]!.message, /3 trailing bytes/);
  }
});
