/** Rolling pipeline statistics: frame rates over the last seconds, latency percentiles over recent frames. */

/** Latest value, median and 95th percentile of a series (rounded to 0.01; NaN before any sample). */
export interface Percentiles {
  last: number;
  p50: number;
  p95: number;
}

/** Fixed-size ring of samples with percentiles (bounded memory). */
export class Ring {
  private buf: Float64Array;
  private n = 0;
  private i = 0;
  last = NaN;
  constructor(size = 256) {
    this.buf = new Float64Array(size);
  }
  push(v: number): void {
    if (!Number.isFinite(v)) return;
    this.last = v;
    this.buf[this.i] = v;
    this.i = (this.i + 1) % this.buf.length;
    if (this.n < this.buf.length) this.n++;
  }
  get count(): number {
    return this.n;
  }
  percentile(p: number): number {
    if (this.n === 0) return NaN;
    const a = Array.from(this.buf.subarray(0, this.n)).sort((x, y) => x - y);
    return a[Math.min(this.n - 1, Math.max(0, Math.round((p / 100) * (this.n - 1))))]!;
  }
  summary(): Percentiles {
    const r = (v: number): number => (Number.isFinite(v) ? Math.round(v * 100) / 100 : NaN);
    return { last: r(this.last), p50: r(this.percentile(50)), p95: r(this.percentile(95)) };
  }
  clear(): void {
    this.n = 0;
    this.i = 0;
    this.last = NaN;
  }
}

/** Events per second over a sliding window of timestamps (ms). */
export class RateMeter {
  private times: number[] = [];
  constructor(private readonly windowMs = 2000) {}
  tick(now: number): void {
    this.times.push(now);
    this.trim(now);
  }
  private trim(now: number): void {
    const cut = now - this.windowMs;
    let k = 0;
    while (k < this.times.length && this.times[k]! < cut) k++;
    if (k) this.times.splice(0, k);
    if (this.times.length > 10_000) this.times.splice(0, this.times.length - 10_000);
  }
  rate(now = performance.now()): number {
    this.trim(now);
    if (this.times.length < 2) return 0;
    const span = Math.max(now - this.times[0]!, 1);
    return Math.round(((this.times.length - 1) / span) * 1000 * 100) / 100;
  }
}

export class Stats {
  readonly step = new Ring();
  readonly latency = new Ring();
  readonly e2e = new Ring();
  private readonly out = new RateMeter();
  private readonly inp = new RateMeter();
  input(now: number): void {
    this.inp.tick(now);
  }
  output(r: { stepMs: number; latencyMs: number; e2eMs: number; doneAt: number }): void {
    this.out.tick(r.doneAt);
    this.step.push(r.stepMs);
    this.latency.push(r.latencyMs);
    this.e2e.push(r.e2eMs);
  }
  fps(): number {
    return this.out.rate();
  }
  inputFps(): number {
    return this.inp.rate();
  }
}
