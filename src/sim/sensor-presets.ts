/**
 * Sensor presets: the one home for what a simulated DAVIS346, DAVIS240 or Prophesee Gen4-like sensor is.
 * Each parameter has a nominal value (what `--sensor NAME` simulates) and a range (what `--randomize` draws
 * from, per sequence). Values are order-of-magnitude figures from the cited work, not a calibration of one
 * camera: a model trained over the range should not care where in it a real sensor sits.
 *
 * Sources, by effect:
 * - contrast threshold C and its per-pixel mismatch sigma: ESIM (Rebecq, Gehrig & Scaramuzza, CoRL 2018)
 *   and v2e (Hu, Liu & Delbruck, CVPRW 2021; defaults C = 0.2, sigma = 0.03); real recordings show C from
 *   about 0.2 up to well above 0.5, hence the wide ranges (Stoffregen et al., ECCV 2020, who randomise C for
 *   the same reason);
 * - refractory period: v2e (default 0.5 ms);
 * - background activity, Hz per pixel: v2e's shot noise and Guo & Delbruck (TPAMI 2022): about 0.1 Hz in
 *   indoor light, more in the dark;
 * - hot pixels: a small fraction of pixels firing at tens to hundreds of Hz, as DVS denoising papers report;
 * - bandwidth: v2e's intensity-dependent photoreceptor cutoff (default 300 Hz at white, less in the dark);
 * - leak events: Nozaki & Delbruck (IEEE TED 2017), v2e's leak_rate_hz (0.01 to 0.1 Hz at room temperature);
 * - timestamp jitter: readout latency jitter of tens of µs (Lichtsteiner, Posch & Delbruck, JSSC 2008;
 *   Brandli et al., JSSC 2014 for the DAVIS240);
 * - geometry: DAVIS240 240 x 180 (Brandli et al. 2014), DAVIS346 346 x 260 (DDD17: Binas et al. 2017),
 *   Gen4 1280 x 720 with 4.86 µm pixels (Finateu et al., ISSCC 2020), whose stacked back-illuminated pixel
 *   has a lower background rate and faster front end than the DAVIS family.
 */
import type { SensorOptions } from './sensor.js';

export type SensorPresetName = 'davis346' | 'davis240' | 'gen4';

/** How a range is sampled: uniform, or uniform in log (for rates spanning decades). */
export type RangeScale = 'linear' | 'log';

export interface SensorParam {
  value: number;
  range: readonly [number, number];
  scale: RangeScale;
}

/** The DvsSensor parameters a preset sets (hot pixels as a fraction of the array, not a count). */
export const SENSOR_PARAMS = ['contrastThreshold', 'thresholdSigma', 'refractoryUs', 'noiseRate', 'hotPixelFraction', 'hotPixelRate', 'cutoffHz', 'jitterUs', 'leakRate'] as const;
export type SensorParamName = (typeof SENSOR_PARAMS)[number];

export interface SensorPreset {
  name: SensorPresetName;
  description: string;
  width: number;
  height: number;
  params: Record<SensorParamName, SensorParam>;
}

const lin = (value: number, lo: number, hi: number): SensorParam => ({ value, range: [lo, hi], scale: 'linear' });
const log = (value: number, lo: number, hi: number): SensorParam => ({ value, range: [lo, hi], scale: 'log' });

/** The DAVIS pixel (DAVIS240 and DAVIS346 share its circuit and 18.5 µm pitch). */
const DAVIS_PIXEL: Record<SensorParamName, SensorParam> = {
  contrastThreshold: lin(0.2, 0.15, 0.45),
  thresholdSigma: lin(0.03, 0.01, 0.06),
  refractoryUs: lin(500, 100, 1000),
  noiseRate: log(0.1, 0.02, 1),
  hotPixelFraction: lin(2e-4, 0, 1e-3),
  hotPixelRate: log(50, 10, 200),
  cutoffHz: log(300, 100, 1000),
  jitterUs: log(30, 5, 100),
  leakRate: log(0.05, 0.01, 0.2),
};

export const SENSOR_PRESETS: Record<SensorPresetName, SensorPreset> = {
  davis346: { name: 'davis346', description: 'iniVation DAVIS346 (346 x 260), the DDD17 camera', width: 346, height: 260, params: DAVIS_PIXEL },
  davis240: { name: 'davis240', description: 'iniVation DAVIS240 (240 x 180)', width: 240, height: 180, params: DAVIS_PIXEL },
  gen4: {
    name: 'gen4',
    description: 'Prophesee Gen4-like (1280 x 720, stacked back-illuminated pixel)',
    width: 1280,
    height: 720,
    params: {
      contrastThreshold: lin(0.25, 0.15, 0.5),
      thresholdSigma: lin(0.03, 0.01, 0.06),
      refractoryUs: lin(200, 50, 1000),
      noiseRate: log(0.02, 0.005, 0.5),
      hotPixelFraction: lin(1e-4, 0, 5e-4),
      hotPixelRate: log(50, 10, 200),
      cutoffHz: log(1000, 300, 3000),
      jitterUs: log(10, 2, 50),
      leakRate: log(0.02, 0.005, 0.1),
    },
  },
};

export const SENSOR_PRESET_NAMES = Object.keys(SENSOR_PRESETS) as SensorPresetName[];

/** One value per parameter (a preset's nominal set, or a draw from its ranges). */
export type SensorParams = Record<SensorParamName, number>;

export function nominalSensorParams(preset: SensorPreset): SensorParams {
  return Object.fromEntries(SENSOR_PARAMS.map((k) => [k, preset.params[k].value])) as SensorParams;
}

/** DvsSensor options from a parameter set on a width x height array. */
export function sensorOptionsFrom(p: SensorParams, width: number, height: number): SensorOptions {
  const { hotPixelFraction, ...rest } = p;
  return { width, height, ...rest, hotPixels: Math.round(hotPixelFraction * width * height) };
}
