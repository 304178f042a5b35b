/**
 * RxJS operator that runs a slow synchronous step (the SNN session) on a stream without ever queueing
 * without bound: at most `maxPending` inputs wait; when another arrives, the policy decides:
 *   'drop'  - the oldest waiting input is dropped (counted): the model always gets the newest frames;
 *   'merge' - the newest waiting input absorbs the arrival (e.g. summed event counts): nothing is lost,
 *             the time resolution gets coarser while the model is behind.
 * Inputs are processed strictly in arrival (event-time) order, one per piece of work on `scheduler`
 * (default immediateScheduler: one per macrotask, so I/O, timers and websocket clients get the event loop
 * between steps). Tests pass a scheduler they run by hand.
 */
import { Observable, type OperatorFunction, type SchedulerLike, type Subscription } from 'rxjs';
import { immediateScheduler } from '../util/clock.js';

export interface BoundedStepOptions<I, O> {
  maxPending: number;
  policy: 'drop' | 'merge';
  process: (input: I) => O;
  /** Required for 'merge': combine the waiting input `a` with the newer `b` (in order). */
  merge?: (a: I, b: I) => I;
  /** Called for every input dropped ('drop') or merged ('merge'). */
  onOverflow?: (input: I) => void;
  /** Where steps run (default immediateScheduler); only `schedule(work)` with no delay is used. */
  scheduler?: SchedulerLike;
}

export function boundedStep<I, O>(opts: BoundedStepOptions<I, O>): OperatorFunction<I, O> {
  if (!(opts.maxPending >= 1)) throw new RangeError(`maxPending must be >= 1, got ${opts.maxPending}`);
  if (opts.policy === 'merge' && !opts.merge) throw new Error("boundedStep: policy 'merge' needs a merge function");
  const scheduler = opts.scheduler ?? immediateScheduler;
  return (source) =>
    new Observable<O>((subscriber) => {
      const queue: I[] = [];
      // id of the step scheduled (0: none), not the action itself: a scheduler may run the work (which may
      // schedule the next) before schedule() returns
      let armed = 0;
      let lastId = 0;
      let action: Subscription | undefined;
      let completed = false;
      const pump = (): void => {
        armed = 0;
        action = undefined;
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
        if (armed) return;
        const id = (armed = ++lastId);
        const a = scheduler.schedule(pump);
        if (armed === id) action = a;
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
        action?.unsubscribe();
        queue.length = 0;
      };
    });
}
