/** Synthetic labelled event-camera driving scenes (DDD17 classes: their names, ids and colours live in src/labels).
 *
 * @packageDocumentation
 */
export { simulateSequence, resolveSimOptions, type SimChunk, type SimOptions, type ResolvedSimOptions } from './simulate.js';
export { writeEssDataset, essMaskRows, type EssWriteOptions, type EssDriveSummary } from './ess-writer.js';
export { writeSimDataset, defaultAedat4Writer, GENERATOR_VERSION, type SimDatasetOptions, type SimManifest, type SimSequenceManifest, type WriteEvents } from './dataset.js';
export { renderPreview, logToGray, type PreviewImage } from './preview.js';
export { DvsSensor, EventBuffer, pixelCutoffHz, type SensorOptions } from './sensor.js';
export { SENSOR_PRESETS, SENSOR_PRESET_NAMES, SENSOR_PARAMS, nominalSensorParams, sensorOptionsFrom, type SensorPreset, type SensorPresetName, type SensorParam, type SensorParams } from './sensor-presets.js';
export { drawSequence, drawOptions, drawSimOptions, randomizeBase, RANDOMIZE_DEFAULT_SENSOR, sampleParam, SCENE_RANGES, type SceneRanges, type SequenceDraw } from './randomize.js';
export { SCENE_PRESETS, type ScenePreset, type ScenePresetName } from './presets.js';
export { Rng, hashSeed } from './prng.js';
