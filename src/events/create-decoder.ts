/**
 * The one map from a detected format to its incremental byte decoder (read-file.ts uses it for files, the
 * browser entry for bytes). No I/O here, so it is browser-safe; HDF5 needs files and a worker (read-file.ts).
 */
import type { Aedat2Sensor } from './aedat2.js';
import type { DecoderOptions, DecoderSink, EventDecoder } from './decoder.js';
import type { EventFormat } from './types.js';
import type { EventArena } from './event-arena.js';
import { Aedat2Decoder } from './aedat2.js';
import { Aedat3Decoder } from './aedat3.js';
import { Aedat4Decoder } from './aedat4/decoder.js';
import { EventFormatError } from './errors.js';
import { isPropheseeFormat, makePropheseeDecoder } from './prophesee/index.js';

export interface CreateDecoderOptions extends DecoderOptions {
  /** AEDAT 2 only: sensor layout when the header does not say (default 'auto': from the header). */
  sensor?: Aedat2Sensor | 'auto';
  /** Prophesee: sensor size when the file does not state one. */
  sensorSize?: { width: number; height: number };
  /** AEDAT 4 only: pooled batches (see event-arena.ts); other decoders allocate per batch. */
  arena?: EventArena;
}

/** An incremental decoder for a byte-stream format (everything but HDF5) that delivers into `sink`. */
export function createDecoder(format: EventFormat, sink: DecoderSink, opts: CreateDecoderOptions): EventDecoder {
  if (isPropheseeFormat(format)) return makePropheseeDecoder(format, sink, opts);
  switch (format) {
    case 'aedat2':
      return new Aedat2Decoder(sink, { ...opts, sensor: opts.sensor ?? 'auto' });
    case 'aedat3.1':
      return new Aedat3Decoder(sink, opts);
    case 'aedat4':
      return new Aedat4Decoder(sink, { ...opts, expectVersionLine: true });
    default:
      throw new EventFormatError('unsupported', opts.source, 0, 'a byte-stream event format (AEDAT 2/3.1/4, Prophesee RAW/DAT)', `${format} (HDF5 is read from files only)`);
  }
}
