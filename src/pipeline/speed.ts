/** The speed bounds live with the paced file source (src/sources/speed.ts); re-exported for existing importers. */
export { SPEED_MIN, SPEED_MAX, isValidSpeed } from '../sources/speed.js';
