/**
 * How long a stream's membranes live: one EngineSession, or several, behind the same step / reset /
 * dispose API.
 * - carry (default): one session, state kept for the whole stream.
 * - resetEvery N: one session zeroed every N steps.
 * - sliding (window T): T staggered sessions, each zeroed every T steps, session k joining at step k;
 *   every step's result comes from the one that has just taken its T-th step, so from step T-1 on it
 *   equals the offline forward over the last T inputs from a zero state (what a model trained on
 *   T-step windows, `evstream train --mode frames`, was optimised for). Costs T steps per step.
 * The result of each step is that of the session with the longest history since its reset.
 */
import type { FrameInput, StepResult } from '../session.js';
import type { EngineName, EngineSession } from './types.js';

export interface WindowOptions {
  /** zero the membranes every this many steps (0 / undefined = never) */
  resetEvery?: number;
  /** run this many staggered sessions, each zeroed every `sliding` steps (excludes resetEvery) */
  sliding?: number;
}

export class WindowedSession {
  private readonly sessions: EngineSession[];
  private readonly counts: number[];
  private readonly every: number;
  /** steps since the last reset() (staggers the sliding sessions) */
  private stepsSinceReset = 0;

  /** `make` creates one underlying session (called once, or `sliding` times). */
  constructor(make: () => EngineSession, o: WindowOptions = {}) {
    const sliding = o.sliding ?? 0;
    const resetEvery = o.resetEvery ?? 0;
    if (!Number.isInteger(sliding) || sliding < 0) throw new RangeError(`sliding window must be a non-negative integer, got ${sliding}`);
    if (!Number.isInteger(resetEvery) || resetEvery < 0) throw new RangeError(`resetEvery must be a non-negative integer, got ${resetEvery}`);
    if (sliding > 0 && resetEvery > 0) throw new RangeError('a sliding window and resetEvery exclude each other');
    this.every = sliding || resetEvery;
    this.sessions = [];
    try {
      for (let k = 0; k < Math.max(1, sliding); k++) this.sessions.push(make());
    } catch (e) {
      for (const s of this.sessions) s.dispose();
      throw e;
    }
    this.counts = new Array<number>(this.sessions.length).fill(0);
  }

  get engine(): EngineName {
    return this.sessions[0]!.engine;
  }

  /** Steps since the last reset() (periodic and window resets do not restart it). */
  get steps(): number {
    return this.stepsSinceReset;
  }

  step(frame: FrameInput): StepResult {
    let result: StepResult | undefined;
    let longest = -1;
    // session k joins at step k (staggering); the result is that of the longest history since a reset
    for (let k = 0; k < this.sessions.length && k <= this.stepsSinceReset; k++) {
      if (this.every > 0 && this.counts[k]! >= this.every) {
        this.sessions[k]!.reset();
        this.counts[k] = 0;
      }
      const r = this.sessions[k]!.step(frame);
      const n = ++this.counts[k]!;
      if (n > longest) {
        longest = n;
        result = r;
      }
    }
    this.stepsSinceReset++;
    return result!;
  }

  reset(): void {
    for (const s of this.sessions) s.reset();
    this.counts.fill(0);
    this.stepsSinceReset = 0;
  }

  dispose(): void {
    for (const s of this.sessions) s.dispose();
  }
}
