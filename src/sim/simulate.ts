/**
 * simulateSequence: renders the world at `renderHz`, runs the DVS model between renders and yields one
 * chunk per window with that window's events and the label mask at the window's end.
 *
 * Time base: the sequence starts at t = 0 µs; window k is [k * windowUs, (k + 1) * windowUs). Unless
 * `anchorEvent` is false, one background-like event is emitted at exactly t = 0 so that consumers that
 * start windows at the first event's timestamp (e.g. FrameBinner) align with these windows.
 * The label of window k is the exact mask of the render at t1 = (k + 1) * windowUs, the last render
 * whose events belong to the window (DDD17 labels are per frame at the window end).
 */
import type { EventBatch } from '../events/types.js';
import { CameraPath } from './camera.js';
import { hashSeed, Rng } from './prng.js';
import { SCENE_PRESETS, type ScenePreset, type ScenePresetName } from './presets.js';
import { Renderer } from './render.js';
import { World } from './scene.js';
import { DEFAULT_BANDWIDTH_FLOOR, DEFAULT_LEAK_JITTER, DvsSensor, EventBuffer } from './sensor.js';
import { nominalSensorParams, SENSOR_PRESETS, sensorOptionsFrom, type SensorPresetName } from './sensor-presets.js';

export interface SimOptions {
  seed: number;
  /** Length of the sequence in seconds (rounded up to whole windows). */
  seconds: number;
  width?: number;
  height?: number;
  windowUs?: number;
  /**
   * Internal render rate in Hz; the render interval must be whole µs dividing windowUs. 'auto' (default)
   * picks the lowest of 500/1000/2000 Hz at which the road at the bottom of the image moves at most
   * ~1.5 px per render (500 Hz for urban, 1000 Hz for highway at default speeds).
   */
  renderHz?: number | 'auto';
  /** Mean contrast threshold C (log units), default 0.2. */
  contrastThreshold?: number;
  /** Per-pixel threshold mismatch sigma (log units), default 0.03. */
  thresholdSigma?: number;
  /** Background shot noise, events per pixel per second (default 0.1). */
  noiseRate?: number;
  refractoryUs?: number;
  hotPixels?: number;
  hotPixelRate?: number;
  /**
   * Sensor preset (`sensor-presets.ts`): its size and nominal parameters become the defaults (options given
   * here still win), which turns on the bandwidth, leak and jitter effects. Absent: the plain pixel model.
   */
  sensor?: SensorPresetName;
  /** Photoreceptor cutoff at white (Hz), see `DvsSensor`; default 0 = off (infinite bandwidth). */
  cutoffHz?: number;
  /** Fraction of the cutoff left in a black pixel (default v2e's 0.073). */
  bandwidthFloor?: number;
  /** Leak events per pixel per second (default 0 = off) and their per-pixel relative spread (default 0.1). */
  leakRate?: number;
  leakJitter?: number;
  /** Gaussian timestamp jitter sigma, µs (default 0 = off). */
  jitterUs?: number;
  /**
   * Scene illumination: log-intensity offset added to every rendered pixel (default 0, the renderer's
   * daylight; -2.3 is 10x darker). Contrast, and so the noise-free events, do not change; with a finite
   * bandwidth dark pixels respond later.
   */
  illumination?: number;
  /** Ego speed in m/s (default: the preset's). 0 gives a parked camera. */
  speed?: number;
  /** Multiplier on camera wobble: yaw, lateral drift, speed variation, bumps (default 1; 0 = steady). */
  shake?: number;
  /** Multipliers on the preset's car and pedestrian densities (default 1; 0 = none). */
  carDensity?: number;
  pedestrianDensity?: number;
  scene?: ScenePresetName;
  /** Override parts of the preset. */
  sceneOverrides?: Partial<ScenePreset>;
  /** Horizontal field of view, degrees (default 70, a DAVIS346 with a 4.5 mm lens). */
  hfovDeg?: number;
  /** Camera height above the road (m, default 1.3) and downward pitch (degrees, default 2). */
  cameraHeight?: number;
  pitchDeg?: number;
  /** Rows of ego hood at the bottom, labelled 255 (default: 4.6% of the height, 12 rows at 260). */
  hoodRows?: number;
  blur?: boolean;
  /** Emit one event at t = 0 (default true); see module comment. */
  anchorEvent?: boolean;
  viewDistance?: number;
}

export type ResolvedSimOptions = Required<Omit<SimOptions, 'sceneOverrides' | 'renderHz' | 'sensor'>> & { sceneOverrides: Partial<ScenePreset>; renderHz: number; sensor: SensorPresetName | null };

export interface SimChunk {
  index: number;
  /** Window start (inclusive) and end (exclusive), µs. */
  t0: number;
  t1: number;
  /** The window's events, time-sorted. */
  events: EventBatch;
  /** Class id per pixel (row-major, width x height) of the scene at t1; 255 = ignore. */
  label: Uint8Array;
  width: number;
  height: number;
}

export function resolveSimOptions(o: SimOptions): ResolvedSimOptions {
  const scene = o.scene ?? 'urban';
  const preset = { ...SCENE_PRESETS[scene], ...o.sceneOverrides };
  const chip = o.sensor !== undefined ? SENSOR_PRESETS[o.sensor] : undefined;
  if (o.sensor !== undefined && !chip) throw new Error(`simulateSequence: unknown sensor preset '${o.sensor}'`);
  // Without a preset the effects it adds stay off, so the plain model's output is unchanged.
  const nominal = chip ? sensorOptionsFrom(nominalSensorParams(chip), o.width ?? chip.width, o.height ?? chip.height) : undefined;
  const width = o.width ?? chip?.width ?? 346;
  const height = o.height ?? chip?.height ?? 260;
  const r: ResolvedSimOptions = {
    seed: o.seed,
    seconds: o.seconds,
    width,
    height,
    windowUs: o.windowUs ?? 50_000,
    renderHz: 0,
    sensor: o.sensor ?? null,
    contrastThreshold: o.contrastThreshold ?? nominal?.contrastThreshold ?? 0.2,
    thresholdSigma: o.thresholdSigma ?? nominal?.thresholdSigma ?? 0.03,
    noiseRate: o.noiseRate ?? nominal?.noiseRate ?? 0.1,
    refractoryUs: o.refractoryUs ?? nominal?.refractoryUs ?? 500,
    hotPixels: o.hotPixels ?? nominal?.hotPixels ?? 0,
    hotPixelRate: o.hotPixelRate ?? nominal?.hotPixelRate ?? 50,
    cutoffHz: o.cutoffHz ?? nominal?.cutoffHz ?? 0,
    bandwidthFloor: o.bandwidthFloor ?? DEFAULT_BANDWIDTH_FLOOR,
    leakRate: o.leakRate ?? nominal?.leakRate ?? 0,
    leakJitter: o.leakJitter ?? DEFAULT_LEAK_JITTER,
    jitterUs: o.jitterUs ?? nominal?.jitterUs ?? 0,
    illumination: o.illumination ?? 0,
    speed: o.speed ?? preset.speed,
    shake: o.shake ?? 1,
    carDensity: o.carDensity ?? 1,
    pedestrianDensity: o.pedestrianDensity ?? 1,
    scene,
    sceneOverrides: o.sceneOverrides ?? {},
    hfovDeg: o.hfovDeg ?? 70,
    cameraHeight: o.cameraHeight ?? 1.3,
    pitchDeg: o.pitchDeg ?? 2,
    hoodRows: o.hoodRows ?? Math.round(height * 0.046),
    blur: o.blur ?? true,
    anchorEvent: o.anchorEvent ?? true,
    viewDistance: o.viewDistance ?? 160,
  };
  r.renderHz = o.renderHz === undefined || o.renderHz === 'auto' ? autoRenderHz(r) : o.renderHz;
  const dtUs = 1e6 / r.renderHz;
  if (!Number.isInteger(dtUs) || r.windowUs % dtUs !== 0) {
    throw new Error(`simulateSequence: render interval ${dtUs} µs (renderHz ${r.renderHz}) must be a whole number of µs dividing windowUs ${r.windowUs}`);
  }
  for (const k of ['cutoffHz', 'leakRate', 'jitterUs', 'noiseRate', 'hotPixelRate'] as const) if (!(r[k] >= 0)) throw new Error(`simulateSequence: ${k} must be >= 0`);
  if (!Number.isFinite(r.illumination)) throw new Error('simulateSequence: illumination must be finite');
  if (!(r.seconds > 0)) throw new Error('simulateSequence: seconds must be > 0');
  if (r.width < 2 || r.height < 2 || r.width > 65535 || r.height > 65535) throw new Error('simulateSequence: bad sensor size');
  return r;
}

/** Ground motion (px/s) at the lowest visible road row is v f (b + pitch)^2 / h, b = row angle below centre. */
function autoRenderHz(r: ResolvedSimOptions): number {
  const f = r.width / 2 / Math.tan((r.hfovDeg * Math.PI) / 360);
  const b = (r.height - r.hoodRows - r.height / 2) / f + (r.pitchDeg * Math.PI) / 180;
  const pxPerSecond = (r.speed * f * b * b) / r.cameraHeight;
  for (const hz of [500, 1000, 2000]) if (pxPerSecond / hz <= 1.5 && r.windowUs % (1e6 / hz) === 0) return hz;
  return 2000;
}

/** Seeded, deterministic simulation of one sequence, one chunk per window. */
export function* simulateSequence(opts: SimOptions): Generator<SimChunk> {
  const o = resolveSimOptions(opts);
  const preset = { ...SCENE_PRESETS[o.scene], ...o.sceneOverrides };
  const world = createWorld(o, preset);
  const renderer = new Renderer(world, { width: o.width, height: o.height, hfovDeg: o.hfovDeg, hoodRows: o.hoodRows, blur: o.blur });
  const sensor = new DvsSensor(
    {
      width: o.width,
      height: o.height,
      contrastThreshold: o.contrastThreshold,
      thresholdSigma: o.thresholdSigma,
      refractoryUs: o.refractoryUs,
      noiseRate: o.noiseRate,
      hotPixels: o.hotPixels,
      hotPixelRate: o.hotPixelRate,
      cutoffHz: o.cutoffHz,
      bandwidthFloor: o.bandwidthFloor,
      leakRate: o.leakRate,
      leakJitter: o.leakJitter,
      jitterUs: o.jitterUs,
    },
    hashSeed(o.seed, 31),
  );
  // The sensor sees the render shifted by the illumination; a copy so the renderer's image stays as drawn.
  const lit = o.illumination !== 0 ? new Float32Array(o.width * o.height) : null;
  const seen = (): Float32Array => {
    if (!lit) return renderer.log;
    const src = renderer.log;
    for (let i = 0; i < lit.length; i++) lit[i] = src[i]! + o.illumination;
    return lit;
  };
  const dtUs = 1e6 / o.renderHz;
  const windows = Math.ceil((o.seconds * 1e6) / o.windowUs - 1e-9);
  const buf = new EventBuffer(1 << 16);
  renderer.render(0, world.path.poseAt(0));
  sensor.reset(seen(), 0);
  if (o.anchorEvent) {
    const rng = new Rng(hashSeed(o.seed, 41));
    sensor.emitAt(buf, 0, rng.int(o.width), rng.int(o.height), rng.next() < 0.5 ? 1 : 0);
  }
  for (let k = 0; k < windows; k++) {
    const t0 = k * o.windowUs;
    const t1 = t0 + o.windowUs;
    for (let t = t0 + dtUs; t <= t1; t += dtUs) {
      renderer.render(t / 1e6, world.path.poseAt(t / 1e6));
      sensor.advance(seen(), t, buf);
    }
    yield { index: k, t0, t1, events: buf.toBatch(o.width, o.height), label: renderer.label.slice(), width: o.width, height: o.height };
    buf.clear();
  }
}

export function createWorld(o: ResolvedSimOptions, preset: ScenePreset): World {
  const lanes = preset.lanesPerDirection;
  const path = new CameraPath(
    { speed: o.speed, laneX: preset.laneWidth * (Math.min(1, lanes - 1) + 0.5), height: o.cameraHeight, pitch: (o.pitchDeg * Math.PI) / 180, shake: o.shake },
    new Rng(hashSeed(o.seed, 1)),
  );
  return new World({ preset, seed: o.seed, carDensity: o.carDensity, pedestrianDensity: o.pedestrianDensity, viewDistance: o.viewDistance }, path);
}
