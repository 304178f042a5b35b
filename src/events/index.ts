/**
 * `evstream/events` (Node): read, detect, decode and write event-camera files. Everything in browser.ts
 * (batches, errors, byte decoders) plus what needs a file system: readEventFile / readEvents for any format
 * including HDF5, the AEDAT 4 range reader, and the AEDAT 4 / EVT 3.0 / HDF5 writers.
 *
 * @packageDocumentation
 */
export * from './browser.js';

// Read any supported file (format detected by content): push (callback) or pull (for await) form.
export { readEventFile, type BatchHandler, type ReadEventFileOptions } from './read-file.js';
export { readEvents } from './read-events.js';
export { detectFileFormat } from './detect.js';
export { scanSensorSizeIfUnstated, type SensorSize } from './sensor-size.js';
// AEDAT 4 specifics: seek by time through the file data table, the header, codec set-up.
export { readAedat4Range, readAedat4Header, type Aedat4RangeOptions, type Aedat4FileHeader } from './aedat4/seek.js';
export { initZstdWasm } from './aedat4/compression.js';
// Writers.
export { Aedat4Writer, encodeAedat4, type Aedat4WriterOptions, type Aedat4WriteCompression, type ByteSink } from './aedat4/writer.js';
export { Evt3Writer, Evt3Encoder, encodeEvt3, type Evt3WriterOptions } from './prophesee/evt3-writer.js';
export { writeHdf5Events, type Hdf5EventsWriterOptions } from './hdf5-events-writer.js';
