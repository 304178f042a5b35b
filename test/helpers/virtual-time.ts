/**
 * Virtual time for code that mixes scheduler timers with real async I/O (file reads, sockets).
 *
 * RxJS's TestScheduler / marble tests assume everything happens inside the scheduler, synchronously; a paced
 * file replay reads the file with real async I/O between its timers. So the clock here is a
 * `VirtualTimeScheduler` that is only ever moved by firing its timers, one at a time, in order, with real
 * event-loop turns in between (the read completes, the source schedules its next timer, and so on). Virtual
 * time never runs ahead of the code under test: a replay of a 10 s recording ends at virtual 10 s exactly,
 * after a few real milliseconds of decoding.
 *
 * The driver cannot see I/O in flight: it fires the next timer as soon as one event-loop turn passes without
 * the condition holding. So put on one clock only timers that cannot be pending while another actor on the
 * same clock is doing I/O (e.g. a replay server's pacing and a client's reconnect backoff, but not the
 * client's idle timeout, which is pending while the server reads its file).
 */
import { Subscription, VirtualTimeScheduler, type SchedulerAction, type SchedulerLike } from 'rxjs';

const ioTurn = (): Promise<void> => new Promise((r) => setImmediate(r));

export interface RunOptions {
  /** Stop as soon as this holds (checked after every event-loop turn). */
  until?: () => boolean;
  /** Do not fire timers due after this virtual time (ms, absolute); stop there. Default: no limit. */
  toMs?: number;
  /** Real-time guard (ms, default 10 s): throws when reached, naming `what`. */
  realTimeoutMs?: number;
  what?: string;
  /**
   * With `toMs`: when no timer is due before it, wait this long (real ms) for I/O in flight to schedule one,
   * then move the clock to `toMs`. Default 5.
   */
  settleMs?: number;
}

export class VirtualClock {
  readonly scheduler = new VirtualTimeScheduler();
  /** Timers fired so far. */
  fired = 0;

  now(): number {
    return this.scheduler.now();
  }

  /** Due time of the earliest pending timer (virtual ms), or undefined. */
  nextDue(): number | undefined {
    return this.scheduler.actions[0]?.delay;
  }

  /** Fire the earliest pending timer (and any others due at the same instant), moving the clock to it. */
  private fireNext(): void {
    const s = this.scheduler;
    s.maxFrames = s.actions[0]!.delay;
    s.flush();
    s.maxFrames = Infinity;
    this.fired++;
  }

  /**
   * Run timers in order, letting real I/O run between them, until `until()` holds or (with `toMs`) the clock
   * reaches `toMs`. Without `toMs`, waits on I/O for as long as no timer is pending (bounded by the real-time
   * guard).
   */
  async run(opts: RunOptions): Promise<void> {
    const realEnd = Date.now() + (opts.realTimeoutMs ?? 10_000);
    const toMs = opts.toMs ?? Infinity;
    let idleSince = NaN;
    for (;;) {
      await ioTurn();
      if (opts.until?.()) return;
      if (Date.now() > realEnd) throw new Error(`virtual clock: ${opts.what ?? 'condition'} not reached after ${opts.realTimeoutMs ?? 10_000} ms real (virtual ${this.now()} ms)`);
      const next = this.nextDue();
      if (next !== undefined && next <= toMs) {
        idleSince = NaN;
        this.fireNext();
        continue;
      }
      if (toMs === Infinity) continue;
      // nothing due before toMs: once I/O had a moment to schedule something, jump there
      if (Number.isNaN(idleSince)) idleSince = Date.now();
      else if (Date.now() - idleSince >= (opts.settleMs ?? 5)) {
        this.scheduler.frame = Math.max(this.scheduler.frame, toMs);
        return;
      }
    }
  }

  /** Move the clock `ms` forward, firing what falls due on the way (see run). */
  advance(ms: number, what?: string): Promise<void> {
    return this.run({ toMs: this.now() + ms, what });
  }
}

/** A scheduler that runs nothing until told: `step()` runs the oldest piece of work. Time does not exist. */
export class ManualQueue implements SchedulerLike {
  private readonly queue: { run: () => void; sub: Subscription }[] = [];
  get length(): number {
    return this.queue.filter((w) => !w.sub.closed).length;
  }
  now(): number {
    return 0;
  }
  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, _delay?: number, state?: T): Subscription {
    const action = Object.assign(new Subscription(), {
      schedule: (s?: T): Subscription => this.schedule(work, 0, s),
    }) as SchedulerAction<T>;
    this.queue.push({ run: () => work.call(action, state), sub: action });
    return action;
  }
  /** Run the oldest pending work; false when there was none. */
  step(): boolean {
    for (;;) {
      const w = this.queue.shift();
      if (!w) return false;
      if (w.sub.closed) continue;
      w.run();
      return true;
    }
  }
  /** Run until nothing is pending (work scheduled meanwhile included); returns how many ran. */
  drain(): number {
    let n = 0;
    while (this.step()) n++;
    return n;
  }
}
