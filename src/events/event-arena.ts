/**
 * Reusable memory for decoded batches (opt-in pooling). A decoder carves each batch's columns out of the
 * arena with `alloc`; its owner calls `reset()` once every batch handed out so far has been consumed, and
 * the same memory is carved again. Allocating fresh typed arrays per packet costs about as much as
 * decoding the packet (allocation, zeroing, page faults, GC), so steady-state reading allocates nothing.
 *
 * Contract for consumers of pooled batches: a batch (and views of its arrays) is valid only until the
 * owner's next `reset()`; copy what must be kept. Memory: one `reset()` round's events (the owner bounds
 * them, e.g. read-file.ts by one read chunk plus one packet), kept at the largest round seen.
 */
export interface EventColumns {
  t: Float64Array;
  x: Uint16Array;
  y: Uint16Array;
  p: Uint8Array;
}

/** Smallest arena (events); it grows by doubling to the largest round. */
const MIN_EVENTS = 1 << 14;

export class EventArena {
  private t = new Float64Array(0);
  private x = new Uint16Array(0);
  private y = new Uint16Array(0);
  private p = new Uint8Array(0);
  private used = 0;

  /** Columns for `n` events, valid until the next reset(). Contents are stale: the caller overwrites them. */
  alloc(n: number): EventColumns {
    if (this.used + n > this.t.length) {
      // Batches already carved keep the old arrays alive until they are dropped; new ones come from a
      // larger arena, which every later round reuses.
      const cap = Math.max(MIN_EVENTS, n, 2 * this.t.length);
      this.t = new Float64Array(cap);
      this.x = new Uint16Array(cap);
      this.y = new Uint16Array(cap);
      this.p = new Uint8Array(cap);
      this.used = 0;
    }
    const a = this.used;
    const b = a + n;
    this.used = b;
    return { t: this.t.subarray(a, b), x: this.x.subarray(a, b), y: this.y.subarray(a, b), p: this.p.subarray(a, b) };
  }

  /** Every batch carved so far is consumed: carve from the start again. */
  reset(): void {
    this.used = 0;
  }

  /** Events the arena holds (for tests and memory checks). */
  get capacity(): number {
    return this.t.length;
  }
}
