import { fromDvTcp } from 'evstream/sources';
import type { EventBatch } from 'evstream/events';

/** Events from a DV camera (DV's TCP output server) into your own callback; call the result to stop. */
export function onLiveEvents(url: string, callback: (batch: EventBatch) => void): () => void {
  const subscription = fromDvTcp(url).subscribe({ next: callback, error: (err) => console.error(err) });
  return () => subscription.unsubscribe();
}
// onLiveEvents('tcp://127.0.0.1:7777', (b) => console.log(`${b.length} events, last at ${b.t[b.length - 1]} µs`));
