/**
 * AEDAT 2 against hostile input (issue 12): the 32-bit wrap rule (one corrupt timestamp never shifts the rest
 * of the stream) and bounded `#` headers (no stack overflow on long lines, no unbounded header in memory).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import {
  AEDAT2_PLAUSIBLE_STEP_US,
  Aedat2Decoder,
  type Aedat2Options,
} from '../src/events/aedat2.js';
import { MAX_HEADER_BYTES, MAX_HEADER_LINE_BYTES, MAX_HEADER_LINES } from '../src/events/header-lines.js';
import { EventFormatError } from '../src/events/errors.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import { aedat2File, feedAll } from './helpers/bytes.js';

const davis = sharedRecording('davis240-translboxes.aedat');
const TOP = 4294967296;


function decode(data: Uint8Array, opts: Partial<Aedat2Options> = {}, chunk = data.length || 1) {
  const t: number[] = [];
  const x: number[] = [];
  const d = new Aedat2Decoder(
    {
      batch: (b) => {
        for (let i = 0; i < b.length; i++) {
          t.push(b.t[i]!);
          x.push(b.x[i]!);
        }
      },
    },
    { source: 'hostile.aedat', ...opts },
  );
  const error = feedAll(d, data, chunk);
  return { t, x, info: d.info(), error };
}

const DVS128 = ['#!AER-DAT2.0', '# AEChip: ch.unizh.ini.jaer.chip.retina.DVS128', '#End Of ASCII Header'];
/** DVS128 event at x = i % 128 (so every record is an event and can be followed through). */
const ev = (i: number, ts: number): [number, number] => [(i % 128) << 1, ts];
const records = (ts: number[]): Array<[number, number]> => ts.map((v, i) => ev(i, v));

/** Decode with several chunkings; all must agree. */
function decodeAll(ts: number[]) {
  const file = aedat2File(DVS128, records(ts));
  const ref = decode(file);
  assert.equal(ref.error, undefined);
  for (const chunk of [1, 3, 8, 13, 1000]) assert.deepEqual(decode(file, {}, chunk).t, ref.t, `chunk ${chunk}`);
  return ref;
}

test('wrap rule: real 32-bit wraps near 2^32 still unwrap (twice), for any chunking', () => {
  const ts: number[] = [];
  // Two wraps, 2 ms steps with small backwards jitter, as real recordings have.
  let full = TOP - 10_000;
  for (let i = 0; i < 40; i++) {
    ts.push(full % TOP);
    full += i % 5 === 4 ? -300 : 2000;
    if (i === 25) full = 2 * TOP - 3000;
  }
  const r = decodeAll(ts);
  const expected: number[] = [];
  full = TOP - 10_000;
  for (let i = 0; i < 40; i++) {
    expected.push(full);
    full += i % 5 === 4 ? -300 : 2000;
    if (i === 25) full = 2 * TOP - 3000;
  }
  assert.deepEqual(r.t, expected);
  assert.equal(r.info.header?.['timestampWraps'], 2);
});

test('wrap rule: a stray high value (0xffffffff in a stream at 1e6 µs) does not shift the rest', () => {
  const ts = [1_000_000, 1_000_100, 1_000_200, 0xffffffff, 1_000_300, 1_000_400, 1_000_500];
  const r = decodeAll(ts);
  assert.deepEqual(r.t, ts, 'only the stray record is off; it is passed through for the stream guard');
  assert.equal(r.info.header?.['timestampWraps'], undefined);
  // The example value (bytes ff ff ff 7f) too.
  const r2 = decodeAll([5000, 6000, 0xffffff7f, 7000, 8000]);
  assert.deepEqual(r2.t, [5000, 6000, 0xffffff7f, 7000, 8000]);
});

test('wrap rule: two stray highs in a row and a stray high as the first record do not shift the rest', () => {
  const a = decodeAll([2_000_000, 0xfffffff0, 0x7fffffff, 2_000_100, 2_000_200]);
  assert.deepEqual(a.t, [2_000_000, 0xfffffff0, 0x7fffffff, 2_000_100, 2_000_200]);
  const b = decodeAll([0xffffffff, 1_000_000, 1_000_100]);
  assert.deepEqual(b.t, [0xffffffff, 1_000_000, 1_000_100]);
});

test('wrap rule: a stray low value near the top is an undone wrap; a later real wrap still counts', () => {
  const base = TOP - 5_000_000; // 5 s before the wrap
  const ts = [base, base + 100, 7, base + 200, base + 300];
  for (let k = 1; k <= 20; k++) ts.push(base + 300 + k * 250_000); // crosses 2^32 at k = 20
  const r = decodeAll(ts);
  assert.equal(r.t[2], 7 + TOP, 'the stray itself keeps the wrap: an outlier for the stream guard');
  assert.deepEqual(r.t.slice(3, 5), [base + 200, base + 300], 'the rest is not shifted');
  const last = base + 300 + 20 * 250_000;
  assert.equal(r.t[r.t.length - 1], last, 'the real wrap that follows is unwrapped');
  assert.equal(r.info.header?.['timestampWraps'], 1);
  // A stray low in a stream above 2^31 but far from the top: same.
  const mid = decodeAll([3_000_000_000, 3_000_000_100, 0, 3_000_000_200, 3_000_000_300]);
  assert.deepEqual(mid.t.filter((_, i) => i !== 2), [3_000_000_000, 3_000_000_100, 3_000_000_200, 3_000_000_300]);
  assert.equal(mid.info.header?.['timestampWraps'], undefined);
});

test('wrap rule: a previous step of more than the plausible step blocks the wrap; within it allows it', () => {
  const far = decodeAll([TOP - 30_000_000, TOP - 30_000_000 + AEDAT2_PLAUSIBLE_STEP_US + 1, 100]);
  assert.equal(far.t[2], 100, 'predecessor reached by a jump > 10 s: not a wrap');
  const near = decodeAll([TOP - 30_000_000, TOP - 30_000_000 + AEDAT2_PLAUSIBLE_STEP_US, 100]);
  assert.equal(near.t[2], TOP + 100, 'predecessor reached by a 10 s step: a wrap');
});

test('wrap rule: DVS128 invalid (garbage) records take no part', () => {
  const file = aedat2File(DVS128, [ev(0, 1000), ev(1, 2000), [0xffffffff, 0xffffffff], [0xffffffff, 0xfffffffe], ev(2, 3000)]);
  const r = decode(file);
  assert.deepEqual(r.t, [1000, 2000, 3000]);
  assert.equal(r.info.skipped['invalid'], 2);
});

test('wrap rule on the shared recording: one overwritten timestamp changes that record only', { skip: skipUnless(davis) }, () => {
  const data = readFileSync(davis!);
  const ref = decode(data, {}, 65536);
  assert.equal(ref.error, undefined);
  const headerBytes = 175268;
  // Overwrite the timestamp of one record in the middle of the data.
  const rec = 5000;
  for (const bad of [0xffffffff, 0xffffff7f, 0, 0x80000000]) {
    const copy = Uint8Array.from(data);
    new DataView(copy.buffer).setUint32(headerBytes + rec * 8 + 4, bad, false);
    const r = decode(copy, {}, 65536);
    assert.equal(r.error, undefined);
    assert.equal(r.t.length, ref.t.length);
    let diff = 0;
    for (let i = 0; i < r.t.length; i++) if (r.t[i] !== ref.t[i]) diff++;
    assert.ok(diff <= 1, `0x${bad.toString(16)}: ${diff} timestamps changed`);
    assert.deepEqual(r.x, ref.x);
    assert.equal(r.info.header?.['timestampWraps'], undefined);
  }
});

// ------------------------------------------------------------------------------------------- header bounds

test('header: a 300 KB # line is a bad-header error at the 64 KiB mark, not a stack overflow', () => {
  const prefix = '#!AER-DAT2.0\r\n';
  const file = new Uint8Array(prefix.length + 300_000 + 2);
  file.set(Buffer.from(prefix, 'latin1'));
  file.fill(0x41, prefix.length);
  file[prefix.length] = 0x23;
  file.set([0x0d, 0x0a], file.length - 2);
  for (const chunk of [file.length, 4096, 7]) {
    const r = decode(file, {}, chunk);
    assert.ok(r.error instanceof EventFormatError, `chunk ${chunk}: ${String(r.error)}`);
    assert.equal(r.error.kind, 'bad-header');
    assert.equal(r.error.source, 'hostile.aedat');
    assert.equal(r.error.offset, prefix.length + MAX_HEADER_LINE_BYTES);
  }
});

test('header: a line of exactly the limit is accepted and the records after it decode; one more byte is not', () => {
  // The limit counts the bytes before the '\n', the '\r' included.
  const long = '#' + 'x'.repeat(MAX_HEADER_LINE_BYTES - 2);
  const over = aedat2File(['#!AER-DAT2.0', long + 'x', ...DVS128.slice(1)], records([10, 20]));
  const e = decode(over, { strict: true });
  assert.ok(e.error instanceof EventFormatError && e.error.kind === 'bad-header', String(e.error));
  const file = aedat2File(['#!AER-DAT2.0', long, ...DVS128.slice(1)], records([10, 20]));
  for (const chunk of [file.length, 1000]) {
    const r = decode(file, { strict: true }, chunk);
    assert.equal(r.error, undefined);
    assert.deepEqual(r.t, [10, 20]);
    assert.equal(r.info.header?.['headerLines'], 4);
  }
});

test('header: too many lines, and a header longer than the byte limit, are bad-header errors', () => {
  const many = aedat2File(['#!AER-DAT2.0', ...Array.from({ length: MAX_HEADER_LINES }, () => '#')], []);
  const r = decode(many, {}, 65536);
  assert.ok(r.error instanceof EventFormatError && r.error.kind === 'bad-header', String(r.error));
  assert.match(r.error.message, /header lines/);
  const justUnder = aedat2File(['#!AER-DAT2.0', ...Array.from({ length: MAX_HEADER_LINES - 2 }, () => '#'), '#End Of ASCII Header'], []);
  assert.equal(decode(justUnder, { sensor: 'dvs128' }).error, undefined, 'exactly MAX_HEADER_LINES lines are fine');
  const line = '#' + 'y'.repeat(998); // 1000 bytes with \r\n
  const big = aedat2File(Array.from({ length: Math.ceil(MAX_HEADER_BYTES / 1000) + 1 }, () => line), []);
  const b = decode(big, {}, 100_000);
  assert.ok(b.error instanceof EventFormatError && b.error.kind === 'bad-header', String(b.error));
  assert.equal(b.error.offset, MAX_HEADER_BYTES);
});

test('header: 300 MB of # lines fails after a few MB, fed as a stream (memory stays bounded)', () => {
  // One 1 MiB chunk of 100-byte `#` lines, pushed again and again: the input is never in memory whole.
  const chunk = new Uint8Array(1 << 20).fill(0x23);
  for (let i = 99; i < chunk.length; i += 100) chunk[i] = 0x0a;
  const d = new Aedat2Decoder({ batch: () => {} }, { source: 'huge.aedat' });
  let pushed = 0;
  let error: unknown;
  try {
    for (; pushed < 300; pushed++) d.push(chunk);
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof EventFormatError && error.kind === 'bad-header', String(error));
  assert.ok(pushed <= Math.ceil(MAX_HEADER_BYTES / chunk.length), `failed after ${pushed} MiB`);
});
