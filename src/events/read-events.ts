/**
 * `for await (const batch of readEvents(path))`: the pull form of readEventFile, for callers who want
 * neither callbacks nor RxJS. It is readEventFile itself (one reader loop): each batch is handed over and
 * reading pauses until the consumer asks for the next one, so memory stays bounded by one batch; leaving
 * the loop early (break, return, a throw) stops the read and closes the file.
 */
import type { EventBatch, StreamInfo } from './types.js';
import { readEventFile, type ReadEventFileOptions } from './read-file.js';

/**
 * Read an event file of any supported format as an async iterable of batches in file order. Options are
 * readEventFile's. The generator's return value (not seen by `for await`) is the StreamInfo; a read error
 * is thrown after every batch decoded before it has been yielded.
 */
export async function* readEvents(path: string, opts: ReadEventFileOptions = {}): AsyncGenerator<EventBatch, StreamInfo, undefined> {
  const stop = new AbortController();
  const outer = opts.signal;
  const forward = (): void => stop.abort(outer?.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener('abort', forward, { once: true });
  let handoff: { batch: EventBatch; release: () => void } | undefined;
  let inFlight: (() => void) | undefined;
  let wake: (() => void) | undefined;
  const wakeUp = (): void => {
    const w = wake;
    wake = undefined;
    w?.();
  };
  let finished = false;
  let outcome: { info: StreamInfo } | { error: unknown } | undefined;
  const reading = readEventFile(
    path,
    (batch) => {
      // After the consumer has left, batches already decoded from the last chunk are refused: reading stops.
      stop.signal.throwIfAborted();
      return new Promise<void>((release) => {
        handoff = { batch, release };
        wakeUp();
      });
    },
    { ...opts, signal: stop.signal },
  )
    .then(
      (info) => void (outcome = { info }),
      (error: unknown) => void (outcome = { error }),
    )
    .finally(() => {
      finished = true;
      wakeUp();
    });
  try {
    for (;;) {
      if (handoff) {
        const h = handoff;
        handoff = undefined;
        inFlight = h.release;
        yield h.batch;
        inFlight = undefined;
        h.release();
        continue;
      }
      if (finished) break;
      await new Promise<void>((resolve) => (wake = resolve));
    }
    if (outcome && 'error' in outcome) throw outcome.error;
    return (outcome as { info: StreamInfo }).info;
  } finally {
    outer?.removeEventListener('abort', forward);
    if (!finished) {
      // The consumer left early: stop reading, unblock the reader, and wait until the file is closed.
      stop.abort();
      inFlight?.();
      handoff?.release();
      await reading;
    }
  }
}
