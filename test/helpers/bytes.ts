/** Byte builders shared by the decoder tests and the fuzz seeds: synthetic AEDAT 2 files, cAER packets. */

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** A synthetic AEDAT 2 file: header lines then big-endian (address, timestamp) records. */
export function aedat2File(headerLines: string[], records: Array<[number, number]>): Uint8Array {
  const head = Buffer.from(headerLines.map((l) => l + '\r\n').join(''), 'latin1');
  const out = new Uint8Array(head.length + records.length * 8);
  out.set(head, 0);
  const dv = new DataView(out.buffer, head.length);
  records.forEach(([a, t], i) => {
    dv.setUint32(i * 8, a >>> 0, false);
    dv.setUint32(i * 8 + 4, t >>> 0, false);
  });
  return out;
}

export interface CaerHeader {
  /** Packet type (1 = polarity, 3 = IMU6, ...). */
  type: number;
  eventSize: number;
  /** Events the packet holds (its payload is capacity x eventSize bytes). */
  capacity: number;
  /** eventNumber (default: capacity). */
  number?: number;
  /** eventValid (default: number). */
  valid?: number;
  tsOverflow?: number;
  /** Byte offset of the timestamp inside an event (default 4). */
  tsOffset?: number;
  source?: number;
}

/** A cAER packet (AEDAT 3.1 / DDD17 rows): the 28-byte little-endian header and a zeroed payload to fill. */
export function caerPacket(h: CaerHeader): { bytes: Uint8Array; view: DataView } {
  const bytes = new Uint8Array(28 + h.capacity * h.eventSize);
  const view = new DataView(bytes.buffer);
  const number = h.number ?? h.capacity;
  view.setInt16(0, h.type, true);
  view.setInt16(2, h.source ?? 1, true);
  view.setInt32(4, h.eventSize, true);
  view.setInt32(8, h.tsOffset ?? 4, true);
  view.setInt32(12, h.tsOverflow ?? 0, true);
  view.setInt32(16, h.capacity, true);
  view.setInt32(20, number, true);
  view.setInt32(24, h.valid ?? number, true);
  return { bytes, view };
}

/** Push `data` into a push decoder in chunks of `chunk` bytes, then end it; returns what it threw, if anything. */
export function feedAll(decoder: { push(b: Uint8Array): void; end(): void }, data: Uint8Array, chunk = data.length || 1): unknown {
  try {
    for (let i = 0; i < data.length; i += chunk) decoder.push(data.subarray(i, i + chunk));
    decoder.end();
    return undefined;
  } catch (e) {
    return e;
  }
}

export interface CaerPolarity {
  x: number;
  y: number;
  /** 1 = ON. */
  p: number;
  /** The int32 timestamp field (µs, before eventTSOverflow). */
  t: number;
  /** The valid bit (default true). */
  valid?: boolean;
}

/**
 * A cAER polarity packet laid out by the AEDAT 3.1 rules (8-byte events: uint32 data with bit 0 valid,
 * bit 1 polarity, bits 2..16 y, bits 17..31 x; int32 timestamp). `capacity` may exceed the events
 * (zero-filled unused slots, as libcaer writes).
 */
export function caerPolarityPacket(events: readonly CaerPolarity[], opts: { overflow?: number; capacity?: number } = {}): Uint8Array {
  const valid = events.filter((e) => e.valid !== false).length;
  const { bytes, view } = caerPacket({ type: 1, eventSize: 8, tsOverflow: opts.overflow ?? 0, capacity: opts.capacity ?? events.length, number: events.length, valid });
  events.forEach((e, i) => {
    view.setUint32(28 + i * 8, ((e.x << 17) | (e.y << 2) | (e.p << 1) | (e.valid === false ? 0 : 1)) >>> 0, true);
    view.setInt32(32 + i * 8, e.t, true);
  });
  return bytes;
}
