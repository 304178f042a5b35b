/**
 * A FIFO of byte chunks for incremental parsers: bytes are appended as they arrive (any chunk size, down to
 * one byte) and consumed from the front, with the absolute offset of the front tracked for error messages.
 * Reads inside the first chunk are zero-copy views. A read that straddles chunks coalesces them into one
 * chunk in place, so repeated peeks while waiting for more data never copy the same bytes twice and a
 * flood of 1-byte chunks stays linear.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private first = 0; // index of the first live chunk (avoids O(n) shift)
  private head = 0; // read position inside chunks[first]
  private size = 0;
  /** Absolute offset (in the whole input) of the next unread byte. */
  offset = 0;

  get available(): number {
    return this.size;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
  }

  /** Return the next `n` bytes without consuming them, or undefined when fewer are buffered. */
  peek(n: number): Uint8Array | undefined {
    if (n > this.size) return undefined;
    if (n === 0) return new Uint8Array(0);
    const c0 = this.chunks[this.first]!;
    if (c0.length - this.head >= n) return c0.subarray(this.head, this.head + n);
    // Copy exactly the n requested bytes into one chunk and keep the untouched tail of the last chunk as a
    // view: later peeks of these bytes are views, and no byte is copied twice.
    const merged = new Uint8Array(n);
    let filled = 0;
    let i = this.first;
    let pos = this.head;
    let tail: Uint8Array | undefined;
    while (filled < n) {
      const c = this.chunks[i]!;
      const take = Math.min(c.length - pos, n - filled);
      merged.set(c.subarray(pos, pos + take), filled);
      filled += take;
      if (pos + take < c.length) tail = c.subarray(pos + take);
      i++;
      pos = 0;
    }
    const replacement = tail ? [merged, tail] : [merged];
    this.chunks.splice(this.first, i - this.first, ...replacement);
    this.head = 0;
    return merged;
  }

  /** Consume `n` bytes and return them (a view when possible). Undefined when fewer are buffered. */
  take(n: number): Uint8Array | undefined {
    const out = this.peek(n);
    if (out === undefined) return undefined;
    this.skip(n);
    return out;
  }

  /** Drop up to `n` bytes from the front; returns how many were dropped. */
  skip(n: number): number {
    let left = Math.min(n, this.size);
    const dropped = left;
    while (left > 0) {
      const c = this.chunks[this.first]!;
      const inChunk = c.length - this.head;
      if (inChunk > left) {
        this.head += left;
        left = 0;
      } else {
        left -= inChunk;
        this.first++;
        this.head = 0;
      }
    }
    // Compact the dead prefix now and then, so the array does not grow without bound.
    if (this.first > 64 && this.first * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.first);
      this.first = 0;
    }
    this.size -= dropped;
    this.offset += dropped;
    return dropped;
  }

  /** Index (relative to the front) of the first occurrence of `pattern`, or -1. Used to resynchronise. */
  indexOf(pattern: Uint8Array, from = 0): number {
    const all = this.peek(this.size)!;
    outer: for (let i = from; i + pattern.length <= all.length; i++) {
      for (let j = 0; j < pattern.length; j++) if (all[i + j] !== pattern[j]) continue outer;
      return i;
    }
    return -1;
  }
}
