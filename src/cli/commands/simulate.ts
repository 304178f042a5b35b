import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { writeSimDataset } from '../../sim/dataset.js';
import type { ScenePresetName } from '../../sim/presets.js';
import type { SensorPresetName } from '../../sim/sensor-presets.js';
import { integerArg, numberArg, option, sceneOption, seedOption, sensorPresetOption, sizeArg, type Size } from '../options.js';

interface SimulateOptions {
  seed: number;
  sequences: number;
  seconds: number;
  out: string;
  scene: ScenePresetName;
  size?: Size;
  sensor?: SensorPresetName;
  randomize?: boolean;
  noiseRate?: number;
  threshold?: number;
}

export function registerSimulate(program: Command): void {
  const cmd = program.command('simulate').description('write a labelled synthetic driving-scene event set: per sequence AEDAT 4 events + 50 ms label PNGs, and a manifest');
  seedOption(cmd, 'random seed (same seed, same data)', undefined, true);
  option(cmd, '--sequences <n>', 'number of sequences', integerArg({ min: 1 }), '1');
  option(cmd, '--seconds <d>', 'seconds per sequence', numberArg({ above: 0 }), '5');
  cmd.requiredOption('--out <dir>', 'output folder');
  sceneOption(cmd, 'scene preset (with --randomize: drawn per sequence unless given)');
  option(cmd, '--size <WxH>', "sensor size, W x H (default: the --sensor preset's, else 346x260)", sizeArg);
  sensorPresetOption(cmd, 'simulated camera preset: sets the size and pixel parameters and turns on finite bandwidth, leak events and timestamp jitter (default: none, the plain pixel model)');
  cmd.option('--randomize', "domain randomisation: each sequence draws its sensor parameters from the --sensor preset's ranges (davis346 if none) and its scene, illumination and speed, from its seed; the manifest records them");
  option(cmd, '--noise-rate <hz>', 'background noise events per pixel per second', numberArg({ above: 0 }));
  option(cmd, '--threshold <c>', 'contrast threshold (log intensity)', numberArg({ above: 0 }));
  cmd.action(async (opts: SimulateOptions, command: Command) => {
      const { seed, sequences, seconds } = opts;
      // The scene is drawn under --randomize unless the user named one (its default is not a choice).
      const sceneGiven = command.getOptionValueSource('scene') === 'cli';
      const bar = process.stderr.isTTY
        ? new cliProgress.SingleBar({ format: 'simulate [{bar}] {percentage}% | seq {seq} | ETA {eta_formatted}', stream: process.stderr }, cliProgress.Presets.shades_classic)
        : undefined;
      let started = false;
      const manifest = await writeSimDataset(opts.out, {
        seed,
        sequences,
        seconds,
        ...(opts.size ? { width: opts.size.width, height: opts.size.height } : opts.sensor ? {} : { width: 346, height: 260 }),
        ...(opts.sensor ? { sensor: opts.sensor } : {}),
        ...(opts.randomize ? { randomize: true } : {}),
        ...(!opts.randomize || sceneGiven ? { scene: opts.scene } : {}),
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
