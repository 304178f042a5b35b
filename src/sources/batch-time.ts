import type { EventBatch } from '../events/types.js';

/** A copy of `batch` with `offsetUs` added to every timestamp. */
export function shiftTime(batch: EventBatch, offsetUs: number): EventBatch {
  const t = new Float64Array(batch.length);
  for (let i = 0; i < batch.length; i++) t[i] = batch.t[i]! + offsetUs;
  return { ...batch, t };
}

/** View of events [start, end) of a batch (no copy). */
export function sliceBatch(b: EventBatch, start: number, end: number): EventBatch {
  return { t: b.t.subarray(start, end), x: b.x.subarray(start, end), y: b.y.subarray(start, end), p: b.p.subarray(start, end), length: end - start, width: b.width, height: b.height };
}

/** Split a batch into consecutive views each spanning at most `maxUs` of time (by first-event time). */
export function* sliceByDuration(batch: EventBatch, maxUs: number): Generator<EventBatch> {
  let start = 0;
  while (start < batch.length) {
    const limit = batch.t[start]! + maxUs;
    let end = start + 1;
    while (end < batch.length && batch.t[end]! < limit) end++;
    yield sliceBatch(batch, start, end);
    start = end;
  }
}
