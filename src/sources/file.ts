import { Observable } from 'rxjs';
import type { EventBatch } from '../events/types.js';
import type { ReadEventFileOptions } from '../events/read-file.js';
import { sliceByDuration } from './batch-time.js';
import { readEventFileLooped } from './looped-read.js';
import { sleep } from '../util/sleep.js';

export interface FileSourceOptions extends Omit<ReadEventFileOptions, 'signal'> {
  /**
   * Replay at recorded pace times `speed` (1 = real time). Undefined or 0: as fast as the consumer takes them.
   * Pacing here reads lazily (the file is not read ahead), unlike the generic `paceRealtime` operator.
   */
  speed?: number;
  /** Start over at the end; timestamps keep increasing across loops (a gap of one `loopGapUs`). */
  loop?: boolean;
  loopGapUs?: number;
  /** With `speed`: largest time span of one emitted batch, for smooth pacing (default 10 ms). */
  maxBatchUs?: number;
}

/**
 * Observable of the event batches of a file (format detected by content). Cold: each subscriber reads the
 * file itself. Unsubscribing stops reading and closes the file handle.
 */
export function fromEventFile(path: string, opts: FileSourceOptions = {}): Observable<EventBatch> {
  return new Observable<EventBatch>((subscriber) => {
    const abort = new AbortController();
    const speed = opts.speed && opts.speed > 0 ? opts.speed : 0;
    const maxBatchUs = opts.maxBatchUs ?? 10_000;
    let wallStart = 0;
    let streamStart = NaN;

    const emit = async (batch: EventBatch): Promise<void> => {
      if (subscriber.closed) return;
      if (!speed) {
        subscriber.next(batch);
        return;
      }
      for (const part of sliceByDuration(batch, maxBatchUs)) {
        if (Number.isNaN(streamStart)) {
          streamStart = part.t[0]!;
          wallStart = performance.now();
        }
        const due = wallStart + (part.t[part.length - 1]! - streamStart) / 1000 / speed;
        const wait = due - performance.now();
        if (wait > 1) await sleep(wait, abort.signal);
        if (subscriber.closed) return;
        subscriber.next(part);
      }
    };

    (async () => {
      await readEventFileLooped(path, emit, { ...opts, signal: abort.signal });
      subscriber.complete();
    })().catch((err: unknown) => {
      if (!abort.signal.aborted) subscriber.error(err);
    });

    return () => abort.abort();
  });
}
