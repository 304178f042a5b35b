/** Training and evaluation: datasets, metrics, energy, optimizer, checkpoints, the training loop. */
export * from './metrics.js';
export * from './energy.js';
export * from './data.js';
export * from './rng.js';
export * from './optim.js';
export * from './config.js';
export * from './checkpoint.js';
export * from './evaluate.js';
export * from './trainer.js';
export * from './sweeps.js';
export * from './convert.js';
export * from './plots.js';
export * from './report.js';
export * from './demo.js';
export * from './stream-trainer.js';
