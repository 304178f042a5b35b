/** Synthetic labelled event-camera driving scenes (DDD17-like classes). */
export { CLASS_COLORS, CLASS_NAMES, ClassId, IGNORE_COLOR, IGNORE_LABEL, NUM_CLASSES, classColor, type ClassName } from './classes.js';
export { simulateSequence, resolveSimOptions, type SimChunk, type SimOptions, type ResolvedSimOptions } from './simulate.js';
export { writeSimDataset, defaultAedat4Writer, GENERATOR_VERSION, type SimDatasetOptions, type SimManifest, type SimSequenceManifest, type WriteEvents } from './dataset.js';
export { renderPreview, logToGray, type PreviewImage } from './preview.js';
export { DvsSensor, EventBuffer, type SensorOptions } from './sensor.js';
export { SCENE_PRESETS, type ScenePreset, type ScenePresetName } from './presets.js';
export { Rng, hashSeed } from './prng.js';
