/**
 * Pipeline sources with run-time control. A file (or DDD17 drive) is the paced file replay of
 * src/sources/paced-file.ts (read lazily, paced at a speed that can change while running, pausable: event
 * time stands still); a DV TCP source is a live camera (pause drops its frames further down instead).
 *
 * Each source maps event time to the clock time at which that event time was "now" (`wallOf`, in the
 * source's `now()`), so the pipeline can report event-to-screen latency.
 */
import { Observable, BehaviorSubject, type SchedulerLike } from 'rxjs';
import type { EventBatch } from '../events/types.js';
import { fromDvTcp, type DvTcpOptions } from '../sources/dv-tcp.js';
import { shiftTime } from '../sources/batch-time.js';
import type { ControlledSource, SourceStatus } from '../sources/controlled.js';
import { realtimeScheduler } from '../util/clock.js';

export type { ControlledSource, SourceState, SourceStatus } from '../sources/controlled.js';
export { PacedFileSource, type PacedFileOptions } from '../sources/paced-file.js';

export interface LiveTcpOptions extends Pick<DvTcpOptions, 'idleTimeoutMs' | 'maxPacketBytes' | 'initialBackoffMs' | 'maxBackoffMs' | 'scheduler'> {
  /** Pipeline log: decoder warnings and corrupt-stream reports go here (a flood is collapsed). */
  log?: (line: string) => void;
  /** Warnings logged in full before they are only counted (default 20). */
  warningLimit?: number;
}

/** A DV TCP camera (or replay server). Pausing is handled by the pipeline (frames dropped while paused). */
export class LiveTcpSource implements ControlledSource {
  readonly kind = 'live' as const;
  readonly status$ = new BehaviorSubject<SourceStatus>({ state: 'connecting' });
  readonly events$: Observable<EventBatch>;
  private _paused = false;
  private readonly clock: SchedulerLike;
  /** Format warnings from the stream (corrupt packets, dropped connections for corruption). */
  warnings = 0;

  constructor(
    readonly url: string,
    opts: LiveTcpOptions = {},
  ) {
    const log = opts.log ?? (() => {});
    this.clock = opts.scheduler ?? realtimeScheduler;
    const limit = opts.warningLimit ?? 20;
    const src = fromDvTcp(url, {
      idleTimeoutMs: opts.idleTimeoutMs,
      maxPacketBytes: opts.maxPacketBytes,
      initialBackoffMs: opts.initialBackoffMs,
      maxBackoffMs: opts.maxBackoffMs,
      scheduler: opts.scheduler,
      // A broken camera or server can warn on every packet: the first few are logged in full, then one
      // line per 1000 so the log shows it goes on without drowning.
      onWarning: (w) => {
        this.warnings++;
        if (this.warnings <= limit) log(`evstream: warning: ${w.message}`);
        else if (this.warnings % 1000 === 0) log(`evstream: ${this.warnings} warnings from ${url} so far (last: ${w.message})`);
      },
    });
    this.events$ = new Observable<EventBatch>((subscriber) => {
      const st = src.status$.subscribe((s) => {
        // fromDvTcp says 'reconnecting' twice per retry: when a connection ends (reason, delay) and when the
        // next attempt starts; the second adds nothing to the first (and would double the log lines)
        if (s.state === 'reconnecting' && s.retryInMs === undefined && this.status$.value.state === 'reconnecting') return;
        const detail =
          s.state !== 'reconnecting' || s.retryInMs === undefined
            ? s.url
            : `${s.reason ?? 'no connection'}; retry in ${s.retryInMs} ms${s.attempt > 0 ? ` (attempt ${s.attempt})` : ''}`;
        this.status$.next({ state: s.state, detail });
      });
      const sub = src.subscribe(subscriber);
      return () => {
        sub.unsubscribe();
        st.unsubscribe();
      };
    });
  }

  get speed(): number {
    return 1;
  }
  get paused(): boolean {
    return this._paused;
  }
  setPaused(paused: boolean): void {
    this._paused = paused;
  }
  setSpeed(): void {
    throw new RangeError('speed cannot be changed on a live camera source');
  }
  wallOf(): number {
    return NaN;
  }
  now(): number {
    return this.clock.now();
  }
}

/**
 * Live streams can jump in time: a camera or replay server that restarts begins again at its own zero,
 * and a long outage leaves a gap. Binning would drop a backward jump as late events (until time catches
 * up) and fill a forward gap with empty frames, so jumps larger than `maxJumpUs` are removed: later events
 * are shifted to continue 1 µs after the last one. Within a stream, order is kept as it arrives.
 */
export function continuousTime(maxJumpUs = 2_000_000, onRebase?: (jumpUs: number) => void): (src: Observable<EventBatch>) => Observable<EventBatch> {
  return (src) =>
    new Observable<EventBatch>((subscriber) => {
      let offset = 0;
      let lastT = NaN;
      return src.subscribe({
        next(b) {
          if (b.length === 0) return;
          const first = b.t[0]! + offset;
          if (!Number.isNaN(lastT) && Math.abs(first - lastT) > maxJumpUs) {
            onRebase?.(first - lastT);
            offset += lastT + 1 - first;
          }
          const out = offset === 0 ? b : shiftTime(b, offset);
          lastT = out.t[out.length - 1]!;
          subscriber.next(out);
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      });
    });
}
