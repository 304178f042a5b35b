/**
 * `evstream`: the common entry. Read event-camera files (any supported format), stream them as RxJS
 * observables and bin them into frames. It loads no model runtime: spiking models, checkpoints and sessions
 * are in `evstream/snn`, live pipelines in `evstream/pipeline`, synthetic scenes in `evstream/sim`.
 *
 * @packageDocumentation
 */
export * from './events/index.js';
export * from './framing/index.js';
export { fromEventFile, fromDvTcp, PacedFileSource, type DvTcpOptions, type PacedFileOptions } from './sources/index.js';
