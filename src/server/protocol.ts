/**
 * The viewer's websocket protocol (`/ws`). Server -> client, per processed frame, two messages:
 *
 * 1. binary (little-endian), FRAME_HEADER_BYTES header then three byte planes of W*H:
 *      0 u8  magic 0xE5      1 u8 version (1)     2 u8 kind (1 = frame)    3 u8 classes
 *      4 u16 width           6 u16 height         8 u32 seq               12 u32 window index
 *     16 f64 t1 (µs, event time)                 24 f32 ON scale         28 f32 OFF scale
 *     32 u8[W*H] class map | u8[W*H] ON counts * 255 / ON scale | u8[W*H] OFF counts * 255 / OFF scale
 * 2. text, JSON `{ type: 'frame', seq, ... }` (FrameStats): per-layer spike rates, times, counters.
 *
 * Other server messages (JSON): `hello` (on connect: model, layers, source, and `classes`, the legend
 * `{ names, colors }` from `classStyle`: the viewer draws class ids with it),
 * `source` (state changes), `control` (ack), `pong`, `error` (a rejected client message).
 *
 * Client -> server (JSON text only, max 4 KiB): `{type:'ping', id?}`, `{type:'control', action, value?}`
 * (same actions as POST /api/control). Anything else is rejected with an `error` message and logged.
 */
import { countsToBytes } from '../pipeline/render.js';
import type { FrameResult } from '../pipeline/runner.js';
import { SPEED_MAX, SPEED_MIN } from '../sources/speed.js';
import { loadAjv, type AjvLike } from '../pipeline/ajv.js';

export const FRAME_MAGIC = 0xe5;
export const PROTOCOL_VERSION = 1;
export const FRAME_HEADER_BYTES = 32;
export const MAX_CLIENT_MESSAGE_BYTES = 4096;

/** Binary frame message (see module comment). */
export function encodeFrame(r: Pick<FrameResult, 'seq' | 'index' | 't1' | 'width' | 'height' | 'counts' | 'classMap'>, classes: number): Buffer {
  const plane = r.width * r.height;
  const buf = Buffer.alloc(FRAME_HEADER_BYTES + 3 * plane);
  buf[0] = FRAME_MAGIC;
  buf[1] = PROTOCOL_VERSION;
  buf[2] = 1;
  buf[3] = classes;
  buf.writeUInt16LE(r.width, 4);
  buf.writeUInt16LE(r.height, 6);
  buf.writeUInt32LE(r.seq >>> 0, 8);
  buf.writeUInt32LE(r.index >>> 0, 12);
  buf.writeDoubleLE(r.t1, 16);
  buf.set(r.classMap, FRAME_HEADER_BYTES);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset + FRAME_HEADER_BYTES + plane, 2 * plane);
  const { scales } = countsToBytes(r.counts, plane, bytes);
  buf.writeFloatLE(scales[0], 24);
  buf.writeFloatLE(scales[1], 28);
  return buf;
}

export interface DecodedFrame {
  classes: number;
  width: number;
  height: number;
  seq: number;
  index: number;
  t1: number;
  scales: [number, number];
  classMap: Uint8Array;
  on: Uint8Array;
  off: Uint8Array;
}

/** Inverse of encodeFrame (tests, benches; the browser has its own copy in web/app.js). */
export function decodeFrame(data: Uint8Array): DecodedFrame {
  const b = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (b.length < FRAME_HEADER_BYTES || b[0] !== FRAME_MAGIC) throw new Error('not a frame message');
  if (b[1] !== PROTOCOL_VERSION) throw new Error(`frame protocol version ${b[1]}, expected ${PROTOCOL_VERSION}`);
  const width = b.readUInt16LE(4);
  const height = b.readUInt16LE(6);
  const plane = width * height;
  if (b.length !== FRAME_HEADER_BYTES + 3 * plane) throw new Error(`frame message of ${b.length} bytes, expected ${FRAME_HEADER_BYTES + 3 * plane}`);
  const at = (k: number): Uint8Array => new Uint8Array(b.buffer, b.byteOffset + FRAME_HEADER_BYTES + k * plane, plane);
  return {
    classes: b[3]!,
    width,
    height,
    seq: b.readUInt32LE(8),
    index: b.readUInt32LE(12),
    t1: b.readDoubleLE(16),
    scales: [b.readFloatLE(24), b.readFloatLE(28)],
    classMap: at(0),
    on: at(1),
    off: at(2),
  };
}

/**
 * The fields of the pipeline's `FrameResult` that a frame's JSON message carries. They are picked from
 * that one declaration (not re-declared here), so a change to it reaches the wire type and every writer
 * of it (`frameStats` in plugins/ws.ts) fails to compile until it follows.
 */
export type FrameResultWireFields = 'seq' | 'index' | 't0' | 't1' | 'events' | 'merged' | 't' | 'layers' | 'stepMs' | 'latencyMs' | 'windowEndWallMs';

/** JSON message 2 of a frame (module comment): the FrameResult's fields, then live counters. */
export interface FrameStats extends Pick<FrameResult, FrameResultWireFields> {
  type: 'frame';
  /** FrameResult.e2eMs, with NaN (live source: camera clock unknown) sent as null, which JSON can carry. */
  e2eMs: number | null;
  /** Date.now() when the server sent this frame. */
  sentAt: number;
  fps: number;
  inputFps: number;
  /** Frames the pipeline dropped (model behind real time) / merged, total. */
  dropped: number;
  merged_total: number;
  /** Frames this client missed because it was slow, total. */
  clientDropped: number;
  paused: boolean;
  speed: number;
}

/**
 * `value` of a speed command: a JSON number within the shared bounds. Both schemas below are compiled
 * without type coercion (see plugins/api.ts and plugins/ws.ts), so `"2"` is refused, not read as 2.
 */
export const SPEED_VALUE_SCHEMA = { type: 'number', minimum: SPEED_MIN, maximum: SPEED_MAX } as const;

/** Client message schema (ajv), used by the ws plugin. */
export const CLIENT_MESSAGE_SCHEMA = {
  oneOf: [
    {
      type: 'object',
      additionalProperties: false,
      required: ['type'],
      properties: { type: { const: 'ping' }, id: { type: ['number', 'string'] } },
    },
    {
      type: 'object',
      additionalProperties: false,
      required: ['type', 'action'],
      properties: {
        type: { const: 'control' },
        action: { enum: ['pause', 'resume', 'reset', 'speed'] },
        value: SPEED_VALUE_SCHEMA,
      },
      if: { properties: { action: { const: 'speed' } } },
      then: { required: ['value'] },
    },
  ],
} as const;

/** POST /api/control body schema. */
export const CONTROL_BODY_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['action'],
  properties: {
    action: { enum: ['pause', 'resume', 'reset', 'speed'] },
    value: SPEED_VALUE_SCHEMA,
  },
  if: { properties: { action: { const: 'speed' } } },
  then: { required: ['value'] },
} as const;

let strictAjv: AjvLike | undefined;

/**
 * Compile a schema for client input with an ajv that never coerces types. fastify's own ajv coerces by
 * default (`coerceTypes: 'array'`, right for query strings), which would silently turn `"2"` into 2.
 */
export function compileStrict(schema: object): ReturnType<AjvLike['compile']> {
  strictAjv ??= new (loadAjv())({ allErrors: true, strict: false, coerceTypes: false, useDefaults: false, removeAdditional: false });
  return strictAjv.compile(schema);
}
