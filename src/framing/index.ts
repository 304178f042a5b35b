export * from './frame.js';
export * from './binner.js';
export * from './bin-frames.js';
export * from './resize.js';
export * from './normalize.js';
