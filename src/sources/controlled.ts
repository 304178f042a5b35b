/**
 * What the pipeline (and the viewer server's status) needs from a source it runs: the events, a status
 * stream, pause, speed, and the mapping from event time to the clock time at which that event time was
 * "now" (`wallOf`), from which the pipeline measures event-to-screen latency.
 */
import type { BehaviorSubject, Observable } from 'rxjs';
import type { EventBatch } from '../events/types.js';

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
  /** Clock time (`now()`, ms) at which event time `tUs` was due; NaN when unknown (live, unpaced). */
  wallOf(tUs: number): number;
  /** The source's clock (its scheduler's `now()`, ms): the time base of `wallOf`. */
  now(): number;
}
