import { Observable, type OperatorFunction } from 'rxjs';
import type { EventBatch } from '../events/types.js';
import type { Frame } from './frame.js';
import { FrameBinner, type BinOptions } from './binner.js';

/**
 * RxJS operator: event batches -> consecutive fixed-window two-channel count frames.
 * Windows are [t0 + k*window, t0 + (k+1)*window) from the first event's timestamp; empty windows are
 * emitted as empty frames; events late by more than `latenessUs` are dropped and counted (`lateDropped`).
 */
export function binFrames(opts: BinOptions = {}): OperatorFunction<EventBatch, Frame> {
  return (source) =>
    new Observable<Frame>((subscriber) => {
      const binner = new FrameBinner(opts);
      return source.subscribe({
        next(batch) {
          let frames: Frame[];
          try {
            frames = binner.push(batch);
          } catch (err) {
            subscriber.error(err);
            return;
          }
          for (const f of frames) subscriber.next(f);
        },
        error: (err) => subscriber.error(err),
        complete() {
          for (const f of binner.flush()) subscriber.next(f);
          subscriber.complete();
        },
      });
    });
}
