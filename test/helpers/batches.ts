import type { EventBatch } from '../../src/events/types.js';

/** One event as [t, x, y, p]. */
export type EventRow = [number, number, number, number];

/** A batch from rows of [t, x, y, p] on a width x height sensor (tests write events as readable rows). */
export function batchOf(events: readonly EventRow[], width = 8, height = 6): EventBatch {
  return {
    t: Float64Array.from(events, (e) => e[0]),
    x: Uint16Array.from(events, (e) => e[1]),
    y: Uint16Array.from(events, (e) => e[2]),
    p: Uint8Array.from(events, (e) => e[3]),
    length: events.length,
    width,
    height,
  };
}
