/**
 * Which kernels run tfjs's convolutions and matMuls in training and offline evaluation:
 * - 'ort': ONNX Runtime one-op graphs (tfjs-kernels.ts) on the wasm or cpu backend: all cores,
 *   several times faster here; autograd, layers and elementwise ops stay tfjs.
 * - 'tfjs': the backend's own kernels (and the forward-conv gradient recipe of ops.ts).
 * - 'auto' (default): 'ort' on wasm / cpu when onnxruntime-node loads, else 'tfjs' (tfjs-node and
 *   tfjs-node-gpu keep their own, native kernels).
 * `EVSTREAM_KERNELS` (auto | ort | tfjs; runtime-options.ts) overrides the caller's choice.
 */
import * as tf from '@tensorflow/tfjs';
import { installOrtKernels, installedOrtKernels } from './onnx/tfjs-kernels.js';
import { runtimeOptions, type KernelChoice } from '../runtime-options.js';

export type KernelMode = KernelChoice;

/**
 * Apply a kernel mode on the current backend; returns what is in use. Throws for 'ort' when ORT
 * cannot load or the backend is not wasm / cpu.
 */
export function selectKernels(mode: KernelMode = 'auto', log = true): 'ort' | 'tfjs' {
  const m = runtimeOptions().kernels ?? mode;
  const backend = tf.getBackend();
  let use: 'ort' | 'tfjs' = 'tfjs';
  let why = '';
  if (m === 'tfjs') installedOrtKernels()?.uninstall();
  else if (m === 'ort') {
    installOrtKernels();
    use = 'ort';
  } else if (backend === 'wasm' || backend === 'cpu') {
    try {
      installOrtKernels();
      use = 'ort';
    } catch (e) {
      why = ` (ORT kernels unavailable: ${(e as Error).message})`;
    }
  }
  if (log) process.stderr.write(`evstream: ${use === 'ort' ? 'conv/matMul kernels: onnxruntime' : `conv/matMul kernels: tfjs-${backend}`}${why}\n`);
  return use;
}
