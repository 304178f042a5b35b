/**
 * `evstream infer`: offline inference of a checkpoint on a .npy input (src/snn/infer.ts does the work).
 *
 *   evstream infer --weights w.safetensors --input x.npy --out y.npy [--spikes spikes.json]
 *     [--arch A] [--classes N] [--size HxW]
 *
 * x: float32 [T, N, C, H, W]; y: float32 [N, classes, H, W]. The model (architecture, width, T, classes,
 * input channels) is the checkpoint's own (src/snn/checkpoint.ts); --arch, --classes and --size are only
 * for bare reference weights that do not say (default: inferred from the tensor shapes; the input's size).
 */
import type { Command } from 'commander';
import { ARCHS, parseSize, type Arch } from '../../snn/definition.js';

export interface InferCliOptions {
  arch?: string;
  weights: string;
  input: string;
  out: string;
  spikes?: string;
  classes?: string;
  size?: string;
}

export function registerInfer(program: Command): Command {
  return program
    .command('infer')
    .description('run a segmentation model offline on x.npy [T, N, C, H, W] from zero state, write y.npy [N, classes, H, W]')
    .option('--arch <arch>', `model: ${ARCHS.join(' | ')} (default: the checkpoint's)`)
    .requiredOption('--weights <file>', 'weights (.safetensors, reference state_dict keys)')
    .requiredOption('--input <file>', 'input x.npy, float32 [T, N, C, H, W]')
    .requiredOption('--out <file>', 'output y.npy, float32 [N, classes, H, W]')
    .option('--spikes <file>', 'write per-layer spike totals as JSON')
    .option('--classes <n>', "number of classes (default: the checkpoint's)")
    .option('--size <HxW>', "input size (default: the input's)")
    .action(async (opts: InferCliOptions) => {
      if (opts.arch !== undefined && !ARCHS.includes(opts.arch as Arch)) throw new Error(`--arch must be one of ${ARCHS.join(', ')}, got '${opts.arch}'`);
      const classes = opts.classes === undefined ? undefined : Number(opts.classes);
      if (classes !== undefined && (!Number.isInteger(classes) || classes < 1)) throw new Error(`--classes must be a positive integer, got '${opts.classes}'`);
      // tfjs loads only when a model runs, so the other commands start fast
      const { initBackend } = await import('../../snn/backend.js');
      await initBackend();
      (await import('../../snn/engines/kernels.js')).selectKernels();
      const { runInfer } = await import('../../snn/infer.js');
      const r = await runInfer({ weights: opts.weights, input: opts.input, out: opts.out, spikes: opts.spikes, arch: opts.arch as Arch | undefined, classes, size: opts.size === undefined ? undefined : parseSize(opts.size) });
      process.stderr.write(`infer: ${r.meta.arch} (width ${r.meta.width}, T ${r.meta.T}) -> ${opts.out} [${r.shape.join(', ')}] in ${r.ms.toFixed(0)} ms\n`);
    });
}
