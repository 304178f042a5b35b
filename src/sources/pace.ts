import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import type { EventBatch } from '../events/types.js';

/**
 * Re-time a stream of batches to its recorded pace (times `speed`): each batch is emitted when the wall clock
 * reaches its last event's time relative to the first. Batches arriving early wait in a queue, so for files
 * prefer `fromEventFile(path, { speed })`, which reads lazily instead of queueing.
 */
export function paceRealtime(speed = 1): MonoTypeOperatorFunction<EventBatch> {
  if (!(speed > 0)) throw new Error(`paceRealtime: speed must be > 0 (got ${speed})`);
  return (source) =>
    new Observable<EventBatch>((subscriber) => {
      const queue: EventBatch[] = [];
      let timer: NodeJS.Timeout | undefined;
      let streamStart = NaN;
      let wallStart = 0;
      let done = false;
      const due = (b: EventBatch) => wallStart + (b.t[b.length - 1]! - streamStart) / 1000 / speed;
      const pump = (): void => {
        timer = undefined;
        while (queue.length > 0) {
          const wait = due(queue[0]!) - performance.now();
          if (wait > 1) {
            timer = setTimeout(pump, wait);
            return;
          }
          subscriber.next(queue.shift()!);
        }
        if (done) subscriber.complete();
      };
      const sub = source.subscribe({
        next(b) {
          if (b.length === 0) return;
          if (Number.isNaN(streamStart)) {
            streamStart = b.t[0]!;
            wallStart = performance.now();
          }
          queue.push(b);
          if (!timer) pump();
        },
        error: (e) => subscriber.error(e),
        complete() {
          done = true;
          if (!timer) pump();
        },
      });
      return () => {
        sub.unsubscribe();
        if (timer) clearTimeout(timer);
      };
    });
}
