/**
 * Commands for the trained demo model (src/train/demo.ts):
 *
 *   evstream export-model --checkpoint RUN_DIR/best.safetensors --out pipelines/demo.safetensors [--f32]
 *     fp16 safetensors with the metadata the live pipeline reads (arch, T, width, classes, size,
 *     untrained=false) + the training model options.
 *   evstream simulate-scene --seed 7 --seconds 8 --size 128x96 --scene urban --out DIR
 *     a labelled one-sequence set of exactly that simulator scene (the bundled demo recording for seed 7),
 *     for a held-out evaluation on the demo scene (`evstream report RUN --data DIR --split all --streaming`).
 */
import type { Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import type { ScenePresetName } from '../../sim/presets.js';
import { existingDir, existingFile, integerArg, numberArg, option, requiredOption, sceneOption, seedOption, sizeArg, type Size } from '../options.js';
import { trainingOptions, trainOverrides, type TrainCliOptions } from './train.js';
import { datasetReporter } from '../warnings.js';

type TrainStreamOptions = Pick<TrainCliOptions, 'config' | 'data' | 'val' | 'out' | 'epochs' | 'batch' | 'maxBatches' | 'lr' | 'T' | 'width' | 'seed' | 'init'> & { valFrames: number; resume?: string };

export function registerDemoModel(program: Command): void {
  const ts = program
    .command('train-stream')
    .description('streaming training (truncated BPTT over continuous streams, membranes carried between steps) of a spiking model that runs live one frame per step (src/train/stream-trainer.ts)');
  trainingOptions(ts, {
    data: 'training data (sequences of consecutive frames)',
    batch: 'parallel streams per step',
    maxBatches: 'steps per epoch (default 50)',
    T: 'steps per truncated-BPTT chunk = BNTT steps = session horizon',
  });
  option(ts, '--val-frames <n>', 'validation frames scored per epoch (0 = all)', integerArg({ min: 0 }), '0');
  option(ts, '--resume <run_dir>', "continue that run from its last checkpoint (its config.json is the base configuration unless --config is given); Ctrl-C saves one", existingDir('a training run directory'));
  ts.action(async (o: TrainStreamOptions) => {
      const { resolveConfig } = await import('../../train/config.js');
      const { trainStreaming } = await import('../../train/stream-trainer.js');
      let file = o.config;
      if (o.resume) {
        if (o.out && resolve(o.out) !== resolve(o.resume)) throw new Error(`--resume ${o.resume} continues that run in place; --out ${o.out} names another directory`);
        const saved = join(o.resume, 'config.json');
        if (!file && !existsSync(saved)) throw new Error(`--resume: ${saved} not found`);
        file ??= saved;
      }
      const out = o.resume ?? o.out;
      const config = resolveConfig({ ...trainOverrides({ data: o.data, val: o.val, out, epochs: o.epochs, batch: o.batch, maxBatches: o.maxBatches, lr: o.lr, T: o.T, width: o.width, seed: o.seed, init: o.init }), mode: 'frames' }, file);
      const { formatLoadSummary } = await import('../../train/data.js');
      const r = await trainStreaming(config, { valFrames: o.valFrames, resume: !!o.resume, handleSigint: true, data: datasetReporter(formatLoadSummary) });
      process.stderr.write(`train-stream: ${r.interrupted ? 'interrupted' : 'done'}; best streaming validation MIoU ${r.bestMiou === null ? '-' : (r.bestMiou * 100).toFixed(2) + ' %'}; ${r.steps} steps, ${r.msPerStep.toFixed(0)} ms/step; checkpoint ${r.runDir}/${r.interrupted ? 'checkpoint' : 'best'}.safetensors\n`);
      if (r.interrupted) process.exitCode = 130;
    });
  const ex = program
    .command('export-model')
    .description('export a training checkpoint as a live-pipeline checkpoint (fp16 safetensors + pipeline metadata)');
  requiredOption(ex, '--checkpoint <file>', 'checkpoint written by evstream train (e.g. RUN_DIR/best.safetensors)', existingFile('a .safetensors checkpoint file'));
  ex.requiredOption('--out <file>', 'output .safetensors')
    .option('--f32', 'keep float32 weights (default fp16)')
    .option('--note <text>', 'free-text note stored in the metadata')
    .action(async (o: { checkpoint: string; out: string; f32?: boolean; note?: string }) => {
      const { exportLiveCheckpoint } = await import('../../train/demo.js');
      const bytes = exportLiveCheckpoint(o.checkpoint, o.out, { dtype: o.f32 ? 'F32' : 'F16', extra: { source: `${basename(dirname(resolve(o.checkpoint)))}/${basename(o.checkpoint)}`, ...(o.note ? { note: o.note } : {}) } });
      console.log(`wrote ${o.out}: ${(bytes / 2 ** 20).toFixed(2)} MiB (${statSync(o.out).size} bytes)`);
    });
  const sc = program
    .command('simulate-scene')
    .description('labelled one-sequence synthetic set of exactly one simulator seed (e.g. the demo recording: seed 7, 128x96, urban, 8 s)');
  seedOption(sc, 'simulator seed of the scene (not hashed, unlike evstream simulate)', undefined, true);
  sc.requiredOption('--out <dir>', 'output folder');
  option(sc, '--seconds <s>', 'length', numberArg({ above: 0 }), '8');
  option(sc, '--size <WxH>', 'sensor size, W x H', sizeArg, '128x96');
  sceneOption(sc, 'scene');
  sc.action(async (o: { seed: number; out: string; seconds: number; size: Size; scene: ScenePresetName }) => {
      const { seed } = o;
      const { writeScenarioSet } = await import('../../train/demo.js');
      const r = await writeScenarioSet(o.out, { seed, seconds: o.seconds, width: o.size.width, height: o.size.height, scene: o.scene });
      console.log(`1 sequence, ${r.frames} labelled frames, ${r.events} events -> ${o.out}`);
    });
}
