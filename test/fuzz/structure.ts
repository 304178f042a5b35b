/**
 * Structure maps of seed files: where each container keeps its headers, packet headers, size / count /
 * timestamp fields and record arrays. The mutators use them to cut at structural boundaries and to write
 * crafted values exactly where a reader trusts the file.
 *
 * Written independently of the readers under test (a bug shared by the reader and this map would hide
 * itself), from the format descriptions in ../shared/recordings/README.md and src/events/aedat4/format.ts.
 */

/** Containers the fuzzer knows; AEDAT 4 is split by packet compression because each codec is a reader path. */
export type Container =
  | 'aedat2'
  | 'aedat3.1'
  | 'aedat4-none'
  | 'aedat4-lz4'
  | 'aedat4-zstd'
  | 'ddd17-hdf5'
  | 'evt2'
  | 'evt2.1'
  | 'evt3'
  | 'dat'
  | 'hdf5-events';

export const CONTAINERS: readonly Container[] = ['aedat2', 'aedat3.1', 'aedat4-none', 'aedat4-lz4', 'aedat4-zstd', 'ddd17-hdf5', 'evt2', 'evt2.1', 'evt3', 'dat', 'hdf5-events'];

/** The Prophesee containers (RAW EVT 2.0 / 2.1 / 3.0 and DAT): `%` header, then fixed-size LE words. */
export const PROPHESEE_CONTAINERS: readonly Container[] = ['evt2', 'evt2.1', 'evt3', 'dat'];

export const EXTENSION: Readonly<Record<Container, string>> = {
  aedat2: 'aedat',
  'aedat3.1': 'aedat3',
  'aedat4-none': 'aedat4',
  'aedat4-lz4': 'aedat4',
  'aedat4-zstd': 'aedat4',
  'ddd17-hdf5': 'hdf5',
  evt2: 'raw',
  'evt2.1': 'raw',
  evt3: 'raw',
  dat: 'dat',
  'hdf5-events': 'h5',
};

/** What a field means to a reader; picks the crafted values written there. */
export type FieldKind = 'size' | 'count' | 'timestamp' | 'timestamp64' | 'dims' | 'type' | 'enum' | 'offset' | 'coord' | 'address' | 'flag';

export interface Field {
  name: string;
  kind: FieldKind;
  offset: number;
  /** Bytes: 3 is a ZSTD block header. */
  width: 1 | 2 | 3 | 4 | 8;
  endian: 'le' | 'be';
}

/** A run of fixed-size records (events): fields are relative to each record. */
export interface RecordArray {
  name: string;
  start: number;
  stride: number;
  count: number;
  fields: Array<Omit<Field, 'offset'> & { rel: number }>;
}

export interface Boundary {
  offset: number;
  name: string;
}

export interface Structure {
  container: Container;
  boundaries: Boundary[];
  fields: Field[];
  arrays: RecordArray[];
  /** Aligned word overwrites are aligned relative to this offset (start of binary data). */
  wordBase: number;
  endian: 'le' | 'be';
  /** AEDAT 4: the event packets (payload start/end, compressed or not), for re-compressing mutations. */
  packets?: Array<{ header: number; payload: number; end: number; streamId: number }>;
  /** AEDAT 4: the IOHeader's dataTablePosition field (absolute), when stored. */
  tablePositionField?: number;
  /** Prophesee RAW / DAT: the `%` header and the words after it. */
  prophesee?: PropheseeLayout;
  /** HDF5 event arrays: where the datasets' lengths, filters and size attributes are. */
  hdf5Events?: Hdf5EventsLayout;
}

export interface PropheseeLayout {
  /** First byte after the `%` header (the preamble or the first word). */
  headerEnd: number;
  /** Offsets of the starts of the header lines, in order (the last is headerEnd). */
  lineStarts: number[];
  /** Offset of the `% end` line, when the header has one. */
  endLine?: number;
  /** DAT: event type byte at headerEnd, event size byte after it. */
  preamble?: number;
  /** First word, bytes per word, whole words. */
  wordStart: number;
  wordBytes: 2 | 4 | 8;
  words: number;
  /** Offset inside a word of the 16- / 32-bit half holding the type nibble (top 4 bits); EVT 2.1: 0 or 4. */
  typeAt: number;
  typeBits: 16 | 32;
  /** Absolute offsets of the type-carrying halves of TIME_HIGH words (capped at MAX_FIELDS). */
  timeHigh: number[];
  /** Sensor size the header states (else undefined). */
  width?: number;
  height?: number;
}

export interface Hdf5EventsLayout {
  /** dims[0] (uint64) of each 1-D event dataset's dataspace message. */
  dims: number[];
  /** Filter ids (uint16) of the deflate entries of the filter pipeline messages. */
  filters: number[];
  /** int32 values of the `width` / `height` root attributes. */
  sizeAttrs: number[];
  rows: number;
}

/** Caps so a map of a big seed stays small (the arrays cover the records themselves). */
const MAX_FIELDS = 4096;

function dv(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// ------------------------------------------------------------------------------------------------ AEDAT 2

/** `#` lines up to and including `#End Of ASCII Header` (or the first line not starting with `#`). */
function hashHeaderEnd(bytes: Uint8Array, boundaries: Boundary[], isLast: (line: string) => boolean): number {
  let pos = 0;
  while (pos < bytes.length && bytes[pos] === 0x23) {
    const nl = bytes.indexOf(0x0a, pos);
    if (nl < 0) return bytes.length;
    const line = Buffer.from(bytes.subarray(pos, nl)).toString('latin1').replace(/\r$/, '');
    pos = nl + 1;
    boundaries.push({ offset: pos, name: 'header line end' });
    if (isLast(line)) break;
  }
  return pos;
}

export function mapAedat2(bytes: Uint8Array): Structure {
  const boundaries: Boundary[] = [{ offset: 0, name: 'file start' }];
  const dataStart = hashHeaderEnd(bytes, boundaries, (l) => /^#\s*End Of ASCII Header/i.test(l));
  boundaries.push({ offset: dataStart, name: 'data start' });
  const records = Math.floor((bytes.length - dataStart) / 8);
  for (let i = 1; i < 64 && i < records; i++) boundaries.push({ offset: dataStart + 8 * Math.floor((i * records) / 64), name: 'record' });
  return {
    container: 'aedat2',
    boundaries,
    fields: [],
    arrays: [
      {
        name: 'record',
        start: dataStart,
        stride: 8,
        count: records,
        fields: [
          { name: 'address', kind: 'address', rel: 0, width: 4, endian: 'be' },
          { name: 'timestamp', kind: 'timestamp', rel: 4, width: 4, endian: 'be' },
        ],
      },
    ],
    wordBase: dataStart,
    endian: 'be',
  };
}

// ---------------------------------------------------------------------------------------------- AEDAT 3.1

const CAER_FIELDS: ReadonlyArray<[string, FieldKind, number, 2 | 4]> = [
  ['eventType', 'type', 0, 2],
  ['eventSource', 'type', 2, 2],
  ['eventSize', 'size', 4, 4],
  ['eventTSOffset', 'offset', 8, 4],
  ['eventTSOverflow', 'timestamp', 12, 4],
  ['eventCapacity', 'count', 16, 4],
  ['eventNumber', 'count', 20, 4],
  ['eventValid', 'count', 24, 4],
];

function caerHeaderFields(at: number, label: string): Field[] {
  return CAER_FIELDS.map(([name, kind, rel, width]) => ({ name: `${label} ${name}`, kind, offset: at + rel, width, endian: 'le' as const }));
}

function polarityArray(start: number, count: number, label: string): RecordArray {
  return {
    name: `${label} polarity events`,
    start,
    stride: 8,
    count,
    fields: [
      { name: 'data', kind: 'address', rel: 0, width: 4, endian: 'le' },
      { name: 'timestamp', kind: 'timestamp', rel: 4, width: 4, endian: 'le' },
    ],
  };
}

export function mapAedat3(bytes: Uint8Array): Structure {
  const boundaries: Boundary[] = [{ offset: 0, name: 'file start' }];
  const dataStart = hashHeaderEnd(bytes, boundaries, (l) => /^#!END-HEADER/.test(l));
  boundaries.push({ offset: dataStart, name: 'data start' });
  const fields: Field[] = [];
  const arrays: RecordArray[] = [];
  const view = dv(bytes);
  let pos = dataStart;
  let index = 0;
  while (pos + 28 <= bytes.length) {
    const type = view.getInt16(pos, true);
    const size = view.getInt32(pos + 4, true);
    const capacity = view.getInt32(pos + 16, true);
    const number = view.getInt32(pos + 20, true);
    if (size <= 0 || capacity < 0 || number > capacity) break; // a seed is a valid file; stop at anything odd
    boundaries.push({ offset: pos, name: `packet ${index} header` });
    boundaries.push({ offset: pos + 28, name: `packet ${index} payload` });
    if (fields.length < MAX_FIELDS) fields.push(...caerHeaderFields(pos, `packet ${index}`));
    if (type === 1) arrays.push(polarityArray(pos + 28, Math.min(number, Math.floor((bytes.length - pos - 28) / 8)), `packet ${index}`));
    pos += 28 + capacity * size;
    index++;
  }
  boundaries.push({ offset: Math.min(pos, bytes.length), name: 'end of packets' });
  return { container: 'aedat3.1', boundaries, fields, arrays, wordBase: dataStart, endian: 'le' };
}

// ------------------------------------------------------------------------------------------------ AEDAT 4

/** Minimal flatbuffer walking (no bounds checks needed: seeds are valid files). */
function fbField(view: DataView, table: number, slot: number): number {
  const vtable = table - view.getInt32(table, true);
  const vtSize = view.getUint16(vtable, true);
  const entry = 4 + 2 * slot;
  if (entry + 2 > vtSize) return 0;
  const rel = view.getUint16(vtable + entry, true);
  return rel === 0 ? 0 : table + rel;
}

/** Fields of an uncompressed, size-prefixed EVTS flatbuffer starting at `at` (absolute in `bytes`). */
export function evtsFields(bytes: Uint8Array, at: number, label: string): { fields: Field[]; array?: RecordArray } {
  const view = dv(bytes);
  const fields: Field[] = [{ name: `${label} size prefix`, kind: 'size', offset: at, width: 4, endian: 'le' }];
  const rootPos = at + 4;
  fields.push({ name: `${label} root uoffset`, kind: 'offset', offset: rootPos, width: 4, endian: 'le' });
  const root = rootPos + view.getUint32(rootPos, true);
  fields.push({ name: `${label} vtable soffset`, kind: 'offset', offset: root, width: 4, endian: 'le' });
  const vtable = root - view.getInt32(root, true);
  fields.push({ name: `${label} vtable size`, kind: 'size', offset: vtable, width: 2, endian: 'le' });
  const elements = fbField(view, root, 0);
  if (elements === 0) return { fields };
  fields.push({ name: `${label} elements uoffset`, kind: 'offset', offset: elements, width: 4, endian: 'le' });
  const vec = elements + view.getUint32(elements, true);
  fields.push({ name: `${label} elements vector length`, kind: 'count', offset: vec, width: 4, endian: 'le' });
  const n = view.getUint32(vec, true);
  return {
    fields,
    array: {
      name: `${label} events`,
      start: vec + 4,
      stride: 16,
      count: n,
      fields: [
        { name: 't', kind: 'timestamp64', rel: 0, width: 8, endian: 'le' },
        { name: 'x', kind: 'coord', rel: 8, width: 2, endian: 'le' },
        { name: 'y', kind: 'coord', rel: 10, width: 2, endian: 'le' },
        { name: 'polarity', kind: 'flag', rel: 12, width: 1, endian: 'le' },
      ],
    },
  };
}

/** Fields of one LZ4 or ZSTD frame at `at` (frame header fields and block size words). */
function frameFields(bytes: Uint8Array, at: number, end: number, label: string): Field[] {
  const view = dv(bytes);
  const fields: Field[] = [];
  if (end - at < 8) return fields;
  const magic = view.getUint32(at, true);
  if (magic === 0x184d2204) {
    const flg = bytes[at + 4]!;
    fields.push({ name: `${label} lz4 FLG`, kind: 'flag', offset: at + 4, width: 1, endian: 'le' });
    fields.push({ name: `${label} lz4 BD`, kind: 'flag', offset: at + 5, width: 1, endian: 'le' });
    let pos = at + 6;
    if (flg & 0x08) {
      fields.push({ name: `${label} lz4 content size`, kind: 'size', offset: pos, width: 8, endian: 'le' });
      pos += 8;
    }
    if (flg & 0x01) pos += 4;
    pos += 1; // header checksum
    for (let k = 0; pos + 4 <= end && k < 64; k++) {
      const word = view.getUint32(pos, true);
      fields.push({ name: `${label} lz4 block ${k} size`, kind: 'size', offset: pos, width: 4, endian: 'le' });
      if (word === 0) break;
      pos += 4 + (word & 0x7fffffff) + (flg & 0x10 ? 4 : 0);
    }
  } else if (magic === 0xfd2fb528) {
    const fhd = bytes[at + 4]!;
    fields.push({ name: `${label} zstd frame header descriptor`, kind: 'flag', offset: at + 4, width: 1, endian: 'le' });
    const single = (fhd >> 5) & 1;
    let pos = at + 5;
    if (!single) {
      fields.push({ name: `${label} zstd window descriptor`, kind: 'flag', offset: pos, width: 1, endian: 'le' });
      pos++;
    }
    pos += [0, 1, 2, 4][fhd & 3]!;
    const fcsBytes = [single ? 1 : 0, 2, 4, 8][fhd >> 6]!;
    if (fcsBytes === 4 || fcsBytes === 8 || fcsBytes === 2) {
      fields.push({ name: `${label} zstd frame content size`, kind: 'size', offset: pos, width: fcsBytes, endian: 'le' });
    }
    pos += fcsBytes;
    for (let k = 0; pos + 3 <= end && k < 64; k++) {
      const h = bytes[pos]! | (bytes[pos + 1]! << 8) | (bytes[pos + 2]! << 16);
      fields.push({ name: `${label} zstd block ${k} header`, kind: 'size', offset: pos, width: 3, endian: 'le' });
      pos += 3 + (((h >> 1) & 3) === 1 ? 1 : h >>> 3);
      if (h & 1) break;
    }
  }
  return fields;
}

export function mapAedat4(bytes: Uint8Array): Structure {
  const view = dv(bytes);
  const boundaries: Boundary[] = [
    { offset: 0, name: 'file start' },
    { offset: 14, name: 'after version line' },
    { offset: 18, name: 'IOHeader start' },
  ];
  const fields: Field[] = [{ name: 'IOHeader size', kind: 'size', offset: 14, width: 4, endian: 'le' }];
  const arrays: RecordArray[] = [];
  const headerSize = view.getInt32(14, true);
  const h = 18;
  const root = h + view.getUint32(h, true);
  const cPos = fbField(view, root, 0);
  const compressionEnum = cPos ? view.getInt32(cPos, true) : 0;
  if (cPos) fields.push({ name: 'IOHeader compression', kind: 'enum', offset: cPos, width: 4, endian: 'le' });
  const dPos = fbField(view, root, 1);
  const tablePos = dPos ? Number(view.getBigInt64(dPos, true)) : -1;
  if (dPos) fields.push({ name: 'IOHeader dataTablePosition', kind: 'offset', offset: dPos, width: 8, endian: 'le' });
  const iPos = fbField(view, root, 2);
  if (iPos) {
    const str = iPos + view.getUint32(iPos, true);
    fields.push({ name: 'IOHeader infoNode string length', kind: 'count', offset: str, width: 4, endian: 'le' });
  }
  const first = h + headerSize;
  boundaries.push({ offset: first, name: 'first packet' });
  const container: Container = compressionEnum === 0 ? 'aedat4-none' : compressionEnum <= 2 ? 'aedat4-lz4' : 'aedat4-zstd';
  const end = tablePos > 0 ? tablePos : bytes.length;
  const packets: NonNullable<Structure['packets']> = [];
  let pos = first;
  let k = 0;
  while (pos + 8 <= end) {
    const streamId = view.getInt32(pos, true);
    const size = view.getInt32(pos + 4, true);
    if (size < 0 || pos + 8 + size > end) break;
    boundaries.push({ offset: pos, name: `packet ${k} header` }, { offset: pos + 8, name: `packet ${k} payload` });
    if (fields.length < MAX_FIELDS) {
      fields.push({ name: `packet ${k} streamId`, kind: 'type', offset: pos, width: 4, endian: 'le' });
      fields.push({ name: `packet ${k} size`, kind: 'size', offset: pos + 4, width: 4, endian: 'le' });
    }
    packets.push({ header: pos, payload: pos + 8, end: pos + 8 + size, streamId });
    const label = `packet ${k}`;
    if (container === 'aedat4-none') {
      // Only EVTS packets carry our element layout; others (IMUS) still get their flatbuffer header fields.
      const ident = size >= 12 ? String.fromCharCode(...bytes.subarray(pos + 16, pos + 20)) : '';
      if (ident === 'EVTS') {
        const m = evtsFields(bytes, pos + 8, label);
        if (fields.length < MAX_FIELDS) fields.push(...m.fields);
        if (m.array) arrays.push(m.array);
      }
    } else if (fields.length < MAX_FIELDS) {
      fields.push(...frameFields(bytes, pos + 8, pos + 8 + size, label));
    }
    pos += 8 + size;
    k++;
  }
  boundaries.push({ offset: pos, name: 'end of packets' });
  if (tablePos > 0 && tablePos < bytes.length) {
    boundaries.push({ offset: tablePos, name: 'data table' });
    if (container === 'aedat4-none') {
      fields.push({ name: 'data table size prefix', kind: 'size', offset: tablePos, width: 4, endian: 'le' });
    } else {
      fields.push(...frameFields(bytes, tablePos, bytes.length, 'data table'));
    }
  }
  return { container, boundaries, fields, arrays, wordBase: first, endian: 'le', packets, tablePositionField: dPos || undefined };
}

// ------------------------------------------------------------------------------------------------ DDD17

/**
 * DDD17 HDF5: the `dvs/data` dataspace dims (found by their value: `rows` then 3 as uint64), the global
 * heap collections (GCOL) holding the variable-length cells, each cell's size, the cAER headers stored in
 * 28-byte cells and the polarity events in the cell after each polarity header.
 */
export function mapHdf5(bytes: Uint8Array, rows: number): Structure {
  const view = dv(bytes);
  const boundaries: Boundary[] = [{ offset: 0, name: 'superblock' }];
  const fields: Field[] = [];
  const arrays: RecordArray[] = [];
  // Dataspace of dvs/data: [rows, 3] then max dims; of dvs/timestamp: [rows] then max dims (unlimited).
  for (let p = 0; p + 16 <= bytes.length && p < 1 << 16; p += 8) {
    if (view.getBigUint64(p, true) !== BigInt(rows)) continue;
    const next = view.getBigUint64(p + 8, true);
    if (next === 3n || next === 0xffffffffffffffffn) {
      fields.push({ name: next === 3n ? 'dvs/data dims[0] (rows)' : 'dims[0] (rows) of a 1-D dataset', kind: 'dims', offset: p, width: 8, endian: 'le' });
      boundaries.push({ offset: p, name: 'dataspace dims' });
    }
  }
  const gcols: number[] = [];
  for (let p = bytes.indexOf(0x47); p >= 0 && p + 16 <= bytes.length; p = bytes.indexOf(0x47, p + 1)) {
    if (bytes[p + 1] === 0x43 && bytes[p + 2] === 0x4f && bytes[p + 3] === 0x4c && bytes[p + 4] === 1) gcols.push(p);
  }
  let lastHeader: { type: number; number: number } | undefined;
  let cellIndex = 0;
  for (const g of gcols) {
    boundaries.push({ offset: g, name: 'GCOL' });
    fields.push({ name: `GCOL@${g} collection size`, kind: 'size', offset: g + 8, width: 8, endian: 'le' });
    const collectionEnd = Math.min(bytes.length, g + Number(view.getBigUint64(g + 8, true)));
    let pos = g + 16;
    while (pos + 16 <= collectionEnd) {
      const index = view.getUint16(pos, true);
      const size = Number(view.getBigUint64(pos + 8, true));
      if (index === 0) break; // free space
      if (fields.length < MAX_FIELDS) {
        fields.push({ name: `cell ${cellIndex} heap object size`, kind: 'size', offset: pos + 8, width: 8, endian: 'le' });
        fields.push({ name: `cell ${cellIndex} heap object index`, kind: 'count', offset: pos, width: 2, endian: 'le' });
      }
      boundaries.push({ offset: pos, name: 'heap object' });
      const data = pos + 16;
      if (size === 28) {
        const type = view.getInt16(data, true);
        const eventSize = view.getInt32(data + 4, true);
        if (type >= 0 && type < 16 && eventSize > 0 && eventSize < 1 << 20) {
          if (fields.length < MAX_FIELDS) fields.push(...caerHeaderFields(data, `cell ${cellIndex} cAER`));
          lastHeader = { type, number: view.getInt32(data + 20, true) };
        }
      } else if (lastHeader && lastHeader.type === 1) {
        arrays.push(polarityArray(data, Math.min(lastHeader.number, Math.floor(size / 8)), `cell ${cellIndex}`));
        lastHeader = undefined;
      } else {
        lastHeader = undefined;
      }
      pos = data + Math.ceil(size / 8) * 8;
      cellIndex++;
    }
  }
  // vlen references in the dataset's raw chunk: [uint32 length][uint64 collection address][uint32 index].
  const gset = new Set(gcols);
  let refs = 0;
  for (let p = 0; p + 16 <= bytes.length && refs < 2048; p += 4) {
    if (p + 12 > bytes.length) break;
    const addr = Number(view.getBigUint64(p + 4, true));
    if (!gset.has(addr)) continue;
    const len = view.getUint32(p, true);
    if (len > 1 << 24) continue;
    fields.push({ name: `vlen reference @${p} length`, kind: 'size', offset: p, width: 4, endian: 'le' });
    fields.push({ name: `vlen reference @${p} heap index`, kind: 'count', offset: p + 12, width: 4, endian: 'le' });
    refs++;
    p += 12;
  }
  return { container: 'ddd17-hdf5', boundaries, fields, arrays, wordBase: 0, endian: 'le' };
}

// ------------------------------------------------------------------------------------------- Prophesee

/**
 * A `%` header: lines starting with `%`, up to and including `% end`, else up to the first line that does
 * not start with `%` (files without `% end`, and DAT files). Returns the line starts and the data start.
 */
export function percentHeader(bytes: Uint8Array): { lineStarts: number[]; end: number; endLine?: number } {
  const lineStarts: number[] = [];
  let pos = 0;
  let endLine: number | undefined;
  while (pos < bytes.length && bytes[pos] === 0x25) {
    lineStarts.push(pos);
    const nl = bytes.indexOf(0x0a, pos);
    if (nl < 0) return { lineStarts, end: bytes.length };
    const line = Buffer.from(bytes.subarray(pos, nl)).toString('latin1').trim();
    pos = nl + 1;
    if (/^%\s*end$/i.test(line)) {
      endLine = lineStarts[lineStarts.length - 1];
      break;
    }
  }
  lineStarts.push(pos);
  return { lineStarts, end: pos, endLine };
}

/** Sensor size a header states (`% geometry WxH`, `width=` / `height=` of `% format`, DAT `% Width` / `% Height`). */
function statedSize(header: string): { width?: number; height?: number } {
  const g = /^%\s*geometry\s+(\d+)x(\d+)\s*$/im.exec(header);
  if (g) return { width: Number(g[1]), height: Number(g[2]) };
  const w = /width[=\s]+(\d+)/i.exec(header);
  const h = /height[=\s]+(\d+)/i.exec(header);
  return { width: w ? Number(w[1]) : undefined, height: h ? Number(h[1]) : undefined };
}

/**
 * RAW EVT 2.0 (32-bit words), EVT 2.1 (64-bit: header half + 32-bit mask; OpenEB's default order puts the
 * mask first, `endianness=legacy` the header first), EVT 3.0 (16-bit words) and DAT (2-byte preamble, then
 * 8-byte records: uint32 t, uint32 x | y << 14 | p << 28). Type nibble = top 4 bits of the header half.
 */
export function mapProphesee(container: Container, bytes: Uint8Array): Structure {
  const view = dv(bytes);
  const head = percentHeader(bytes);
  const headerText = Buffer.from(bytes.subarray(0, head.end)).toString('latin1');
  const boundaries: Boundary[] = [{ offset: 0, name: 'file start' }];
  for (const s of head.lineStarts.slice(1, -1)) boundaries.push({ offset: s, name: 'header line start' });
  if (head.endLine !== undefined) boundaries.push({ offset: head.endLine, name: "'% end' line" });
  boundaries.push({ offset: head.end, name: 'data start' });
  const fields: Field[] = [];
  const arrays: RecordArray[] = [];
  const isDat = container === 'dat';
  const preamble = isDat ? head.end : undefined;
  const wordStart = isDat ? head.end + 2 : head.end;
  const wordBytes: 2 | 4 | 8 = container === 'evt3' ? 2 : container === 'evt2' ? 4 : 8;
  const words = Math.max(0, Math.floor((bytes.length - wordStart) / wordBytes));
  const legacy = /endianness\s*=\s*legacy/i.test(headerText);
  const typeAt = container === 'evt2.1' && !legacy ? 4 : 0;
  const typeBits: 16 | 32 = container === 'evt3' ? 16 : 32;
  const timeHigh: number[] = [];
  if (isDat) {
    fields.push({ name: 'DAT event type', kind: 'type', offset: head.end, width: 1, endian: 'le' });
    fields.push({ name: 'DAT event size', kind: 'size', offset: head.end + 1, width: 1, endian: 'le' });
    boundaries.push({ offset: wordStart, name: 'records start' });
    arrays.push({
      name: 'CD record',
      start: wordStart,
      stride: 8,
      count: words,
      fields: [
        { name: 't', kind: 'timestamp', rel: 0, width: 4, endian: 'le' },
        { name: 'x|y|p', kind: 'address', rel: 4, width: 4, endian: 'le' },
      ],
    });
  } else {
    for (let i = 0; i < words && timeHigh.length < MAX_FIELDS; i++) {
      const at = wordStart + i * wordBytes + typeAt;
      const type = typeBits === 16 ? view.getUint16(at, true) >>> 12 : view.getUint32(at, true) >>> 28;
      if (type === 0x8) timeHigh.push(at);
    }
    const typeField = { name: typeBits === 16 ? 'word' : 'header word', kind: 'address' as const, rel: typeAt, width: (typeBits / 8) as 2 | 4, endian: 'le' as const };
    const wordFields: RecordArray['fields'] = [typeField];
    if (container === 'evt2.1') wordFields.push({ name: 'valid mask', kind: 'address', rel: 4 - typeAt, width: 4, endian: 'le' });
    arrays.push({ name: `${container} word`, start: wordStart, stride: wordBytes, count: words, fields: wordFields });
    // Cuts just before a TIME_HIGH: the decoder's time state is then carried by what came before.
    const step = Math.max(1, Math.ceil(timeHigh.length / 48));
    for (let k = 0; k < timeHigh.length; k += step) boundaries.push({ offset: timeHigh[k]! - typeAt, name: 'TIME_HIGH word' });
  }
  for (let i = 1; i < 16 && i < words; i++) boundaries.push({ offset: wordStart + wordBytes * Math.floor((i * words) / 16), name: isDat ? 'record' : 'word' });
  boundaries.push({ offset: wordStart + words * wordBytes, name: 'end of words' });
  const size = statedSize(headerText);
  return {
    container,
    boundaries,
    fields,
    arrays,
    wordBase: wordStart,
    endian: 'le',
    prophesee: { headerEnd: head.end, lineStarts: head.lineStarts, endLine: head.endLine, preamble, wordStart, wordBytes, words, typeAt, typeBits, timeHigh, ...size },
  };
}

// ------------------------------------------------------------------------------------- HDF5 event arrays

/** The version-1 dataspace message of a 1-D dataset of `n` rows with unlimited max dims (what the writer makes). */
export function dataspace1d(n: number): Uint8Array {
  const b = Buffer.alloc(24);
  b.set([1, 1, 1, 0, 0, 0, 0, 0]);
  b.writeBigUInt64LE(BigInt(n), 8);
  b.fill(0xff, 16);
  return new Uint8Array(b);
}

function findAll(bytes: Uint8Array, pattern: Uint8Array, limit = 64): number[] {
  const out: number[] = [];
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = buf.indexOf(pattern); i >= 0 && out.length < limit; i = buf.indexOf(pattern, i + 1)) out.push(i);
  return out;
}

/** Where a run of values starts in the file (first match), or -1. */
function locate(bytes: Uint8Array, values: Uint8Array): number {
  return values.length === 0 ? -1 : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).indexOf(values);
}

/**
 * HDF5 event arrays as writeHdf5Events writes them (superblock 0, version-1 messages): the dataspace dims of
 * the four 1-D datasets of `rows` rows, the deflate entries of the filter pipelines, the `width` / `height`
 * root attribute values, and (when `events` is given and the data is stored uncompressed) the raw x, y, t, p
 * arrays, found by their first values (t relative to `tOffset` in the DSEC layout).
 */
export function mapHdf5Events(bytes: Uint8Array, rows: number, events?: { x: Uint16Array; y: Uint16Array; t: Float64Array; p: Uint8Array; tOffset: number; width: number; height: number }): Structure {
  const boundaries: Boundary[] = [{ offset: 0, name: 'superblock' }];
  const fields: Field[] = [];
  const arrays: RecordArray[] = [];
  const dims = findAll(bytes, dataspace1d(rows)).map((p) => p + 8);
  for (const d of dims) {
    fields.push({ name: `dims[0] @${d}`, kind: 'dims', offset: d, width: 8, endian: 'le' });
    boundaries.push({ offset: d - 8, name: 'dataspace message' });
  }
  const filters = findAll(bytes, new Uint8Array(Buffer.from('deflate\0', 'latin1')))
    .map((p) => p - 8)
    .filter((p) => p >= 0 && bytes[p] === 1 && bytes[p + 1] === 0);
  for (const f of filters) fields.push({ name: `filter id @${f}`, kind: 'enum', offset: f, width: 2, endian: 'le' });
  const sizeAttrs: number[] = [];
  for (const name of events ? (['width', 'height'] as const) : []) {
    // Attribute message v1: name (padded to 8), datatype, dataspace, then the value (found by what was written).
    for (const at of findAll(bytes, new Uint8Array(Buffer.from(`${name}\0`, 'latin1')), 4)) {
      const value = events![name] >>> 0;
      for (let p = at + 8; p + 4 <= bytes.length && p < at + 96; p++) {
        if (dv(bytes).getUint32(p, true) === value) {
          sizeAttrs.push(p);
          fields.push({ name: `attribute ${name}`, kind: 'coord', offset: p, width: 4, endian: 'le' });
          break;
        }
      }
    }
  }
  if (events && filters.length === 0) {
    const k = Math.min(16, events.x.length);
    const le = (a: ArrayLike<number> & { buffer: ArrayBufferLike; byteOffset: number }, bytesPer: number): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, k * bytesPer);
    const t64 = new BigInt64Array(k);
    for (let i = 0; i < k; i++) t64[i] = BigInt(events.t[i]! - events.tOffset);
    const spec: Array<[string, number, Uint8Array, RecordArray['fields'][number]]> = [
      ['x', 2, le(events.x, 2), { name: 'x', kind: 'coord', rel: 0, width: 2, endian: 'le' }],
      ['y', 2, le(events.y, 2), { name: 'y', kind: 'coord', rel: 0, width: 2, endian: 'le' }],
      ['t', 8, new Uint8Array(t64.buffer), { name: 't', kind: 'timestamp64', rel: 0, width: 8, endian: 'le' }],
      ['p', 1, le(events.p, 1), { name: 'p', kind: 'flag', rel: 0, width: 1, endian: 'le' }],
    ];
    for (const [name, stride, head, field] of spec) {
      const start = locate(bytes, head);
      if (start < 0 || start + stride * rows > bytes.length) continue;
      boundaries.push({ offset: start, name: `${name} data` });
      arrays.push({ name: `dataset ${name}`, start, stride, count: rows, fields: [field] });
    }
  }
  return { container: 'hdf5-events', boundaries, fields, arrays, wordBase: 0, endian: 'le', hdf5Events: { dims, filters, sizeAttrs, rows } };
}

/** Rows of the first 1-D dataset with unlimited max dims (the event datasets writeHdf5Events makes), or -1. */
export function hdf5EventRows(bytes: Uint8Array): number {
  const head = new Uint8Array([1, 1, 1, 0, 0, 0, 0, 0]);
  const view = dv(bytes);
  for (const p of findAll(bytes, head, 256)) {
    if (p + 24 <= bytes.length && view.getBigUint64(p + 16, true) === 0xffffffffffffffffn) return Number(view.getBigUint64(p + 8, true));
  }
  return -1;
}
