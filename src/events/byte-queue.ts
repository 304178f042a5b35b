/**
 * A FIFO of byte chunks for incremental parsers: bytes are appended as they arrive (any chunk size, down to
 * one byte) and consumed from the front, with the absolute offset of the front tracked for error messages.
 * Reads that fit inside the first chunk are zero-copy views; reads that straddle chunks copy once.
 */
export class ByteQueue {
  private chunks: Uint8Array[] = [];
  private head = 0; // read position inside chunks[0]
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
    const first = this.chunks[0]!;
    if (first.length - this.head >= n) return first.subarray(this.head, this.head + n);
    // Coalesce into one chunk so the next peek is a view again.
    const out = new Uint8Array(n);
    let filled = 0;
    let i = 0;
    let pos = this.head;
    while (filled < n) {
      const c = this.chunks[i]!;
      const take = Math.min(c.length - pos, n - filled);
      out.set(c.subarray(pos, pos + take), filled);
      filled += take;
      i++;
      pos = 0;
    }
    return out;
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
      const c = this.chunks[0]!;
      const inChunk = c.length - this.head;
      if (inChunk > left) {
        this.head += left;
        left = 0;
      } else {
        left -= inChunk;
        this.chunks.shift();
        this.head = 0;
      }
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
