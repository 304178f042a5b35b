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

export function registerDemoModel(program: Command): void {
  program
    .command('train-stream')
    .description('streaming training (truncated BPTT over continuous streams, membranes carried between steps) of a spiking model that runs live one frame per step (src/train/stream-trainer.ts)')
    .option('--config <file>', 'JSON configuration (keys as TrainConfig); flags override it')
    .option('--data <dir>', 'training data (sequences of consecutive frames)')
    .option('--val <dir>', 'validation data (default: the validation split of --data)')
    .option('--out <dir>', 'run directory')
    .option('--epochs <n>', 'epochs')
    .option('--batch <n>', 'parallel streams per step')
    .option('--max-batches <n>', 'steps per epoch (default 50)')
    .option('--lr <x>', 'Adam learning rate')
    .option('--T <n>', 'steps per truncated-BPTT chunk = BNTT steps = session horizon')
    .option('--width <x>', 'channel width multiplier')
    .option('--seed <n>', 'seed')
    .option('--init <file>', 'start from these weights (checkpoint of the same model), e.g. a frames-mode run')
    .option('--val-frames <n>', 'validation frames scored per epoch (0 = all)', '0')
    .option('--resume <run_dir>', "continue that run from its last checkpoint (its config.json is the base configuration unless --config is given); Ctrl-C saves one")
    .action(async (o: Record<string, string | undefined>) => {
      const { trainOverrides } = await import('./train.js');
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
      const config = resolveConfig({ ...trainOverrides({ data: o.data, val: o.val, out, epochs: o.epochs, batch: o.batch, maxBatches: o.maxBatches, lr: o.lr, T: o.T, width: o.width, seed: o.seed }), mode: 'frames', ...(o.init ? { init: o.init } : {}) }, file);
      const r = await trainStreaming(config, { valFrames: Number(o.valFrames ?? 0), resume: !!o.resume, handleSigint: true });
      process.stderr.write(`train-stream: ${r.interrupted ? 'interrupted' : 'done'}; best streaming validation MIoU ${r.bestMiou === null ? '-' : (r.bestMiou * 100).toFixed(2) + ' %'}; ${r.steps} steps, ${r.msPerStep.toFixed(0)} ms/step; checkpoint ${r.runDir}/${r.interrupted ? 'checkpoint' : 'best'}.safetensors\n`);
      if (r.interrupted) process.exitCode = 130;
    });
  program
    .command('export-model')
    .description('export a training checkpoint as a live-pipeline checkpoint (fp16 safetensors + pipeline metadata)')
    .requiredOption('--checkpoint <file>', 'checkpoint written by evstream train (e.g. RUN_DIR/best.safetensors)')
    .requiredOption('--out <file>', 'output .safetensors')
    .option('--f32', 'keep float32 weights (default fp16)')
    .option('--note <text>', 'free-text note stored in the metadata')
    .action(async (o: { checkpoint: string; out: string; f32?: boolean; note?: string }) => {
      const { exportLiveCheckpoint } = await import('../../train/demo.js');
      const bytes = exportLiveCheckpoint(o.checkpoint, o.out, { dtype: o.f32 ? 'F32' : 'F16', extra: { source: `${basename(dirname(resolve(o.checkpoint)))}/${basename(o.checkpoint)}`, ...(o.note ? { note: o.note } : {}) } });
      console.log(`wrote ${o.out}: ${(bytes / 2 ** 20).toFixed(2)} MiB (${statSync(o.out).size} bytes)`);
    });
  program
    .command('simulate-scene')
    .description('labelled one-sequence synthetic set of exactly one simulator seed (e.g. the demo recording: seed 7, 128x96, urban, 8 s)')
    .requiredOption('--seed <n>', 'simulator seed of the scene (not hashed, unlike evstream simulate)')
    .requiredOption('--out <dir>', 'output folder')
    .option('--seconds <s>', 'length', '8')
    .option('--size <WxH>', 'sensor size', '128x96')
    .option('--scene <name>', 'urban | suburban | highway', 'urban')
    .action(async (o: { seed: string; out: string; seconds: string; size: string; scene: string }) => {
      const m = /^(\d+)x(\d+)$/.exec(o.size);
      if (!m) throw new Error(`--size must be WxH (got '${o.size}')`);
      const seed = Number(o.seed);
      if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer (got '${o.seed}')`);
      if (!['urban', 'suburban', 'highway'].includes(o.scene)) throw new Error(`--scene must be urban, suburban or highway (got '${o.scene}')`);
      const { writeScenarioSet } = await import('../../train/demo.js');
      const r = await writeScenarioSet(o.out, { seed, seconds: Number(o.seconds), width: Number(m[1]), height: Number(m[2]), scene: o.scene as 'urban' });
      console.log(`1 sequence, ${r.frames} labelled frames, ${r.events} events -> ${o.out}`);
    });
}
