/**
 * Denoising filters (issue 16): million events/s through each filter alone (one thread, warm, best of 5
 * over fresh filter state each run) and the fraction kept, on synthetic DAVIS346 events (uniform random
 * pixels, ~2 M ev/s of event time) and, when ../shared is there, the real DAVIS240 recording.
 * Goal: >= 100 M ev/s each.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { EventBatch } from '../src/events/types.js';
import { concatBatches } from '../src/events/types.js';
import { readEventFile } from '../src/events/read-file.js';
import { createFilter, DEFAULT_BAF_WINDOW_US, DEFAULT_REFRACTORY_US, type FilterSpec } from '../src/filters/index.js';
import { syntheticBatches } from './io.js';
import { timeBest, type Row } from './table.js';

/** Issue 16: each filter at >= 100 M ev/s on this machine. */
const GOAL = 100;

const SPECS: FilterSpec[] = [
  { type: 'backgroundActivity', windowUs: DEFAULT_BAF_WINDOW_US },
  { type: 'hotPixel' },
  { type: 'refractory', periodUs: DEFAULT_REFRACTORY_US },
];

/** The floor any filter pays: one copy of every event's t, x, y, p into fresh arrays (shows the machine's load too). */
function copyAll(batches: readonly EventBatch[]): void {
  for (const b of batches) {
    const n = b.length;
    const t = new Float64Array(n);
    const x = new Uint16Array(n);
    const y = new Uint16Array(n);
    const p = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      t[i] = b.t[i]!;
      x[i] = b.x[i]!;
      y[i] = b.y[i]!;
      p[i] = b.p[i]!;
    }
  }
}

async function rows(input: string, batches: readonly EventBatch[]): Promise<Row[]> {
  const n = batches.reduce((s, b) => s + b.length, 0);
  const ref = await timeBest(() => copyAll(batches));
  const out: Row[] = [{ filter: '(reference: copy every event)', input, events: n, 'M ev/s': n / ref / 1000, kept: '100.0 %', goal: '' }];
  for (const spec of SPECS) {
    let kept = 0;
    const ms = await timeBest(() => {
      const f = createFilter(spec);
      for (const b of batches) f.apply(b);
      kept = f.stats.kept;
    });
    out.push({ filter: createFilter(spec).label, input, events: n, 'M ev/s': n / ms / 1000, kept: `${((100 * kept) / n).toFixed(1)} %`, goal: `>= ${GOAL}` });
  }
  return out;
}

export async function benchFilters(): Promise<Row[]> {
  const out = await rows('synthetic 346x260, 10k/batch', syntheticBatches(10_000_000, 10_000, 3));
  const real = join(process.cwd(), '..', 'shared', 'recordings', 'davis240-translboxes.aedat');
  if (existsSync(real)) {
    const got: EventBatch[] = [];
    await readEventFile(real, (b) => void got.push(b));
    // the 2 s recording repeated 30 times (times shifted forward) so each run lasts long enough to time
    const one = concatBatches(got);
    const span = one.t[one.length - 1]! - one.t[0]! + 1;
    const reps: EventBatch[] = [];
    for (let r = 0; r < 30; r++) {
      const t = one.t.map((v) => v + r * span);
      for (let o = 0; o < one.length; o += 10_000) {
        const e = Math.min(one.length, o + 10_000);
        reps.push({ t: t.subarray(o, e), x: one.x.subarray(o, e), y: one.y.subarray(o, e), p: one.p.subarray(o, e), length: e - o, width: one.width, height: one.height });
      }
    }
    out.push(...(await rows('davis240-translboxes x30', reps)));
  }
  return out;
}
