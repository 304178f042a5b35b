/**
 * Issue 16: the live path with the denoising filters on, on a real DAVIS240 recording. The shared
 * davis240-translboxes.aedat is served by `evstream replay-server` as a DV TCP stream; the `live-davis`
 * pipeline (its trained model's framing: DDD17's hood crop rule, 240 x 138 of this 240 x 180 sensor, resized
 * to 64 x 64) runs with
 * framing.filters = hot pixels, background activity, refractory. Over the first pass of the stream (all
 * 162771 events, counted on the pipeline's unfiltered event tap), each filter's in / kept counts equal
 * those of the same chain run in process on the file (the filters do not depend on how events are split
 * into batches, and DV TCP carries the events unchanged), frames are segmented, and nothing fails.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startReplayServer } from '../src/server/dv-replay-server.js';
import { parsePipeline } from '../src/pipeline/config.js';
import { Pipeline } from '../src/pipeline/runner.js';
import { readEventFile } from '../src/events/read-file.js';
import { FilterChain, type FilterSpec } from '../src/filters/index.js';
import { ROOT, waitFor } from './helpers/server-helpers.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';

const DAVIS = 'davis240-translboxes.aedat';
const EVENTS = 162771; // ../shared/recordings/README.md
const FILTERS: FilterSpec[] = [{ type: 'hotPixel' }, { type: 'backgroundActivity', windowUs: 10_000 }, { type: 'refractory', periodUs: 1000 }];

test('live path with filters: replay-server (DV TCP) -> live-davis pipeline on a DAVIS240 recording; each filter keeps what it keeps offline', { skip: skipUnless(sharedRecording(DAVIS), DAVIS), timeout: 120_000 }, async () => {
  const file = sharedRecording(DAVIS)!;
  const replay = await startReplayServer(file, { port: 0, speed: 10, loop: false, log: () => {} });
  const json = JSON.parse(readFileSync(join(ROOT, 'pipelines', 'live-davis.json'), 'utf8')) as { source: { url: string }; framing: { filters?: FilterSpec[] }; sinks: { viewer: { enabled: boolean } } };
  json.source.url = `tcp://127.0.0.1:${replay.port}`;
  json.framing.filters = FILTERS;
  json.sinks.viewer.enabled = false;
  const cfg = parsePipeline(json, join(ROOT, 'pipelines'), 'live-davis + filters');
  const p = await Pipeline.create(cfg);
  let raw = 0;
  let frames = 0;
  let firstPass: ReturnType<Pipeline['status']> | undefined;
  const errors: unknown[] = [];
  p.events$.subscribe((b) => {
    raw += b.length;
    // the pass ends here: the filters see this batch in the same turn, the next pass needs a reconnection
    if (raw === EVENTS) setImmediate(() => (firstPass = p.status()));
  });
  p.results$.subscribe({ next: () => frames++, error: (e) => errors.push(e) });
  p.start();
  try {
    await waitFor(() => firstPass !== undefined || raw > EVENTS, 60_000, 'the first pass of the recording');
    assert.ok(firstPass, `the first pass delivered exactly ${EVENTS} events (got ${raw})`);
    const chain = new FilterChain(FILTERS);
    await readEventFile(file, (b) => void chain.apply(b));
    const want = chain.report().map((r) => ({ filter: r.filter, in: r.in, kept: r.kept, outside: 0 }));
    assert.deepEqual(firstPass.filters, want);
    assert.ok(want[1]!.kept < want[1]!.in, 'background activity removes events');
    await waitFor(() => frames >= 10, 30_000, 'segmented frames');
    assert.deepEqual(errors, []);
    console.log(`live-davis over DV TCP, DAVIS240 ${EVENTS} events: ${want.map((w) => `${w.filter} kept ${w.kept} of ${w.in}`).join('; ')}; ${frames} frames`);
  } finally {
    p.stop();
    await replay.close();
  }
});
