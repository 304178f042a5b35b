/**
 * The one file replay of evstream: an event file read lazily and handed on at its recorded pace times
 * `speed` (or as fast as the consumer takes it), optionally looped, with pause and speed changes while it
 * runs. The pipeline, the replay server and `fromEventFile` are all this class.
 *
 * Pacing rule: event time t0 (the first event) is "now" when the first batch is due; a batch is handed on
 * when its LAST event is due, `wallOf(tLast) = anchorWall + (tLast - anchorT) / 1000 / speed`, so nothing is
 * delivered before it happened. Batches are cut to at most `maxBatchUs` of event time (default 10 ms) so the
 * pace is smooth. A pause freezes event time; resuming, or changing speed, re-anchors the mapping at the
 * event time reached, so playback neither jumps nor bursts.
 *
 * Memory: the file is read one chunk at a time, and the next chunk only once every batch of the previous one
 * has been handed on (and the consumer's promise, if it returned one, settled), so it never reads ahead of
 * the pace, whatever the file's size or timestamps.
 *
 * Time: all waiting goes through the injected RxJS scheduler (`now()` and `schedule(work, delay)`; default
 * `realtimeScheduler`). Tests pass a `VirtualTimeScheduler` and advance it; reading stays real async I/O.
 */
import { BehaviorSubject, Observable, defer, type SchedulerLike } from 'rxjs';
import type { EventBatch } from '../events/types.js';
import { delay, realtimeScheduler } from '../util/clock.js';
import { sliceByDuration } from './batch-time.js';
import type { ControlledSource, SourceState, SourceStatus } from './controlled.js';
import { readEventFileLooped, type LoopedReadOptions } from './looped-read.js';
import { isValidSpeed, speedError } from './speed.js';

/** Default largest event-time span of one paced batch (µs). */
export const DEFAULT_MAX_BATCH_US = 10_000;

export interface PacedFileOptions extends Omit<LoopedReadOptions, 'signal' | 'onPassEnd'> {
  /**
   * Recorded pace times `speed` (1 = real time): 0 or a number in [SPEED_MIN, SPEED_MAX]. 0 / undefined: as
   * fast as the consumer takes them (unpaced; `setSpeed` can start pacing later).
   */
  speed?: number;
  /**
   * Largest event-time span of one handed-on batch (µs). Default DEFAULT_MAX_BATCH_US while paced; unpaced,
   * batches go as decoded unless this is set.
   */
  maxBatchUs?: number;
  /** Clock and timers (default realtimeScheduler); tests pass virtual time. */
  scheduler?: SchedulerLike;
}

/** Receives each batch; a returned promise holds the replay (and the reading) until it settles. */
export type PacedBatchHandler = (batch: EventBatch) => void | Promise<void>;

/**
 * A file replay with run-time control. One consumer at a time (`events$` or `run`); each run starts at the
 * beginning of the file with a fresh time mapping, and pause / speed carry over.
 */
export class PacedFileSource implements ControlledSource {
  readonly kind = 'file' as const;
  readonly status$ = new BehaviorSubject<SourceStatus>({ state: 'starting' });
  /** The batches, cold: subscribing starts a run, unsubscribing stops reading and closes the file. */
  readonly events$: Observable<EventBatch>;
  private readonly scheduler: SchedulerLike;
  private _speed: number;
  private _paused = false;
  /** The mapping event time -> clock: anchorT (µs) was "now" at anchorWall (ms). NaN until the first batch. */
  private anchorT = NaN;
  private anchorWall = NaN;
  /** Event time of the last event handed on. */
  private lastEmittedT = NaN;
  /** Last event time of the batch now waiting to be due (NaN when none is waiting). */
  private waitingT = NaN;
  /** Event time at which a pause froze the stream. */
  private pausedT = NaN;
  /** Aborted to cut the current wait short: a pause, a resume or a speed change. */
  private wake: AbortController | undefined;
  private running = false;

  constructor(
    readonly path: string,
    private readonly opts: PacedFileOptions = {},
  ) {
    const speed = opts.speed ?? 0;
    if (!(speed === 0 || isValidSpeed(speed))) throw speedError('speed', speed, true);
    this._speed = speed;
    this.scheduler = opts.scheduler ?? realtimeScheduler;
    this.events$ = new Observable<EventBatch>((subscriber) => {
      if (this.running) {
        subscriber.error(new Error(`PacedFileSource ${this.path}: already running (one consumer at a time)`));
        return;
      }
      const abort = new AbortController();
      this.run((b) => subscriber.next(b), abort.signal).then(
        () => subscriber.complete(),
        (err: unknown) => subscriber.error(err),
      );
      return () => {
        abort.abort(); // wakes a pending wait and ends the read, which closes the file
        this.setState('stopped');
      };
    });
  }

  get speed(): number {
    return this._speed;
  }
  get paused(): boolean {
    return this._paused;
  }
  now(): number {
    return this.scheduler.now();
  }

  wallOf(tUs: number): number {
    if (Number.isNaN(this.anchorT) || this._speed === 0) return NaN;
    return this.anchorWall + (tUs - this.anchorT) / 1000 / this._speed;
  }

  /**
   * Replay the file into `onBatch` until its end (or for ever when looping), or until `signal` aborts (then
   * resolves quietly, state 'stopped'). Rejects with the reader's error (an EventFormatError names file and
   * byte offset) after every batch decoded before the fault was handed on.
   */
  async run(onBatch: PacedBatchHandler, signal?: AbortSignal): Promise<void> {
    if (this.running) throw new Error(`PacedFileSource ${this.path}: already running (one consumer at a time)`);
    this.running = true;
    this.anchorT = this.anchorWall = this.lastEmittedT = this.waitingT = this.pausedT = NaN;
    let loops = 0;
    this.setState(this._paused ? 'paused' : 'playing', loops);
    const { speed: _s, maxBatchUs, scheduler: _c, ...readOpts } = this.opts;
    try {
      await readEventFileLooped(
        this.path,
        async (batch) => {
          const sliceUs = maxBatchUs ?? (this._speed > 0 ? DEFAULT_MAX_BATCH_US : Infinity);
          for (const part of sliceUs === Infinity ? [batch] : sliceByDuration(batch, sliceUs)) {
            await this.untilDue(part, signal);
            if (signal?.aborted) return;
            this.lastEmittedT = part.t[part.length - 1]!;
            const r = onBatch(part);
            if (r) await r;
          }
        },
        {
          ...readOpts,
          signal,
          onPassEnd: (passes) => {
            loops = passes;
            if (this.opts.loop && !signal?.aborted) this.setState(this._paused ? 'paused' : 'playing', loops);
          },
        },
      );
      this.setState(signal?.aborted ? 'stopped' : 'ended', loops);
    } catch (err) {
      if (signal?.aborted) {
        this.setState('stopped', loops);
        return;
      }
      this.status$.next({ state: 'error', detail: (err as Error).message, loops });
      throw err;
    } finally {
      this.running = false;
      this.waitingT = NaN;
    }
  }

  /** Wait until `part` is due: paused -> until resumed; paced -> until its last event's time; unpaced -> not. */
  private async untilDue(part: EventBatch, signal: AbortSignal | undefined): Promise<void> {
    const tEnd = part.t[part.length - 1]!;
    try {
      for (;;) {
        if (signal?.aborted) return;
        if (this._paused) {
          await this.sleep(Infinity, signal);
          continue;
        }
        if (this._speed === 0) return;
        if (Number.isNaN(this.anchorT)) this.reanchor(part.t[0]!);
        this.waitingT = tEnd;
        const wait = this.wallOf(tEnd) - this.scheduler.now();
        if (wait <= 0) return;
        await this.sleep(wait, signal);
      }
    } finally {
      this.waitingT = NaN;
    }
  }

  /** Sleep on the scheduler; woken early by `signal` or by a control change (`this.wake`). */
  private async sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    const wake = new AbortController();
    this.wake = wake;
    const onAbort = (): void => wake.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await delay(this.scheduler, ms, wake.signal);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      if (this.wake === wake) this.wake = undefined;
    }
  }

  /** Restart the mapping: event time `t` is now. */
  private reanchor(t: number): void {
    this.anchorT = t;
    this.anchorWall = this.scheduler.now();
  }

  /**
   * The event time reached now: what the clock says, but not beyond the batch waiting to be due (or, while
   * the next one is being read, the last one handed on) and not before the last one handed on.
   */
  private eventTimeNow(): number {
    if (this._paused) return this.pausedT;
    if (Number.isNaN(this.anchorT)) return this.lastEmittedT;
    const t = this.anchorT + (this.scheduler.now() - this.anchorWall) * 1000 * this._speed;
    const lo = Number.isNaN(this.lastEmittedT) ? this.anchorT : this.lastEmittedT;
    const hi = Number.isNaN(this.waitingT) ? lo : this.waitingT;
    return Math.max(lo, Math.min(t, hi));
  }

  setSpeed(speed: number): void {
    // checked here too, not only in the schemas: every caller (API, websocket, library users) is bounded
    if (!isValidSpeed(speed)) throw speedError('speed', speed, false);
    if (speed === this._speed) return;
    if (!this._paused) {
      const t = this._speed === 0 ? this.lastEmittedT : this.eventTimeNow();
      if (!Number.isNaN(t)) this.reanchor(t);
    }
    this._speed = speed;
    this.wake?.abort();
  }

  setPaused(paused: boolean): void {
    if (paused === this._paused) return;
    if (paused) {
      this.pausedT = this._speed === 0 ? this.lastEmittedT : this.eventTimeNow();
      this._paused = true;
    } else {
      this._paused = false;
      // event time stood still while paused: continue from where it stopped
      if (!Number.isNaN(this.pausedT) && this._speed > 0) this.reanchor(this.pausedT);
      this.pausedT = NaN;
    }
    this.wake?.abort();
    const s = this.status$.value;
    if (s.state === 'playing' || s.state === 'paused') this.status$.next({ ...s, state: paused ? 'paused' : 'playing' });
  }

  private setState(state: SourceState, loops?: number): void {
    const s = this.status$.value;
    if (s.state === state && (loops === undefined || s.loops === loops)) return;
    // 'stopped' by the consumer does not overwrite how a run really ended
    if (state === 'stopped' && (s.state === 'ended' || s.state === 'error')) return;
    this.status$.next({ state, loops: loops ?? s.loops });
  }
}

/**
 * Observable of the event batches of a file (format detected by content): unpaced by default, paced with
 * `speed`. Cold: each subscriber gets its own reader (a PacedFileSource). Unsubscribing stops reading and
 * closes the file handle.
 */
export function fromEventFile(path: string, opts: PacedFileOptions = {}): Observable<EventBatch> {
  return defer(() => new PacedFileSource(path, opts).events$);
}
