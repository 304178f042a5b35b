/**
 * `evstream infer`: offline inference of one of the four models on a .npy input.
 *
 *   evstream infer --arch spiking-deeplab|spiking-fcn|ann-deeplab|ann-fcn --weights w.safetensors
 *     --input x.npy --out y.npy [--spikes spikes.json] [--classes 6] [--size 64x64 (W x H)]
 *
 * x: float32 [T, N, C, H, W], fed one step at a time from zero state (T may differ from the
 * weights' BNTT steps: steps past them use the default BN policy). The BNTT step count and the
 * width multiplier are read from the weights file. ANN twins average their per-step outputs.
 * y: float32 [N, classes, H, W]. spikes.json: per spiking layer in forward order
 * { name, spikes, neurons } (spikes: total over steps and batch; neurons: per sample).
 */
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { decodeNpy, encodeNpy } from '../../util/npy.js';
import { ARCHS, type Arch } from '../../snn/definition.js';
import { readSafetensors, type SafeTensor } from '../../util/safetensors.js';
import { readInputFile } from '../../util/input-error.js';
import { existingFile, integerArg, noteLegacySize, oneOf, option, parseSize, requiredOption, sizeArg, type Size } from '../options.js';

export interface InferOptions {
  arch: string;
  weights: string;
  input: string;
  out: string;
  spikes?: string;
  classes?: string | number;
  /** W x H: a Size, or its text ('64x32' = 64 wide, 32 high) */
  size?: string | Size;
}

export interface InferResult {
  shape: number[];
  spikes: { name: string; spikes: number; neurons: number }[];
  ms: number;
}

/** BNTT steps and width multiplier implied by a state dict. */
function shapeFromWeights(sd: Map<string, SafeTensor>, arch: Arch, path: string): { T: number; width: number } {
  const w0 = sd.get('features.0.weight');
  if (!w0) throw new Error(`${path}: missing key 'features.0.weight' (is this a ${arch} weights file?)`);
  const width = w0.shape[0]! / 64;
  let T = 1;
  if (arch.startsWith('spiking')) {
    T = 0;
    while (sd.has(`bn_features.0.${T}.running_mean`)) T++;
    if (T === 0) T = 1; // BNTT off
  }
  return { T, width };
}

export async function runInfer(o: InferOptions): Promise<InferResult> {
  if (!ARCHS.includes(o.arch as Arch)) throw new Error(`--arch must be one of ${ARCHS.join(', ')}, got '${o.arch}'`);
  const arch = o.arch as Arch;
  const classes = Number(o.classes ?? 6);
  if (!Number.isInteger(classes) || classes < 1) throw new Error(`--classes must be a positive integer, got '${String(o.classes)}'`);
  const wh = typeof o.size === 'object' ? o.size : parseSize(o.size ?? '64x64');
  const size: [number, number] = [wh.height, wh.width]; // the model takes [H, W]
  // tfjs loads only when a model runs, so the other commands start fast.
  const tf = await import('@tensorflow/tfjs');
  const { initBackend } = await import('../../snn/backend.js');
  const { SegModel } = await import('../../snn/model.js');
  await initBackend();
  (await import('../../snn/engines/kernels.js')).selectKernels();
  const x = decodeNpy(new Uint8Array(readInputFile(o.input, 'a .npy input file (float32 [T, N, C, H, W])')), o.input);
  if (x.dtype !== '<f4') throw new Error(`${o.input}: expected float32 (<f4), got ${x.dtype}`);
  if (x.fortranOrder) throw new Error(`${o.input}: Fortran-order arrays are not supported`);
  if (x.shape.length !== 5) throw new Error(`${o.input}: expected shape [T, N, C, H, W], got [${x.shape.join(', ')}]`);
  const sd = readSafetensors(o.weights, 'a .safetensors weights file');
  const { T, width } = shapeFromWeights(sd, arch, o.weights);
  const bn = arch.startsWith('spiking') ? sd.has('bn_features.0.0.running_mean') : sd.has('bn_features.0.running_mean');
  const model = SegModel.create(arch, { classes, size, T, width, bn, inputChannels: x.shape[2] });
  try {
    model.loadStateDict(sd, o.weights);
    const t0 = performance.now();
    const input = tf.tensor5d(x.data as Float32Array, x.shape as [number, number, number, number, number]);
    let out: Float32Array;
    let shape: number[];
    let counts: number[];
    try {
      const r = model.forward(input);
      shape = r.output.shape;
      out = (await r.output.data()) as Float32Array;
      counts = Array.from(await r.spikes.data());
      r.output.dispose();
      r.spikes.dispose();
    } finally {
      input.dispose();
    }
    const ms = performance.now() - t0;
    writeFileSync(o.out, encodeNpy(out, shape));
    const spikes = model.def.spikingLayers.map((l, i) => ({ name: l.name, spikes: counts[i]!, neurons: l.neurons }));
    if (o.spikes) writeFileSync(o.spikes, JSON.stringify(spikes, null, 1) + '\n');
    return { shape, spikes, ms };
  } finally {
    model.dispose();
  }
}

export function registerInfer(program: Command): Command {
  const cmd = program.command('infer').description('run a segmentation model offline on x.npy [T, N, C, H, W] from zero state, write y.npy [N, classes, H, W]');
  requiredOption(cmd, '--arch <arch>', `model: ${ARCHS.join(' | ')}`, oneOf(ARCHS));
  requiredOption(cmd, '--weights <file>', 'weights (.safetensors, reference state_dict keys)', existingFile('a .safetensors weights file'));
  requiredOption(cmd, '--input <file>', 'input x.npy, float32 [T, N, C, H, W]', existingFile('a .npy input file (float32 [T, N, C, H, W])'));
  cmd.requiredOption('--out <file>', 'output y.npy, float32 [N, classes, H, W]');
  cmd.option('--spikes <file>', 'write per-layer spike totals as JSON');
  option(cmd, '--classes <n>', 'number of classes', integerArg({ min: 1, max: 255 }), '6');
  option(cmd, '--size <WxH>', 'input size, W x H', sizeArg, '64x64');
  return cmd
    .action(async (opts: InferOptions) => {
      noteLegacySize(opts.size as Size);
      const r = await runInfer(opts);
      process.stderr.write(`infer: ${opts.arch} -> ${opts.out} [${r.shape.join(', ')}] in ${r.ms.toFixed(0)} ms\n`);
    });
}
