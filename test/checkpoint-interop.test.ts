/**
 * A checkpoint from any path runs in any other without flags it already knows (issue 13): checkpoints
 * written by `train`, `train-stream`, the demo exporter and make-demo's writer, and two old dialects written
 * by hand as the old code wrote them, load in `run` (pipeline model adapter), `eval`, `infer` and `report`
 * with the width, T and framing they were trained with — through the library calls the commands make, and
 * through one real CLI spawn per command.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/snn/backend.js';
import { SegModel } from '../src/snn/model.js';
import { CHECKPOINT_FORMAT, readCheckpointInfo, type MetaSource, type ModelMeta } from '../src/snn/checkpoint.js';
import { runInfer } from '../src/snn/infer.js';
import { encodeSafetensors } from '../src/util/safetensors.js';
import { decodeSafetensorsHeader } from '../src/util/safetensors.js';
import { encodeNpy } from '../src/util/npy.js';
import { writeSimDataset } from '../src/sim/dataset.js';
import { resolveConfig } from '../src/train/config.js';
import { train } from '../src/train/trainer.js';
import { trainStreaming } from '../src/train/stream-trainer.js';
import { exportLiveCheckpoint, writeDemoCheckpoint } from '../src/train/demo.js';
import { runEval } from '../src/train/eval-run.js';
import { runReport } from '../src/train/report.js';
import { loadPipeline } from '../src/pipeline/config.js';
import { checkpointPipeline, LiveModel } from '../src/pipeline/model-adapter.js';
import { runCli } from './helpers/cli.js';

interface Case {
  name: string;
  path: string;
  /** What the writer was told (the truth the readers must recover). */
  expect: { arch: ModelMeta['arch']; width: number; T: number; size: [number, number]; crop?: ModelMeta['crop']; mode: ModelMeta['mode']; streaming?: ModelMeta['streaming']; untrained?: boolean; source: MetaSource };
}

test('checkpoints of train, train-stream, export, make-demo and old dialects load in run, eval, infer and report', async () => {
  await initBackend('wasm', false);
  const dir = await mkdtemp(join(tmpdir(), 'evstream-ckpt-interop-'));
  try {
    const data = join(dir, 'data');
    await writeSimDataset(data, { seed: 4, sequences: 2, seconds: 0.6, width: 64, height: 48 });
    const common = { data, arch: 'spiking-deeplab' as const, T: 2, width: 0.0625, batch: 2, epochs: 1, maxBatches: 1, valMaxBatches: 1, seed: 3, crop: 'none' as const };
    // train: frames mode at 16x16 (runs live as a sliding window); train-stream: 12x20 (state carried)
    const runT = join(dir, 'train');
    await train(resolveConfig({ ...common, out: runT, size: [16, 16], mode: 'frames' }), { progress: false, log: () => {}, initialEval: false });
    const runS = join(dir, 'stream');
    const loaded: string[] = [];
    await trainStreaming(resolveConfig({ ...common, out: runS, size: [12, 20], mode: 'frames' }), { log: () => {}, data: { onLoaded: (path, d) => loaded.push(`${path} ${d.split} ${d.summary?.missingLabels}`) } });
    // train-stream reports its sets as train does (missing labels, warnings): here none are missing
    assert.deepEqual(loaded, [`${data} train 0`, `${data} val 0`]);
    const exported = join(dir, 'export.safetensors');
    exportLiveCheckpoint(join(runT, 'best.safetensors'), exported, { extra: { note: 'interop' } });
    const demo = join(dir, 'demo-untrained.safetensors');
    await writeDemoCheckpoint(demo, { seed: 5, width: 0.125, T: 3, size: [24, 24], classes: 6 });

    // old dialects, written the way the old code wrote them: make-demo's flat keys; train's `evstream` JSON
    // without `format` (and, as the old export did, flat keys beside it)
    const oldModel = SegModel.create('spiking-deeplab', { width: 0.125, T: 2, size: [20, 20], classes: 6, seed: 9 });
    const oldFlat = join(dir, 'old-flat.safetensors');
    writeFileSync(oldFlat, encodeSafetensors(oldModel.stateDict('F16'), { format: 'pt', arch: 'spiking-deeplab', T: '2', width: '0.125', classes: '6', size: '20x20', seed: '9', untrained: 'true', note: 'old make-demo' }));
    const oldJson = join(dir, 'old-json.safetensors');
    const oldMeta = { arch: 'spiking-deeplab', classes: 6, size: [20, 20], T: 2, width: 0.125, bn: true, inputChannels: 2, surrogate: 'linear', mode: 'poisson', crop: 'none' };
    writeFileSync(oldJson, encodeSafetensors(oldModel.stateDict('F32'), { format: 'pt', arch: 'spiking-deeplab', T: '2', width: '0.125', untrained: 'false', evstream: JSON.stringify(oldMeta) }));
    oldModel.dispose();

    const cases: Case[] = [
      { name: 'train', path: join(runT, 'best.safetensors'), expect: { arch: 'spiking-deeplab', width: 0.0625, T: 2, size: [16, 16], crop: 'none', mode: 'frames', streaming: 'sliding-window', source: 'format-1' } },
      { name: 'train-stream', path: join(runS, 'best.safetensors'), expect: { arch: 'spiking-deeplab', width: 0.0625, T: 2, size: [12, 20], crop: 'none', mode: 'frames', streaming: 'continuous', source: 'format-1' } },
      { name: 'export-model', path: exported, expect: { arch: 'spiking-deeplab', width: 0.0625, T: 2, size: [16, 16], crop: 'none', mode: 'frames', streaming: 'sliding-window', untrained: false, source: 'format-1' } },
      { name: 'make-demo', path: demo, expect: { arch: 'spiking-deeplab', width: 0.125, T: 3, size: [24, 24], crop: 'none', mode: 'direct', untrained: true, source: 'format-1' } },
      { name: 'old flat keys', path: oldFlat, expect: { arch: 'spiking-deeplab', width: 0.125, T: 2, size: [20, 20], mode: 'poisson', untrained: true, source: 'flat-keys' } },
      { name: 'old evstream JSON', path: oldJson, expect: { arch: 'spiking-deeplab', width: 0.125, T: 2, size: [20, 20], crop: 'none', mode: 'poisson', untrained: false, source: 'evstream-json' } },
    ];
    // what is written now is format 1, in one key
    const md = decodeSafetensorsHeader(new Uint8Array(readFileSync(exported))).metadata;
    assert.equal(JSON.parse(md.evstream!).format, CHECKPOINT_FORMAT);
    assert.equal(md.note, 'interop');
    assert.equal(md.width, undefined, 'no flat duplicate of the options');

    const before = tf.memory().numTensors;
    for (const c of cases) {
      const e = c.expect;
      // the file's options
      const info = readCheckpointInfo(c.path);
      assert.equal(info.source, e.source, c.name);
      for (const k of ['arch', 'width', 'T', 'size', 'crop', 'mode', 'streaming', 'untrained'] as const) assert.deepEqual(info.meta[k], e[k], `${c.name}: ${k}`);

      // run: the demo pipeline given this checkpoint runs it at its width, T and framing
      const { cfg } = checkpointPipeline(loadPipeline('demo'), c.path);
      assert.deepEqual(cfg.framing.size, e.size, `${c.name}: run framing size`);
      assert.equal(cfg.framing.crop, null, `${c.name}: run crop`);
      assert.equal(cfg.model.encoder, e.mode === 'poisson' ? 'poisson' : 'direct', `${c.name}: run encoder`);
      // no streaming policy in the checkpoint: the demo pipeline's own setting stays
      assert.equal(cfg.model.slidingWindow, e.streaming === 'continuous' ? false : e.streaming === 'sliding-window' ? true : loadPipeline('demo').model.slidingWindow, `${c.name}: streaming`);
      const live = await LiveModel.create(cfg.model, c.path, cfg.framing.size);
      try {
        assert.deepEqual([live.info.width, live.info.T, live.info.size], [e.width, e.T, e.size], `${c.name}: live model`);
        assert.equal(live.info.untrained, e.untrained ?? false, `${c.name}: untrained label`);
        const out = live.step(new Float32Array(live.inputSize).fill(0.1));
        assert.equal(out.classMap.length, e.size[0] * e.size[1]);
      } finally {
        live.dispose();
      }

      // eval: the training framing (size, crop, mode, T) by default
      const ev = await runEval({ checkpoint: c.path, data, split: 'all', maxBatches: 1, batch: 2, cache: false });
      assert.deepEqual([ev.arch, ev.width, ev.size, ev.T, ev.mode], [e.arch, e.width, e.size, e.T, e.mode === 'poisson' ? 'poisson' : e.mode], `${c.name}: eval`);
      assert.ok(typeof ev.miou === 'number' && (ev.frames as number) > 0);

      // infer: no --arch, --classes or --size
      const x = join(dir, `${c.name}-x.npy`);
      writeFileSync(x, encodeNpy(new Float32Array(e.T * 2 * e.size[0] * e.size[1]).fill(0.2), [e.T, 1, 2, e.size[0], e.size[1]]));
      const inf = await runInfer({ weights: c.path, input: x, out: join(dir, `${c.name}-y.npy`) });
      assert.deepEqual(inf.shape, [1, 6, e.size[0], e.size[1]], `${c.name}: infer`);
      assert.deepEqual([inf.meta.width, inf.meta.T], [e.width, e.T]);

      // report: the checkpoint as a run directory's best
      const run = join(dir, `report-${c.name.replace(/\W/g, '-')}`);
      mkdirSync(run, { recursive: true });
      copyFileSync(c.path, join(run, 'best.safetensors'));
      const rep = await runReport(run, { data, split: 'all', maxBatches: 1, batch: 2, overlays: 0, log: () => {} });
      assert.deepEqual([rep.model?.width, rep.model?.T, rep.model?.size], [e.width, e.T, e.size], `${c.name}: report model`);
      assert.ok(existsSync(join(run, 'sweeps', 'eval.json')));
    }
    assert.equal(tf.memory().numTensors, before, 'no tensors left');

    // one real CLI spawn per command, no flags the checkpoint knows
    const ck = join(runS, 'best.safetensors');
    const evc = await runCli(['eval', '--checkpoint', ck, '--data', data, '--max-batches', '1', '--batch', '2', '--no-cache', '--json']);
    assert.equal(evc.code, 0, evc.stderr);
    const evj = JSON.parse(evc.stdout) as { width: number; size: number[]; T: number };
    assert.deepEqual([evj.width, evj.size, evj.T], [0.0625, [12, 20], 2]);
    const x = join(dir, 'cli-x.npy');
    writeFileSync(x, encodeNpy(new Float32Array(2 * 2 * 12 * 20).fill(0.2), [2, 1, 2, 12, 20]));
    const inc = await runCli(['infer', '--weights', ck, '--input', x, '--out', join(dir, 'cli-y.npy')]);
    assert.equal(inc.code, 0, inc.stderr);
    assert.match(inc.stderr, /infer: spiking-deeplab \(width 0\.0625, T 2\) -> .* \[1, 6, 12, 20\]/);
    const rpc = await runCli(['report', runS, '--data', data, '--split', 'all', '--max-batches', '1', '--batch', '2', '--overlays', '0', '--json']);
    assert.equal(rpc.code, 0, rpc.stderr);
    assert.deepEqual((JSON.parse(rpc.stdout) as { model: ModelMeta }).model.size, [12, 20]);
    const rnc = await runCli(['run', 'demo', '--checkpoint', ck, '--no-viewer', '--duration', '1', '--speed', '4', '-q']);
    assert.equal(rnc.code, 0, rnc.stderr);
    assert.match(rnc.stderr, /framing\.size \[64,64\] -> \[12,20\]/);
    assert.match(rnc.stderr, /model\.slidingWindow true -> false/);
    assert.match(rnc.stderr, /-> 50 ms frames 12x20 -> spiking-deeplab \(width 0\.0625, T 2\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a checkpoint's framing meets the pipeline file's rules: hostile window and crop are refused by name", async () => {
  const { writeCheckpoint, metaOfModel } = await import('../src/snn/checkpoint.js');
  const { PipelineConfigError } = await import('../src/pipeline/config.js');
  await initBackend('cpu', false);
  const dir = await mkdtemp(join(tmpdir(), 'evstream-ckpt-framing-'));
  const m = SegModel.create('spiking-deeplab', { width: 0.0625, T: 2, size: [16, 16], classes: 6 });
  try {
    const write = (name: string, rest: Partial<ModelMeta>): string => {
      const path = join(dir, name);
      writeCheckpoint(path, m, metaOfModel(m, rest));
      return path;
    };
    // fields the loader refuses, naming the field
    for (const [name, rest, field] of [
      ['w001.safetensors', { windowMs: 0.01 }, /windowMs/],
      ['crop0.safetensors', { crop: [0, 0, 0, 0] as [number, number, number, number] }, /crop/],
    ] as const) {
      const path = write(name, rest);
      assert.throws(() => checkpointPipeline(loadPipeline('demo'), path), (e: unknown) => e instanceof Error && e.message.includes(path) && field.test(e.message), name);
    }
    // a window the loader accepts, but with which the pipeline's lateness would exceed 256 windows
    const small = write('w02.safetensors', { windowMs: 0.2 });
    const cfg = loadPipeline('demo');
    cfg.framing.latenessMs = 100;
    assert.throws(() => checkpointPipeline(cfg, small), (e: unknown) => e instanceof PipelineConfigError && /latenessMs must be <= 256 windows/.test(e.message) && e.message.startsWith(small));
  } finally {
    m.dispose();
    await rm(dir, { recursive: true, force: true });
  }
});
