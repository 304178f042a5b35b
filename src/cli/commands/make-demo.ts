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
import type { DemoRecordingOptions } from '../../train/demo.js';
import { integerArg, numberArg, oneOf, option, sceneOption, sizeArg, type Size } from '../options.js';

export function registerMakeDemo(program: Command): void {
  const root = packageRoot();
  const cmd = program.command('make-demo').description('regenerate the bundled demo recording (synthetic scene) and the untrained demo checkpoint');
  cmd.option('--recording <file>', 'output recording', join(root, 'recordings', 'demo.aedat4'));
  cmd.option('--checkpoint <file>', 'output checkpoint', join(root, 'pipelines', 'demo-untrained.safetensors'));
  option(cmd, '--seconds <s>', 'recording length', numberArg({ above: 0 }), '8');
  option(cmd, '--seed <n>', 'scene and weight seed', integerArg({ min: 0 }), '7');
  option(cmd, '--sensor <WxH>', 'simulated sensor size, W x H', sizeArg, '128x96');
  sceneOption(cmd, 'scene');
  option(cmd, '--width <m>', 'model channel width multiplier', numberArg({ above: 0 }), '0.25');
  option(cmd, '--only <what>', 'recording or checkpoint (default both)', oneOf(['recording', 'checkpoint'] as const));
  cmd.action(async (opts: { recording: string; checkpoint: string; seconds: number; seed: number; sensor: Size; scene: DemoRecordingOptions['scene']; width: number; only?: 'recording' | 'checkpoint' }) => {
      const seed = opts.seed;
      const show = (p: string): string => relative(process.cwd(), p) || p;
      // the builders (src/train/demo.ts: simulator, AEDAT 4 writer, tfjs) load only when this command runs
      const { writeDemoRecording, writeDemoCheckpoint } = await import('../../train/demo.js');
      if (opts.only !== 'checkpoint') {
        const t0 = performance.now();
        const n = await writeDemoRecording(opts.recording, { seconds: opts.seconds, seed, width: opts.sensor.width, height: opts.sensor.height, scene: opts.scene });
        console.log(`wrote ${show(opts.recording)}: ${n} events, ${(statSync(opts.recording).size / 2 ** 20).toFixed(2)} MiB (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
      }
      if (opts.only !== 'recording') {
        const bytes = await writeDemoCheckpoint(opts.checkpoint, { seed, width: opts.width, T: 4, size: [64, 64], classes: 6 });
        console.log(`wrote ${show(opts.checkpoint)}: ${(bytes / 2 ** 20).toFixed(2)} MiB (untrained spiking-deeplab, width ${opts.width}, seed ${seed})`);
      }
    });
}
