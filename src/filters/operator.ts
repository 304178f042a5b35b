/** The RxJS face of a filter: batches in, kept batches out (empty results are not emitted). */
import { Observable, type OperatorFunction } from 'rxjs';
import type { EventBatch } from '../events/types.js';
import type { EventFilter } from './filter.js';

/**
 * Run `filter` on every batch. `make` is called once per subscription (each subscriber gets its own state);
 * pass `() => f` to keep a handle on `f` (its stats, its learned hot pixels). A throwing filter errors
 * the stream (after the batches before it were delivered).
 */
export function filterOperator(make: () => EventFilter): OperatorFunction<EventBatch, EventBatch> {
  return (source) =>
    new Observable<EventBatch>((subscriber) => {
      let filter: EventFilter;
      try {
        filter = make();
      } catch (err) {
        subscriber.error(err);
        return;
      }
      return source.subscribe({
        next(batch) {
          let out: EventBatch;
          try {
            out = filter.apply(batch);
          } catch (err) {
            subscriber.error(err);
            return;
          }
          if (out.length > 0) subscriber.next(out);
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}
