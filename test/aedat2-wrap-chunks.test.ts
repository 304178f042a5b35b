/**
 * AEDAT 2 wrap state across chunk boundaries (issue 19, item 3): recordings longer than ~71.6 min cross the
 * 32-bit µs wrap, and a reader gets them in arbitrary chunks. A crafted DVS128 file whose timestamps cross
 * 2^32 (with a stray low value that is an undone wrap, and a second real wrap) is fed split at every byte
 * position and in every chunk size 1..N; the decoded times must be the full times the file was written from
 * (written out below, not taken from a decoder run), and the wrap count 2.
 * Kills any of the wrap state (offset, wrap count, just-wrapped flag, previous raw / unwrapped times) not
 * carried from one push to the next.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Aedat2Decoder } from '../src/events/aedat2.js';
import { aedat2File, feedAll } from './helpers/bytes.js';

const TOP = 2 ** 32;
const DVS128 = ['#!AER-DAT2.0', '# AEChip: ch.unizh.ini.jaer.chip.retina.DVS128', '#End Of ASCII Header'];

/** Full (unwrapped) times in µs; the file holds them mod 2^32. */
const FULL = [
  TOP - 3000,
  TOP - 1000,
  TOP - 1200, // a small backwards step, kept as is
  TOP + 500, // first wrap (raw 500)
  TOP + 2500,
  TOP + 7, // a backwards step of 2493 µs just after the wrap: kept, not a wrap
  TOP + 4500,
  2 * TOP - 2000, // a jump of ~71 min inside one wrap period (raw near the top): not a wrap, a forward step
  2 * TOP - 1000,
  2 * TOP + 300, // second wrap
  2 * TOP + 1300,
];
/**
 * Then a forward step to near the top, and a stray low value there: it looks like a wrap (and keeps the +2^32:
 * an outlier for the stream guard), and the next record, back near the top, undoes it.
 */
const STRAY = [3 * TOP - 5000, 3 * TOP - 4000, 3 * TOP + 9, 3 * TOP - 3000, 3 * TOP - 2000]; // raw 9 + 2 wraps + its own

function decode(data: Uint8Array, cut: (push: (b: Uint8Array) => void) => void) {
  const t: number[] = [];
  const x: number[] = [];
  const d = new Aedat2Decoder({ batch: (b) => {
    for (let i = 0; i < b.length; i++) {
      t.push(b.t[i]!);
      x.push(b.x[i]!);
    }
  } }, { source: 'wrap-chunks.aedat' });
  cut((b) => d.push(b));
  d.end();
  return { t, x, wraps: d.info().header?.['timestampWraps'] };
}

const file = aedat2File(DVS128, [...FULL, ...STRAY].map((full, i) => [(i % 128) << 1, full % TOP]));
const want = [...FULL, ...STRAY];

test('the crafted file decodes to the times it was written from', () => {
  const r = decode(file, (push) => push(file));
  assert.deepEqual(r.t, want);
  assert.deepEqual(r.x, want.map((_, i) => i % 128));
  // wraps at FULL[3], FULL[9] and the stray (+1 then undone): 2
  assert.equal(r.wraps, 2);
});

test('wraps are carried across a split at every byte position', () => {
  for (let at = 0; at <= file.length; at++) {
    const r = decode(file, (push) => {
      push(file.subarray(0, at));
      push(file.subarray(at));
    });
    assert.deepEqual(r.t, want, `split at byte ${at}`);
    assert.equal(r.wraps, 2, `split at byte ${at}`);
  }
});

test('wraps are carried for every chunk size 1..file length', () => {
  for (let chunk = 1; chunk <= file.length; chunk++) {
    const t: number[] = [];
    const d = new Aedat2Decoder({ batch: (b) => t.push(...b.t) }, { source: 'wrap-chunks.aedat' });
    assert.equal(feedAll(d, file, chunk), undefined);
    assert.deepEqual(t, want, `chunk ${chunk}`);
    assert.equal(d.info().header?.['timestampWraps'], 2, `chunk ${chunk}`);
  }
});

// ------------------------------------------------------------------------ rule boundaries (Stryker survivors)

/** Times decoded from DVS128 records with these raw timestamps, in one push. */
function times(raw: number[]): number[] {
  const f = aedat2File(DVS128, raw.map((ts, i) => [(i % 128) << 1, ts]));
  return decode(f, (push) => push(f)).t;
}

test('a wrap needs a drop of MORE than 2^31; an undo a rise of more than 2^31', () => {
  const H = 2 ** 31;
  // drop of exactly 2^31 (raw H + 1000 -> 1000): not a wrap, a backwards step kept as is
  assert.deepEqual(times([H + 500, H + 1000, 1000]), [H + 500, H + 1000, 1000]);
  // one more: a wrap
  assert.deepEqual(times([H + 500, H + 1001, 1000]), [H + 500, H + 1001, TOP + 1000]);
  // after a wrap to raw 1000, a rise of exactly 2^31 does not undo it; one more does (the stray keeps it)
  const pre = [TOP - 2000, TOP - 1000];
  assert.deepEqual(times([...pre, 1000, H + 1000]), [...pre, TOP + 1000, TOP + H + 1000]);
  assert.deepEqual(times([...pre, 1000, H + 1001]), [...pre, TOP + 1000, H + 1001]);
});

test('a wrap to a high raw value is kept by the next record that is close to it (the undo looks at the rise only)', () => {
  // raw 4e9 -> 1.5e9 is a drop of more than 2^31 (a wrap); 1.5e9 + 1000 next is 1000 µs later, not a stray
  const a = 4_000_000_000;
  const b = 1_500_000_000;
  assert.deepEqual(times([a, a + 1000, b, b + 1000]), [a, a + 1000, TOP + b, TOP + b + 1000]);
});

test('plausible predecessor: a backward step of at most 10 s allows the wrap, a larger one blocks it', () => {
  const s = 10_000_000; // AEDAT2_PLAUSIBLE_STEP_US
  const top = TOP - 50_000_000;
  assert.deepEqual(times([top, top - s, 100]), [top, top - s, TOP + 100]);
  assert.deepEqual(times([top, top - s - 1, 100]), [top, top - s - 1, 100]);
});

test('DVS128: address 0xffff is a special event (bit 15), only addresses above 16 bits are invalid', () => {
  const f = aedat2File(DVS128, [[2, 100], [0xffff, 200], [0x10000, 300], [4, 400]]);
  const d = new Aedat2Decoder({ batch: () => {} }, { source: 'special.aedat' });
  d.push(f);
  d.end();
  assert.deepEqual([d.info().skipped['special'], d.info().skipped['invalid']], [1, 1]);
});

test('one push of more than two flush batches: every record decoded once, in order, batches of at most 2^16 events', () => {
  const n = 2 * 65536 + 3;
  const f = aedat2File(DVS128, Array.from({ length: n }, (_, i): [number, number] => [(i % 128) << 1, 1000 + i]));
  const sizes: number[] = [];
  const t: number[] = [];
  const d = new Aedat2Decoder({ batch: (b) => {
    sizes.push(b.length);
    for (let i = 0; i < b.length; i++) t.push(b.t[i]!);
  } }, { source: 'big.aedat' });
  d.push(f);
  d.end();
  assert.equal(t.length, n);
  assert.ok(t.every((v, i) => v === 1000 + i), 'times in order, none repeated or skipped');
  assert.ok(Math.max(...sizes) <= 65536, `batch sizes ${sizes.join(', ')}`);
});
