/** Shared test helpers: feed a decoder in chunks, and summarise events the way ../shared's README does. */
import type { EventBatch, StreamInfo } from '../../src/events/types.js';
import type { FormatWarning } from '../../src/events/errors.js';
import type { DecoderSink, EventDecoder } from '../../src/events/decoder.js';
import { concatBatches } from '../../src/events/types.js';
import { EventStats } from '../../src/events/stats.js';

export interface Decoded {
  batches: EventBatch[];
  all: EventBatch;
  info: StreamInfo;
  warnings: FormatWarning[];
}

/** Push `data` through a fresh decoder in `chunk`-byte pieces, then end(). Errors propagate. */
export function decodeInChunks(make: (sink: DecoderSink) => EventDecoder, data: Uint8Array, chunk: number): Decoded {
  const batches: EventBatch[] = [];
  const warnings: FormatWarning[] = [];
  const d = make({ batch: (b) => batches.push(b), warn: (w) => warnings.push(w) });
  for (let i = 0; i < data.length; i += chunk) d.push(data.subarray(i, Math.min(data.length, i + chunk)));
  d.end();
  return { batches, all: concatBatches(batches), info: d.info(), warnings };
}

/** The README's facts of a stream: counts, first/last time, checksums, ON/OFF per 50 ms window. */
export function factsOf(b: EventBatch, windows = 5) {
  const s = new EventStats();
  s.add(b);
  const t0 = b.t[0]!;
  const win: Array<[number, number]> = Array.from({ length: windows }, () => [0, 0]);
  for (let i = 0; i < b.length; i++) {
    const k = Math.floor((b.t[i]! - t0) / 50000);
    if (k < windows) win[k]![b.p[i] ? 0 : 1]++;
  }
  return { n: s.events, on: s.on, off: s.off, first: t0, last: b.t[b.length - 1], xyp: s.xypChecksum, dt: s.dtChecksum, win };
}
