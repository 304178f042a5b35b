/**
 * Issue 16: the `ddd17` and `live-davis` pipelines ship a trained model (pipelines/ddd17-sim.safetensors,
 * scripts/make-ddd17-model.sh), not the untrained init. Its metadata carries the pipelines' framing (crop
 * "ddd17": 346 x 200 of a DAVIS346, the same fraction of rows of another sensor; 64 x 64, 50 ms frames, trained on T-frame windows: run as a sliding window).
 * End to end: a simulated DAVIS346 drive converted to a DDD17 HDF5 file through `evstream run ddd17`, and
 * the same drive served as a DV TCP stream through `run live-davis`: the viewer's hello says the model is
 * trained (its "untrained" badge stays hidden) and frames arrive.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyOverrides, loadPipeline, resolveIn } from '../src/pipeline/config.js';
import { checkpointPipeline } from '../src/pipeline/model-adapter.js';
import { readCheckpointInfo } from '../src/snn/checkpoint.js';
import { runPipeline } from '../src/server/live-run.js';
import { startReplayServer } from '../src/server/dv-replay-server.js';
import { simulateSequence } from '../src/sim/simulate.js';
import { writeDdd17Hdf5 } from '../src/events/ddd17-hdf5-writer.js';
import { Aedat4Writer } from '../src/events/aedat4/writer.js';
import { WsProbe } from './helpers/server-helpers.js';

const SHIPPED = 'ddd17-sim.safetensors';

test('ddd17 and live-davis ship the simulation-trained checkpoint with their own framing in its metadata', () => {
  for (const name of ['ddd17', 'live-davis']) {
    const cfg = loadPipeline(name);
    assert.equal(cfg.model.checkpoint, SHIPPED, name);
    const path = resolveIn(cfg, cfg.model.checkpoint!);
    const info = readCheckpointInfo(path);
    const meta = info.meta;
    assert.notEqual(meta.untrained, true, `${name}: not the untrained init`);
    assert.deepEqual([meta.crop, meta.size, meta.mode, meta.streaming], ['ddd17', [64, 64], 'frames', 'sliding-window']);
    // training records no window length (every evstream data set is cut in 50 ms windows): the pipeline's stands
    assert.ok(meta.windowMs === undefined || meta.windowMs === 50);
    const run = checkpointPipeline(cfg, path).cfg;
    assert.deepEqual([run.framing.crop, run.framing.size, run.framing.windowMs, run.model.slidingWindow], ['ddd17', [64, 64], 50, true], name);
  }
});

test('run ddd17 on a simulated DAVIS346 drive converted to DDD17 HDF5, and live-davis on the same drive over DV TCP: a trained model in the viewer', { timeout: 180_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evstream-trained-'));
  try {
    const events = [...simulateSequence({ seed: 77, seconds: 1.2, sensor: 'davis346' })].map((c) => c.events);
    const h5 = join(dir, 'drive.ddd17.hdf5');
    await writeDdd17Hdf5(h5, events, { width: 346, height: 260 });
    const a4 = join(dir, 'drive.aedat4');
    const w = await Aedat4Writer.open(a4, { width: 346, height: 260 });
    for (const b of events) await w.write(b);
    await w.close();
    const replay = await startReplayServer(a4, { port: 0, speed: 1, loop: true, log: () => {} });
    try {
      for (const [name, source] of [['ddd17', h5], ['live-davis', `tcp://127.0.0.1:${replay.port}`]] as const) {
        const run = await runPipeline(applyOverrides(loadPipeline(name), { source, port: 0 }), { log: () => {} });
        const probe = new WsProbe(run.url!.replace(/^http/, 'ws') + 'ws');
        try {
          await probe.opened;
          await probe.waitFor(() => probe.of('hello').length > 0 && probe.binary >= 3, 60_000, `${name}: hello and frames`);
          const hello = probe.of('hello')[0]! as { model: { untrained: boolean; checkpoint: string } };
          assert.equal(hello.model.untrained, false, `${name}: the viewer's badge says trained`);
          assert.match(hello.model.checkpoint, /ddd17-sim/);
        } finally {
          probe.close();
          await run.stop();
        }
      }
    } finally {
      await replay.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
