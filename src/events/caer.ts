/**
 * cAER event packets (libcaer / AEDAT 3.1, also the payload of DDD17 HDF5 rows).
 *
 * A packet is a 28-byte little-endian header followed by `eventCapacity * eventSize` bytes of events, of
 * which only the first `eventNumber` are in use (libcaer writes whole capacity; readers must advance by it).
 * Polarity events (type 1) are 8 bytes: uint32 data (bit 0 valid, bit 1 polarity, bits 2..16 y,
 * bits 17..31 x) and int32 timestamp; full time = eventTSOverflow * 2^31 + timestamp (µs, kept as a double,
 * exact far beyond any real recording). Coordinates are libcaer's: origin top-left, y down, so no transform.
 */
import type { BatchBuilder } from './batch-builder.js';
import type { SkipCounts } from './types.js';

export const CAER_HEADER_BYTES = 28;

/** Largest packet payload we agree to buffer; anything larger is treated as a corrupt header. */
export const CAER_MAX_PACKET_BYTES = 256 * 1024 * 1024;

/** Largest event size of a type we do not know; beyond it the header is considered corrupt. */
const UNKNOWN_TYPE_MAX_EVENT_BYTES = 1024 * 1024;

export const CaerEventType = {
  special: 0,
  polarity: 1,
  frame: 2,
  imu6: 3,
  imu9: 4,
  sample: 5,
  ear: 6,
  config: 7,
  point1d: 8,
  point2d: 9,
  point3d: 10,
  point4d: 11,
  spike: 12,
} as const;

const TYPE_NAMES: readonly string[] = Object.keys(CaerEventType);

/** Fixed event sizes of the common types (libcaer); frames vary with their resolution. */
const FIXED_EVENT_BYTES: Readonly<Record<number, number>> = { 0: 8, 1: 8, 3: 36, 4: 48 };

/** Frame event header: info, 4 timestamps, lengthX, lengthY, positionX, positionY (all int32). */
export const CAER_FRAME_HEADER_BYTES = 36;

export function caerTypeName(type: number): string {
  return TYPE_NAMES[type] ?? `type${type}`;
}

export interface CaerPacketHeader {
  eventType: number;
  eventSource: number;
  eventSize: number;
  eventTSOffset: number;
  eventTSOverflow: number;
  eventCapacity: number;
  eventNumber: number;
  eventValid: number;
}

/** Parse the 28-byte header at `at` (caller guarantees 28 bytes). */
export function parseCaerHeader(bytes: Uint8Array, at = 0): CaerPacketHeader {
  const dv = new DataView(bytes.buffer, bytes.byteOffset + at, CAER_HEADER_BYTES);
  return {
    eventType: dv.getInt16(0, true),
    eventSource: dv.getInt16(2, true),
    eventSize: dv.getInt32(4, true),
    eventTSOffset: dv.getInt32(8, true),
    eventTSOverflow: dv.getInt32(12, true),
    eventCapacity: dv.getInt32(16, true),
    eventNumber: dv.getInt32(20, true),
    eventValid: dv.getInt32(24, true),
  };
}

/** Payload length as libcaer lays it out: the whole capacity, used or not. */
export function caerPayloadBytes(h: CaerPacketHeader): number {
  return h.eventCapacity * h.eventSize;
}

/**
 * Why this header cannot be a real packet header, or undefined when it is plausible.
 * `strictTypes` (used while resynchronising) also rejects unknown types, so random bytes rarely pass.
 */
export function caerHeaderProblem(h: CaerPacketHeader, strictTypes = false): string | undefined {
  if (h.eventType < 0) return `negative eventType ${h.eventType}`;
  if (h.eventSource < 0) return `negative eventSource ${h.eventSource}`;
  if (h.eventSize <= 0) return `eventSize ${h.eventSize} <= 0`;
  const known = h.eventType < TYPE_NAMES.length;
  if (strictTypes && !known) return `unknown eventType ${h.eventType}`;
  const fixed = FIXED_EVENT_BYTES[h.eventType];
  if (fixed !== undefined && h.eventSize !== fixed) return `${caerTypeName(h.eventType)} eventSize ${h.eventSize}, expected ${fixed}`;
  if (h.eventType === CaerEventType.frame && h.eventSize < CAER_FRAME_HEADER_BYTES) return `frame eventSize ${h.eventSize} < ${CAER_FRAME_HEADER_BYTES}`;
  if (!known && h.eventSize > UNKNOWN_TYPE_MAX_EVENT_BYTES) return `unknown eventType ${h.eventType} with absurd eventSize ${h.eventSize}`;
  if (h.eventTSOffset < 0 || h.eventTSOffset + 4 > h.eventSize) return `eventTSOffset ${h.eventTSOffset} outside a ${h.eventSize}-byte event`;
  if (h.eventType === CaerEventType.polarity && h.eventTSOffset !== 4) return `polarity eventTSOffset ${h.eventTSOffset}, expected 4`;
  if (h.eventTSOverflow < 0) return `negative eventTSOverflow ${h.eventTSOverflow}`;
  if (h.eventCapacity < 0 || h.eventNumber < 0 || h.eventValid < 0) return `negative count (capacity ${h.eventCapacity}, number ${h.eventNumber}, valid ${h.eventValid})`;
  if (h.eventNumber > h.eventCapacity) return `eventNumber ${h.eventNumber} > eventCapacity ${h.eventCapacity}`;
  if (h.eventValid > h.eventNumber) return `eventValid ${h.eventValid} > eventNumber ${h.eventNumber}`;
  if (h.eventCapacity * h.eventSize > CAER_MAX_PACKET_BYTES) return `absurd packet size ${h.eventCapacity} x ${h.eventSize} bytes`;
  return undefined;
}

function bump(skipped: SkipCounts, key: string, by: number): void {
  if (by !== 0) skipped[key] = (skipped[key] ?? 0) + by;
}

/**
 * Count a packet we do not decode: `<name>Packets` += 1 and `<name>` += its events (e.g. `imu6Packets`,
 * `imu6`, `framePackets`, `frame`, `specialPackets`, `special`).
 */
export function countSkippedPacket(h: CaerPacketHeader, skipped: SkipCounts): void {
  const name = caerTypeName(h.eventType);
  bump(skipped, `${name}Packets`, 1);
  skipped[name] = (skipped[name] ?? 0) + h.eventNumber;
}

/**
 * Append the valid polarity events of one packet to `out`; invalid ones are counted in
 * `skipped.invalidEvents`. `payload` must hold at least `eventNumber * 8` bytes. Returns events appended.
 */
export function decodeCaerPolarity(h: CaerPacketHeader, payload: Uint8Array, out: BatchBuilder, skipped: SkipCounts): number {
  const n = h.eventNumber;
  const dv = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const overflow = h.eventTSOverflow * 2147483648;
  out.reserve(n);
  const { t, x, y, p } = out;
  let k = out.length;
  let invalid = 0;
  for (let i = 0, at = 0; i < n; i++, at += 8) {
    const data = dv.getUint32(at, true);
    if ((data & 1) === 0) {
      invalid++;
      continue;
    }
    t[k] = overflow + dv.getInt32(at + 4, true);
    x[k] = data >>> 17;
    y[k] = (data >>> 2) & 0x7fff;
    p[k] = (data >>> 1) & 1;
    k++;
  }
  const added = k - out.length;
  out.length = k;
  bump(skipped, 'invalidEvents', invalid);
  return added;
}

/** Sensor size from the first frame event of a frame packet (lengthX, lengthY), if the payload holds one. */
export function caerFrameSize(h: CaerPacketHeader, payload: Uint8Array): { width: number; height: number } | undefined {
  if (h.eventType !== CaerEventType.frame || h.eventNumber < 1 || payload.length < CAER_FRAME_HEADER_BYTES) return undefined;
  const dv = new DataView(payload.buffer, payload.byteOffset, CAER_FRAME_HEADER_BYTES);
  const width = dv.getInt32(20, true);
  const height = dv.getInt32(24, true);
  return width > 0 && height > 0 && width < 65536 && height < 65536 ? { width, height } : undefined;
}

/** Sensor sizes of chips named in headers (AEDAT 2 AEChip lines, AEDAT 3.1 `#Source` lines, ...). */
export function sensorSizeFromName(text: string): { width: number; height: number; sensor: string } | undefined {
  const s = text.toLowerCase();
  if (/davis\s*346/.test(s)) return { width: 346, height: 260, sensor: 'davis346' };
  if (/davis\s*240|sbret10/.test(s)) return { width: 240, height: 180, sensor: 'davis240' };
  if (/davis\s*640/.test(s)) return { width: 640, height: 480, sensor: 'davis640' };
  if (/davis\s*208/.test(s)) return { width: 208, height: 192, sensor: 'davis208' };
  if (/dvxplorer[\s_-]*lite/.test(s)) return { width: 320, height: 240, sensor: 'dvxplorer-lite' };
  if (/dvxplorer/.test(s)) return { width: 640, height: 480, sensor: 'dvxplorer' };
  if (/dvs\s*128/.test(s)) return { width: 128, height: 128, sensor: 'dvs128' };
  return undefined;
}
