/**
 * Time, injectable. Everything in evstream that waits or reads a clock (file pacing, the replay server, the
 * pipeline's model stage) takes an RxJS `SchedulerLike` and uses only its `now()` and `schedule(work, delay)`,
 * so tests pass a `VirtualTimeScheduler` and advance time by hand instead of sleeping.
 *
 * The two real schedulers here are the defaults:
 * - `realtimeScheduler`: timers of `asyncScheduler`, clock `performance.now()`. Monotonic and sub-ms, unlike
 *   `asyncScheduler.now()` (= `Date.now()`): a wall-clock step (NTP, the user setting the time) would
 *   otherwise stall a paced replay or skew its latency figures.
 * - `immediateScheduler`: runs work on the next macrotask (`setImmediate`), so I/O, timers and websocket
 *   clients get the event loop between two pieces of work. (`asapScheduler` is microtask-based and would
 *   starve them.)
 */
import { Subscription, asyncScheduler, type SchedulerAction, type SchedulerLike } from 'rxjs';

export const realtimeScheduler: SchedulerLike = {
  now: () => performance.now(),
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T): Subscription {
    return asyncScheduler.schedule(work, delay, state);
  },
};

/** One piece of work on `immediateScheduler`; may reschedule itself (`this.schedule()`), as RxJS actions do. */
class ImmediateAction<T> extends Subscription implements SchedulerAction<T> {
  private handle: { kind: 'immediate'; id: NodeJS.Immediate } | { kind: 'timeout'; id: NodeJS.Timeout } | undefined;

  constructor(private readonly work: (this: SchedulerAction<T>, state?: T) => void) {
    super(() => this.clear());
  }

  private clear(): void {
    if (this.handle?.kind === 'immediate') clearImmediate(this.handle.id);
    else if (this.handle?.kind === 'timeout') clearTimeout(this.handle.id);
    this.handle = undefined;
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.clear();
    const run = (): void => {
      this.handle = undefined;
      this.work.call(this, state);
    };
    this.handle = delay > 0 ? { kind: 'timeout', id: setTimeout(run, delay) } : { kind: 'immediate', id: setImmediate(run) };
    return this;
  }
}

export const immediateScheduler: SchedulerLike = {
  now: () => performance.now(),
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay?: number, state?: T): Subscription {
    return new ImmediateAction<T>(work).schedule(state, delay);
  },
};

/**
 * Resolves after `ms` of `scheduler` time, or at once (without throwing) when `signal` aborts: the caller
 * re-checks what it was waiting for. The timer is cancelled either way. `ms = Infinity` waits for the signal
 * only (no timer: Node would turn an infinite timeout into 1 ms).
 */
export function delay(scheduler: SchedulerLike, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    let done = false;
    let timer: Subscription | undefined;
    const finish = (): void => {
      if (done) return;
      done = true;
      timer?.unsubscribe();
      signal?.removeEventListener('abort', finish);
      resolve();
    };
    signal?.addEventListener('abort', finish, { once: true });
    if (Number.isFinite(ms)) timer = scheduler.schedule(finish, Math.max(0, ms));
    // a scheduler that ran `finish` synchronously (e.g. queueScheduler) left a timer that is already spent
    if (done) timer?.unsubscribe();
  });
}
