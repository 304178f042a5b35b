/**
 * Pipeline sources with run-time control. A file (or DDD17 drive) is read lazily and paced against the wall
 * clock at a speed that can change while running, and can be paused (event time stands still); a DV TCP
 * source is a live camera (pause drops its frames further down instead).
 *
 * Each source maps event time to the wall-clock time at which that event time was "now" (`wallOf`), so the
 * pipeline can report event-to-screen latency.
 */
import { Observable, BehaviorSubject } from 'rxjs';
import type { EventBatch } from '../events/types.js';
import { readEventFileLooped } from '../sources/looped-read.js';
import { fromDvTcp, type DvTcpOptions } from '../sources/dv-tcp.js';
import { shiftTime, sliceByDuration } from '../sources/batch-time.js';
import { sleep } from '../util/sleep.js';
import { isValidSpeed, SPEED_MAX, SPEED_MIN } from './speed.js';

export type SourceState = 'starting' | 'playing' | 'paused' | 'connecting' | 'connected' | 'reconnecting' | 'ended' | 'stopped' | 'error';

export interface SourceStatus {
  state: SourceState;
  detail?: string;
  /** Loops completed (file sources). */
  loops?: number;
}

export interface ControlledSource {
  readonly kind: 'file' | 'live';
  readonly events$: Observable<EventBatch>;
  readonly status$: BehaviorSubject<SourceStatus>;
  readonly paused: boolean;
  readonly speed: number;
  setPaused(paused: boolean): void;
  /** Replay speed (file sources only; live sources throw). */
  setSpeed(speed: number): void;
  /** Wall time (performance.now() ms) at which event time `tUs` was due; NaN when unknown. */
  wallOf(tUs: number): number;
}

export interface PacedFileOptions {
  speed: number;
  loop: boolean;
  /** Gap inserted between loops (µs), default 1. */
  loopGapUs?: number;
  /** Largest time span of one emitted batch (µs), default 10 ms. */
  maxBatchUs?: number;
}

/** A paced file source whose speed and pause can change while it runs. Cold: one reader per subscriber. */
export class PacedFileSource implements ControlledSource {
  readonly kind = 'file' as const;
  readonly status$ = new BehaviorSubject<SourceStatus>({ state: 'starting' });
  readonly events$: Observable<EventBatch>;
  private _speed: number;
  private _paused = false;
  private anchorWall = NaN;
  private anchorT = NaN;
  /** Event time reached so far (last emitted). */
  private lastEmittedT = NaN;
  private resume: (() => void) | undefined;
  private wake: AbortController | undefined;

  constructor(
    readonly path: string,
    private readonly opts: PacedFileOptions,
  ) {
    this._speed = opts.speed;
    this.events$ = new Observable<EventBatch>((subscriber) => {
      const abort = new AbortController();
      const maxBatchUs = opts.maxBatchUs ?? 10_000;
      let loops = 0;
      this.status$.next({ state: this._paused ? 'paused' : 'playing', loops });

      const emit = async (batch: EventBatch): Promise<void> => {
        if (subscriber.closed) return;
        for (const part of sliceByDuration(batch, maxBatchUs)) {
          const tEnd = part.t[part.length - 1]!;
          if (Number.isNaN(this.anchorT)) this.reanchor(part.t[0]!);
          for (;;) {
            while (this._paused && !subscriber.closed) await new Promise<void>((r) => (this.resume = r));
            if (subscriber.closed) return;
            const wait = this.wallOf(tEnd) - performance.now();
            if (wait <= 1) break;
            // wake early when the speed changes or a pause starts
            this.wake = new AbortController();
            const both = AbortSignal.any([abort.signal, this.wake.signal]);
            await sleep(wait, both);
            if (abort.signal.aborted) return;
          }
          this.lastEmittedT = tEnd;
          subscriber.next(part);
        }
      };

      (async () => {
        await readEventFileLooped(path, emit, {
          signal: abort.signal,
          loop: opts.loop,
          loopGapUs: opts.loopGapUs,
          onPassEnd: (passes) => {
            loops = passes;
            if (opts.loop && !subscriber.closed) this.status$.next({ state: this._paused ? 'paused' : 'playing', loops });
          },
        });
        this.status$.next({ state: 'ended', loops });
        subscriber.complete();
      })().catch((err: unknown) => {
        if (abort.signal.aborted) return;
        this.status$.next({ state: 'error', detail: (err as Error).message });
        subscriber.error(err);
      });

      return () => {
        abort.abort();
        this.resume?.();
        if (this.status$.value.state !== 'ended' && this.status$.value.state !== 'error') this.status$.next({ state: 'stopped' });
      };
    });
  }

  get speed(): number {
    return this._speed;
  }
  get paused(): boolean {
    return this._paused;
  }

  /** Restart the wall-clock mapping at event time `t` = now. */
  private reanchor(t: number): void {
    this.anchorT = t;
    this.anchorWall = performance.now();
  }

  wallOf(tUs: number): number {
    if (Number.isNaN(this.anchorT)) return NaN;
    return this.anchorWall + (tUs - this.anchorT) / 1000 / this._speed;
  }

  setSpeed(speed: number): void {
    // checked here too, not only in the schemas: every caller (API, websocket, library users) is bounded
    if (!isValidSpeed(speed)) throw new RangeError(`speed must be a number in [${SPEED_MIN}, ${SPEED_MAX}], got ${typeof speed === 'string' ? JSON.stringify(speed) : String(speed)}`);
    if (!Number.isNaN(this.lastEmittedT)) this.reanchor(this.lastEmittedT);
    this._speed = speed;
    this.wake?.abort();
  }

  setPaused(paused: boolean): void {
    if (paused === this._paused) return;
    this._paused = paused;
    if (paused) this.wake?.abort();
    else {
      // event time stood still while paused: continue from where it stopped
      if (!Number.isNaN(this.lastEmittedT)) this.reanchor(this.lastEmittedT);
      const r = this.resume;
      this.resume = undefined;
      r?.();
    }
    const s = this.status$.value;
    if (s.state === 'playing' || s.state === 'paused') this.status$.next({ ...s, state: paused ? 'paused' : 'playing' });
  }
}

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
  /** Format warnings from the stream (corrupt packets, dropped connections for corruption). */
  warnings = 0;

  constructor(
    readonly url: string,
    opts: LiveTcpOptions = {},
  ) {
    const log = opts.log ?? (() => {});
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
