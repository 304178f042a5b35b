/**
 * `evstream/framing`: event batches to fixed-window two-channel (ON, OFF) count frames: `binFrames` (RxJS
 * operator) and `FrameBinner` (push), crop, area resize, normalisation. Imports nothing from Node (browser-safe).
 *
 * @packageDocumentation
 */
export * from './frame.js';
export * from './binner.js';
export * from './bin-frames.js';
export * from './resize.js';
export * from './normalize.js';
