import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { writeSimDataset } from '../../sim/dataset.js';
import { SCENE_PRESETS } from '../../sim/presets.js';
import type { ScenePresetName } from '../../sim/presets.js';
import { parseSize } from '../../framing/frame.js';

interface SimulateOptions {
  seed: string;
  sequences: string;
  seconds: string;
  out: string;
  scene: string;
  size: string;
  noiseRate?: string;
  threshold?: string;
}

function positiveNumber(name: string, text: string, integer = false): number {
  const v = Number(text);
  if (!(v > 0) || (integer && !Number.isInteger(v))) throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'} (got '${text}')`);
  return v;
}

export function registerSimulate(program: Command): void {
  program
    .command('simulate')
    .description('write a labelled synthetic driving-scene event set: per sequence AEDAT 4 events + 50 ms label PNGs, and a manifest')
    .requiredOption('--seed <s>', 'random seed (same seed, same data)')
    .option('--sequences <n>', 'number of sequences', '1')
    .option('--seconds <d>', 'seconds per sequence', '5')
    .requiredOption('--out <dir>', 'output folder')
    .option('--scene <preset>', `scene preset: ${Object.keys(SCENE_PRESETS).join(', ')}`, 'urban')
    .option('--size <WxH>', 'sensor size', '346x260')
    .option('--noise-rate <hz>', 'background noise events per pixel per second')
    .option('--threshold <c>', 'contrast threshold (log intensity)')
    .action(async (opts: SimulateOptions) => {
      const seed = Number(opts.seed);
      if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer (got '${opts.seed}')`);
      if (!(opts.scene in SCENE_PRESETS)) throw new Error(`--scene must be one of ${Object.keys(SCENE_PRESETS).join(', ')} (got '${opts.scene}')`);
      const { width, height } = parseSize(opts.size);
      const sequences = positiveNumber('sequences', opts.sequences, true);
      const seconds = positiveNumber('seconds', opts.seconds);
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
        scene: opts.scene as ScenePresetName,
        ...(opts.noiseRate !== undefined ? { noiseRate: positiveNumber('noise-rate', opts.noiseRate) } : {}),
        ...(opts.threshold !== undefined ? { contrastThreshold: positiveNumber('threshold', opts.threshold) } : {}),
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
