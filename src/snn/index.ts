/** SNN core (tfjs): layers, models, weights, offline forward and streaming sessions.
 *
 * @packageDocumentation
 */
export * from './definition.js';
export * from './model.js';
export * from './session.js';
export * from './bntt.js';
export * from './lif.js';
export * from './surrogate.js';
export * from './encoders.js';
export * from './checkpoint.js';
// The weights format lives in src/util (file I/O stays out of the model library); the codec is re-exported.
export { decodeSafetensors, encodeSafetensors, halfToFloat, floatToHalf, SafetensorsError, type SafeTensor, type SafeTensorIn, type SafeDtype } from '../util/safetensors.js';
export * from './backend.js';
export * from './runtime-options.js';
export { conv2d, conv2dTapSplit, conv2dTrainable, convTranspose2x, avgPool3s2, resizeAlign, convFilterGrad } from './ops.js';
export * from './engines/index.js';
// The ORT kernels for tfjs (what the CLI selects after initBackend): library users get the CLI's numbers.
export { selectKernels, type KernelMode } from './engines/kernels.js';
export { runInfer, type InferOptions, type InferResult } from './infer.js';
export { exportStepGraph, exportMetadata, exportStreaming, EXPORT_FORMAT, type ExportStreaming, type ExportOptions, type ExportedGraph, type ExportTensor } from './engines/onnx/export.js';
