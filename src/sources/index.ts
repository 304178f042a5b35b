/**
 * `evstream/sources`: event streams as RxJS observables: file replay (`fromEventFile`, `PacedFileSource`: paced
 * at a speed or unpaced, pause, loop) and a live DV camera over TCP (`fromDvTcp`, with reconnects).
 *
 * @packageDocumentation
 */
export * from './paced-file.js';
export * from './controlled.js';
export * from './speed.js';
export * from './dv-tcp.js';
export * from './batch-time.js';
export * from './looped-read.js';
