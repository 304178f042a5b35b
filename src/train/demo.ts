/**
 * The demo assets' builders (the `make-demo`, `export-model` and `simulate-scene` commands only call them):
 * - `writeDemoRecording` / `writeDemoCheckpoint`: the bundled synthetic recording and untrained checkpoint;
 * - `exportLiveCheckpoint`: a training checkpoint -> fp16 checkpoint for the live pipeline, in the one
 *   checkpoint format (src/snn/checkpoint.ts) plus provenance (source, note).
 * - `writeScenarioSet`: a labelled synthetic set whose single sequence is exactly the scene of a given
 *   simulator seed (as `evstream make-demo` simulates the bundled recording: seed 7, 128x96, urban, 8 s).
 *   `evstream simulate` derives its sequences' seeds by hashing, so it cannot reproduce the demo scene;
 *   this gives the demo recording's labels, for a held-out streaming evaluation on it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import sharp from 'sharp';
import { CLASS_NAMES, IGNORE_LABEL } from '../labels/index.js';
import { defaultAedat4Writer, GENERATOR_VERSION } from '../sim/dataset.js';
import { resolveSimOptions, simulateSequence } from '../sim/simulate.js';
import type { ScenePresetName } from '../sim/presets.js';
import type { EventBatch } from '../events/types.js';
import { Aedat4Writer } from '../events/aedat4/index.js';
import { SegModel } from '../snn/model.js';
import { initBackend } from '../snn/backend.js';
import { metaOfModel, rewriteCheckpoint, writeCheckpoint } from '../snn/checkpoint.js';

export interface ExportOptions {
  dtype?: 'F16' | 'F32';
  /** Extra metadata (free-text provenance strings: source, note). */
  extra?: Record<string, string>;
}

/**
 * Write `src` (a checkpoint of any dialect: `evstream train`, `train-stream`, an older export) as a
 * live-pipeline checkpoint: fp16 by default, same format and model options (src/snn/checkpoint.ts), marked
 * trained. Returns bytes written.
 */
export function exportLiveCheckpoint(src: string, out: string, o: ExportOptions = {}): number {
  return rewriteCheckpoint(src, out, { dtype: o.dtype ?? 'F16', extra: o.extra, set: { untrained: false } }).bytes;
}

export interface DemoRecordingOptions {
  seconds: number;
  seed: number;
  width: number;
  height: number;
  scene: ScenePresetName;
}

/** Write the synthetic demo recording (AEDAT 4, zstd): the bundled recordings/demo.aedat4. Returns events written. */
export async function writeDemoRecording(path: string, o: DemoRecordingOptions): Promise<number> {
  mkdirSync(dirname(path), { recursive: true });
  const w = await Aedat4Writer.open(path, { width: o.width, height: o.height, compression: 'zstd_high', sourceName: `evstream-sim ${o.scene} seed ${o.seed}` });
  let n = 0;
  try {
    for (const chunk of simulateSequence({ seed: o.seed, seconds: o.seconds, width: o.width, height: o.height, scene: o.scene })) {
      if (chunk.events.length === 0) continue;
      await w.write(chunk.events);
      n += chunk.events.length;
    }
  } finally {
    await w.close();
  }
  return n;
}

export interface DemoCheckpointOptions {
  seed: number;
  width: number;
  T: number;
  size: [number, number];
  classes: number;
}

/**
 * Seeded, untrained spiking DeepLab as an fp16 checkpoint (pipelines/demo-untrained.safetensors), marked
 * untrained so the viewer says its predictions are meaningless. Initialises the tfjs backend.
 */
export async function writeDemoCheckpoint(path: string, o: DemoCheckpointOptions): Promise<number> {
  await initBackend(undefined, false);
  const model = SegModel.create('spiking-deeplab', { width: o.width, T: o.T, size: o.size, classes: o.classes, seed: o.seed });
  try {
    mkdirSync(dirname(path), { recursive: true });
    // the live pipeline feeds it whole-sensor, normalised direct frames (pipelines/demo.json's framing)
    const meta = metaOfModel(model, { mode: 'direct', crop: 'none', normalize: true, untrained: true });
    return writeCheckpoint(path, model, meta, { dtype: 'F16', extra: { seed: String(o.seed), note: 'seeded Xavier init, NOT trained: predictions are meaningless (regenerate: evstream make-demo)' } });
  } finally {
    model.dispose();
  }
}

export interface ScenarioOptions {
  seed: number;
  seconds: number;
  width: number;
  height: number;
  scene: ScenePresetName;
}

/** A one-sequence labelled set (evstream simulate layout) of exactly `simulateSequence(o)`. */
export async function writeScenarioSet(outDir: string, o: ScenarioOptions): Promise<{ frames: number; events: number }> {
  const name = 'seq_000';
  const labelsDir = join(outDir, name, 'labels');
  mkdirSync(labelsDir, { recursive: true });
  const resolved = resolveSimOptions({ seed: o.seed, seconds: o.seconds, width: o.width, height: o.height, scene: o.scene });
  const write = await defaultAedat4Writer();
  let frames = 0;
  let events = 0;
  let t1 = 0;
  const hist = new Float64Array(256);
  async function* batches(): AsyncGenerator<EventBatch> {
    for (const chunk of simulateSequence({ seed: o.seed, seconds: o.seconds, width: o.width, height: o.height, scene: o.scene })) {
      const mask = chunk.label;
      for (let i = 0; i < mask.length; i++) hist[mask[i]!]!++;
      await sharp(Buffer.from(mask.buffer, mask.byteOffset, mask.byteLength), { raw: { width: chunk.width, height: chunk.height, channels: 1 } })
        .toColourspace('b-w')
        .png()
        .toFile(join(labelsDir, `${String(chunk.index).padStart(6, '0')}.png`));
      frames++;
      events += chunk.events.length;
      t1 = chunk.t1;
      yield chunk.events;
    }
  }
  await write(join(outDir, name, 'events.aedat4'), batches(), { width: o.width, height: o.height });
  const classHistogram: Record<string, number> = {};
  CLASS_NAMES.forEach((c, i) => (classHistogram[c] = hist[i]!));
  classHistogram['ignore'] = hist[IGNORE_LABEL]!;
  const manifest = {
    generator: GENERATOR_VERSION,
    created: new Date().toISOString(),
    seed: o.seed,
    width: o.width,
    height: o.height,
    windowUs: resolved.windowUs,
    classes: CLASS_NAMES,
    ignoreLabel: IGNORE_LABEL,
    note: `the exact scene of simulateSequence({ seed: ${o.seed}, ${o.width}x${o.height}, ${o.scene}, ${o.seconds} s }) (evstream make-demo's recording for seed 7)`,
    options: { ...resolved },
    sequences: [{ name, seed: o.seed, events: `${name}/events.aedat4`, labels: `${name}/labels`, labelFormat: 'png8-class-id/%06d.png', frames, windowUs: resolved.windowUs, t0: 0, t1, eventCount: events, classHistogram }],
  };
  writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
  return { frames, events };
}
