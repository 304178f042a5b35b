/**
 * Pipeline files (pipelines/*.json): a small declarative description of one live run
 * (source -> framing -> model -> sinks), validated against PIPELINE_SCHEMA with ajv (the one fastify
 * bundles). Errors name the bad field, e.g. `pipelines/demo.json: /framing/windowMs must be >= 0.1`.
 *
 * Relative paths inside a pipeline file are resolved against the file's own folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadAjv } from './ajv.js';
import { MAX_LATENESS_WINDOWS, MIN_WINDOW_US } from '../framing/binner.js';
import { SPEED_MAX, SPEED_MIN, isValidSpeed } from '../sources/speed.js';
import { MAX_SENSOR_SIDE } from '../events/types.js';
import { DEFAULT_BAF_WINDOW_US, DEFAULT_REFRACTORY_US, FILTER_TYPES, type FilterSpec } from '../filters/index.js';

export type SourceConfig =
  | {
      type: 'file';
      path: string;
      speed: number;
      loop: boolean;
      /** [width, height] for files that state no sensor size (Prophesee RAW / DAT, HDF5 arrays); absent: scanned. */
      sensor?: [number, number];
    }
  | { type: 'ddd17'; path: string; speed: number; loop: boolean; sensor?: [number, number] }
  | {
      type: 'dv-tcp';
      url: string;
      /** Reconnect when no complete packet arrived for this long (ms; 0 = never). Absent: fromDvTcp's default (5000). */
      idleTimeoutMs?: number;
      /** Largest packet (and IOHeader) accepted from the peer, bytes. Absent: fromDvTcp's default (16 MiB). */
      maxPacketBytes?: number;
    };

export interface FramingConfig {
  windowMs: number;
  /**
   * [x, y, width, height] in sensor pixels, null for the whole sensor, or "ddd17": DDD17's hood crop on
   * whatever sensor the source has (the top 200 / 260 of the rows: 346 x 200 of a DAVIS346, 240 x 138 of a
   * DAVIS240; src/framing/frame.ts ddd17Crop), as a model trained with `crop: "ddd17"` saw its data.
   */
  crop: [number, number, number, number] | null | 'ddd17';
  /** Model input size [height, width]. */
  size: [number, number];
  /** Per-channel min-max scaling to [-0.5, 0.5] before the model (the reference's DDD17 preprocessing). */
  normalize: boolean;
  /** How late an event may arrive and still be binned (ms); 0 for in-order sources (lowest latency). */
  latenessMs: number;
  /**
   * Without a crop, a sensor whose aspect differs from `size`: 'stretch' resizes the whole sensor, 'crop'
   * keeps its largest centred region with the model input's aspect (e.g. 720 x 720 of a 1280 x 720 camera).
   */
  fit: 'stretch' | 'crop';
  /**
   * Denoising filters applied in order to the events before binning (src/filters): e.g.
   * `[{ "type": "hotPixel" }, { "type": "backgroundActivity", "windowUs": 10000 }]`. Absent or []: none.
   */
  filters?: FilterSpec[];
}

export type Encoder = 'direct' | 'poisson';
export type BnPolicyName = 'cycle' | 'last' | 'mean';
export type DropPolicy = 'drop' | 'merge';

export interface ModelConfig {
  arch: 'spiking-deeplab' | 'spiking-fcn' | 'ann-deeplab' | 'ann-fcn';
  /** safetensors checkpoint; null: a seeded, untrained initialisation. */
  checkpoint: string | null;
  /** Channel width multiplier; null: from the checkpoint's metadata (else 1). */
  width: number | null;
  classes: number;
  /** Trained horizon T (BNTT steps); null: from the checkpoint's metadata (else 4). */
  T: number | null;
  encoder: Encoder;
  /** Model steps per event frame (the same frame, re-encoded, `stepsPerFrame` times). */
  stepsPerFrame: number;
  /** BN used for steps t >= T. */
  bnPolicy: BnPolicyName;
  /** Averaging horizon of the logits, in steps (null = T). */
  horizon: number | null;
  /**
   * Zero the membranes every this many frames (0 = never: state carried for the whole stream). A model
   * trained offline on T-frame windows from a zero state (`evstream train --mode frames`) runs live as
   * trained with resetEvery = T; one trained on continuous streams (`train-stream`) wants 0.
   */
  resetEvery: number;
  /**
   * Run T staggered sessions, each zeroed every T frames; every frame's output comes from the one that
   * has just seen its T-th frame, so it equals the offline forward over the last T frames from a zero
   * state (what `evstream train --mode frames` optimises). Costs T model steps per frame; needs
   * stepsPerFrame 1; excludes resetEvery.
   */
  slidingWindow: boolean;
  seed: number;
  /** Show "untrained" in the viewer; null: from the checkpoint's metadata. */
  untrained: boolean | null;
  /** Streaming engine (src/snn/engines): 'auto' (default: onnx when onnxruntime-node loads, else tfjs). */
  engine?: 'auto' | 'tfjs' | 'onnx';
  /**
   * Precision of the onnx engine (absent = 'fp32'). 'int8' (opt-in; README "int8 engine") runs the first
   * `calibrationFrames` frames of the stream in fp32, calibrates the int8 graph on them, then switches
   * (one reset of the membranes); needs engine onnx or auto.
   */
  precision?: 'fp32' | 'int8';
  /** Frames of the stream that calibrate the int8 graph (default 64, at most 1000; held in memory until the switch, capped at 256 MiB). */
  calibrationFrames?: number;
}

export interface RuntimeConfig {
  /**
   * What to do with frames that arrive while the model is busy: 'drop' keeps only the newest `maxPending`
   * frames (older ones are dropped and counted); 'merge' sums the pending frames into one, so every event
   * still reaches the membranes (coarser in time). Either way the queue is bounded and frames are stepped in
   * event-time order.
   */
  dropPolicy: DropPolicy;
  maxPending: number;
}

export interface SinksConfig {
  /**
   * allowHosts / allowOrigins extend the server's Host and Origin checks (src/server/plugins/guard.ts):
   * `name` or `name:port` Host values, and `http(s)://host[:port]` origins.
   */
  viewer: { enabled: boolean; host: string; port: number; allowHosts: string[]; allowOrigins: string[] };
  /** JSON lines of pipeline metrics every `intervalMs` (null path: none). "-" = stdout. */
  metrics: { path: string | null; intervalMs: number };
  /**
   * Recording of the incoming events (src/pipeline/record-events.ts): `.aedat4` (AEDAT 4, packets compressed
   * with `compression`) or `.raw` (Prophesee EVT 3); at most `maxBufferMB` waiting for the disk.
   */
  record: { path: string | null; compression: 'none' | 'lz4' | 'zstd'; maxBufferMB: number };
  /** Prediction recording (class maps per frame, `.evpred`; see sinks.ts for the format). */
  predictions: { path: string | null };
  /** PNG overlay per processed frame (every `every`-th), rendered with sharp. */
  overlays: { dir: string | null; every: number; scale: number };
}

export interface PipelineConfig {
  name: string;
  description: string;
  source: SourceConfig;
  framing: FramingConfig;
  model: ModelConfig;
  runtime: RuntimeConfig;
  sinks: SinksConfig;
  /** Folder of the pipeline file (for resolving relative paths). */
  baseDir: string;
}

const num = (extra: object = {}) => ({ type: 'number', ...extra });
const int = (extra: object = {}) => ({ type: 'integer', ...extra });
const nullableStr = { type: ['string', 'null'] };

/** `framing.filters`: one shape per filter type (if/then, so that errors name the field). */
const FILTERS_SCHEMA = {
  type: 'array',
  maxItems: 16,
  default: [],
  items: {
    type: 'object',
    required: ['type'],
    properties: { type: { enum: FILTER_TYPES } },
    allOf: [
      {
        if: { required: ['type'], properties: { type: { const: 'backgroundActivity' } } },
        then: { additionalProperties: false, properties: { type: {}, windowUs: num({ exclusiveMinimum: 0, maximum: 10_000_000, default: DEFAULT_BAF_WINDOW_US }) } },
      },
      {
        if: { required: ['type'], properties: { type: { const: 'refractory' } } },
        then: { additionalProperties: false, properties: { type: {}, periodUs: num({ exclusiveMinimum: 0, maximum: 10_000_000, default: DEFAULT_REFRACTORY_US }) } },
      },
      {
        if: { required: ['type'], properties: { type: { const: 'hotPixel' } } },
        then: {
          additionalProperties: false,
          properties: {
            type: {},
            // absent: the filter's defaults (src/filters/hot-pixel.ts), kept in one place
            learnUs: num({ minimum: 0, maximum: 600_000_000 }),
            k: num({ exclusiveMinimum: 0 }),
            rateHz: num({ exclusiveMinimum: 0 }),
            pixels: { type: 'array', maxItems: 65536, items: { type: 'array', items: int({ minimum: 0, maximum: MAX_SENSOR_SIDE - 1 }), minItems: 2, maxItems: 2 } },
          },
        },
      },
    ],
  },
} as const;

/** JSON schema of a pipeline file (defaults filled in by ajv's useDefaults). */
export const PIPELINE_SCHEMA = {
  $id: 'evstream/pipeline',
  type: 'object',
  additionalProperties: false,
  required: ['source'],
  properties: {
    $schema: { type: 'string' },
    name: { type: 'string', default: '' },
    description: { type: 'string', default: '' },
    source: {
      type: 'object',
      required: ['type'],
      properties: { type: { enum: ['file', 'ddd17', 'dv-tcp'] } },
      // one shape per type, checked below with if/then so that errors name the field
      allOf: [
        {
          if: { properties: { type: { enum: ['file', 'ddd17'] } } },
          then: {
            additionalProperties: false,
            required: ['type', 'path'],
            properties: {
              type: { enum: ['file', 'ddd17'] },
              path: { type: 'string', minLength: 1 },
              speed: num({ minimum: SPEED_MIN, maximum: SPEED_MAX, default: 1 }),
              loop: { type: 'boolean', default: true },
              sensor: { type: 'array', items: int({ minimum: 1, maximum: MAX_SENSOR_SIDE }), minItems: 2, maxItems: 2 },
            },
          },
        },
        {
          if: { properties: { type: { const: 'dv-tcp' } } },
          then: {
            additionalProperties: false,
            required: ['type'],
            properties: {
              type: { const: 'dv-tcp' },
              url: { type: 'string', pattern: '^(tcp://)?[^:/\\s]+:[0-9]{1,5}/?$', default: 'tcp://127.0.0.1:7777' },
              // no defaults here: absent means fromDvTcp's defaults (DV_TCP_DEFAULTS), kept in one place
              idleTimeoutMs: int({ minimum: 0, maximum: 3_600_000 }),
              maxPacketBytes: int({ minimum: 1024, maximum: 1024 * 1024 * 1024 }),
            },
          },
        },
      ],
    },
    framing: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        // 0.1 ms minimum (MIN_WINDOW_US): below it frames are nearly all empty and their rate explodes.
        windowMs: num({ minimum: MIN_WINDOW_US / 1000, maximum: 10000, default: 50 }),
        crop: {
          default: null,
          oneOf: [{ type: 'null' }, { const: 'ddd17' }, { type: 'array', items: int({ minimum: 0 }), minItems: 4, maxItems: 4 }],
        },
        size: { type: 'array', items: int({ minimum: 4, maximum: 1024 }), minItems: 2, maxItems: 2, default: [64, 64] },
        normalize: { type: 'boolean', default: true },
        latenessMs: num({ minimum: 0, default: 0 }),
        fit: { enum: ['stretch', 'crop'], default: 'stretch' },
        filters: FILTERS_SCHEMA,
      },
    },
    model: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        arch: { enum: ['spiking-deeplab', 'spiking-fcn', 'ann-deeplab', 'ann-fcn'], default: 'spiking-deeplab' },
        checkpoint: { ...nullableStr, default: null },
        width: { type: ['number', 'null'], exclusiveMinimum: 0, maximum: 4, default: null },
        classes: int({ minimum: 1, maximum: 255, default: 6 }),
        T: { type: ['integer', 'null'], minimum: 1, maximum: 64, default: null },
        encoder: { enum: ['direct', 'poisson'], default: 'direct' },
        stepsPerFrame: int({ minimum: 1, maximum: 16, default: 1 }),
        bnPolicy: { enum: ['cycle', 'last', 'mean'], default: 'last' },
        horizon: { type: ['integer', 'null'], minimum: 1, maximum: 256, default: null },
        resetEvery: int({ minimum: 0, maximum: 1_000_000, default: 0 }),
        slidingWindow: { type: 'boolean', default: false },
        seed: int({ minimum: 0, default: 0 }),
        untrained: { type: ['boolean', 'null'], default: null },
        engine: { enum: ['auto', 'tfjs', 'onnx'], default: 'auto' },
        precision: { enum: ['fp32', 'int8'] },
        calibrationFrames: int({ minimum: 1, maximum: 1000 }),
      },
    },
    runtime: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        dropPolicy: { enum: ['drop', 'merge'], default: 'drop' },
        maxPending: int({ minimum: 1, maximum: 8, default: 1 }),
      },
    },
    sinks: {
      type: 'object',
      additionalProperties: false,
      default: {},
      properties: {
        viewer: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            enabled: { type: 'boolean', default: true },
            host: { type: 'string', minLength: 1, default: '127.0.0.1' },
            port: int({ minimum: 0, maximum: 65535, default: 8080 }),
            // checked in detail by the server's guard when it starts (one rule, one error message)
            allowHosts: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 260 }, maxItems: 64, default: [] },
            allowOrigins: { type: 'array', items: { type: 'string', minLength: 1, maxLength: 270 }, maxItems: 64, default: [] },
          },
        },
        metrics: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: { path: { ...nullableStr, default: null }, intervalMs: int({ minimum: 100, default: 1000 }) },
        },
        record: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            path: { ...nullableStr, default: null },
            compression: { enum: ['none', 'lz4', 'zstd'], default: 'lz4' },
            maxBufferMB: num({ minimum: 1, maximum: 4096, default: 32 }),
          },
        },
        predictions: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: { path: { ...nullableStr, default: null } },
        },
        overlays: {
          type: 'object',
          additionalProperties: false,
          default: {},
          properties: {
            dir: { ...nullableStr, default: null },
            every: int({ minimum: 1, default: 1 }),
            scale: int({ minimum: 1, maximum: 16, default: 4 }),
          },
        },
      },
    },
  },
} as const;

export class PipelineConfigError extends Error {
  override readonly name = 'PipelineConfigError';
}

interface AjvError {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** One readable line per schema error, naming the field (JSON pointer) and what was expected. */
export function formatSchemaErrors(errors: readonly AjvError[], root = ''): string {
  const seen = new Set<string>();
  const lines: string[] = [];
  for (const e of errors) {
    if (e.keyword === 'if') continue; // the failing branch's own errors say more
    const field = (root + e.instancePath || '/') + (e.keyword === 'additionalProperties' ? `/${String(e.params.additionalProperty)}` : '');
    let msg: string;
    if (e.keyword === 'additionalProperties') msg = 'is not a known field';
    else if (e.keyword === 'enum') msg = `must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
    else if (e.keyword === 'required') msg = `is required`;
    else msg = e.message ?? e.keyword;
    const line = e.keyword === 'required' ? `${field === '/' ? '' : field}/${String(e.params.missingProperty)} ${msg}` : `${field} ${msg}`;
    if (!seen.has(line)) {
      seen.add(line);
      lines.push(line);
    }
  }
  return lines.join('; ');
}

let validator: ((data: unknown) => boolean) & { errors?: AjvError[] | null } = undefined as never;

function validate(data: unknown): AjvError[] | null {
  if (!validator) {
    const Ajv = loadAjv();
    const ajv = new Ajv({ useDefaults: true, allErrors: true, strict: false });
    validator = ajv.compile(PIPELINE_SCHEMA) as typeof validator;
  }
  return validator(data) ? null : (validator.errors ?? []);
}

/** Folder of the shipped pipelines (repo `pipelines/`). */
export function pipelinesDir(): string {
  // compiled to dist/src/pipeline/config.js (or .build-*/src/...): the repo root is three levels up
  const here = dirname(fileURLToPath(import.meta.url));
  return resolve(here, '..', '..', '..', 'pipelines');
}

/** Repo root (parent of pipelines/). */
export function packageRoot(): string {
  return dirname(pipelinesDir());
}

/** `demo` -> pipelines/demo.json; a path to a .json file is used as is. */
export function resolvePipelinePath(nameOrPath: string): string {
  if (nameOrPath.endsWith('.json') || nameOrPath.includes('/') || nameOrPath.includes('\\')) return resolve(nameOrPath);
  const p = join(pipelinesDir(), `${nameOrPath}.json`);
  if (!existsSync(p)) throw new PipelineConfigError(`no pipeline named '${nameOrPath}' (looked for ${p}); shipped: demo, ddd17, live-davis`);
  return p;
}

/**
 * The framing checks the schema cannot state (fields that depend on each other), and the window bounds,
 * for framing that did not come through the schema too (a checkpoint's own framing, `checkpointPipeline`).
 */
export function checkFraming(f: FramingConfig, source: string): void {
  if (!(f.windowMs >= MIN_WINDOW_US / 1000 && f.windowMs <= 10000))
    throw new PipelineConfigError(`${source}: /framing/windowMs must be in [${MIN_WINDOW_US / 1000}, 10000], got ${f.windowMs}`);
  if (Array.isArray(f.crop)) {
    const [, , w, h] = f.crop;
    if (w < 1 || h < 1) throw new PipelineConfigError(`${source}: /framing/crop width and height must be >= 1`);
  }
  if (f.latenessMs > MAX_LATENESS_WINDOWS * f.windowMs)
    throw new PipelineConfigError(`${source}: /framing/latenessMs must be <= ${MAX_LATENESS_WINDOWS} windows (${MAX_LATENESS_WINDOWS * f.windowMs} ms), got ${f.latenessMs}`);
}

/**
 * sinks.record records events (.aedat4 / .raw) since issue 14; before, it recorded class maps (.evpred).
 * An old file that still names a .evpred there gets one line saying where that moved, not a mystery.
 */
function checkRecordSinks(s: SinksConfig, source: string, recordField = '/sinks/record/path', predField = '/sinks/predictions/path'): void {
  const at = source ? `${source}: ` : '';
  const rec = s.record.path;
  if (rec !== null) {
    const p = rec.toLowerCase();
    if (p.endsWith('.evpred'))
      throw new PipelineConfigError(`${at}${recordField} '${rec}' is a prediction file: ${recordField === '/sinks/record/path' ? 'sinks.record now records the incoming events (.aedat4 or .raw); move it to /sinks/predictions/path' : 'use --record-predictions for class maps (.evpred); --record records the incoming events (.aedat4 or .raw)'}`);
    if (!p.endsWith('.aedat4') && !p.endsWith('.raw')) throw new PipelineConfigError(`${at}${recordField} must end in .aedat4 (AEDAT 4) or .raw (Prophesee EVT 3), got '${rec}'`);
  }
  const pred = s.predictions.path;
  if (pred !== null && /\.(aedat4|raw)$/i.test(pred)) throw new PipelineConfigError(`${at}${predField} '${pred}' looks like an event recording; class maps are written as .evpred (events: ${recordField === '/sinks/record/path' ? '/sinks/record/path' : '--record'})`);
}

/**
 * Validate a parsed pipeline object (defaults are filled in); throws PipelineConfigError naming every bad
 * field. `baseDir` resolves relative paths.
 */
export function parsePipeline(data: unknown, baseDir: string, source = 'pipeline'): PipelineConfig {
  const copy = structuredClone(data);
  const errors = validate(copy);
  if (errors) throw new PipelineConfigError(`${source}: ${formatSchemaErrors(errors)}`);
  const c = copy as Omit<PipelineConfig, 'baseDir'>;
  const cfg: PipelineConfig = { ...c, baseDir };
  checkFraming(cfg.framing, source);
  if (cfg.model.precision === 'int8' && cfg.model.engine === 'tfjs') throw new PipelineConfigError(`${source}: /model/precision int8 needs /model/engine onnx or auto (int8 runs on ONNX Runtime only)`);
  if (cfg.model.slidingWindow && cfg.model.resetEvery > 0) throw new PipelineConfigError(`${source}: /model/slidingWindow and /model/resetEvery exclude each other (the sliding window resets its sessions itself)`);
  if (cfg.model.slidingWindow && cfg.model.stepsPerFrame !== 1) throw new PipelineConfigError(`${source}: /model/slidingWindow needs /model/stepsPerFrame 1`);
  checkRecordSinks(cfg.sinks, source);
  return cfg;
}

/** Read and validate a pipeline file by name (`demo`) or path. */
export function loadPipeline(nameOrPath: string): PipelineConfig {
  const path = resolvePipelinePath(nameOrPath);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PipelineConfigError(`${path}: ${(e as Error).message}`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new PipelineConfigError(`${path}: not valid JSON: ${(e as Error).message}`);
  }
  const cfg = parsePipeline(data, dirname(path), path);
  if (!cfg.name) cfg.name = nameOrPath.replace(/^.*[\\/]/, '').replace(/\.json$/, '');
  return cfg;
}

/** Resolve a path from a pipeline file against its folder. */
export function resolveIn(cfg: Pick<PipelineConfig, 'baseDir'>, p: string): string {
  return isAbsolute(p) ? p : resolve(cfg.baseDir, p);
}

export interface PipelineOverrides {
  /** File path or tcp:// url. */
  source?: string;
  checkpoint?: string;
  port?: number;
  host?: string;
  speed?: number;
  loop?: boolean;
  saveOverlays?: string;
  metrics?: string;
  /** Event recording (.aedat4 / .raw). */
  record?: string;
  /** Class-map recording (.evpred). */
  recordPredictions?: string;
  /** Sensor size [width, height] of a file source that states none. */
  sensor?: [number, number];
  /** Framing of a sensor whose aspect differs from the model input (see FramingConfig.fit). */
  fit?: 'stretch' | 'crop';
  /** model.precision (int8 calibrates on the stream's first frames). */
  precision?: 'fp32' | 'int8';
  viewer?: boolean;
  /** Added to sinks.viewer.allowHosts / allowOrigins. */
  allowHosts?: string[];
  allowOrigins?: string[];
}

/** Apply command-line overrides (paths given on the command line are relative to the working directory). */
export function applyOverrides(cfg: PipelineConfig, o: PipelineOverrides): PipelineConfig {
  const out: PipelineConfig = structuredClone(cfg);
  if (o.source !== undefined) {
    // a new address keeps the pipeline's live-source limits
    if (/^tcp:\/\//.test(o.source) || /^[^/\\]+:\d+$/.test(o.source)) out.source = { ...(out.source.type === 'dv-tcp' ? out.source : {}), type: 'dv-tcp', url: o.source };
    else {
      const prev = out.source.type === 'dv-tcp' ? { speed: 1, loop: true } : out.source;
      out.source = { type: out.source.type === 'ddd17' ? 'ddd17' : 'file', path: resolve(o.source), speed: prev.speed, loop: prev.loop };
    }
  }
  if (o.speed !== undefined) {
    if (!isValidSpeed(o.speed)) throw new PipelineConfigError(`--speed must be in [${SPEED_MIN}, ${SPEED_MAX}], got ${o.speed}`);
    if (out.source.type !== 'dv-tcp') out.source.speed = o.speed;
  }
  if (o.loop !== undefined && out.source.type !== 'dv-tcp') out.source.loop = o.loop;
  if (o.sensor !== undefined) {
    if (out.source.type === 'dv-tcp') throw new PipelineConfigError('--sensor applies to a file source, not a DV TCP camera (it states its size)');
    out.source.sensor = o.sensor;
  }
  if (o.fit !== undefined) out.framing.fit = o.fit;
  if (o.checkpoint !== undefined) out.model.checkpoint = resolve(o.checkpoint);
  if (o.precision !== undefined) {
    if (o.precision === 'int8' && out.model.engine === 'tfjs') throw new PipelineConfigError('--precision int8 needs the onnx engine (the pipeline sets model.engine tfjs)');
    out.model.precision = o.precision;
  }
  if (o.port !== undefined) {
    if (!Number.isInteger(o.port) || o.port < 0 || o.port > 65535) throw new PipelineConfigError(`--port must be 0..65535, got ${o.port}`);
    out.sinks.viewer.port = o.port;
  }
  if (o.host !== undefined) out.sinks.viewer.host = o.host;
  if (o.viewer !== undefined) out.sinks.viewer.enabled = o.viewer;
  if (o.allowHosts) out.sinks.viewer.allowHosts = [...out.sinks.viewer.allowHosts, ...o.allowHosts];
  if (o.allowOrigins) out.sinks.viewer.allowOrigins = [...out.sinks.viewer.allowOrigins, ...o.allowOrigins];
  if (o.saveOverlays !== undefined) out.sinks.overlays.dir = resolve(o.saveOverlays);
  if (o.metrics !== undefined) out.sinks.metrics.path = o.metrics === '-' ? '-' : resolve(o.metrics);
  if (o.record !== undefined) out.sinks.record.path = resolve(o.record);
  if (o.recordPredictions !== undefined) out.sinks.predictions.path = resolve(o.recordPredictions);
  if (o.record !== undefined || o.recordPredictions !== undefined) checkRecordSinks(out.sinks, '', '--record', '--record-predictions');
  return out;
}

/** One-line description of a source, for logs and the status API. */
export function describeSource(cfg: PipelineConfig): string {
  const s = cfg.source;
  if (s.type === 'dv-tcp') return `DV TCP ${s.url}`;
  return `${s.type === 'ddd17' ? 'DDD17 drive' : 'file'} ${resolveIn(cfg, s.path)}${s.loop ? ' (looped)' : ''}`;
}
