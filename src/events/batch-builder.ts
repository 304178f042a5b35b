import type { EventBatch } from './types.js';

/**
 * Growable struct-of-arrays buffer. Decoders append events one by one into typed arrays (no per-event
 * objects), then `flush()` hands out a right-sized batch and starts over.
 */
export class BatchBuilder {
  private cap: number;
  t: Float64Array;
  x: Uint16Array;
  y: Uint16Array;
  p: Uint8Array;
  length = 0;

  constructor(
    public width: number,
    public height: number,
    initialCapacity = 4096,
  ) {
    this.cap = initialCapacity;
    this.t = new Float64Array(this.cap);
    this.x = new Uint16Array(this.cap);
    this.y = new Uint16Array(this.cap);
    this.p = new Uint8Array(this.cap);
  }

  /** Make room for `extra` more events (call once before a tight loop, then use `push`). */
  reserve(extra: number): void {
    const need = this.length + extra;
    if (need <= this.cap) return;
    let cap = this.cap * 2;
    while (cap < need) cap *= 2;
    const grow = <T extends Float64Array | Uint16Array | Uint8Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap);
      b.set(a.subarray(0, this.length) as never);
      return b;
    };
    this.t = grow(this.t, (n) => new Float64Array(n));
    this.x = grow(this.x, (n) => new Uint16Array(n));
    this.y = grow(this.y, (n) => new Uint16Array(n));
    this.p = grow(this.p, (n) => new Uint8Array(n));
    this.cap = cap;
  }

  push(t: number, x: number, y: number, p: number): void {
    if (this.length === this.cap) this.reserve(1);
    const i = this.length++;
    this.t[i] = t;
    this.x[i] = x;
    this.y[i] = y;
    this.p[i] = p;
  }

  /** Return the buffered events as a batch (copied to exact size) and reset; undefined when empty. */
  flush(): EventBatch | undefined {
    if (this.length === 0) return undefined;
    const n = this.length;
    const batch: EventBatch = {
      t: this.t.slice(0, n),
      x: this.x.slice(0, n),
      y: this.y.slice(0, n),
      p: this.p.slice(0, n),
      length: n,
      width: this.width,
      height: this.height,
    };
    this.length = 0;
    return batch;
  }
}
