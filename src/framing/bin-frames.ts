import { Observable, type OperatorFunction } from 'rxjs';
import type { EventBatch } from '../events/types.js';
import type { Frame } from './frame.js';
import { FrameBinner, type BinOptions } from './binner.js';

/**
 * RxJS operator: event batches -> consecutive fixed-window two-channel count frames.
 * Windows are [t0 + k*window, t0 + (k+1)*window) from the first event's timestamp; empty windows are
 * emitted as empty frames, one at a time as they complete; events late by more than `latenessUs` are
 * dropped and counted (`lateDropped`). Timestamps go through the binner's plausibility guard
 * (`maxGapUs`): stray times are dropped, the silent windows of a confirmed forward jump are skipped
 * (unless `keepGaps`), a confirmed clock reset restarts the windows.
 */
export function binFrames(opts: BinOptions = {}): OperatorFunction<EventBatch, Frame> {
  return (source) =>
    new Observable<Frame>((subscriber) => {
      const binner = new FrameBinner(opts);
      const emit = (f: Frame): void => {
        subscriber.next(f);
        if (subscriber.closed) binner.stop(); // e.g. take(n) downstream: stop producing silent windows
      };
      return source.subscribe({
        next(batch) {
          try {
            binner.push(batch, emit);
          } catch (err) {
            subscriber.error(err);
          }
        },
        error: (err) => subscriber.error(err),
        complete() {
          try {
            binner.flush(emit);
          } catch (err) {
            subscriber.error(err);
            return;
          }
          subscriber.complete();
        },
      });
    });
}
