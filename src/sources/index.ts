export * from './paced-file.js';
export * from './controlled.js';
export * from './speed.js';
export * from './dv-tcp.js';
export * from './batch-time.js';
export * from './looped-read.js';
