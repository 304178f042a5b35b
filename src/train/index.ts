/** Training and evaluation: datasets, metrics, energy, optimizer, checkpoints, the training loop.
 *
 * @packageDocumentation
 */
export * from './metrics.js';
export * from './energy.js';
export * from './seg-data.js';
export * from './labels-resize.js';
export * from './preprocess.js';
export { formatLoadSummary } from './loaders/collect.js';
export * from './loaders/sim.js';
export * from './loaders/evsegnet.js';
export * from './loaders/ess.js';
export * from './dataset.js';
export { detectLayout, isStaticImageLayout, openSegData } from './data.js';
export * from './rng.js';
export * from './optim.js';
export * from './config.js';
export * from './checkpoint.js';
export * from './evaluate.js';
export * from './loop.js';
export * from './trainer.js';
export * from './sweeps.js';
export * from './convert.js';
export * from './plots.js';
export * from './report.js';
export * from './demo.js';
export * from './stream-trainer.js';
