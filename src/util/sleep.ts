import { setTimeout as delay } from 'node:timers/promises';

/** Sleep `ms`; resolves early (without throwing) when the signal aborts. */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  try {
    await delay(ms, undefined, { signal });
  } catch (err) {
    if ((err as { name?: string }).name !== 'AbortError') throw err;
  }
}
