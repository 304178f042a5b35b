/**
 * DAT decoder behaviour that Stryker's mutants of src/events/prophesee/dat.ts survived (issue 19, item 4):
 * the error text of a wrong event type / size (what a user reads), and the `eventType` / `eventSize` /
 * `timestampWraps` facts of info(), present only when known. Files are built from the format definition
 * (test/helpers/prophesee-bytes.ts); expected values follow from it by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { makePropheseeDecoder } from '../src/events/prophesee/index.js';
import { EventFormatError } from '../src/events/errors.js';
import { decodeInChunks } from './helpers/event-facts.js';
import { datData, datFile, propheseeHeader } from './helpers/prophesee-bytes.js';

const decode = (data: Uint8Array, chunk: number) => decodeInChunks((sink) => makePropheseeDecoder('dat', sink, { source: 'm.dat' }), data, chunk);

test('DAT: a wrong event type or size is reported as what was expected and what was found', () => {
  const rec: Array<[number, number]> = [[1, datData(1, 1, 1)]];
  assert.throws(
    () => decode(datFile(rec, { eventType: 0x0e }), 4),
    (e: unknown) => e instanceof EventFormatError && e.expected === 'DAT event type 0 or 0x0C (CD events)' && e.found === 'type 0xe',
  );
  assert.throws(
    () => decode(datFile(rec, { eventSize: 12 }), 4),
    (e: unknown) => e instanceof EventFormatError && e.expected === 'DAT event size 8 for CD events' && e.found === 'size 12',
  );
});

test('DAT info: eventType / eventSize once the preamble is read, timestampWraps only after a wrap', () => {
  const rec: Array<[number, number]> = [[10, datData(1, 2, 1)], [20, datData(3, 4, 0)]];
  const h = decode(datFile(rec, { eventType: 0x0c }), 3).info.header!;
  assert.equal(h['eventType'], 0x0c);
  assert.equal(h['eventSize'], 8);
  assert.equal('timestampWraps' in h, false, 'no wrap in 10, 20');
  const h0 = decode(datFile(rec, { eventType: 0 }), 5).info.header!;
  assert.equal(h0['eventType'], 0, 'type 0 is a known type too');
  // a file of header lines only: no preamble, so neither fact is known
  const headerOnly = decode(propheseeHeader(['% Data file containing Event2D events.', '% Version 2']), 7).info.header!;
  assert.equal('eventType' in headerOnly, false);
  assert.equal('eventSize' in headerOnly, false);
  assert.equal('timestampWraps' in headerOnly, false);
});
