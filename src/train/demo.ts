/**
 * The trained demo model's helpers:
 * - `exportLiveCheckpoint`: a training checkpoint -> fp16 safetensors with the metadata the live pipeline
 *   reads (`src/pipeline/model-adapter.ts`: arch, T, width, classes, size, untrained) plus the training
 *   model options (`evstream` key, as checkpoints) and provenance (miou, data, command).
 * - `writeScenarioSet`: a labelled synthetic set whose single sequence is exactly the scene of a given
 *   simulator seed (as `evstream make-demo` simulates the bundled recording: seed 7, 128x96, urban, 8 s).
 *   `evstream simulate` derives its sequences' seeds by hashing, so it cannot reproduce the demo scene;
 *   this gives the demo recording's labels, for a held-out streaming evaluation on it.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { CLASS_NAMES, IGNORE_LABEL } from '../labels/index.js';
import { defaultAedat4Writer, GENERATOR_VERSION } from '../sim/dataset.js';
import { resolveSimOptions, simulateSequence } from '../sim/simulate.js';
import type { ScenePresetName } from '../sim/presets.js';
import type { EventBatch } from '../events/types.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensorIn } from '../util/safetensors.js';
import { safetensorsMetadata, type ModelMeta } from './checkpoint.js';
import { readInputFile } from '../util/input-error.js';

export interface ExportOptions {
  dtype?: 'F16' | 'F32';
  /** Extra metadata (strings). */
  extra?: Record<string, string>;
}

/** Write `src` (a checkpoint written by `evstream train`) as a live-pipeline checkpoint. Returns bytes written. */
export function exportLiveCheckpoint(src: string, out: string, o: ExportOptions = {}): number {
  const buf = new Uint8Array(readInputFile(src, 'a .safetensors checkpoint file (written by evstream train)'));
  const md = safetensorsMetadata(buf);
  if (!md.evstream) throw new Error(`${src}: no evstream model metadata (not a checkpoint of evstream train)`);
  const meta = JSON.parse(md.evstream) as ModelMeta;
  const sd = decodeSafetensors(buf, src);
  const dtype = o.dtype ?? 'F16';
  const t = new Map<string, SafeTensorIn>();
  for (const [k, v] of sd) {
    if (v.data instanceof Float32Array) t.set(k, { dtype, shape: v.shape, data: v.data });
    else if (v.data instanceof BigInt64Array) t.set(k, { dtype: 'I64', shape: v.shape, data: v.data });
    else t.set(k, { dtype: 'I64', shape: v.shape, data: BigInt64Array.from(v.data as Int32Array, (x) => BigInt(x)) });
  }
  const bytes = encodeSafetensors(t, {
    format: 'pt',
    arch: meta.arch,
    T: String(meta.T),
    width: String(meta.width),
    classes: String(meta.classes),
    size: `${meta.size[0]}x${meta.size[1]}`,
    untrained: 'false',
    mode: meta.mode,
    crop: JSON.stringify(meta.crop ?? 'ddd17'),
    evstream: JSON.stringify(meta),
    ...o.extra,
  });
  writeFileSync(out, bytes);
  return bytes.length;
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
