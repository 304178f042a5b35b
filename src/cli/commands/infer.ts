/**
 * `evstream infer`: offline inference of a checkpoint on a .npy input (src/snn/infer.ts does the work).
 *
 *   evstream infer --weights w.safetensors --input x.npy --out y.npy [--spikes spikes.json]
 *     [--arch A] [--classes N] [--size WxH]
 *
 * x: float32 [T, N, C, H, W]; y: float32 [N, classes, H, W]. The model (architecture, width, T, classes,
 * input channels) is the checkpoint's own (src/snn/checkpoint.ts); --arch, --classes and --size are only
 * for bare reference weights that do not say (default: inferred from the tensor shapes; the input's size).
 */
import type { Command } from 'commander';
import { ARCHS, type Arch } from '../../snn/definition.js';
import { existingFile, integerArg, noteLegacySize, oneOf, option, requiredOption, sizeArg, type Size } from '../options.js';

/** Parsed flags (src/cli/options.ts). */
export interface InferCliOptions {
  arch?: Arch;
  weights: string;
  input: string;
  out: string;
  spikes?: string;
  classes?: number;
  /** W x H */
  size?: Size;
}

export function registerInfer(program: Command): Command {
  const cmd = program.command('infer').description('run a segmentation model offline on x.npy [T, N, C, H, W] from zero state, write y.npy [N, classes, H, W]');
  option(cmd, '--arch <arch>', `model: ${ARCHS.join(' | ')} (default: the checkpoint's)`, oneOf(ARCHS));
  requiredOption(cmd, '--weights <file>', 'weights (.safetensors, reference state_dict keys)', existingFile('a .safetensors weights file'));
  requiredOption(cmd, '--input <file>', 'input x.npy, float32 [T, N, C, H, W]', existingFile('a .npy input file (float32 [T, N, C, H, W])'));
  cmd.requiredOption('--out <file>', 'output y.npy, float32 [N, classes, H, W]');
  cmd.option('--spikes <file>', 'write per-layer spike totals as JSON');
  option(cmd, '--classes <n>', "number of classes (default: the checkpoint's)", integerArg({ min: 1, max: 255 }));
  option(cmd, '--size <WxH>', "input size, W x H (default: the input's)", sizeArg);
  return cmd.action(async (opts: InferCliOptions) => {
    noteLegacySize(opts.size);
    // tfjs loads only when a model runs, so the other commands start fast
    const { initBackend } = await import('../../snn/backend.js');
    await initBackend();
    (await import('../../snn/engines/kernels.js')).selectKernels();
    const { runInfer } = await import('../../snn/infer.js');
    const size: [number, number] | undefined = opts.size ? [opts.size.height, opts.size.width] : undefined; // the model takes [H, W]
    const r = await runInfer({ weights: opts.weights, input: opts.input, out: opts.out, spikes: opts.spikes, arch: opts.arch, classes: opts.classes, size });
    process.stderr.write(`infer: ${r.meta.arch} (width ${r.meta.width}, T ${r.meta.T}) -> ${opts.out} [${r.shape.join(', ')}] in ${r.ms.toFixed(0)} ms\n`);
  });
}
