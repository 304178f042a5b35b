/**
 * Structure maps of seed files: where each container keeps its headers, packet headers, size / count /
 * timestamp fields and record arrays. The mutators use them to cut at structural boundaries and to write
 * crafted values exactly where a reader trusts the file.
 *
 * Written independently of the readers under test (a bug shared by the reader and this map would hide
 * itself), from the format descriptions in ../shared/recordings/README.md and src/events/aedat4/format.ts.
 */

/** Containers the fuzzer knows; AEDAT 4 is split by packet compression because each codec is a reader path. */
export type Container = 'aedat2' | 'aedat3.1' | 'aedat4-none' | 'aedat4-lz4' | 'aedat4-zstd' | 'ddd17-hdf5';

export const CONTAINERS: readonly Container[] = ['aedat2', 'aedat3.1', 'aedat4-none', 'aedat4-lz4', 'aedat4-zstd', 'ddd17-hdf5'];

export const EXTENSION: Readonly<Record<Container, string>> = {
  aedat2: 'aedat',
  'aedat3.1': 'aedat3',
  'aedat4-none': 'aedat4',
  'aedat4-lz4': 'aedat4',
  'aedat4-zstd': 'aedat4',
  'ddd17-hdf5': 'hdf5',
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
