/**
 * A checkpoint trained by `train` runs live as `eval` scores it (issue 19 item 7).
 *
 * A tiny spiking DeepLab is trained for a few steps (frames mode, a crop rect, a non-square input) on a tiny
 * synthetic set, then its checkpoint runs through the pipeline runner on that set's own recording, named in a
 * pipeline file whose framing contradicts it (size, crop, encoder, state lifetime). The checkpoint wins:
 * the live input frames must equal the frames `eval` preprocesses, and the live class maps the argmax of
 * `eval`'s forward over the same T frames, so the live confusion matrix against the set's labels equals
 * `runEval`'s. Mutants this kills: the pipeline keeping its own size / crop / encoder / streaming policy
 * (different frames or maps), `Pipeline.create` not applying the checkpoint, a live sliding window that is
 * not the offline forward over the last T frames.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { writeSimDataset } from '../src/sim/dataset.js';
import { resolveConfig } from '../src/train/config.js';
import { train, cropOption } from '../src/train/trainer.js';
import { runEval } from '../src/train/eval-run.js';
import { openSegData } from '../src/train/data.js';
import { FrameDataset } from '../src/train/dataset.js';
import { argmaxClasses } from '../src/train/metrics.js';
import { loadCheckpoint, readCheckpointInfo } from '../src/snn/checkpoint.js';
import { ortAvailable } from '../src/snn/engines/onnx/runtime.js';
import { normalizeMinMax } from '../src/framing/normalize.js';
import { parsePipeline } from '../src/pipeline/config.js';
import { Pipeline, type FrameResult } from '../src/pipeline/runner.js';
import { ManualQueue, VirtualClock } from './helpers/virtual-time.js';

const T = 3;
const SIZE: [number, number] = [16, 24];
const CROP: [number, number, number, number] = [4, 2, 56, 40];
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

test('a checkpoint trained by train runs through the pipeline as eval scores it: same frames, same class maps, same confusion', { timeout: 240_000 }, async () => {
  const dir = await mkdtemp(join(tmpdir(), 'evstream-live-ckpt-'));
  try {
    const data = join(dir, 'data');
    // a 40 ms window (not the 50 ms default) that the checkpoint must carry into the live framing
    await writeSimDataset(data, { seed: 4, sequences: 1, seconds: 1, width: 64, height: 48, windowUs: 40_000 });
    const out = join(dir, 'run');
    const cfg = resolveConfig({ data, out, arch: 'spiking-deeplab', size: SIZE, T, width: 0.125, batch: 4, epochs: 3, maxBatches: 4, valMaxBatches: 1, seed: 1, mode: 'frames', crop: CROP });
    const r = await train(cfg, { progress: false, log: () => {} });
    assert.equal(r.state.globalStep, 12, 'a few real training steps (3 epochs of 4 batches)');
    const ckpt = join(out, 'best.safetensors');
    const meta = readCheckpointInfo(ckpt).meta;
    // what the training wrote (format 1): the facts the pipeline has to honour
    assert.deepEqual([meta.size, meta.crop, meta.mode, meta.streaming, meta.T, meta.windowMs], [SIZE, CROP, 'frames', 'sliding-window', T, 40]);

    // eval's side: its score, and its preprocessed frames and forward (the code runEval runs)
    const ev = await runEval({ checkpoint: ckpt, data, split: 'all', cache: false });
    const set = await openSegData(data, 'all', { size: meta.size, crop: cropOption(meta.crop), normalize: meta.normalize ?? true, cache: false, history: T - 1 });
    const ds = new FrameDataset(set, 'frames', T);
    const plane = SIZE[0] * SIZE[1];
    const manifest = JSON.parse(readFileSync(join(data, 'manifest.json'), 'utf8')) as { windowUs: number; sequences: { t0: number; events: string; frames: number }[] };
    const seq = manifest.sequences[0]!;
    const { model } = loadCheckpoint(ckpt);
    /** eval's class map and logits of dataset sample i (the frames k-T+1..k from zero state). */
    const evalOf = (i: number): { map: Uint8Array; logits: Float32Array } => {
      const b = ds.batch([i]);
      const x = tf.tensor5d(b.x, b.shape);
      const o = model.forward(x);
      const logits = o.output.dataSync() as Float32Array;
      tf.dispose([x, o.output, o.spikes]);
      return { map: argmaxClasses(logits, 1, meta.classes, plane), logits };
    };

    const engines = ['tfjs', ...(ortAvailable() ? ['onnx'] : [])] as const;
    try {
      for (const engine of engines) {
        // a pipeline file that contradicts its checkpoint on purpose
        const pipeline = parsePipeline(
          {
            name: 'contradicting',
            source: { type: 'file', path: join(data, seq.events), speed: 1, loop: false },
            framing: { windowMs: 50, size: [32, 32], crop: null },
            model: { arch: 'spiking-deeplab', checkpoint: ckpt, encoder: 'poisson', slidingWindow: false, resetEvery: 2, engine },
            runtime: { maxPending: 8 },
            sinks: { viewer: { enabled: false } },
          },
          dir,
        );
        const log: string[] = [];
        const clock = new VirtualClock();
        const steps = new ManualQueue();
        const p = await Pipeline.create(pipeline, { scheduler: clock.scheduler, stepScheduler: steps, log: (l) => log.push(l) });
        const got: FrameResult[] = [];
        let done = false;
        p.results$.subscribe({ next: (x) => got.push(x), complete: () => (done = true) });
        try {
          // the checkpoint won, and the pipeline said what it replaced
          assert.deepEqual([p.cfg.framing.size, p.cfg.framing.crop, p.cfg.framing.windowMs, p.cfg.model.encoder, p.cfg.model.slidingWindow, p.cfg.model.resetEvery], [SIZE, CROP, manifest.windowUs / 1000, 'direct', true, 0]);
          const warning = log.find((l) => l.includes('as it was trained'));
          assert.ok(warning, log.join('\n'));
          for (const s of ['framing.size [32,32] -> [16,24]', 'framing.crop null -> [4,2,56,40]', 'framing.windowMs 50 -> 40', 'model.encoder "poisson" -> "direct"', 'model.slidingWindow false -> true']) assert.ok(warning.includes(s), `${s} in: ${warning}`);
          assert.equal(p.model.info.engine, engine);
          p.start();
          await clock.run({ until: () => (steps.drain(), done), what: `the end of the recording (${engine})`, realTimeoutMs: 60_000 });
        } finally {
          p.stop();
        }
        assert.equal(p.status().frames.dropped, 0, 'every frame processed');

        // live frame -> the set's window k (both bin from t0 in windows of windowUs)
        const byK = new Map<number, FrameResult>();
        for (const g of got) {
          const k = (g.t0 - seq.t0) / manifest.windowUs;
          assert.ok(Number.isInteger(k), `live window at ${g.t0} is on the set's grid`);
          if (k >= 0 && k < seq.frames) byK.set(k, g);
        }
        assert.equal(byK.get(0)?.index, 0, 'the recording starts in window 0, as the set');
        assert.equal(byK.size, seq.frames, 'one live frame per labelled window');
        // same input frames: the live frame (binned, cropped, resized, normalised by the pipeline) is eval's
        for (const [k, g] of byK) {
          const live = normalizeMinMax(new Float32Array(g.counts), 2);
          const i = set.window.indexOf(k);
          assert.deepEqual(live, set.frames.subarray(i * 2 * plane, (i + 1) * 2 * plane), `frame ${k}: live input = eval input`);
        }
        // same class maps, and from them the same confusion matrix as runEval
        const confusion = Array.from({ length: meta.classes }, () => new Array<number>(meta.classes).fill(0));
        let mismatched = 0;
        let nearTies = 0;
        const predicted = new Set<number>();
        const margins: number[] = [];
        for (let i = 0; i < ds.length; i++) {
          const k = set.window[ds.indices[i]!]!;
          const e = evalOf(i);
          const live = byK.get(k)!.classMap;
          for (let q = 0; q < plane; q++) {
            predicted.add(e.map[q]!);
            const v = Array.from({ length: meta.classes }, (_, c) => e.logits[c * plane + q]!).sort((x, y) => y - x);
            margins.push(v[0]! - v[1]!);
          }
          const label = set.labels.subarray(ds.indices[i]! * plane, (ds.indices[i]! + 1) * plane);
          for (let q = 0; q < plane; q++) {
            if (label[q] !== 255) confusion[label[q]!]![live[q]!]!++;
            if (live[q] === e.map[q]) continue;
            mismatched++;
            // a different argmax is only acceptable where eval's two classes are (float-)tied
            const margin = Math.abs(e.logits[e.map[q]! * plane + q]! - e.logits[live[q]! * plane + q]!);
            if (margin <= 1e-4 * Math.max(1, Math.abs(e.logits[e.map[q]! * plane + q]!))) nearTies++;
          }
        }
        console.log(`# ${engine}: ${got.length} live frames, ${ds.length} compared, ${mismatched} pixels differ (${nearTies} at float ties), eval predicts ${predicted.size} classes, median top-2 margin ${median(margins).toExponential(2)}`);
        // not vacuous: the trained model's maps are not constant and its logits are not tied
        assert.ok(predicted.size >= 2, `eval predicts ${predicted.size} class(es)`);
        assert.ok(median(margins) > 1e-3, `median top-2 logit margin ${median(margins)}`);
        if (engine === 'tfjs') assert.equal(mismatched, 0, 'the tfjs session is the offline forward, step for step');
        else assert.equal(mismatched, nearTies, 'ONNX differs from the tfjs forward only at float ties');
        if (mismatched === 0) assert.deepEqual(confusion, ev.confusion, 'live scores exactly what eval scores');
        assert.equal(ev.frames, ds.length);
      }
    } finally {
      model.dispose();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('an untrained initialisation keeps the pipeline crop (the ddd17 pipeline with the untrained weights keeps a hood crop); size, encoder and model shape still come from it', async () => {
  const { loadPipeline, resolveIn } = await import('../src/pipeline/config.js');
  const { checkpointPipeline } = await import('../src/pipeline/model-adapter.js');
  const cfg = loadPipeline('ddd17');
  const ckpt = resolveIn(cfg, 'demo-untrained.safetensors');
  const { meta } = readCheckpointInfo(ckpt);
  assert.equal(meta.untrained, true, 'the bundled demo-untrained weights say so');
  assert.equal(meta.crop, 'none', 'and name no crop');
  const edited = { ...cfg, framing: { ...cfg.framing, crop: [0, 0, 346, 200] as [number, number, number, number], size: [32, 48] as [number, number] }, model: { ...cfg.model, encoder: 'poisson' as const, arch: 'spiking-fcn' as const } };
  const r = checkpointPipeline(edited, ckpt);
  assert.deepEqual(r.cfg.framing.crop, [0, 0, 346, 200], 'the pipeline crop stands');
  assert.deepEqual(r.cfg.framing.size, [meta.size[0], meta.size[1]]);
  assert.equal(r.cfg.model.encoder, 'direct');
  assert.equal(r.cfg.model.arch, 'spiking-deeplab', 'the architecture is the weights');
  assert.ok(!r.changes.some((c) => c.startsWith('framing.crop')));
});
