/**
 * Prophesee readers: RAW EVT 2.0 / 2.1 / 3.0 and DAT. `makePropheseeDecoder` is how read-file.ts gets one.
 */
import type { DecoderSink, EventDecoder } from '../decoder.js';
import { EventFormatError } from '../errors.js';
import type { PropheseeDecoderOptions } from './word-decoder.js';
import { DatDecoder } from './dat.js';
import { Evt2Decoder } from './evt2.js';
import { Evt21Decoder } from './evt21.js';
import { Evt3Decoder } from './evt3.js';

export type { PropheseeDecoderOptions } from './word-decoder.js';
export { parsePropheseeHeader, resolveGeometry, type Geometry, type GeometrySource, type PropheseeEncoding, type PropheseeHeaderFacts } from './header.js';

export type PropheseeFormat = 'evt2' | 'evt2.1' | 'evt3' | 'dat';

export function isPropheseeFormat(format: string): format is PropheseeFormat {
  return format === 'evt2' || format === 'evt2.1' || format === 'evt3' || format === 'dat';
}

export function makePropheseeDecoder(format: PropheseeFormat, sink: DecoderSink, opts: PropheseeDecoderOptions): EventDecoder {
  switch (format) {
    case 'evt2':
      return new Evt2Decoder(sink, opts);
    case 'evt2.1':
      return new Evt21Decoder(sink, opts);
    case 'evt3':
      return new Evt3Decoder(sink, opts);
    case 'dat':
      return new DatDecoder(sink, opts);
  }
  throw new EventFormatError('unsupported', opts.source, 0, 'a Prophesee format', String(format));
}
