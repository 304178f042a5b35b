/**
 * Compression bombs for AEDAT 4 packets, built by hand so their ratio is known exactly:
 * - ZSTD: RLE blocks (4 bytes each) that expand to 128 KiB apiece, so a 64 KiB packet claims 2 GiB;
 *   optionally a frame content size that makes a decoder allocate the whole output up front.
 * - LZ4: frames of 4 MiB blocks that are one literal plus one long match (~254:1, the format's ceiling).
 * Either can start with a valid EVTS flatbuffer header whose element count matches the expanded size, so
 * the bytes that come out are a well-formed packet of millions of events (a cap must not rely on the
 * flatbuffer being malformed).
 */
import { encodeEventPacket } from '../../src/events/aedat4/format.js';
import { concatBytes as concatAll } from '../helpers/bytes.js';

const PRIME1 = 2654435761;
const PRIME2 = 2246822519;
const PRIME3 = 3266489917;
const PRIME4 = 668265263;
const PRIME5 = 374761393;

function rotl(x: number, r: number): number {
  return ((x << r) | (x >>> (32 - r))) >>> 0;
}

/** xxHash32 (the LZ4 frame header checksum). */
export function xxh32(data: Uint8Array, seed = 0): number {
  const n = data.length;
  const view = new DataView(data.buffer, data.byteOffset, n);
  let i = 0;
  let h: number;
  if (n >= 16) {
    let v1 = (seed + PRIME1 + PRIME2) >>> 0;
    let v2 = (seed + PRIME2) >>> 0;
    let v3 = seed >>> 0;
    let v4 = (seed - PRIME1) >>> 0;
    const round = (v: number, w: number): number => Math.imul(rotl((v + Math.imul(w, PRIME2)) >>> 0, 13), PRIME1) >>> 0;
    for (; i + 16 <= n; i += 16) {
      v1 = round(v1, view.getUint32(i, true));
      v2 = round(v2, view.getUint32(i + 4, true));
      v3 = round(v3, view.getUint32(i + 8, true));
      v4 = round(v4, view.getUint32(i + 12, true));
    }
    h = (rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)) >>> 0;
  } else {
    h = (seed + PRIME5) >>> 0;
  }
  h = (h + n) >>> 0;
  for (; i + 4 <= n; i += 4) h = Math.imul(rotl((h + Math.imul(view.getUint32(i, true), PRIME3)) >>> 0, 17), PRIME4) >>> 0;
  for (; i < n; i++) h = Math.imul(rotl((h + Math.imul(data[i]!, PRIME5)) >>> 0, 11), PRIME1) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, PRIME2) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, PRIME3) >>> 0;
  h ^= h >>> 16;
  return h >>> 0;
}

/** The 32-byte head of an EVTS packet announcing `events` elements (size prefix included). */
export function evtsHead(events: number): Uint8Array {
  const head = encodeEventPacket(new Float64Array(0), new Uint16Array(0), new Uint16Array(0), new Uint8Array(0), 0, 0).slice(0, 32);
  const view = new DataView(head.buffer);
  view.setUint32(0, (32 + events * 16 - 4) >>> 0, true);
  view.setUint32(28, events >>> 0, true);
  return head;
}

function lz4Length(out: number[], extra: number): void {
  while (extra >= 255) {
    out.push(255);
    extra -= 255;
  }
  out.push(extra);
}

/** One LZ4 block expanding to `size` bytes: `literals`, then zeros (a match at offset 1), then 5 zero literals. */
function lz4Block(size: number, literals: Uint8Array): Uint8Array {
  const lit = new Uint8Array(literals.length + 1); // + one zero byte for the match to repeat
  lit.set(literals);
  const match = size - lit.length - 5;
  if (match < 4) throw new Error('lz4Block: block too small');
  const out: number[] = [];
  const litNib = Math.min(15, lit.length);
  const matchNib = Math.min(15, match - 4);
  out.push((litNib << 4) | matchNib);
  if (litNib === 15) lz4Length(out, lit.length - 15);
  for (const b of lit) out.push(b);
  out.push(1, 0); // offset 1
  if (matchNib === 15) lz4Length(out, match - 4 - 15);
  out.push(5 << 4, 0, 0, 0, 0, 0); // last sequence: 5 literals
  return Uint8Array.from(out);
}

/**
 * LZ4 frame of `blocks` 4 MiB blocks (independent, no checksums). With `evts`, the output is one valid
 * EVTS packet of (blocks * 4 MiB - 32) / 16 zero events.
 */
export function lz4Bomb(blocks: number, evts = true): Uint8Array {
  const blockSize = 4 << 20;
  const total = blocks * blockSize;
  const parts: Uint8Array[] = [];
  const flgBd = Uint8Array.of(0x60, 0x70); // version 01, independent blocks; 4 MiB max block
  const header = Uint8Array.of(0x04, 0x22, 0x4d, 0x18, 0x60, 0x70, (xxh32(flgBd) >>> 8) & 0xff);
  parts.push(header);
  const first = lz4Block(blockSize, evts ? evtsHead((total - 32) / 16) : new Uint8Array(0));
  const rest = lz4Block(blockSize, new Uint8Array(0));
  for (let k = 0; k < blocks; k++) {
    const b = k === 0 ? first : rest;
    const size = new Uint8Array(4);
    new DataView(size.buffer).setUint32(0, b.length, true);
    parts.push(size, b);
  }
  parts.push(new Uint8Array(4)); // end mark
  return concatBytes(parts);
}

/**
 * ZSTD frame whose blocks are RLE blocks of zeros (128 KiB each, 4 bytes each compressed).
 * `declareSize`: single-segment frame with an 8-byte frame content size (decoders may allocate it at once);
 * otherwise no content size, window 128 KiB (decoders grow their output block by block).
 * With `evts`, a first raw block holds an EVTS head whose element count matches the total.
 */
export function zstdRleBomb(rleBlocks: number, opts: { declareSize?: boolean; evts?: boolean } = {}): Uint8Array {
  const blockSize = 128 * 1024;
  const rawHead = opts.evts ? 32 : 0;
  const total = rawHead + rleBlocks * blockSize;
  const parts: number[] = [0x28, 0xb5, 0x2f, 0xfd];
  if (opts.declareSize) {
    parts.push(0xc0 | 0x20); // FCS 8 bytes, single segment
    for (let i = 0; i < 8; i++) parts.push(Math.floor(total / 2 ** (8 * i)) & 0xff);
  } else {
    parts.push(0x00, 7 << 3); // no FCS; window 2^17
  }
  const blockHeader = (last: boolean, type: number, size: number): void => {
    const h = (size << 3) | (type << 1) | (last ? 1 : 0);
    parts.push(h & 0xff, (h >>> 8) & 0xff, (h >>> 16) & 0xff);
  };
  if (opts.evts) {
    blockHeader(false, 0, 32);
    for (const b of evtsHead((total - 32) / 16)) parts.push(b);
  }
  for (let k = 0; k < rleBlocks; k++) {
    blockHeader(k === rleBlocks - 1, 1, blockSize);
    parts.push(0);
  }
  return Uint8Array.from(parts);
}

/** Array form of the shared concatBytes (test/helpers/bytes.ts), as the fuzz cases build lists of parts. */
export function concatBytes(parts: Uint8Array[]): Uint8Array {
  return concatAll(...parts);
}

/** An AEDAT 4 packet: [int32 stream id][int32 size][payload]. */
export function packet(streamId: number, payload: Uint8Array): Uint8Array {
  const head = new Uint8Array(8);
  const view = new DataView(head.buffer);
  view.setInt32(0, streamId, true);
  view.setInt32(4, payload.length, true);
  return concatBytes([head, payload]);
}
