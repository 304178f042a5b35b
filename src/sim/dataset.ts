/**
 * Writes a synthetic dataset: per sequence `seq_XXX/events.aedat4` and `seq_XXX/labels/NNNNNN.png`
 * (8-bit grayscale class ids, one per window, mask at the window end), plus `manifest.json`.
 * Windows are streamed: one window's events and mask are in memory at a time (plus what the event
 * writer buffers).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import type { EventBatch } from '../events/types.js';
import { CLASS_NAMES, IGNORE_LABEL } from './classes.js';
import { hashSeed } from './prng.js';
import { resolveSimOptions, simulateSequence, type ResolvedSimOptions, type SimOptions } from './simulate.js';

export const GENERATOR_VERSION = 'evstream-sim 1';

export type WriteEvents = (path: string, batches: AsyncIterable<EventBatch> | Iterable<EventBatch>, size: { width: number; height: number }) => Promise<void>;

export interface SimDatasetOptions extends Omit<SimOptions, 'seed'> {
  seed: number;
  sequences: number;
  /** Events file name inside each sequence folder (default events.aedat4). */
  eventsFile?: string;
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
  sequences: SimSequenceManifest[];
}

/**
 * Generates `sequences` sequences with seeds derived from `seed` and writes them under outDir.
 * `writeEvents` writes one events file from a stream of batches; default: the AEDAT 4 writer
 * (`src/events/aedat4`), loaded at run time.
 */
export async function writeSimDataset(outDir: string, opts: SimDatasetOptions, writeEvents?: WriteEvents): Promise<SimManifest> {
  const write = writeEvents ?? (await defaultAedat4Writer());
  await mkdir(outDir, { recursive: true });
  const { sequences: count, eventsFile = 'events.aedat4', onWindow, ...simOpts } = opts;
  const resolved = resolveSimOptions(simOpts);
  const sequences: SimSequenceManifest[] = [];
  const windows = Math.ceil((resolved.seconds * 1e6) / resolved.windowUs - 1e-9);
  for (let s = 0; s < count; s++) {
    const name = `seq_${String(s).padStart(3, '0')}`;
    const seqSeed = hashSeed(opts.seed, 1000 + s);
    const labelsDir = join(outDir, name, 'labels');
    await mkdir(labelsDir, { recursive: true });
    const hist = new Float64Array(256);
    let eventCount = 0;
    let onEvents = 0;
    let frames = 0;
    let t1 = 0;
    // The writer pulls batches; each pulled window also gets its label written before the next is simulated.
    async function* batches(): AsyncGenerator<EventBatch> {
      for (const chunk of simulateSequence({ ...simOpts, seed: seqSeed })) {
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
    sequences.push({ name, seed: seqSeed, events: `${name}/${eventsFile}`, labels: `${name}/labels`, labelFormat: 'png8-class-id/%06d.png', frames, windowUs: resolved.windowUs, t0: 0, t1, eventCount, onEvents, classHistogram });
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
    sequences,
  };
  await writeFile(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return manifest;
}

interface Aedat4WriterLike {
  write(batch: EventBatch): Promise<void>;
  close(): Promise<void>;
}

/** Wraps `Aedat4Writer` from ../events/aedat4/index.js (another module; resolved at run time). */
export async function defaultAedat4Writer(): Promise<WriteEvents> {
  const specifier = '../events/aedat4/index.js';
  let mod: { Aedat4Writer?: { open(path: string, o: { width: number; height: number; compression?: string }): Promise<Aedat4WriterLike> | Aedat4WriterLike } };
  try {
    mod = (await import(specifier)) as typeof mod;
  } catch (e) {
    throw new Error(`writeSimDataset: no event writer given and the AEDAT 4 writer (${specifier}) could not be loaded: ${(e as Error).message}`);
  }
  const Writer = mod.Aedat4Writer;
  if (!Writer) throw new Error('writeSimDataset: ../events/aedat4/index.js has no Aedat4Writer export');
  return async (path, batches, size) => {
    const w = await Writer.open(path, { width: size.width, height: size.height, compression: 'lz4' });
    try {
      for await (const b of batches) await w.write(b);
    } finally {
      await w.close();
    }
  };
}
