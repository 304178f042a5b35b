/**
 * Bounds of a file source's replay speed, shared by every entry point (pipeline schema, `--speed`, POST
 * /api/control, the websocket control message, PacedFileSource.setSpeed). Below SPEED_MIN a 50 ms window
 * takes more than 5 s of wall time, so the viewer looks frozen (1e-300 would stop it for good); above
 * SPEED_MAX the model cannot keep up anyway and frames are only dropped.
 */
export const SPEED_MIN = 0.01;
export const SPEED_MAX = 100;

/** True for a number (not a numeric string) within [SPEED_MIN, SPEED_MAX]. */
export function isValidSpeed(v: unknown): v is number {
  return typeof v === 'number' && v >= SPEED_MIN && v <= SPEED_MAX;
}
