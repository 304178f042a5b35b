/**
 * Writes a synthetic dataset: per sequence `seq_XXX/events.aedat4` and `seq_XXX/labels/NNNNNN.png`
 * (8-bit grayscale class ids, one per window, mask at the window end), plus `manifest.json`.
 * Windows are streamed: one window's events and mask are in memory at a time (plus what the event
 * writer buffers).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import sharp from 'sharp';
import type { EventBatch } from '../events/types.js';
import { Aedat4Writer } from '../events/aedat4/index.js';
import { CLASS_NAMES, IGNORE_LABEL } from '../labels/index.js';
import { hashSeed } from './prng.js';
import { resolveSimOptions, simulateSequence, type ResolvedSimOptions, type SimOptions } from './simulate.js';
import { InputFileError } from '../util/input-error.js';
import { drawSimOptions, randomizeBase, SCENE_RANGES, type SceneRanges, type SequenceDraw } from './randomize.js';
import { SENSOR_PRESETS, type SensorPreset, type SensorPresetName } from './sensor-presets.js';

export const GENERATOR_VERSION = 'evstream-sim 1';

export type WriteEvents = (path: string, batches: AsyncIterable<EventBatch> | Iterable<EventBatch>, size: { width: number; height: number }) => Promise<void>;

export interface SimDatasetOptions extends Omit<SimOptions, 'seed'> {
  seed: number;
  sequences: number;
  /** Events file name inside each sequence folder (default events.aedat4). */
  eventsFile?: string;
  /**
   * Domain randomisation (`randomize.ts`): each sequence draws its sensor parameters from the `sensor`
   * preset's ranges (davis346 when none is given) and its scene, illumination and ego speed from
   * SCENE_RANGES, from its own seed; options given here are fixed instead of drawn. The manifest records
   * each sequence's values under `randomized`, and the ranges under `randomization`.
   */
  randomize?: boolean;
  /** Called after each window (progress bars). */
  onWindow?: (sequence: number, window: number, windows: number) => void;
}

export interface SimSequenceManifest {
  name: string;
  seed: number;
  events: string;
  labels: string;
  labelFormat: string;
  frames: number;
  windowUs: number;
  /** Time of window 0's start (µs); the first event is at t0 when anchorEvent is on. */
  t0: number;
  t1: number;
  eventCount: number;
  onEvents: number;
  /** Label pixels per class over all frames, by class name, plus `ignore`. */
  classHistogram: Record<string, number>;
  /** With `randomize`: the values this sequence used (drawn, or fixed by the caller). */
  randomized?: SequenceDraw & { hotPixels: number };
}

export interface SimManifest {
  generator: string;
  created: string;
  seed: number;
  width: number;
  height: number;
  windowUs: number;
  classes: readonly string[];
  ignoreLabel: number;
  labelTiming: string;
  options: ResolvedSimOptions;
  /** With `randomize`: the ranges the sequences drew from. */
  randomization?: { sensor: SensorPresetName; sensorRanges: SensorPreset['params']; sceneRanges: SceneRanges };
  sequences: SimSequenceManifest[];
}

/**
 * Generates `sequences` sequences with seeds derived from `seed` and writes them under outDir.
 * `writeEvents` writes one events file from a stream of batches; default: the AEDAT 4 writer
 * (`src/events/aedat4`).
 */
export async function writeSimDataset(outDir: string, opts: SimDatasetOptions, writeEvents?: WriteEvents): Promise<SimManifest> {
  const write = writeEvents ?? (await defaultAedat4Writer());
  await mkdir(outDir, { recursive: true });
  const { sequences: count, eventsFile = 'events.aedat4', onWindow, randomize = false, ...given } = opts;
  const base = randomize ? randomizeBase(given) : undefined;
  const simOpts: Omit<SimOptions, 'seed'> = base ?? given;
  const resolved = resolveSimOptions({ ...simOpts, seed: opts.seed });
  const sequences: SimSequenceManifest[] = [];
  const windows = Math.ceil((resolved.seconds * 1e6) / resolved.windowUs - 1e-9);
  for (let s = 0; s < count; s++) {
    const name = `seq_${String(s).padStart(3, '0')}`;
    const seqSeed = hashSeed(opts.seed, 1000 + s);
    const { draw, options: drawn } = base ? drawSimOptions(seqSeed, base, resolved.width, resolved.height) : { draw: undefined, options: {} };
    const labelsDir = join(outDir, name, 'labels');
    await mkdir(labelsDir, { recursive: true });
    const hist = new Float64Array(256);
    let eventCount = 0;
    let onEvents = 0;
    let frames = 0;
    let t1 = 0;
    // The writer pulls batches; each pulled window also gets its label written before the next is simulated.
    async function* batches(): AsyncGenerator<EventBatch> {
      for (const chunk of simulateSequence({ ...simOpts, ...drawn, seed: seqSeed })) {
        const mask = chunk.label;
        for (let i = 0; i < mask.length; i++) hist[mask[i]!]!++;
        await sharp(Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength), { raw: { width: chunk.width, height: chunk.height, channels: 1 } })
          .toColourspace('b-w') // otherwise sharp writes the single channel as RGB
          .png()
          .toFile(join(labelsDir, `${String(chunk.index).padStart(6, '0')}.png`));
        eventCount += chunk.events.length;
        for (let k = 0; k < chunk.events.length; k++) onEvents += chunk.events.p[k]!;
        frames++;
        t1 = chunk.t1;
        onWindow?.(s, chunk.index, windows);
        yield chunk.events;
      }
    }
    await write(join(outDir, name, eventsFile), batches(), { width: resolved.width, height: resolved.height });
    const classHistogram: Record<string, number> = {};
    CLASS_NAMES.forEach((c, i) => (classHistogram[c] = hist[i]!));
    classHistogram['ignore'] = hist[IGNORE_LABEL]!;
    sequences.push({ name, seed: seqSeed, events: `${name}/${eventsFile}`, labels: `${name}/labels`, labelFormat: 'png8-class-id/%06d.png', frames, windowUs: resolved.windowUs, t0: 0, t1, eventCount, onEvents, classHistogram, ...(draw ? { randomized: { ...draw, hotPixels: drawn.hotPixels! } } : {}) });
  }
  const manifest: SimManifest = {
    generator: GENERATOR_VERSION,
    created: new Date().toISOString(),
    seed: opts.seed,
    width: resolved.width,
    height: resolved.height,
    windowUs: resolved.windowUs,
    classes: CLASS_NAMES,
    ignoreLabel: IGNORE_LABEL,
    labelTiming: 'label k = scene at the end of window k, i.e. at t0 + (k + 1) * windowUs; window k = [t0 + k * windowUs, t0 + (k + 1) * windowUs) µs',
    options: { ...resolved, seed: opts.seed },
    ...(randomize ? { randomization: { sensor: resolved.sensor!, sensorRanges: SENSOR_PRESETS[resolved.sensor!].params, sceneRanges: SCENE_RANGES } } : {}),
    sequences,
  };
  await writeFile(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

/** Writes each sequence with the AEDAT 4 writer of src/events (LZ4-compressed packets). */
export async function defaultAedat4Writer(): Promise<WriteEvents> {
  return async (path, batches, size) => {
    const w = await Aedat4Writer.open(path, { width: size.width, height: size.height, compression: 'lz4' });
    try {
      for await (const b of batches) await w.write(b);
    } finally {
      await w.close();
    }
  };
}

// ------------------------------------------------------------------ reading a manifest back

/** The part of a manifest the loaders rely on (also what `evstream simulate-scene` writes). */
export interface SimManifestInput {
  generator?: string;
  seed?: number;
  width: number;
  height: number;
  windowUs: number;
  sequences: { name: string; events: string; labels: string; frames: number; windowUs?: number; t0: number }[];
}

/**
 * Bounds of a manifest: sensor sides 1..65535 (events store uint16 coordinates), windows of 100 µs (the
 * framing lower bound) to 1 hour, at most 10^7 frames per sequence (139 hours of 50 ms windows; what a
 * set's frames take in memory is checked by the loader, which knows the network input size).
 */
export const MANIFEST_LIMITS = { maxSide: 65535, minWindowUs: 100, maxWindowUs: 3.6e9, maxFrames: 1e7 } as const;

const MANIFEST = "a manifest.json of 'evstream simulate'";

/**
 * Parse and check `manifest.json` (`text` = its content, `path` names it in errors). Every error is an
 * InputFileError naming the file and the field (`sequences[2].frames`). Paths in the manifest must stay
 * inside the dataset folder: the loader writes its cache under each sequence's folder.
 */
export function parseSimManifest(text: string, path: string): SimManifestInput {
  let m: unknown;
  try {
    m = JSON.parse(text);
  } catch (e) {
    throw new InputFileError(path, `is not valid JSON (${(e as Error).message})`, MANIFEST);
  }
  const bad = (field: string, v: unknown, expected: string): never => {
    const shown = JSON.stringify(v) ?? 'missing';
    throw new InputFileError(path, `is ${shown.length > 60 ? `${shown.slice(0, 57)}...` : shown}`, expected, field);
  };
  const obj = (field: string, v: unknown): Record<string, unknown> => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : bad(field, v, 'an object'));
  const int = (field: string, v: unknown, lo: number, hi: number): number => (typeof v === 'number' && Number.isInteger(v) && v >= lo && v <= hi ? v : bad(field, v, `an integer in ${lo}..${hi}`));
  const windowUs = (field: string, v: unknown): number =>
    typeof v === 'number' && v >= MANIFEST_LIMITS.minWindowUs && v <= MANIFEST_LIMITS.maxWindowUs ? v : bad(field, v, `a window length in µs, ${MANIFEST_LIMITS.minWindowUs}..${MANIFEST_LIMITS.maxWindowUs}`);
  const inside = (field: string, v: unknown): string => {
    if (typeof v !== 'string' || v === '') return bad(field, v, 'a path relative to the dataset folder');
    const n = normalize(v);
    if (isAbsolute(v) || n === '..' || n.startsWith(`..${sep}`) || n === '.') return bad(field, v, 'a path inside the dataset folder');
    return v;
  };
  const top = obj('(top level)', m);
  if (top.generator !== undefined && typeof top.generator !== 'string') bad('generator', top.generator, 'a string');
  if (top.seed !== undefined && typeof top.seed !== 'number') bad('seed', top.seed, 'a number');
  const out: SimManifestInput = {
    ...(top.generator !== undefined ? { generator: top.generator as string } : {}),
    ...(top.seed !== undefined ? { seed: top.seed as number } : {}),
    width: int('width', top.width, 1, MANIFEST_LIMITS.maxSide),
    height: int('height', top.height, 1, MANIFEST_LIMITS.maxSide),
    windowUs: windowUs('windowUs', top.windowUs),
    sequences: [],
  };
  if (!Array.isArray(top.sequences) || top.sequences.length === 0) bad('sequences', top.sequences, 'a non-empty array of sequences');
  (top.sequences as unknown[]).forEach((v, i) => {
    const f = `sequences[${i}]`;
    const q = obj(f, v);
    const t0 = q.t0;
    if (typeof t0 !== 'number' || !Number.isFinite(t0)) bad(`${f}.t0`, t0, 'the start of window 0 in µs (a finite number)');
    out.sequences.push({
      name: inside(`${f}.name`, q.name),
      events: inside(`${f}.events`, q.events),
      labels: inside(`${f}.labels`, q.labels),
      frames: int(`${f}.frames`, q.frames, 0, MANIFEST_LIMITS.maxFrames),
      ...(q.windowUs !== undefined ? { windowUs: windowUs(`${f}.windowUs`, q.windowUs) } : {}),
      t0: t0 as number,
    });
  });
  return out;
}
