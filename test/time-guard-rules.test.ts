/**
 * TimeGuard rule by rule, on tiny hand-worked streams (time-guard.ts module comment): the bounds of
 * "within the gap" (inclusive, forward and backward, fast and slow path), joining a held run, confirmation by
 * count and by span, what a confirmed jump records, the sparse-silence release with suspectUs < maxGapUs
 * (during the stream and at its end), releaseHeld, and the option checks. Each expectation below is worked
 * out by hand from the rules; the comments show the steps.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { EventBatch } from '../src/events/types.js';
import { MAX_LISTED_JUMPS, TimeGuard, type TimeGuardOptions } from '../src/events/time-guard.js';

function events(times: readonly number[], x0 = 0): EventBatch {
  const n = times.length;
  return { t: Float64Array.from(times), x: Uint16Array.from(times, (_, i) => x0 + i), y: new Uint16Array(n), p: new Uint8Array(n), length: n, width: 640, height: 480 };
}

/** Times out of the guard: each event pushed alone (the slow path), then end(). */
function judge(opts: TimeGuardOptions, times: readonly number[], oneByOne = true): { out: number[]; guard: TimeGuard } {
  const guard = new TimeGuard(opts);
  const out: number[] = [];
  const take = (b: EventBatch): void => void out.push(...Array.from(b.t.subarray(0, b.length)));
  if (oneByOne) times.forEach((t, i) => take(guard.push(events([t], i))));
  else take(guard.push(events(times)));
  take(guard.end());
  return { out, guard };
}

const GAP = { maxGapUs: 100, confirmEvents: 3 };

test('within the gap is inclusive, forward and backward, on the fast path (one batch) and after a held run', () => {
  for (const oneByOne of [false, true]) {
    assert.deepEqual(judge(GAP, [0, 100, 0, 100], oneByOne).out, [0, 100, 0, 100], 'steps of exactly 100 µs either way are accepted');
    const fwd = judge(GAP, [0, 101, 5], oneByOne);
    assert.deepEqual(fwd.out, [0, 5], '101 µs ahead is held, and the next event back near the base proves it a stray');
    assert.equal(fwd.guard.outliers, 1);
    const back = judge(GAP, [200, 99, 205], oneByOne);
    assert.deepEqual(back.out, [200, 205], '101 µs behind is held too');
  }
  // slow path (an event is held): the event that decides is judged against the base with the same bounds
  assert.deepEqual(judge(GAP, [0, 1000, 100]).out, [0, 100], 'back to exactly +100 from the base: accepted');
  assert.deepEqual(judge(GAP, [200, 1000, 100]).out, [200, 100], 'back to exactly -100 from the base: accepted');
});

test('a held run grows by events within the gap of its last event (inclusive); an event fitting neither starts a new run', () => {
  // 1000 held; 1100 is exactly 100 after it (joins); 1200 joins and makes 3: confirmed
  const up = judge(GAP, [0, 1000, 1100, 1200]);
  assert.deepEqual(up.out, [0, 1000, 1100, 1200]);
  assert.equal(up.guard.discontinuities, 1);
  const down = judge(GAP, [0, 1000, 900, 800]);
  assert.deepEqual(down.out, [0, 1000, 900, 800], 'each exactly 100 below the one before: the run holds together');
  // 1000 held; 5000 fits neither the base (0) nor the run's last event (1000): 1000 is dropped, 5000 starts anew
  const r = judge(GAP, [0, 1000, 5000, 5001, 5002]);
  assert.deepEqual(r.out, [0, 5000, 5001, 5002]);
  assert.equal(r.guard.outliers, 1);
  assert.deepEqual(r.guard.jumps, [{ direction: 'forward', fromUs: 0, toUs: 5000, sizeUs: 5000, atEvent: 2 }]);
});

test('a confirmed jump records direction, both times, size and the position of its first event; a run cut short at the end is outliers', () => {
  const f = judge(GAP, [0, 10, 1000, 1001, 1002, 1003]);
  assert.deepEqual(f.out, [0, 10, 1000, 1001, 1002, 1003]);
  assert.deepEqual(f.guard.jumps, [{ direction: 'forward', fromUs: 10, toUs: 1000, sizeUs: 990, atEvent: 2 }]);
  assert.equal(f.guard.discontinuities, 1);
  const b = judge(GAP, [1000, 1010, 0, 1, 2, 3], false);
  assert.deepEqual(b.out, [1000, 1010, 0, 1, 2, 3]);
  assert.deepEqual(b.guard.jumps, [{ direction: 'backward', fromUs: 1010, toUs: 0, sizeUs: 1010, atEvent: 2 }]);
  const cut = judge(GAP, [0, 1000, 1001]);
  assert.deepEqual(cut.out, [0], 'two of three confirming events, then the end: outliers');
  assert.equal(cut.guard.outliers, 2);
  assert.equal(cut.guard.discontinuities, 0);
});

test('a run is also confirmed when it spans the gap itself (inclusive), whatever confirmEvents says', () => {
  const opts = { maxGapUs: 100, confirmEvents: 64 };
  // 1000 held, 1050 and 1100 join; 1100 - 1000 = 100 = the gap: confirmed at once, before the end
  const r = judge(opts, [0, 1000, 1050, 1100]);
  assert.deepEqual(r.out, [0, 1000, 1050, 1100]);
  assert.equal(r.guard.discontinuities, 1);
  const short = judge(opts, [0, 1000, 1050, 1099]);
  assert.deepEqual(short.out, [0], '99 µs of span: not confirmed, outliers at the end');
});

test('only jumps larger than maxGapUs are discontinuities (suspectUs below it: a confirmed short jump is a silence); the first 16 are listed', () => {
  // suspect 10: 100 is held (over 10 ahead); 101, 102 join (within 10 of the last): confirmed, but 100 - 0 is not over 100
  const s = judge({ maxGapUs: 100, suspectUs: 10, confirmEvents: 3 }, [0, 100, 101, 102]);
  assert.deepEqual(s.out, [0, 100, 101, 102]);
  assert.equal(s.guard.discontinuities, 0);
  assert.deepEqual(s.guard.jumps, []);
  // the same from a base away from 0: the size is |first - base| = 100, not a discontinuity either
  const s2 = judge({ maxGapUs: 100, suspectUs: 10, confirmEvents: 3 }, [5000, 5100, 5101, 5102]);
  assert.deepEqual(s2.out, [5000, 5100, 5101, 5102]);
  assert.equal(s2.guard.discontinuities, 0);
  const times = [0];
  for (let k = 1; k <= MAX_LISTED_JUMPS + 1; k++) times.push(k * 1000, k * 1000 + 1, k * 1000 + 2);
  const many = judge(GAP, times, false);
  assert.equal(many.out.length, times.length);
  assert.equal(many.guard.discontinuities, MAX_LISTED_JUMPS + 1);
  assert.equal(many.guard.jumps.length, MAX_LISTED_JUMPS);
  assert.equal(many.guard.jumps.at(-1)!.toUs, MAX_LISTED_JUMPS * 1000);
});

test('suspectUs < maxGapUs: a held forward run followed by a later event within maxGapUs of the base is a sparse stream, released', () => {
  const opts = { maxGapUs: 100, suspectUs: 10, confirmEvents: 64 };
  // 50 held (over 10 ahead); 60 is later than it and 60 - 0 <= 100: release 50 (base 50), then 60 is within 10: accepted
  assert.deepEqual(judge(opts, [0, 50, 60]).out, [0, 50, 60]);
  // an event at the same time as the run's last counts as later; then 5 (45 behind, within 100) is accepted
  const same = judge(opts, [0, 50, 50, 5]);
  assert.deepEqual(same.out, [0, 50, 50, 5]);
  assert.equal(same.guard.outliers, 0);
  // 100 - 0 = 100: still within maxGapUs of the base (inclusive): 50 released; 100 is held as a new run,
  // and 5 (behind it) proves it a stray
  const edge = judge(opts, [0, 50, 100, 5]);
  assert.deepEqual(edge.out, [0, 50, 5]);
  assert.equal(edge.guard.outliers, 1);
  // 45 is over 10 ahead of the base but 5 behind the held 50: it joins the run; 46 is later than the run's
  // last event (45) and within 100 of the base: the run is released, then 46 is within 10 of 45
  assert.deepEqual(judge(opts, [0, 50, 45, 46]).out, [0, 50, 45, 46]);
});

test('suspectUs < maxGapUs at the end of the stream: a held forward run within maxGapUs of the base is released (inclusive), farther is outliers', () => {
  const opts = { maxGapUs: 100, suspectUs: 10, confirmEvents: 64 };
  // 0, 50 (held), 60 (releases 50, accepted: base 60), then the last event:
  assert.deepEqual(judge(opts, [0, 50, 60, 150]).out, [0, 50, 60, 150], '90 after the base: released at the end');
  assert.deepEqual(judge(opts, [0, 50, 60, 160]).out, [0, 50, 60, 160], 'exactly 100 after the base: released');
  const far = judge(opts, [0, 50, 60, 161]);
  assert.deepEqual(far.out, [0, 50, 60], '101 after: an outlier');
  assert.equal(far.guard.outliers, 1);
  // without a lower suspect threshold nothing is released at the end
  const plain = judge({ maxGapUs: 100, confirmEvents: 64 }, [0, 150]);
  assert.deepEqual(plain.out, [0]);
  // a held run behind the base is never released at the end
  assert.deepEqual(judge(opts, [500, 300]).out, [500]);
});

test('releaseHeld hands over exactly the held run, moves the base to its last event, and keeps the base when nothing is held', () => {
  const g = new TimeGuard({ maxGapUs: 100, confirmEvents: 64 });
  g.push(events([0]));
  assert.equal(g.push(events([1000])).length, 0, 'held');
  const r = g.releaseHeld();
  assert.equal(r.length, 1);
  assert.equal(r.t.length, 1, 'a right-sized copy, not the whole buffer');
  assert.equal(r.x.length, 1);
  assert.equal(r.y.length, 1);
  assert.equal(r.p.length, 1);
  assert.deepEqual(Array.from(r.t), [1000]);
  assert.deepEqual(Array.from(g.push(events([1050])).t), [1050], 'the base is now 1000: 1050 is within the gap');
  const empty = g.releaseHeld();
  assert.equal(empty.length, 0);
  assert.deepEqual(Array.from(g.push(events([1100])).t), [1100], 'nothing held: the base (1050) is kept');
});

test('options are checked: confirmEvents an integer in 1..2^20, suspectUs > 0 when the guard is on, suspectUs capped at maxGapUs', () => {
  for (const bad of [0, 1.5, (1 << 20) + 1]) assert.throws(() => new TimeGuard({ confirmEvents: bad }), /confirmEvents must be an integer in 1\.\.1048576/);
  assert.equal(new TimeGuard({ confirmEvents: 1 }).confirmEvents, 1);
  assert.equal(new TimeGuard({ confirmEvents: 1 << 20 }).confirmEvents, 1 << 20);
  assert.throws(() => new TimeGuard({ maxGapUs: 100, suspectUs: 0 }), /suspectUs must be > 0 µs, got 0/);
  assert.doesNotThrow(() => new TimeGuard({ maxGapUs: 0, suspectUs: 0 }), 'the guard is off: suspectUs does not matter');
  assert.equal(new TimeGuard({ maxGapUs: 100, suspectUs: 5000 }).suspectUs, 100);
  assert.equal(new TimeGuard({ maxGapUs: 100, suspectUs: 7 }).suspectUs, 7);
});
