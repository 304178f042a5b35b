/**
 * Writer of DDD17 recorder HDF5 files, the layout ddd17-hdf5.ts reads: dataset `dvs/data` (N, 3) of
 * variable-length uint8 cells per row [ASCII host timestamp µs, 28-byte cAER packet header, payload] and
 * `dvs/timestamp` (N,) int64 host time µs. Each row is one cAER polarity packet (the exact inverse of
 * caer.ts's decodeCaerPolarity): 8-byte events, uint32 data (bit 0 valid, bit 1 polarity, bits 2..16 y,
 * bits 17..31 x) and int32 ts, with t = eventTSOverflow * 2^31 + ts. A packet holds at most
 * `maxPacketEvents` events spanning less than `maxPacketUs` µs, and never crosses a 2^31 µs overflow.
 *
 * Why the HDF5 bytes are written here and not by h5wasm: h5wasm (0.10.x) reads H5T_VLEN datasets but cannot
 * create them. Its create_dataset builds only string / integer / float / reference / compound types
 * (hdf5_util.cc create_h5_datatype_from_metadata: anything else is "data type not supported"), write_slice
 * refuses variable-length types, and the raw HDF5 C API (H5Tvlen_create, H5Dcreate) is not exported. Its
 * only variable-length writes are strings, which HDF5 stores NUL-terminated: cAER headers and payloads hold
 * zero bytes, and the reader decodes cells as hvl_t (length + pointer), not as char*. The reader accepts
 * nothing but a true VLEN-of-uint8 (N, 3) dataset, so this module writes that with a small subset of the
 * HDF5 file format (spec "HDF5 File Format Specification Version 2", oldest versions, like h5py's
 * defaults): superblock v0, version-1 object headers, symbol-table groups (v1 B-tree + local heap + SNOD),
 * global heap collections holding the cells, contiguous datasets. h5wasm (the reader's HDF5 1.14) reads it.
 *
 * Sensor size: DDD17 files store none; the reader takes it from the first frame packet, else 346 x 260
 * (DAVIS346). For another size one blank frame packet (type 2, one grayscale frame of width x height) is
 * written as the first row (stamped with the first event's time), so the size round-trips (`sizeFrame`).
 *
 * Streaming: cells go to global heap collections of about `heapBytes` bytes written as they fill; the
 * 48-byte references and 8-byte timestamps per row are spooled through two temporary files and copied
 * into place at close. Memory: one packet, one collection and two 64 KiB spool buffers, whatever the length.
 *
 * Input: integer µs in [0, 2^53), x, y < 2^15 (cAER's 15-bit fields): anything else is a RangeError naming
 * the event (packets before it are already written; close() still produces a valid file of them).
 */
import { mkdtemp, open, rm, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CAER_FRAME_HEADER_BYTES, CaerEventType } from './caer.js';
import { DDD17_DEFAULT_HEIGHT, DDD17_DEFAULT_WIDTH } from './ddd17-hdf5.js';
import type { EventBatch } from './types.js';

export interface Ddd17WriterOptions {
  /** Sensor size (default DAVIS346, 346 x 260). */
  width?: number;
  height?: number;
  /** Events per cAER packet, i.e. per row (default 4096, about the DDD17 recorder's 32 KiB payloads). */
  maxPacketEvents?: number;
  /** A packet spans less than this many µs (default 10000: rows every <= 10 ms, as a USB host reads). */
  maxPacketUs?: number;
  /** Added to a packet's last event time to make its host timestamp (default 0). */
  hostTimeOffsetUs?: number;
  /** Write a blank frame packet carrying the size: 'auto' (default) only when it is not 346 x 260. */
  sizeFrame?: 'auto' | 'always' | 'never';
  /** Target size of one global heap collection (default 1 MiB; HDF5's minimum is 4096). */
  heapBytes?: number;
  /** Folder for the temporary spool folder (default the OS temp folder); removed at close. */
  spoolDir?: string;
}

const TS_WRAP = 2147483648;
const MAX_COORD = 1 << 15;
const UNDEF = 0xffffffffffffffffn;
const SUPERBLOCK_BYTES = 96;
/** HDF5 defaults for symbol-table groups: SNODs of 2 * 4 entries, B-tree nodes of 2 * 16 children. */
const GROUP_LEAF_K = 4;
const GROUP_NODE_K = 16;
const GCOL_MIN = 4096;
const GCOL_MAX_OBJECTS = 65535;
const SPOOL_BYTES = 1 << 16;
/** On-disk VLEN element: uint32 length, then the global heap id (collection address, object index). */
const VLEN_REF_BYTES = 16;
const POLARITY_SOURCE = 1;

const align8 = (n: number): number => (n + 7) & ~7;

/** Little-endian byte builder for HDF5 metadata structures. */
class Le {
  private buf = new Uint8Array(1024);
  private dv = new DataView(this.buf.buffer);
  length = 0;
  private room(n: number): void {
    if (this.length + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.length + n));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }
  u8(v: number): this {
    this.room(1);
    this.dv.setUint8(this.length++, v);
    return this;
  }
  u16(v: number): this {
    this.room(2);
    this.dv.setUint16(this.length, v, true);
    this.length += 2;
    return this;
  }
  u32(v: number): this {
    this.room(4);
    this.dv.setUint32(this.length, v, true);
    this.length += 4;
    return this;
  }
  u64(v: number | bigint): this {
    this.room(8);
    this.dv.setBigUint64(this.length, BigInt(v), true);
    this.length += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.room(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  zeros(n: number): this {
    this.room(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
    return this;
  }
  pad8(): this {
    return this.zeros(align8(this.length) - this.length);
  }
  done(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

/** Append-only temporary file with a 64 KiB buffer (row references, row timestamps). */
class Spool {
  private buf = new Uint8Array(SPOOL_BYTES);
  private used = 0;
  total = 0;
  private constructor(private readonly fh: FileHandle) {}
  static async open(path: string): Promise<Spool> {
    return new Spool(await open(path, 'w+'));
  }
  async append(b: Uint8Array): Promise<void> {
    if (this.used + b.length > this.buf.length) await this.flush();
    this.buf.set(b, this.used);
    this.used += b.length;
    this.total += b.length;
  }
  private async flush(): Promise<void> {
    if (this.used > 0) await this.fh.write(this.buf, 0, this.used);
    this.used = 0;
  }
  /** Copy everything appended to `out` at `pos`, block by block. */
  async copyTo(out: FileHandle, pos: number): Promise<void> {
    await this.flush();
    for (let at = 0; at < this.total; ) {
      const { bytesRead } = await this.fh.read(this.buf, 0, Math.min(this.buf.length, this.total - at), at);
      if (bytesRead <= 0) throw new Error('DDD17 writer: spool file shorter than written');
      await out.write(this.buf, 0, bytesRead, pos + at);
      at += bytesRead;
    }
  }
  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** One global heap collection being filled (its address is fixed when it starts: nothing else is written meanwhile). */
class HeapCollection {
  private objects = new Le();
  private count = 0;
  constructor(readonly address: number) {}
  get bytes(): number {
    return 16 + this.objects.length;
  }
  get full(): boolean {
    return this.count >= GCOL_MAX_OBJECTS;
  }
  /** Store one object; returns its 16-byte VLEN reference. */
  add(data: Uint8Array, ref: DataView, at: number): void {
    const index = ++this.count;
    // object header: index, reference count (0, as HDF5 writes it), reserved, size; data padded to 8
    this.objects.u16(index).u16(0).u32(0).u64(data.length).bytes(data).pad8();
    ref.setUint32(at, data.length, true);
    ref.setBigUint64(at + 4, BigInt(this.address), true);
    ref.setUint32(at + 12, index, true);
  }
  /** The collection's bytes: header, objects, and free space (object 0) up to HDF5's 4096-byte minimum. */
  image(): Uint8Array {
    const used = this.bytes;
    const size = Math.max(GCOL_MIN, used);
    const out = new Le().bytes(ascii('GCOL')).u8(1).zeros(3).u64(size).bytes(this.objects.done());
    // the free-space object's size includes its own header; a tail under 16 bytes is free space by itself
    if (size - used >= 16) out.u16(0).u16(0).u32(0).u64(size - used);
    return out.zeros(size - out.length).done();
  }
}

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

/** A fixed-point datatype message body (class 0, version 1): little-endian, `bytes` wide. */
function intType(bytes: number, signed: boolean): Le {
  return new Le().u8(0x10).u8(signed ? 0x08 : 0).u8(0).u8(0).u32(bytes).u16(0).u16(bytes * 8);
}

/** cAER packet header (28 bytes, little-endian). */
function caerHeader(type: number, eventSize: number, tsOffset: number, overflow: number, events: number): Uint8Array {
  return new Le().u16(type).u16(POLARITY_SOURCE).u32(eventSize).u32(tsOffset).u32(overflow).u32(events).u32(events).u32(events).done();
}

interface Message {
  type: number;
  body: Uint8Array;
}

/** A version-1 object header holding `messages` (each padded to 8 bytes). */
function objectHeader(messages: Message[]): Uint8Array {
  const body = new Le();
  for (const m of messages) {
    const size = align8(m.body.length);
    body.u16(m.type).u16(size).u8(0).zeros(3).bytes(m.body).zeros(size - m.body.length);
  }
  return new Le().u8(1).u8(0).u16(messages.length).u32(1).u32(body.length).zeros(4).bytes(body.done()).done();
}

/** Dataspace (v1), datatype, fill value (v2: none defined) and contiguous layout (v3) of one dataset. */
function datasetHeader(dims: number[], type: Uint8Array, address: number, bytes: number): Uint8Array {
  const space = new Le().u8(1).u8(dims.length).u8(0).u8(0).u32(0);
  for (const d of dims) space.u64(d);
  const fill = new Le().u8(2).u8(2).u8(2).u8(0);
  const layout = new Le().u8(3).u8(1).u64(bytes > 0 ? BigInt(address) : UNDEF).u64(bytes);
  return objectHeader([
    { type: 0x01, body: space.done() },
    { type: 0x03, body: type },
    { type: 0x05, body: fill.done() },
    { type: 0x08, body: layout.done() },
  ]);
}

/**
 * A symbol-table group at `base`: local heap (names), SNOD (entries sorted by name), v1 B-tree node with
 * one child, then the group's object header. Returns the bytes and where the parts are.
 */
function groupImage(base: number, children: { name: string; address: number }[]): { bytes: Uint8Array; header: number; btree: number; heap: number } {
  const sorted = [...children].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const names = new Le().zeros(8); // offset 0: the empty name
  const offsets: number[] = [];
  for (const c of sorted) {
    offsets.push(names.length);
    names.bytes(ascii(c.name)).u8(0).pad8();
  }
  const heap = base;
  const heapData = heap + 32;
  const snod = heapData + names.length;
  const snodBytes = 8 + 2 * GROUP_LEAF_K * 40;
  const btree = snod + snodBytes;
  const btreeBytes = 24 + 2 * GROUP_NODE_K * 8 + (2 * GROUP_NODE_K + 1) * 8;
  const header = btree + btreeBytes;
  const out = new Le();
  // local heap: signature, version 0, data size, free list head (1 = none), data address, then the names
  out.bytes(ascii('HEAP')).u8(0).zeros(3).u64(names.length).u64(1).u64(heapData).bytes(names.done());
  out.bytes(ascii('SNOD')).u8(1).u8(0).u16(sorted.length);
  sorted.forEach((c, i) => out.u64(offsets[i]!).u64(c.address).u32(0).u32(0).zeros(16));
  out.zeros(snod + snodBytes - base - out.length);
  // B-tree node (type 0: group), level 0, 1 entry, no siblings; keys are heap offsets: "" and the last name
  out.bytes(ascii('TREE')).u8(0).u8(0).u16(1).u64(UNDEF).u64(UNDEF);
  out.u64(0).u64(snod).u64(offsets[offsets.length - 1] ?? 0);
  out.zeros(btree + btreeBytes - base - out.length);
  out.bytes(objectHeader([{ type: 0x11, body: new Le().u64(btree).u64(heap).done() }]));
  return { bytes: out.done(), header, btree, heap };
}

/** Streaming DDD17 HDF5 writer: `open`, `write` batches in order, `close`. */
export class Ddd17Hdf5Writer {
  readonly width: number;
  readonly height: number;
  private readonly maxEvents: number;
  private readonly maxUs: number;
  private readonly hostOffset: number;
  private readonly heapBytes: number;
  private pos = SUPERBLOCK_BYTES;
  private heap: HeapCollection;
  private rows = 0;
  private events = 0;
  private readonly packet: Uint8Array;
  private readonly packetView: DataView;
  private n = 0;
  private overflow = 0;
  private firstT = 0;
  private lastT = 0;
  private closed = false;
  /** The size frame is still to be written (before the first event). */
  private needFrame = false;

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
    private readonly tmp: string,
    private readonly refs: Spool,
    private readonly stamps: Spool,
    opts: Ddd17WriterOptions,
  ) {
    this.width = opts.width ?? DDD17_DEFAULT_WIDTH;
    this.height = opts.height ?? DDD17_DEFAULT_HEIGHT;
    this.maxEvents = Math.max(1, Math.floor(opts.maxPacketEvents ?? 4096));
    this.maxUs = Math.max(1, opts.maxPacketUs ?? 10_000);
    this.hostOffset = opts.hostTimeOffsetUs ?? 0;
    this.heapBytes = Math.max(GCOL_MIN, opts.heapBytes ?? 1 << 20);
    this.packet = new Uint8Array(this.maxEvents * 8);
    this.packetView = new DataView(this.packet.buffer);
    this.heap = new HeapCollection(this.pos);
  }

  static async open(path: string, opts: Ddd17WriterOptions = {}): Promise<Ddd17Hdf5Writer> {
    const w = opts.width ?? DDD17_DEFAULT_WIDTH;
    const h = opts.height ?? DDD17_DEFAULT_HEIGHT;
    if (!(Number.isInteger(w) && Number.isInteger(h) && w > 0 && h > 0 && w <= MAX_COORD && h <= MAX_COORD)) {
      throw new RangeError(`${path}: sensor size ${w} x ${h} does not fit cAER's 15-bit coordinates`);
    }
    const tmp = await mkdtemp(join(opts.spoolDir ?? tmpdir(), 'evstream-ddd17-spool-'));
    const fh = await open(path, 'w');
    const writer = new Ddd17Hdf5Writer(path, fh, tmp, await Spool.open(join(tmp, 'refs')), await Spool.open(join(tmp, 'stamps')), opts);
    const mode = opts.sizeFrame ?? 'auto';
    writer.needFrame = mode === 'always' || (mode === 'auto' && (w !== DDD17_DEFAULT_WIDTH || h !== DDD17_DEFAULT_HEIGHT));
    return writer;
  }

  /**
   * One blank grayscale frame, the first row, stamped with the first event's time `t` (so host times stay
   * in order): only its lengthX / lengthY matter (the reader's source of the size).
   */
  private async writeSizeFrame(t: number): Promise<void> {
    this.needFrame = false;
    const ov = Math.floor(t / TS_WRAP);
    const ts = t - ov * TS_WRAP;
    const size = CAER_FRAME_HEADER_BYTES + this.width * this.height * 2;
    const payload = new Uint8Array(size);
    const dv = new DataView(payload.buffer);
    dv.setInt32(0, 1 | (1 << 1), true); // valid, 1 colour channel
    dv.setInt32(20, this.width, true);
    dv.setInt32(24, this.height, true);
    for (let at = 4; at < 20; at += 4) dv.setInt32(at, ts, true); // frame start / end, exposure start / end
    // eventTSOffset 12: ts_startexposure, as libcaer sets it for frames
    await this.addRow(t + this.hostOffset, caerHeader(CaerEventType.frame, size, 12, ov, 1), payload);
  }

  async write(b: EventBatch): Promise<void> {
    if (this.closed) throw new Error(`${this.path}: write after close`);
    const { t, x, y, p } = b;
    const dv = this.packetView;
    for (let i = 0; i < b.length; i++) {
      const ti = t[i]!;
      const xi = x[i]!;
      const yi = y[i]!;
      if (!(Number.isSafeInteger(ti) && ti >= 0)) throw new RangeError(`${this.path}: event ${this.events + i}: time ${ti} is not an integer number of µs in [0, 2^53)`);
      if (xi >= MAX_COORD || yi >= MAX_COORD) throw new RangeError(`${this.path}: event ${this.events + i}: (${xi}, ${yi}) does not fit cAER's 15-bit coordinates`);
      const ov = Math.floor(ti / TS_WRAP);
      if (this.n > 0 && (this.n === this.maxEvents || ov !== this.overflow || ti - this.firstT >= this.maxUs)) await this.flushPacket();
      if (this.n === 0) {
        if (this.needFrame) await this.writeSizeFrame(ti);
        this.overflow = ov;
        this.firstT = ti;
      }
      const at = this.n * 8;
      dv.setUint32(at, ((xi << 17) | (yi << 2) | ((p[i]! & 1) << 1) | 1) >>> 0, true);
      dv.setInt32(at + 4, ti - ov * TS_WRAP, true);
      this.lastT = ti;
      this.n++;
    }
    this.events += b.length;
  }

  private async flushPacket(): Promise<void> {
    const n = this.n;
    this.n = 0;
    if (n === 0) return;
    await this.addRow(this.lastT + this.hostOffset, caerHeader(CaerEventType.polarity, 8, 4, this.overflow, n), this.packet.subarray(0, n * 8));
  }

  /** One `dvs/data` row: host time text, header and payload into the heap, references and time spooled. */
  private async addRow(hostUs: number, header: Uint8Array, payload: Uint8Array): Promise<void> {
    const cells = [ascii(String(Math.round(hostUs))), header, payload];
    let size = 0;
    for (const c of cells) size += 16 + align8(c.length);
    if (this.heap.bytes > 16 && (this.heap.bytes + size > this.heapBytes || this.heap.full)) await this.flushHeap();
    const refs = new Uint8Array(3 * VLEN_REF_BYTES);
    const rv = new DataView(refs.buffer);
    cells.forEach((c, i) => this.heap.add(c, rv, i * VLEN_REF_BYTES));
    await this.refs.append(refs);
    const stamp = new Uint8Array(8);
    new DataView(stamp.buffer).setBigInt64(0, BigInt(Math.round(hostUs)), true);
    await this.stamps.append(stamp);
    this.rows++;
    if (this.heap.full) await this.flushHeap();
  }

  private async flushHeap(): Promise<void> {
    if (this.heap.bytes <= 16) return;
    const image = this.heap.image();
    await this.fh.write(image, 0, image.length, this.heap.address);
    this.pos = this.heap.address + image.length;
    this.heap = new HeapCollection(this.pos);
  }

  private async put(bytes: Uint8Array): Promise<number> {
    const at = this.pos;
    await this.fh.write(bytes, 0, bytes.length, at);
    this.pos += bytes.length;
    return at;
  }

  /** Flush the last packet, write datasets, groups and superblock; the file is complete after this. */
  async close(): Promise<{ rows: number; events: number }> {
    if (this.closed) return { rows: this.rows, events: this.events };
    this.closed = true;
    try {
      await this.flushPacket();
      if (this.needFrame) await this.writeSizeFrame(0);
      await this.flushHeap();
      const dataAt = this.pos;
      await this.refs.copyTo(this.fh, dataAt);
      this.pos += this.refs.total;
      const stampsAt = this.pos;
      await this.stamps.copyTo(this.fh, stampsAt);
      this.pos += this.stamps.total;
      // VLEN (class 9, version 1) sequence of uint8; element size on disk 4 + 8 + 4
      const vlen = new Le().u8(0x19).u8(0).u8(0).u8(0).u32(VLEN_REF_BYTES).bytes(intType(1, false).done()).done();
      const dataHeader = await this.put(datasetHeader([this.rows, 3], vlen, dataAt, this.refs.total));
      const stampsHeader = await this.put(datasetHeader([this.rows], intType(8, true).done(), stampsAt, this.stamps.total));
      const dvs = groupImage(this.pos, [
        { name: 'data', address: dataHeader },
        { name: 'timestamp', address: stampsHeader },
      ]);
      await this.put(dvs.bytes);
      const root = groupImage(this.pos, [{ name: 'dvs', address: dvs.header }]);
      await this.put(root.bytes);
      await this.fh.write(superblock(this.pos, root), 0, SUPERBLOCK_BYTES, 0);
      return { rows: this.rows, events: this.events };
    } finally {
      await this.refs.close();
      await this.stamps.close();
      await this.fh.close();
      await rm(this.tmp, { recursive: true, force: true });
    }
  }
}

/** Superblock v0 with the root group's symbol table entry (cache type 1: B-tree and heap addresses). */
function superblock(eof: number, root: { header: number; btree: number; heap: number }): Uint8Array {
  const sb = new Le().bytes(Uint8Array.of(0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a));
  sb.u8(0).u8(0).u8(0).u8(0).u8(0).u8(8).u8(8).u8(0); // versions; 8-byte offsets and lengths
  sb.u16(GROUP_LEAF_K).u16(GROUP_NODE_K).u32(0);
  sb.u64(0).u64(UNDEF).u64(eof).u64(UNDEF); // base, free space, end of file, driver info
  sb.u64(0).u64(root.header).u32(1).u32(0).u64(root.btree).u64(root.heap);
  return sb.done();
}

/**
 * Write `batches` (in time order) as a DDD17 HDF5 file; resolves with rows and events written. The sensor
 * size is the options', else the first batch's, else DAVIS346.
 */
export async function writeDdd17Hdf5(path: string, batches: Iterable<EventBatch> | AsyncIterable<EventBatch>, opts: Ddd17WriterOptions = {}): Promise<{ rows: number; events: number }> {
  let w: Ddd17Hdf5Writer | undefined;
  try {
    for await (const b of batches) {
      w ??= await Ddd17Hdf5Writer.open(path, { width: b.width, height: b.height, ...opts });
      await w.write(b);
    }
    w ??= await Ddd17Hdf5Writer.open(path, opts);
  } catch (e) {
    await w?.close(); // the file then holds the packets before the bad event
    throw e;
  }
  return w.close();
}
