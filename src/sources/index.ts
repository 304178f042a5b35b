export * from './file.js';
export * from './pace.js';
export * from './dv-tcp.js';
export * from './batch-time.js';
export * from './looped-read.js';
