import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { writeSimDataset } from '../../sim/dataset.js';
import type { ScenePresetName } from '../../sim/presets.js';
import { integerArg, numberArg, option, sceneOption, seedOption, sizeArg, type Size } from '../options.js';

interface SimulateOptions {
  seed: number;
  sequences: number;
  seconds: number;
  out: string;
  scene: ScenePresetName;
  size: Size;
  noiseRate?: number;
  threshold?: number;
}

export function registerSimulate(program: Command): void {
  const cmd = program.command('simulate').description('write a labelled synthetic driving-scene event set: per sequence AEDAT 4 events + 50 ms label PNGs, and a manifest');
  seedOption(cmd, 'random seed (same seed, same data)', undefined, true);
  option(cmd, '--sequences <n>', 'number of sequences', integerArg({ min: 1 }), '1');
  option(cmd, '--seconds <d>', 'seconds per sequence', numberArg({ above: 0 }), '5');
  cmd.requiredOption('--out <dir>', 'output folder');
  sceneOption(cmd, 'scene preset');
  option(cmd, '--size <WxH>', 'sensor size, W x H', sizeArg, '346x260');
  option(cmd, '--noise-rate <hz>', 'background noise events per pixel per second', numberArg({ above: 0 }));
  option(cmd, '--threshold <c>', 'contrast threshold (log intensity)', numberArg({ above: 0 }));
  cmd.action(async (opts: SimulateOptions) => {
      const { seed, sequences, seconds } = opts;
      const { width, height } = opts.size;
      const bar = process.stderr.isTTY
        ? new cliProgress.SingleBar({ format: 'simulate [{bar}] {percentage}% | seq {seq} | ETA {eta_formatted}', stream: process.stderr }, cliProgress.Presets.shades_classic)
        : undefined;
      let started = false;
      const manifest = await writeSimDataset(opts.out, {
        seed,
        sequences,
        seconds,
        width,
        height,
        scene: opts.scene,
        ...(opts.noiseRate !== undefined ? { noiseRate: opts.noiseRate } : {}),
        ...(opts.threshold !== undefined ? { contrastThreshold: opts.threshold } : {}),
        onWindow: (seq, window, windows) => {
          if (!bar) return;
          const total = windows * sequences;
          if (!started) {
            bar.start(total, 0, { seq: 1 });
            started = true;
          }
          bar.update(seq * windows + window + 1, { seq: seq + 1 });
        },
      });
      bar?.stop();
      const events = manifest.sequences.reduce((s, q) => s + q.eventCount, 0);
      const frames = manifest.sequences.reduce((s, q) => s + q.frames, 0);
      console.log(`${manifest.sequences.length} sequences, ${frames} labelled frames, ${events} events -> ${opts.out}`);
    });
}
