/**
 * AEDAT 4.0 building blocks shared by the decoder, the writer and the seeker: IOHeader, info XML,
 * event packets and the file data table.
 *
 * Layout (checked against iniVation dv-processing's IOHeader.fbs / FileDataTable.fbs / EventPacket.fbs and
 * the sample recording):
 * - `#!AER-DAT4.0\r\n`, then a *size-prefixed* IOHeader flatbuffer (identifier `IOHE`): the int32 "header
 *   size" is the flatbuffer size prefix. Fields: 0 compression (int32 enum), 1 dataTablePosition (int64,
 *   default -1), 2 infoNode (string, XML).
 * - Packets `[int32 streamId][int32 size][payload]`; the payload is a size-prefixed flatbuffer (`EVTS`,
 *   `IMUS`, ...) compressed as one LZ4 or ZSTD frame.
 * - The file data table (size-prefixed `FTAB` flatbuffer, compressed the same way) starts at
 *   dataTablePosition with NO packet header and runs to the end of the file. Its ByteOffsets point at packet
 *   payloads (just after each 8-byte packet header).
 *
 * Reading uses bounds-checked DataView accessors rather than flatbuffers' ByteBuffer, which does no bounds
 * checks (a corrupt offset would read `undefined` instead of failing). Writing uses the flatbuffers Builder
 * for the IOHeader and data table and a hand-laid buffer for event packets (fast path, fixed layout).
 */
import { Builder } from 'flatbuffers';
import { COMPRESSION_BY_ENUM, type Aedat4Compression } from './compression.js';
import type { StreamDescriptor } from '../types.js';
import type { EventArena } from '../event-arena.js';

export const VERSION_LINE = '#!AER-DAT4.0\r\n';
export const VERSION_LINE_BYTES = new TextEncoder().encode(VERSION_LINE);
export const EVENT_STRUCT_SIZE = 16;
/** Header sizes beyond this are treated as garbage (real ones are a few kB). */
export const MAX_IOHEADER_SIZE = 64 * 1024 * 1024;
/** Default cap on one packet's payload (its size field) for files; the live TCP source sets a lower one. */
export const MAX_PACKET_SIZE = 256 * 1024 * 1024;
/** Cap on the decompressed file data table (about 40 bytes per packet: 6 million packets). */
export const MAX_DATA_TABLE_BYTES = 256 * 1024 * 1024;

/** Thrown by the flatbuffer accessors; callers turn it into an EventFormatError with a file offset. */
export class FlatbufferError extends Error {}

/** Bounds-checked reader over one flatbuffer (optionally size-prefixed). */
export class FbReader {
  readonly dv: DataView;
  /** Offset of the flatbuffer proper (after any size prefix). */
  readonly base: number;

  constructor(
    readonly bytes: Uint8Array,
    sizePrefixed: boolean,
  ) {
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.base = sizePrefixed ? 4 : 0;
    if (bytes.length < this.base + 8) throw new FlatbufferError(`flatbuffer too short (${bytes.length} bytes)`);
  }

  identifier(): string {
    const b = this.bytes;
    const o = this.base + 4;
    return String.fromCharCode(b[o]!, b[o + 1]!, b[o + 2]!, b[o + 3]!);
  }

  private check(pos: number, size: number): void {
    if (!(pos >= 0 && pos + size <= this.bytes.length)) {
      throw new FlatbufferError(`offset ${pos}+${size} outside flatbuffer of ${this.bytes.length} bytes`);
    }
  }
  u32(pos: number): number {
    this.check(pos, 4);
    return this.dv.getUint32(pos, true);
  }
  i32(pos: number): number {
    this.check(pos, 4);
    return this.dv.getInt32(pos, true);
  }
  i64(pos: number): number {
    this.check(pos, 8);
    return this.dv.getUint32(pos, true) + this.dv.getInt32(pos + 4, true) * 4294967296;
  }

  rootTable(): number {
    return this.base + this.u32(this.base);
  }

  /** Absolute position of field `slot` in the table at `table`, or 0 when absent. */
  field(table: number, slot: number): number {
    const vtable = table - this.i32(table);
    this.check(vtable, 4);
    const vtableSize = this.dv.getUint16(vtable, true);
    const tableSize = this.dv.getUint16(vtable + 2, true);
    if (vtableSize < 4 || (vtableSize & 1) !== 0) throw new FlatbufferError(`bad vtable size ${vtableSize}`);
    this.check(vtable, vtableSize);
    this.check(table, tableSize);
    const entry = 4 + slot * 2;
    if (entry + 2 > vtableSize) return 0;
    const rel = this.dv.getUint16(vtable + entry, true);
    return rel === 0 ? 0 : table + rel;
  }

  /** Follow the uoffset stored at `pos`. */
  indirect(pos: number): number {
    return pos + this.u32(pos);
  }

  /** Vector at the uoffset stored at `pos`: position of its first element and its length. */
  vector(pos: number, elementSize: number): { start: number; length: number } {
    const vec = this.indirect(pos);
    const length = this.u32(vec);
    this.check(vec + 4, length * elementSize);
    return { start: vec + 4, length };
  }

  string(pos: number): string {
    const { start, length } = this.vector(pos, 1);
    return new TextDecoder('utf-8').decode(this.bytes.subarray(start, start + length));
  }
}

// ---------------------------------------------------------------------------------------------- IOHeader

export interface IoHeader {
  compression: Aedat4Compression;
  /** Byte offset of the file data table, -1 when absent. */
  dataTablePosition: number;
  infoXml: string;
  streams: StreamDescriptor[];
  /** Extra per-stream XML attributes (compression, tsOffset, source...) keyed by stream id. */
  streamAttributes: Map<number, Record<string, string>>;
}

/** Parse the IOHeader flatbuffer (the bytes after its int32 size). Throws FlatbufferError. */
export function parseIoHeader(bytes: Uint8Array): IoHeader {
  const fb = new FbReader(bytes, false);
  const root = fb.rootTable();
  const cPos = fb.field(root, 0);
  const enumValue = cPos ? fb.i32(cPos) : 0;
  const compression = COMPRESSION_BY_ENUM[enumValue];
  if (compression === undefined) throw new FlatbufferError(`unknown compression enum ${enumValue}`);
  const dPos = fb.field(root, 1);
  const dataTablePosition = dPos ? fb.i64(dPos) : -1;
  if (dataTablePosition < -1) throw new FlatbufferError(`negative dataTablePosition ${dataTablePosition}`);
  const iPos = fb.field(root, 2);
  const infoXml = iPos ? fb.string(iPos) : '';
  const { streams, attributes } = parseInfoXml(infoXml);
  return { compression, dataTablePosition, infoXml, streams, streamAttributes: attributes };
}

/** Absolute position (inside the flatbuffer bytes) of the dataTablePosition int64, for patching. */
export function dataTablePositionField(headerFlatbuffer: Uint8Array): number {
  const fb = new FbReader(headerFlatbuffer, false);
  const pos = fb.field(fb.rootTable(), 1);
  if (pos === 0) throw new FlatbufferError('dataTablePosition not stored');
  return pos;
}

/** Build a size-prefixed IOHeader (prefix = the file's int32 header size). */
export function buildIoHeader(compression: Aedat4Compression, dataTablePosition: number, infoXml: string): Uint8Array {
  const b = new Builder(1024 + infoXml.length * 2);
  b.forceDefaults(true); // keep dataTablePosition stored even while it is -1, so it can be patched in place
  const info = b.createString(infoXml);
  b.startObject(3);
  b.addFieldInt64(1, BigInt(dataTablePosition), BigInt(-1));
  b.addFieldOffset(2, info, 0);
  b.addFieldInt32(0, COMPRESSION_BY_ENUM.indexOf(compression), 0);
  const root = b.endObject();
  b.finish(root, 'IOHE', true);
  return b.asUint8Array().slice();
}

// ---------------------------------------------------------------------------------------------- info XML

interface XmlNode {
  name: string;
  attrs: Record<string, string>;
  children: XmlNode[];
}

function unescapeXml(s: string): string {
  return s.replace(/&(lt|gt|amp|quot|apos|#\d+|#x[0-9a-fA-F]+);/g, (_, e: string) => {
    switch (e) {
      case 'lt':
        return '<';
      case 'gt':
        return '>';
      case 'amp':
        return '&';
      case 'quot':
        return '"';
      case 'apos':
        return "'";
      default:
        return String.fromCodePoint(e[1] === 'x' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10));
    }
  });
}

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/**
 * Most `<node>` plus `<attr>` elements accepted in the info XML. DV writes a few hundred; without a limit a
 * 64 MiB header of `<attr key=""/>` would become millions of objects (about 1 GB).
 */
export const MAX_XML_ELEMENTS = 100_000;

/** DV's config-tree XML: nested `<node name=..>` with `<attr key=.. type=..>value</attr>`. */
function parseXmlTree(xml: string): XmlNode {
  const root: XmlNode = { name: '', attrs: {}, children: [] };
  const stack: XmlNode[] = [root];
  const re = /<node\s+name="([^"]*)"[^>]*?(\/?)>|<\/node\s*>|<attr\s+key="([^"]*)"[^>]*?(?:\/>|>([^<]*)<\/attr\s*>)/g;
  let elements = 0;
  for (let m = re.exec(xml); m !== null; m = re.exec(xml)) {
    if (++elements > MAX_XML_ELEMENTS) throw new FlatbufferError(`info XML with more than ${MAX_XML_ELEMENTS} elements`);
    const top = stack[stack.length - 1]!;
    if (m[1] !== undefined) {
      const node: XmlNode = { name: unescapeXml(m[1]), attrs: {}, children: [] };
      top.children.push(node);
      if (m[2] !== '/') stack.push(node);
    } else if (m[3] !== undefined) {
      top.attrs[unescapeXml(m[3])] = unescapeXml(m[4] ?? '').trim();
    } else if (stack.length > 1) {
      stack.pop();
    }
  }
  return root;
}

/** Depth-first, pre-order. Iterative: nesting depth is whatever the file says (recursion overflowed). */
function* walk(root: XmlNode): Generator<XmlNode> {
  const todo: XmlNode[] = [root];
  while (todo.length > 0) {
    const node = todo.pop()!;
    yield node;
    for (let i = node.children.length - 1; i >= 0; i--) todo.push(node.children[i]!);
  }
}

/** Streams = nodes with a numeric name and a `typeIdentifier` attribute (children of `outInfo` in DV). */
export function parseInfoXml(xml: string): { streams: StreamDescriptor[]; attributes: Map<number, Record<string, string>> } {
  const streams: StreamDescriptor[] = [];
  const attributes = new Map<number, Record<string, string>>();
  for (const node of walk(parseXmlTree(xml))) {
    if (!/^\d+$/.test(node.name) || node.attrs['typeIdentifier'] === undefined) continue;
    const id = Number(node.name);
    if (attributes.has(id)) continue;
    const info = node.children.find((c) => c.name === 'info')?.attrs ?? {};
    const all = { ...node.attrs, ...info };
    const d: StreamDescriptor = {
      id,
      name: node.attrs['originalOutputName'] ?? node.attrs['name'] ?? `stream${id}`,
      typeIdentifier: node.attrs['typeIdentifier']!,
    };
    const w = Number(info['sizeX']);
    const h = Number(info['sizeY']);
    if (info['sizeX'] !== undefined && Number.isFinite(w)) d.width = w;
    if (info['sizeY'] !== undefined && Number.isFinite(h)) d.height = h;
    streams.push(d);
    attributes.set(id, all);
  }
  streams.sort((a, b) => a.id - b.id);
  return { streams, attributes };
}

export interface EventStreamXml {
  width: number;
  height: number;
  compression: Aedat4Compression;
  source?: string;
  tsOffset?: number;
}

/** Info XML for one `events` stream, in the layout DV's recorder writes. */
export function buildInfoXml(s: EventStreamXml): string {
  const compression = s.compression.toUpperCase();
  const lines = [
    '<dv version="2.0">',
    '    <node name="outInfo" path="/mainloop/Recorder/outInfo/">',
    '        <node name="0" path="/mainloop/Recorder/outInfo/0/">',
    `            <attr key="compression" type="string">${compression}</attr>`,
    '            <attr key="originalModuleName" type="string">evstream</attr>',
    '            <attr key="originalOutputName" type="string">events</attr>',
    '            <attr key="typeDescription" type="string">Array of events (polarity ON/OFF).</attr>',
    '            <attr key="typeIdentifier" type="string">EVTS</attr>',
    '            <node name="info" path="/mainloop/Recorder/outInfo/0/info/">',
    `                <attr key="sizeX" type="int">${s.width}</attr>`,
    `                <attr key="sizeY" type="int">${s.height}</attr>`,
    `                <attr key="source" type="string">${escapeXml(s.source ?? 'evstream')}</attr>`,
    `                <attr key="tsOffset" type="long">${s.tsOffset ?? 0}</attr>`,
    '            </node>',
    '        </node>',
    '    </node>',
    '</dv>',
    '',
  ];
  return lines.join('\n');
}

// ---------------------------------------------------------------------------------------------- packets

/**
 * Open a packet flatbuffer: DV writes them size-prefixed with a file identifier; unprefixed buffers are
 * accepted too. Throws FlatbufferError when the identifier is not `expected`.
 */
export function openPacket(bytes: Uint8Array, expected: string): FbReader {
  if (bytes.length >= 12) {
    const prefixed = new FbReader(bytes, true);
    const sizePrefix = prefixed.u32(0);
    if (sizePrefix + 4 <= bytes.length && prefixed.identifier() === expected) return prefixed;
  }
  const plain = new FbReader(bytes, false);
  if (plain.identifier() === expected) return plain;
  throw new FlatbufferError(`packet identifier is not ${expected}`);
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface DecodedEvents {
  t: Float64Array;
  x: Uint16Array;
  y: Uint16Array;
  p: Uint8Array;
  length: number;
}

/** Largest coordinate in a decoded packet (used only when the info XML lacks the sensor size). */
export function maxOf(a: Uint16Array): number {
  let m = -1;
  for (let i = 0; i < a.length; i++) if (a[i]! > m) m = a[i]!;
  return m;
}

/**
 * Decode an (uncompressed) EVTS packet: one typed-array pass over the 16-byte structs. Columns come from
 * `arena` when given (pooled, see event-arena.ts), else freshly allocated.
 */
export function decodeEventPacket(bytes: Uint8Array, arena?: EventArena): DecodedEvents {
  const fb = openPacket(bytes, 'EVTS');
  const root = fb.rootTable();
  const elements = fb.field(root, 0);
  const vec = elements ? fb.vector(elements, EVENT_STRUCT_SIZE) : { start: 0, length: 0 };
  const n = vec.length;
  const { t, x, y, p } = arena ? arena.alloc(n) : { t: new Float64Array(n), x: new Uint16Array(n), y: new Uint16Array(n), p: new Uint8Array(n) };
  if (n > 0) {
    let src = bytes;
    let off = vec.start;
    if (((bytes.byteOffset + off) & 3) !== 0) {
      // Not 4-aligned: one memcpy of the element block into aligned scratch, then the int32 pass (measured
      // faster than half-word loads in place, and the only way for odd addresses). Explicit copy:
      // Buffer#slice would return an unaligned view.
      src = alignedScratch(n * EVENT_STRUCT_SIZE);
      src.set(bytes.subarray(off, off + n * EVENT_STRUCT_SIZE));
      off = 0;
    }
    const abs = src.byteOffset + off;
    if (!LITTLE_ENDIAN) {
      const dv = new DataView(src.buffer, abs, n * 16);
      for (let i = 0; i < n; i++) {
        const o = i << 4;
        t[i] = dv.getInt32(o + 4, true) * 4294967296 + dv.getUint32(o, true);
        x[i] = dv.getUint16(o + 8, true);
        y[i] = dv.getUint16(o + 10, true);
        p[i] = dv.getUint8(o + 12) !== 0 ? 1 : 0;
      }
    } else decodeStructs(new Int32Array(src.buffer, abs, n * 4), n, t, x, y, p);
  }
  return { t, x, y, p, length: n };
}

/** Reused for unaligned element blocks up to this size; a larger (rare) packet gets its own copy. */
const SCRATCH_KEEP = 1 << 20;
let scratch = new Uint8Array(0);

/** `bytes` bytes at an 8-aligned address (contents undefined): the kept scratch, or a fresh block if large. */
function alignedScratch(bytes: number): Uint8Array {
  if (bytes > SCRATCH_KEEP) return new Uint8Array(bytes);
  if (scratch.length < bytes) scratch = new Uint8Array(Math.min(SCRATCH_KEEP, Math.max(bytes, 2 * scratch.length)));
  return scratch.subarray(0, bytes);
}

/**
 * The 16-byte structs as int32 words [t lo, t hi, x | y << 16, p byte + padding] (little-endian host), all
 * four columns in one pass, one load per word, no branches.
 */
function decodeStructs(w: Int32Array, n: number, t: Float64Array, x: Uint16Array, y: Uint16Array, p: Uint8Array): void {
  for (let i = 0, k = 0; i < n; i++, k += 4) {
    t[i] = w[k + 1]! * 4294967296 + (w[k]! >>> 0);
    const xy = w[k + 2]!;
    x[i] = xy; // Uint16Array stores the low half
    y[i] = xy >>> 16;
    p[i] = ((w[k + 3]! & 0xff) + 0xff) >> 8; // 1 for any nonzero byte, without a branch (random polarities mispredict: 3x slower)
  }
}

/** Layout of a hand-built EVTS packet: [size prefix][root uoffset]["EVTS"][vtable][table][len][structs]. */
const PACKET_HEAD = 32;

/**
 * Encode events [from, to) of the arrays into a size-prefixed EVTS flatbuffer. Elements start at byte 32 so
 * the int64 timestamps are 8-byte aligned as flatbuffers requires.
 */
export function encodeEventPacket(
  t: Float64Array,
  x: Uint16Array,
  y: Uint16Array,
  p: Uint8Array,
  from: number,
  to: number,
): Uint8Array {
  const n = to - from;
  const total = PACKET_HEAD + n * EVENT_STRUCT_SIZE;
  const buf = new ArrayBuffer(total);
  const dv = new DataView(buf);
  dv.setUint32(0, total - 4, true); // size prefix
  dv.setUint32(4, 20 - 4, true); // root table at 20, relative to the flatbuffer start (4)
  dv.setUint8(8, 0x45); // 'E'
  dv.setUint8(9, 0x56); // 'V'
  dv.setUint8(10, 0x54); // 'T'
  dv.setUint8(11, 0x53); // 'S'
  dv.setUint16(12, 6, true); // vtable size
  dv.setUint16(14, 8, true); // table inline size
  dv.setUint16(16, 4, true); // field 0 (elements) at table + 4
  dv.setInt32(20, 20 - 12, true); // table -> vtable (soffset)
  dv.setUint32(24, 28 - 24, true); // uoffset to vector length at 28
  dv.setUint32(28, n, true);
  const i32 = new Int32Array(buf, PACKET_HEAD);
  const u16 = new Uint16Array(buf, PACKET_HEAD);
  const u8 = new Uint8Array(buf, PACKET_HEAD);
  for (let i = 0; i < n; i++) {
    const ti = t[from + i]!;
    const hi = Math.floor(ti / 4294967296);
    i32[i << 2] = ti - hi * 4294967296;
    i32[(i << 2) + 1] = hi;
    u16[(i << 3) + 4] = x[from + i]!;
    u16[(i << 3) + 5] = y[from + i]!;
    u8[(i << 4) + 12] = p[from + i]! ? 1 : 0;
  }
  if (!LITTLE_ENDIAN) throw new Error('AEDAT 4 writer needs a little-endian host');
  return new Uint8Array(buf);
}

// ---------------------------------------------------------------------------------------------- data table

export interface DataTableEntry {
  /** Byte offset of the packet payload (just after its 8-byte header). */
  byteOffset: number;
  streamId: number;
  /** Payload size in bytes (compressed). */
  size: number;
  numElements: number;
  timestampStart: number;
  timestampEnd: number;
}

/**
 * Parse an (uncompressed) FTAB flatbuffer. Throws FlatbufferError. `maxEntries` is checked before anything
 * is allocated: flatbuffer offsets may alias, so 4 bytes per entry could otherwise make millions of objects;
 * callers pass the number of 8-byte packet headers that fit before the table.
 */
export function parseDataTable(bytes: Uint8Array, maxEntries = Infinity): DataTableEntry[] {
  const fb = openPacket(bytes, 'FTAB');
  const root = fb.rootTable();
  const tPos = fb.field(root, 0);
  if (!tPos) return [];
  const { start, length } = fb.vector(tPos, 4);
  if (length > maxEntries) throw new FlatbufferError(`${length} table entries, more than the ${maxEntries} packets that fit before the table`);
  const out: DataTableEntry[] = new Array(length);
  for (let i = 0; i < length; i++) {
    const e = fb.indirect(start + i * 4);
    const f0 = fb.field(e, 0);
    const f1 = fb.field(e, 1);
    const f2 = fb.field(e, 2);
    const f3 = fb.field(e, 3);
    const f4 = fb.field(e, 4);
    out[i] = {
      byteOffset: f0 ? fb.i64(f0) : 0,
      streamId: f1 ? fb.i32(f1) : 0,
      size: f1 ? fb.i32(f1 + 4) : 0,
      numElements: f2 ? fb.i64(f2) : 0,
      timestampStart: f3 ? fb.i64(f3) : 0,
      timestampEnd: f4 ? fb.i64(f4) : 0,
    };
  }
  return out;
}

/** Build a size-prefixed FTAB flatbuffer (uncompressed). */
export function buildDataTable(entries: readonly DataTableEntry[]): Uint8Array {
  const b = new Builder(64 + entries.length * 64);
  const offsets = new Array<number>(entries.length);
  for (let i = 0; i < entries.length; i++) {
    const e = entries[i]!;
    b.startObject(5);
    b.addFieldInt64(4, BigInt(e.timestampEnd), BigInt(0));
    b.addFieldInt64(3, BigInt(e.timestampStart), BigInt(0));
    b.addFieldInt64(2, BigInt(e.numElements), BigInt(0));
    b.addFieldInt64(0, BigInt(e.byteOffset), BigInt(0));
    // PacketHeader struct {StreamID, Size} stored inline; the builder writes backwards.
    b.prep(4, 8);
    b.writeInt32(e.size);
    b.writeInt32(e.streamId);
    b.addFieldStruct(1, b.offset(), 0);
    offsets[i] = b.endObject();
  }
  b.startVector(4, entries.length, 4);
  for (let i = entries.length - 1; i >= 0; i--) b.addOffset(offsets[i]!);
  const vec = b.endVector();
  b.startObject(1);
  b.addFieldOffset(0, vec, 0);
  const root = b.endObject();
  b.finish(root, 'FTAB', true);
  return b.asUint8Array().slice();
}
