/**
 * Bounds of a file replay's speed, shared by every entry point (pipeline schema, `run --speed`,
 * `replay-server --speed`, POST /api/control, the websocket control message, PacedFileSource). Below
 * SPEED_MIN a 50 ms window takes more than 5 s of wall time, so the viewer looks frozen (1e-300 would stop
 * it for good); above SPEED_MAX the model cannot keep up anyway and frames are only dropped. Speed 0 (as
 * fast as the consumer takes them) is a separate mode, allowed where a source is created, not as a change.
 */
export const SPEED_MIN = 0.01;
export const SPEED_MAX = 100;

/** True for a number (not a numeric string) within [SPEED_MIN, SPEED_MAX]. */
export function isValidSpeed(v: unknown): v is number {
  return typeof v === 'number' && v >= SPEED_MIN && v <= SPEED_MAX;
}

export function speedError(what: string, v: unknown, allowZero: boolean): RangeError {
  const shown = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return new RangeError(`${what} must be ${allowZero ? '0 or ' : ''}a number in [${SPEED_MIN}, ${SPEED_MAX}], got ${shown}`);
}
