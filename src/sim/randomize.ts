/**
 * Domain randomisation: per sequence, sensor parameters drawn from a sensor preset's ranges and scene
 * parameters (scene preset, illumination, ego speed) drawn from SCENE_RANGES, all from the sequence seed
 * alone, so a sequence is reproducible from its seed and the draw is written into the manifest.
 *
 * A value the caller fixes (e.g. `noiseRate` for a held-out noise level, or `scene`) is not drawn: fixed
 * options win over draws, and the manifest records what was used either way.
 */
import { hashSeed, Rng } from './prng.js';
import { SCENE_PRESETS, type ScenePresetName } from './presets.js';
import { SENSOR_PARAMS, SENSOR_PRESETS, sensorOptionsFrom, type SensorParam, type SensorParams, type SensorPresetName } from './sensor-presets.js';
import type { SimOptions } from './simulate.js';

export interface SceneRanges {
  scenes: readonly ScenePresetName[];
  /** Log-intensity offset (SimOptions.illumination): -2.5 is about 12x darker than the renderer's daylight. */
  illumination: readonly [number, number];
  /** Multiplier on the scene preset's ego speed. */
  speedFactor: readonly [number, number];
}

export const SCENE_RANGES: SceneRanges = { scenes: ['urban', 'suburban', 'highway'], illumination: [-2.5, 0.5], speedFactor: [0.6, 1.3] };

/** The sensor preset a randomised run draws from when the caller names none (the DDD17 camera). */
export const RANDOMIZE_DEFAULT_SENSOR: SensorPresetName = 'davis346';

/** A randomised run's base options: the caller's, with the default sensor when none is named. */
export function randomizeBase<T extends { sensor?: SensorPresetName }>(given: T): T & { sensor: SensorPresetName } {
  return { ...given, sensor: given.sensor ?? RANDOMIZE_DEFAULT_SENSOR };
}

/** What one sequence drew (and what it used where the caller fixed a value). */
export interface SequenceDraw {
  sensor: SensorPresetName;
  sensorParams: SensorParams;
  scene: ScenePresetName;
  illumination: number;
  /** Ego speed factor on the scene preset's speed, and the speed in m/s it gives. */
  speedFactor: number;
  speed: number;
}

/** A value in `p.range`, uniform or log-uniform (u in [0, 1)). */
export function sampleParam(p: SensorParam, u: number): number {
  const [lo, hi] = p.range;
  if (p.scale === 'log') return Math.exp(Math.log(lo) + (Math.log(hi) - Math.log(lo)) * u);
  return lo + (hi - lo) * u;
}

/**
 * Draws one sequence's parameters from `seed` (the sequence seed). Every parameter takes one draw in a fixed
 * order whether or not it is fixed, so fixing one leaves the others' values unchanged.
 */
export function drawSequence(seed: number, sensor: SensorPresetName, fixed: Partial<SimOptions> = {}, ranges: SceneRanges = SCENE_RANGES): SequenceDraw {
  const sceneSpeed = (scene: ScenePresetName): number => fixed.sceneOverrides?.speed ?? SCENE_PRESETS[scene].speed;
  const preset = SENSOR_PRESETS[sensor];
  if (!preset) throw new Error(`randomize: unknown sensor preset '${sensor}'`);
  const rng = new Rng(hashSeed(seed, 0x7a4d));
  const sensorParams = {} as SensorParams;
  for (const k of SENSOR_PARAMS) sensorParams[k] = sampleParam(preset.params[k], rng.next());
  const fixedSensor: Partial<Record<(typeof SENSOR_PARAMS)[number], number | undefined>> = {
    contrastThreshold: fixed.contrastThreshold,
    thresholdSigma: fixed.thresholdSigma,
    refractoryUs: fixed.refractoryUs,
    noiseRate: fixed.noiseRate,
    hotPixelRate: fixed.hotPixelRate,
    cutoffHz: fixed.cutoffHz,
    jitterUs: fixed.jitterUs,
    leakRate: fixed.leakRate,
  };
  for (const [k, v] of Object.entries(fixedSensor)) if (v !== undefined) sensorParams[k as keyof SensorParams] = v;
  const drawnScene = rng.pick(ranges.scenes);
  const drawnIllumination = rng.range(ranges.illumination[0], ranges.illumination[1]);
  const drawnFactor = rng.range(ranges.speedFactor[0], ranges.speedFactor[1]);
  const scene = fixed.scene ?? drawnScene;
  const illumination = fixed.illumination ?? drawnIllumination;
  const speedFactor = fixed.speed !== undefined ? fixed.speed / sceneSpeed(scene) : drawnFactor;
  return { sensor, sensorParams, scene, illumination, speedFactor, speed: fixed.speed ?? drawnFactor * sceneSpeed(scene) };
}

/**
 * The SimOptions of a draw on a width x height sensor (hot pixels: the drawn fraction of the array, unless
 * the caller fixed a count).
 */
export function drawOptions(d: SequenceDraw, width: number, height: number, fixed: Partial<SimOptions> = {}): Partial<SimOptions> {
  const s = sensorOptionsFrom(d.sensorParams, width, height);
  return {
    sensor: d.sensor,
    width,
    height,
    contrastThreshold: s.contrastThreshold,
    thresholdSigma: s.thresholdSigma,
    refractoryUs: s.refractoryUs,
    noiseRate: s.noiseRate,
    hotPixels: fixed.hotPixels ?? s.hotPixels,
    hotPixelRate: s.hotPixelRate,
    cutoffHz: s.cutoffHz ?? 0,
    jitterUs: s.jitterUs ?? 0,
    leakRate: s.leakRate ?? 0,
    scene: d.scene,
    illumination: d.illumination,
    speed: d.speed,
  };
}

/**
 * One sequence's draw from its seed on a width x height sensor, and the SimOptions that draw gives; the
 * values `base` fixes win over draws. Every writer that randomises (dataset, ESS) goes through here.
 */
export function drawSimOptions(seed: number, base: Partial<SimOptions> & { sensor: SensorPresetName }, width: number, height: number): { draw: SequenceDraw; options: Partial<SimOptions> } {
  const draw = drawSequence(seed, base.sensor, base);
  return { draw, options: drawOptions(draw, width, height, base) };
}
