/**
 * Held-out streaming MIoU of a checkpoint through the onnx engine, fp32 vs int8 (issue 17: keep int8 only
 * if MIoU drops by <= 1 point). Calibration on a separate set (its train split, or `all` for a folder of
 * calibration sequences); evaluation as the checkpoint runs live (report --streaming: its streaming policy,
 * BN policy, warm-up T).
 *
 *   node dist/bench/int8-miou.js CHECKPOINT CALIB_DIR[:split] EVAL_DIR[:split]... [--calib-frames 256]
 */
import { initBackend } from '../src/snn/backend.js';
import { loadCheckpointModel } from '../src/train/checkpoint.js';
import { inputPlan } from '../src/train/config.js';
import { openSegData } from '../src/train/data.js';
import type { Split } from '../src/train/seg-data.js';
import { calibrationOf, evaluateStreaming } from '../src/train/sweeps.js';
import { cropOption } from '../src/train/trainer.js';

const args = process.argv.slice(2);
const fi = args.indexOf('--calib-frames');
const calibFrames = fi >= 0 ? Number(args.splice(fi, 2)[1]) : 256;
const [ckpt, calibArg, ...evalArgs] = args;
if (!ckpt || !calibArg || !evalArgs.length) throw new Error('usage: int8-miou.js CHECKPOINT CALIB_DIR[:split] EVAL_DIR[:split]...');
const dirSplit = (s: string, d: Split): [string, Split] => {
  const i = s.lastIndexOf(':');
  return i > 0 ? [s.slice(0, i), s.slice(i + 1) as Split] : [s, d];
};
await initBackend(undefined, false);
const { model, meta: m } = loadCheckpointModel(ckpt);
const plan = inputPlan({ arch: m.arch, mode: m.mode, T: m.T });
const load = (dir: string, split: Split) => openSegData(dir, split, { size: m.size, crop: cropOption(m.crop), normalize: m.normalize ?? true, history: plan.mode === 'frames' ? plan.steps - 1 : 0 });
const [cd, cs] = dirSplit(calibArg, 'train');
const calibration = calibrationOf(await load(cd, cs), calibFrames);
process.stdout.write(`${ckpt} (${m.arch} ${m.size.join('x')} width ${m.width}): calibration ${calibration.sequences.reduce((a, s) => a + s.length, 0)} frames of ${cd} (${cs})\n`);
const so = { warmup: m.T, bnPolicy: m.bnPolicy ?? ('last' as const), engine: 'onnx' as const, slidingWindow: m.streaming === 'sliding-window' };
let sum32 = 0;
let sum8 = 0;
for (const a of evalArgs) {
  const [dir, split] = dirSplit(a, 'all');
  const data = await load(dir, split);
  const f = evaluateStreaming(model, data, so);
  const q = evaluateStreaming(model, data, { ...so, precision: 'int8', calibration });
  sum32 += f.miou;
  sum8 += q.miou;
  process.stdout.write(`${dir} (${split}, ${f.frames} frames): MIoU fp32 ${(100 * f.miou).toFixed(2)} %, int8 ${(100 * q.miou).toFixed(2)} % (${(100 * (q.miou - f.miou)).toFixed(2)} points); pixel acc. ${(100 * f.pixelAccuracy).toFixed(2)} / ${(100 * q.pixelAccuracy).toFixed(2)} %; ${f.msPerStep.toFixed(1)} / ${q.msPerStep.toFixed(1)} ms per step\n`);
}
if (evalArgs.length > 1) process.stdout.write(`mean MIoU fp32 ${((100 * sum32) / evalArgs.length).toFixed(2)} %, int8 ${((100 * sum8) / evalArgs.length).toFixed(2)} % (${((100 * (sum8 - sum32)) / evalArgs.length).toFixed(2)} points)\n`);
model.dispose();
