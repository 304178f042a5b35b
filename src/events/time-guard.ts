import type { EventBatch, TimeJump } from './types.js';

// TimeJump is declared in types.ts (StreamInfo carries it), so that file needs no import of this one.
export type { TimeJump };

/**
 * Timestamp plausibility guard: one corrupt timestamp must cost that event, never the rest of the stream
 * (nor gigabytes of empty frames up to a stray time 2^31 µs away).
 *
 * Rule (with `maxGapUs`, default 10 s; 0 or Infinity turns the guard off):
 * - The first event with a finite time is the initial base. An event within `maxGapUs` of the last
 *   *accepted* event's time (forward or backward) is accepted and becomes the base.
 * - An event farther away is *suspect*: it is held, and the following events decide.
 *   - An event back within `maxGapUs` of the base proves the held run to be outliers: they are dropped
 *     (counted in `outliers`) and that event is accepted.
 *   - An event within `maxGapUs` of the previous held event joins the run. When the run reaches
 *     `confirmEvents` events (the jumping event and `confirmEvents - 1` followers, each agreeing with the
 *     one before), the jump is *confirmed* (a real clock jump or reset): the run is released in order,
 *     its last event becomes the base, and a `discontinuities` entry records direction and size.
 *   - An event that fits neither base drops the held run as outliers and starts a new held run.
 *   - A run is also confirmed when it spans `maxGapUs` itself (a sparse stream after a real jump must
 *     not wait for `confirmEvents` events).
 * - With `suspectUs` below `maxGapUs` (the framer holds forward jumps past its lateness plus one window):
 *   forward, an event past `suspectUs` is suspect; backward, only past `maxGapUs`. A held forward run
 *   followed by a later event within `maxGapUs` of the base is a sparse stream moving on and is released,
 *   and so is such a run at the end of the stream. Only confirmed jumps larger than `maxGapUs` count as
 *   discontinuities. (Read `suspectUs` for `maxGapUs` in the two rules above.)
 * - Non-finite times (NaN, ±Infinity) are always outliers; they carry no time to judge, so they neither
 *   join nor break a held run.
 * - At the end of the stream an unconfirmed held run is outliers (`end()`, with the exception above). On a read error the held run is
 *   undecided rather than proven wrong: `releaseHeld()` hands it over unjudged (read-file.ts delivers it
 *   before rethrowing, like every other event decoded before a fault).
 *
 * Why 64 events to confirm: single bad words (a flipped timestamp, an overwritten record) corrupt one to a
 * few events, far below 64, while any real recording produces 64 events in well under a second after a
 * genuine clock jump (background activity alone is hundreds of events per second on a DAVIS), so a real
 * jump costs a few ms of latency and no data. The held run is bounded by `confirmEvents` whatever the input.
 * Limitation: a stream whose events are isolated and farther apart than `maxGapUs` (silence longer than
 * 10 s between single events) looks like a sequence of outliers; raise `maxGapUs` or turn it off there.
 *
 * Pure and incremental: batches in, batches out (struct-of-arrays), state carried across calls, so any
 * batching of the same events gives the same output events in the same order. A clean batch is returned
 * as is (no copy).
 */

/** Default largest plausible jump between consecutive events (µs): 10 s. */
export const DEFAULT_MAX_GAP_US = 10_000_000;
/** Default length of the run of agreeing events that confirms a jump (see the module comment). */
export const DEFAULT_CONFIRM_EVENTS = 64;
/** How many jumps `jumps` lists (the count in `discontinuities` is exact). */
export const MAX_LISTED_JUMPS = 16;

export interface TimeGuardOptions {
  /** Largest plausible jump between consecutive accepted events (µs); 0 or Infinity: guard off. */
  maxGapUs?: number;
  /** Events in a run that confirm a jump (integer >= 1, default DEFAULT_CONFIRM_EVENTS). */
  confirmEvents?: number;
  /**
   * Jump (µs) past which an event is held for judgement (default `maxGapUs`, at most `maxGapUs`). A framer
   * sets it near its lateness: a lone stray a few seconds ahead then costs that event, not the seconds of
   * events behind it that would otherwise arrive "late". A confirmed jump smaller than `maxGapUs` is an
   * ordinary silence and is not counted as a discontinuity.
   */
  suspectUs?: number;
}

/** True when `maxGapUs` enables gap checks (finite and > 0). */
export function gapCheckEnabled(maxGapUs: number): boolean {
  return Number.isFinite(maxGapUs) && maxGapUs > 0;
}

/** Validate a max-gap value: a number >= 0 or Infinity (0 / Infinity: off). */
export function checkMaxGapUs(maxGapUs: number, what = 'maxGapUs'): number {
  if (!(maxGapUs >= 0)) throw new RangeError(`${what} must be >= 0 µs (0 or Infinity turns the check off), got ${maxGapUs}`);
  return maxGapUs;
}

export class TimeGuard {
  readonly maxGapUs: number;
  readonly confirmEvents: number;
  readonly suspectUs: number;
  readonly enabled: boolean;
  /** Events dropped as implausible (unconfirmed jumps, non-finite times). */
  outliers = 0;
  /** Confirmed jumps. */
  discontinuities = 0;
  /** The first MAX_LISTED_JUMPS confirmed jumps. */
  readonly jumps: TimeJump[] = [];
  /** Time of the last accepted event (NaN before the first). */
  private base = NaN;
  /** Input events seen so far (for `TimeJump.atEvent`). */
  private seen = 0;
  private readonly ht: Float64Array;
  private readonly hx: Uint16Array;
  private readonly hy: Uint16Array;
  private readonly hp: Uint8Array;
  private nHeld = 0;
  private heldAt = 0;
  private width = 0;
  private height = 0;

  constructor(opts: TimeGuardOptions = {}) {
    this.maxGapUs = checkMaxGapUs(opts.maxGapUs ?? DEFAULT_MAX_GAP_US);
    this.confirmEvents = opts.confirmEvents ?? DEFAULT_CONFIRM_EVENTS;
    if (!Number.isInteger(this.confirmEvents) || this.confirmEvents < 1 || this.confirmEvents > 1 << 20)
      throw new RangeError(`confirmEvents must be an integer in 1..${1 << 20}, got ${opts.confirmEvents}`);
    this.enabled = gapCheckEnabled(this.maxGapUs);
    const suspect = opts.suspectUs ?? this.maxGapUs;
    if (this.enabled && !(suspect > 0)) throw new RangeError(`suspectUs must be > 0 µs, got ${opts.suspectUs}`);
    this.suspectUs = Math.min(suspect, this.maxGapUs);
    const cap = this.enabled ? this.confirmEvents : 0;
    this.ht = new Float64Array(cap);
    this.hx = new Uint16Array(cap);
    this.hy = new Uint16Array(cap);
    this.hp = new Uint8Array(cap);
  }

  /** Events currently held (a suspect run awaiting confirmation); at most `confirmEvents - 1`. */
  get held(): number {
    return this.nHeld;
  }

  /** Judge a batch; returns the events accepted or released so far, in order (possibly none). */
  push(b: EventBatch): EventBatch {
    const n = b.length;
    if (n === 0) return b;
    this.width = b.width;
    this.height = b.height;
    if (!this.enabled) {
      this.seen += n;
      return b;
    }
    // Forward, a jump past suspectUs is held; backward, only past maxGapUs (an event behind the stream
    // cannot make others late: the framer drops it alone if it is too old).
    const g = this.suspectUs;
    const back = this.maxGapUs;
    const t = b.t;
    let base = this.base;
    let i = 0;
    if (this.nHeld === 0) {
      // Fast path: in-order, plausible events (non-finite times fail the test and take the slow path).
      if (Number.isNaN(base) && Number.isFinite(t[0]!)) base = t[i++]!; // the stream's first event: the base
      for (; i < n; i++) {
        const ti = t[i]!;
        const d = ti - base;
        if (!(d <= g && d >= -back)) break;
        base = ti;
      }
      if (i === n) {
        this.base = base;
        this.seen += n;
        return b;
      }
    }
    const cap = n + this.nHeld;
    const ot = new Float64Array(cap);
    const ox = new Uint16Array(cap);
    const oy = new Uint16Array(cap);
    const op = new Uint8Array(cap);
    ot.set(t.subarray(0, i));
    ox.set(b.x.subarray(0, i));
    oy.set(b.y.subarray(0, i));
    op.set(b.p.subarray(0, i));
    let o = i;
    const { ht, hx, hy, hp } = this;
    /** Append the held run to the output in order; returns its last time (the new base). */
    const releaseHeld = (): number => {
      const k = this.nHeld;
      ot.set(ht.subarray(0, k), o);
      ox.set(hx.subarray(0, k), o);
      oy.set(hy.subarray(0, k), o);
      op.set(hp.subarray(0, k), o);
      o += k;
      this.nHeld = 0;
      return ht[k - 1]!;
    };
    for (let j = i; j < n; j++) {
      const tj = t[j]!;
      if (!Number.isFinite(tj)) {
        this.outliers++;
        continue;
      }
      if (this.nHeld > 0 && this.continuesSilence(base, tj)) {
        // The held run was the end of an ordinary silence (a sparse stream), not a stray: release it.
        base = releaseHeld();
      }
      let accept = Number.isNaN(base) || (tj - base <= g && base - tj <= back);
      if (accept) {
        this.outliers += this.nHeld; // the held run jumped away and came back: it was the outlier
        this.nHeld = 0;
      } else if (this.nHeld > 0 && tj - ht[this.nHeld - 1]! <= g && ht[this.nHeld - 1]! - tj <= back) {
        this.hold(b, j);
      } else {
        this.outliers += this.nHeld; // fits neither base: the old run was noise; this may start a new one
        this.nHeld = 0;
        this.heldAt = this.seen + j;
        this.hold(b, j);
      }
      // Confirmed by count, or by a run that itself lasts as long as the jump threshold (a sparse stream
      // after a real silence must not wait for confirmEvents events).
      if (this.nHeld === this.confirmEvents || (this.nHeld > 1 && ht[this.nHeld - 1]! - ht[0]! >= g)) {
        // Confirmed: a real jump. Release the run in order; its last event is the new base.
        const first = ht[0]!;
        const isGap = !(Math.abs(first - base) <= this.maxGapUs);
        if (isGap) this.discontinuities++;
        if (isGap && this.jumps.length < MAX_LISTED_JUMPS)
          this.jumps.push({ direction: first > base ? 'forward' : 'backward', fromUs: base, toUs: first, sizeUs: Math.abs(first - base), atEvent: this.heldAt });
        base = releaseHeld();
        accept = false;
      }
      if (accept) {
        ot[o] = tj;
        ox[o] = b.x[j]!;
        oy[o] = b.y[j]!;
        op[o] = b.p[j]!;
        o++;
        base = tj;
      }
    }
    this.base = base;
    this.seen += n;
    return { t: ot.subarray(0, o), x: ox.subarray(0, o), y: oy.subarray(0, o), p: op.subarray(0, o), length: o, width: b.width, height: b.height };
  }

  /**
   * With `suspectUs` below `maxGapUs`, a held forward run followed by a later event within `maxGapUs` of the
   * base is a sparse stream moving on (silence, event, silence, event), so the run is released. A stray
   * ahead is followed by events *behind* it, which this never matches.
   */
  private continuesSilence(base: number, tj: number): boolean {
    const first = this.ht[0]!;
    const last = this.ht[this.nHeld - 1]!;
    return this.suspectUs < this.maxGapUs && first > base && tj >= last && tj - base <= this.maxGapUs;
  }

  private hold(b: EventBatch, j: number): void {
    const k = this.nHeld++;
    this.ht[k] = b.t[j]!;
    this.hx[k] = b.x[j]!;
    this.hy[k] = b.y[j]!;
    this.hp[k] = b.p[j]!;
  }

  /**
   * End of stream: an unconfirmed held run is outliers, unless it lies forward within `maxGapUs` of the base
   * (possible only with `suspectUs < maxGapUs`: the stream's last events after an ordinary silence), which
   * is released. Returns the released events (usually none).
   */
  end(): EventBatch {
    const k = this.nHeld;
    if (k > 0 && this.suspectUs < this.maxGapUs && this.ht[0]! > this.base && this.ht[k - 1]! - this.base <= this.maxGapUs) return this.releaseHeld();
    this.outliers += k;
    this.nHeld = 0;
    return this.releaseHeld();
  }

  /**
   * Hand over the held run without judging it (for a stream cut short by an error: it is data decoded
   * before the fault). The guard then carries on as if they had been accepted.
   */
  releaseHeld(): EventBatch {
    const k = this.nHeld;
    this.nHeld = 0;
    if (k > 0) this.base = this.ht[k - 1]!;
    return {
      t: this.ht.slice(0, k),
      x: this.hx.slice(0, k),
      y: this.hy.slice(0, k),
      p: this.hp.slice(0, k),
      length: k,
      width: this.width,
      height: this.height,
    };
  }
}
