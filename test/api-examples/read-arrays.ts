import { concatBatches, readEvents, type EventBatch } from 'evstream/events';

/** Any supported file (detected by content) to one set of arrays: t (µs), x, y, p (1 = ON). */
export async function readToArrays(path: string): Promise<EventBatch> {
  const batches: EventBatch[] = [];
  for await (const batch of readEvents(path)) batches.push(batch);
  return concatBatches(batches);
}
