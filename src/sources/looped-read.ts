import { readEventFile, type BatchHandler, type ReadEventFileOptions } from '../events/read-file.js';
import { shiftTime } from './batch-time.js';

export interface LoopedReadOptions extends ReadEventFileOptions {
  /** Start over at the end of the file (until `signal` aborts). */
  loop?: boolean;
  /** Gap between the last event of one pass and the first of the next (µs, default 1). */
  loopGapUs?: number;
  /** Called after each complete pass with the number of passes so far. */
  onPassEnd?: (passes: number) => void;
}

/**
 * Read an event file once or in a loop, handing batches to `onBatch` with timestamps that keep
 * increasing across passes: each later pass is shifted to start `loopGapUs` after the previous pass's
 * last event. Empty batches are not handed over; an empty file ends the loop.
 */
export async function readEventFileLooped(path: string, onBatch: BatchHandler, opts: LoopedReadOptions = {}): Promise<void> {
  const gap = opts.loopGapUs ?? 1;
  let lastT = -Infinity;
  let passes = 0;
  do {
    let offset = 0;
    let first = NaN;
    await readEventFile(
      path,
      (b) => {
        if (b.length === 0) return;
        if (Number.isNaN(first)) {
          first = b.t[0]!;
          if (lastT > -Infinity) offset = lastT + gap - first;
        }
        const shifted = offset === 0 ? b : shiftTime(b, offset);
        lastT = shifted.t[shifted.length - 1]!;
        return onBatch(shifted);
      },
      opts,
    );
    if (Number.isNaN(first)) break;
    opts.onPassEnd?.(++passes);
  } while (opts.loop && !opts.signal?.aborted);
}
