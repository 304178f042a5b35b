/**
 * `evstream make-demo`: regenerates the bundled demo assets of `npm start`:
 *   recordings/demo.aedat4            synthetic urban drive from the project's scene simulator (src/sim)
 *   pipelines/demo-untrained.safetensors  a seeded, UNTRAINED init of a small spiking DeepLab (fp16)
 * Deterministic for a given seed.
 */
import type { Command } from 'commander';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { Aedat4Writer } from '../../events/aedat4/index.js';
import { simulateSequence } from '../../sim/index.js';
import { packageRoot } from '../../pipeline/config.js';
import { integerArg, numberArg, oneOf, option, sceneOption, sizeArg, type Size } from '../options.js';

export interface DemoRecordingOptions {
  seconds: number;
  seed: number;
  width: number;
  height: number;
  scene: 'urban' | 'suburban' | 'highway';
}

/** Write the synthetic demo recording (AEDAT 4, zstd). Returns events written. */
export async function writeDemoRecording(path: string, o: DemoRecordingOptions): Promise<number> {
  mkdirSync(dirname(path), { recursive: true });
  const w = await Aedat4Writer.open(path, { width: o.width, height: o.height, compression: 'zstd_high', sourceName: `evstream-sim ${o.scene} seed ${o.seed}` });
  let n = 0;
  try {
    for (const chunk of simulateSequence({ seed: o.seed, seconds: o.seconds, width: o.width, height: o.height, scene: o.scene })) {
      if (chunk.events.length === 0) continue;
      await w.write(chunk.events);
      n += chunk.events.length;
    }
  } finally {
    await w.close();
  }
  return n;
}

export interface DemoCheckpointOptions {
  seed: number;
  width: number;
  T: number;
  size: [number, number];
  classes: number;
}

/** Seeded, untrained spiking DeepLab as fp16 safetensors with metadata the pipeline reads. */
export async function writeDemoCheckpoint(path: string, o: DemoCheckpointOptions): Promise<number> {
  // tfjs loads only here, so other commands start fast.
  const { SegModel, encodeSafetensors, initBackend } = await import('../../snn/index.js');
  await initBackend(undefined, false);
  const model = SegModel.create('spiking-deeplab', { width: o.width, T: o.T, size: o.size, classes: o.classes, seed: o.seed });
  try {
    const bytes = encodeSafetensors(model.stateDict('F16'), {
      format: 'pt',
      arch: 'spiking-deeplab',
      T: String(o.T),
      width: String(o.width),
      classes: String(o.classes),
      size: `${o.size[0]}x${o.size[1]}`,
      seed: String(o.seed),
      untrained: 'true',
      note: 'seeded Xavier init, NOT trained: predictions are meaningless (regenerate: evstream make-demo)',
    });
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, bytes);
    return bytes.length;
  } finally {
    model.dispose();
  }
}

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
