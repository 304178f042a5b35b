/**
 * RxJS operator that runs a slow synchronous step (the SNN session) on a stream without ever queueing
 * without bound: at most `maxPending` inputs wait; when another arrives, the policy decides:
 *   'drop'  - the oldest waiting input is dropped (counted): the model always gets the newest frames;
 *   'merge' - the newest waiting input absorbs the arrival (e.g. summed event counts): nothing is lost,
 *             the time resolution gets coarser while the model is behind.
 * Inputs are processed strictly in arrival (event-time) order, one per macrotask (setImmediate), so I/O,
 * timers and websocket clients get the event loop between steps.
 */
import { Observable, type OperatorFunction } from 'rxjs';

export interface BoundedStepOptions<I, O> {
  maxPending: number;
  policy: 'drop' | 'merge';
  process: (input: I) => O;
  /** Required for 'merge': combine the waiting input `a` with the newer `b` (in order). */
  merge?: (a: I, b: I) => I;
  /** Called for every input dropped ('drop') or merged ('merge'). */
  onOverflow?: (input: I) => void;
}

export function boundedStep<I, O>(opts: BoundedStepOptions<I, O>): OperatorFunction<I, O> {
  if (!(opts.maxPending >= 1)) throw new RangeError(`maxPending must be >= 1, got ${opts.maxPending}`);
  if (opts.policy === 'merge' && !opts.merge) throw new Error("boundedStep: policy 'merge' needs a merge function");
  return (source) =>
    new Observable<O>((subscriber) => {
      const queue: I[] = [];
      let scheduled: NodeJS.Immediate | undefined;
      let completed = false;
      const pump = (): void => {
        scheduled = undefined;
        if (subscriber.closed) return;
        const item = queue.shift();
        if (item === undefined) {
          if (completed) subscriber.complete();
          return;
        }
        let out: O;
        try {
          out = opts.process(item);
        } catch (err) {
          subscriber.error(err);
          return;
        }
        subscriber.next(out);
        if (queue.length > 0 || completed) schedule();
      };
      const schedule = (): void => {
        if (!scheduled) scheduled = setImmediate(pump);
      };
      const sub = source.subscribe({
        next(item) {
          if (queue.length >= opts.maxPending) {
            if (opts.policy === 'merge') {
              const last = queue.length - 1;
              queue[last] = opts.merge!(queue[last]!, item);
              opts.onOverflow?.(item);
              schedule();
              return;
            }
            const dropped = queue.shift()!;
            opts.onOverflow?.(dropped);
          }
          queue.push(item);
          schedule();
        },
        error: (err) => subscriber.error(err),
        complete() {
          completed = true;
          schedule();
        },
      });
      return () => {
        sub.unsubscribe();
        if (scheduled) clearImmediate(scheduled);
        queue.length = 0;
      };
    });
}
