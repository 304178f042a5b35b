/**
 * `evstream export`: a model's standalone ONNX step graph (src/snn/engines/onnx/export.ts has the contract).
 *
 *   evstream export --weights FILE [--arch A] [--size WxH] [--classes N] [--batch N] --out model.onnx
 *
 * The model (architecture, width, T, classes, framing, BN policy, streaming) is the checkpoint's own
 * (src/snn/checkpoint.ts). A bare state_dict safetensors says none of it: then --arch is required (the
 * rest is read off the tensor shapes). --size / --classes build the model at another size / class count.
 * A 'sliding-window' checkpoint exports as one graph holding its T staggered sessions (T steps of compute per frame).
 */
import type { Command } from 'commander';
import { ARCHS, type Arch } from '../../snn/definition.js';
import { InputFileError } from '../../util/input-error.js';
import { existingFile, integerArg, oneOf, option, requiredOption, sizeArg, type Size } from '../options.js';

/** Parsed flags (src/cli/options.ts). */
export interface ExportCliOptions {
  weights: string;
  arch?: Arch;
  /** W x H, as every command reads it */
  size?: Size;
  classes?: number;
  batch: number;
  out: string;
}

const CHECKPOINT_FILE = 'a .safetensors checkpoint file';

export function registerExport(program: Command): Command {
  const cmd = program
    .command('export')
    .description(
      "write a model's standalone ONNX step graph (opset 17): input frame [N, C, H, W], every other input a float32 state (zeros at reset) fed back from '<name>.next', outputs logits [N, classes, H, W] and spikes [L]; streaming as the checkpoint says: continuous, or a sliding window of T staggered sessions stacked on the batch axis of every state (T steps of compute per frame)",
    );
  requiredOption(cmd, '--weights <file>', 'training checkpoint (its metadata says the model) or a bare state_dict .safetensors (then --arch)', existingFile(CHECKPOINT_FILE));
  option(cmd, '--arch <arch>', `model: ${ARCHS.join(' | ')} (required for a bare state_dict; default: the checkpoint's)`, oneOf(ARCHS));
  option(cmd, '--size <WxH>', "frame size, W x H (default: the checkpoint's)", sizeArg);
  option(cmd, '--classes <n>', "number of classes (default: the checkpoint's)", integerArg({ min: 1, max: 255 }));
  option(cmd, '--batch <n>', 'samples per step (N of frame and every state)', integerArg({ min: 1, max: 1024 }), '1');
  cmd.requiredOption('--out <file>', 'output .onnx');
  return cmd.action(async (o: ExportCliOptions) => {
    const { readCheckpointInfo, loadCheckpoint, atomicWrite } = await import('../../snn/checkpoint.js');
    const { exportStepGraph, exportStreaming } = await import('../../snn/engines/onnx/export.js');
    const info = readCheckpointInfo(o.weights);
    // the shapes alone cannot tell a spiking model without BN from an ANN twin: the user says which
    if (info.source === 'weights' && !o.arch) throw new InputFileError(o.weights, 'is a bare state_dict (no model options in it or beside it)', `--arch ${ARCHS.join('|')} to say which model it holds`);
    // the weights only need holding: the usual backend, quietly (tfjs's cpu backend prints a banner in Node)
    const { initBackend } = await import('../../snn/backend.js');
    await initBackend(undefined, false);
    // the issue that asked for export wrote HxW; every evstream command reads W x H (one options module), so a non-square size is echoed
    if (o.size && o.size.width !== o.size.height) process.stderr.write(`note: --size is W x H (width first, as in every evstream command): ${o.size.width} wide, ${o.size.height} high; frame [N, C, ${o.size.height}, ${o.size.width}]\n`);
    const set = { ...(o.size ? { size: [o.size.height, o.size.width] as [number, number] } : {}), ...(o.classes !== undefined ? { classes: o.classes } : {}) };
    const { model, meta } = loadCheckpoint(o.weights, { arch: o.arch, set });
    try {
      const g = exportStepGraph(model, { batch: o.batch, meta });
      atomicWrite(o.out, g.bytes);
      const line = (t: { name: string; type: string; shape: number[] }): string => `    ${t.name} ${t.type} [${t.shape.join(', ')}]`;
      const d = model.def;
      const st = exportStreaming(model, meta);
      const streaming = st.policy === 'sliding-window' ? `streaming: sliding window of ${st.window} (states hold ${st.window} copies, copy-major; ${st.window} steps of compute per frame)` : `streaming: continuous, BN policy past T: ${st.bnPolicy}`;
      process.stdout.write(
        [
          `export: ${d.arch} (width ${d.width}, T ${d.T}, ${d.classes} classes, frame ${d.size[1]}x${d.size[0]} (W x H), batch ${o.batch}, ${streaming}) -> ${o.out} (${g.bytes.length} bytes)`,
          '  inputs (all but frame: state, zeros at reset):',
          ...g.inputs.map(line),
          '  outputs:',
          ...g.outputs.map(line),
          '',
        ].join('\n'),
      );
    } finally {
      model.dispose();
    }
  });
}
