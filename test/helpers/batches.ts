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

/** What a decoder's generator gave when drained: every batch in order, its return value, or the error it threw. */
export interface Drained<R> {
  batches: EventBatch[];
  /** The generator's return value (set when it ended without an error). */
  info?: R;
  error?: unknown;
}

/** The events of batches as rows of [t, x, y, p], in order. */
export function rowsOf(batches: readonly EventBatch[]): EventRow[] {
  const out: EventRow[] = [];
  for (const b of batches) for (let i = 0; i < b.length; i++) out.push([b.t[i]!, b.x[i]!, b.y[i]!, b.p[i]!]);
  return out;
}

/**
 * Pulls a decoder's generator to its end or its first error (kept, not thrown: tests check what came before
 * it). `onBatch` sees each batch as it arrives, before the next is pulled.
 */
export async function drain<R>(it: AsyncGenerator<EventBatch, R>, onBatch?: (b: EventBatch) => void): Promise<Drained<R>> {
  const out: Drained<R> = { batches: [] };
  try {
    for (;;) {
      const n = await it.next();
      if (n.done) {
        out.info = n.value;
        return out;
      }
      out.batches.push(n.value);
      onBatch?.(n.value);
    }
  } catch (e) {
    out.error = e;
    return out;
  }
}
