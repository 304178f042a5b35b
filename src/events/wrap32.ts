/**
 * Unwrapping 32-bit microsecond timestamps (AEDAT 2 and Prophesee DAT store them; they wrap every 71.6
 * minutes), so that one corrupt timestamp never shifts the rest of a stream by 2^32 µs.
 *
 * A record is a wrap only if its raw timestamp is more than 2^31 below the previous one AND that previous
 * timestamp was plausible: reached from its own predecessor by a step of at most WRAP32_PLAUSIBLE_STEP_US
 * (unwrapped, either direction). Then 2^32 is added to this and every later timestamp. A stray high value
 * (0xffffffff in a stream at 1e6 µs) is reached by a huge step, so the normal values after it are not a
 * wrap. A stray low value near the top of the range looks like a wrap; if the very next record jumps back
 * up by more than 2^31, the wrap is undone (only the stray record keeps the +2^32, an outlier for the
 * stream's time guard). The first record, having no predecessor, is never plausible. Limitation: two or
 * more adjacent corrupt timestamps that agree within the step near the top of the range, followed by values
 * near 0, are taken for a wrap. Small backward jumps are kept as they are: real recordings have them.
 */
const TWO_POW_31 = 2147483648;
const TWO_POW_32 = 4294967296;

/** Largest step (µs, either direction) between two records for the later one to count as plausible. */
export const WRAP32_PLAUSIBLE_STEP_US = 10_000_000;

/** The unwrapping state of one stream: call `unwrap` once per record, in order (any chunking). */
export class Wrap32 {
  private lastRaw = -1;
  private lastT = NaN;
  private prevT = NaN;
  private justWrapped = false;
  /** Added to raw timestamps now (a multiple of 2^32). */
  offset = 0;
  /** Wraps taken so far (undone ones not counted). */
  wraps = 0;

  /** The full time of raw timestamp `ts` (0..2^32-1). */
  unwrap(ts: number): number {
    if (this.justWrapped) {
      this.justWrapped = false;
      if (ts - this.lastRaw > TWO_POW_31) {
        this.offset -= TWO_POW_32; // the "wrap" was one stray low value
        this.wraps--;
      }
    } else if (this.lastRaw - ts > TWO_POW_31) {
      const step = this.lastT - this.prevT; // NaN (not plausible) when the previous record was the first
      if (step <= WRAP32_PLAUSIBLE_STEP_US && step >= -WRAP32_PLAUSIBLE_STEP_US) {
        this.offset += TWO_POW_32;
        this.wraps++;
        this.justWrapped = true;
      }
    }
    const full = ts + this.offset;
    this.prevT = this.lastT;
    this.lastRaw = ts;
    this.lastT = full;
    return full;
  }
}
