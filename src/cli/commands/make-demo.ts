/**
 * `evstream make-demo`: regenerates the bundled demo assets of `npm start`:
 *   recordings/demo.aedat4            synthetic urban drive from the project's scene simulator (src/sim)
 *   pipelines/demo-untrained.safetensors  a seeded, UNTRAINED init of a small spiking DeepLab (fp16)
 * Deterministic for a given seed. The builders live in src/train/demo.ts; this file parses and prints.
 */
import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { packageRoot } from '../../pipeline/config.js';

export function registerMakeDemo(program: Command): void {
  const root = packageRoot();
  program
    .command('make-demo')
    .description('regenerate the bundled demo recording (synthetic scene) and the untrained demo checkpoint')
    .option('--recording <file>', 'output recording', join(root, 'recordings', 'demo.aedat4'))
    .option('--checkpoint <file>', 'output checkpoint', join(root, 'pipelines', 'demo-untrained.safetensors'))
    .option('--seconds <s>', 'recording length', '8')
    .option('--seed <n>', 'scene and weight seed', '7')
    .option('--sensor <WxH>', 'simulated sensor size', '128x96')
    .option('--scene <name>', 'urban, suburban or highway', 'urban')
    .option('--width <m>', 'model channel width multiplier', '0.25')
    .option('--only <what>', 'recording or checkpoint (default both)')
    .action(async (opts: { recording: string; checkpoint: string; seconds: string; seed: string; sensor: string; scene: string; width: string; only?: string }) => {
      const m = /^(\d+)x(\d+)$/.exec(opts.sensor);
      if (!m) throw new Error(`--sensor must be WxH (got '${opts.sensor}')`);
      const seed = Number(opts.seed);
      if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed must be a non-negative integer (got '${opts.seed}')`);
      if (!['urban', 'suburban', 'highway'].includes(opts.scene)) throw new Error(`--scene must be urban, suburban or highway (got '${opts.scene}')`);
      const show = (p: string): string => relative(process.cwd(), p) || p;
      // the builders (src/train/demo.ts: simulator, AEDAT 4 writer, tfjs) load only when this command runs
      const { writeDemoRecording, writeDemoCheckpoint } = await import('../../train/demo.js');
      if (opts.only !== 'checkpoint') {
        const t0 = performance.now();
        const n = await writeDemoRecording(opts.recording, { seconds: Number(opts.seconds), seed, width: Number(m[1]), height: Number(m[2]), scene: opts.scene as 'urban' });
        console.log(`wrote ${show(opts.recording)}: ${n} events, ${(statSync(opts.recording).size / 2 ** 20).toFixed(2)} MiB (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      }
      if (opts.only !== 'recording') {
        const bytes = await writeDemoCheckpoint(opts.checkpoint, { seed, width: Number(opts.width), T: 4, size: [64, 64], classes: 6 });
        console.log(`wrote ${show(opts.checkpoint)}: ${(bytes / 2 ** 20).toFixed(2)} MiB (untrained spiking-deeplab, width ${opts.width}, seed ${seed})`);
      }
    });
}
