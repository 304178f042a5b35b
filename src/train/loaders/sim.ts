/**
 * evstream synthetic sets (`manifest.json` of `evstream simulate`): each sequence's events are binned
 * into the manifest's windows with `FrameBinner` (label k <-> window k = [t0 + k w, t0 + (k+1) w)).
 * Sensors other than 346 x 260 keep the same fraction of rows (round(H * 200 / 260)). Splits: 'all';
 * 'train' / 'val' by sequence (the last ceil(20 %) of the sequences are 'val', at least one when there
 * are >= 2; 'test' = 'val'); with one sequence its last 20 % of frames are 'val'. The preprocessed
 * tensors of each sequence are cached (cache.ts), keyed by the preprocessing.
 *
 * A bad manifest.json is an InputFileError naming the field (`parseSimManifest`), its frame counts
 * checked against `maxBytes` before anything is allocated; a wrongly sized label PNG an EventFormatError.
 */
import { existsSync, statSync } from 'node:fs';
import { totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { readEventFile as readEventFileWith, type BatchHandler } from '../../events/read-file.js';
import { EventFormatError } from '../../events/errors.js';
import type { StreamInfo } from '../../events/types.js';
import { readLabelPng } from '../../events/datasets/index.js';
import { FrameBinner } from '../../framing/binner.js';
import type { CropRect } from '../../framing/frame.js';
import { IGNORE_LABEL, NUM_CLASSES } from '../../labels/index.js';
import { parseSimManifest, type SimManifestInput } from '../../sim/dataset.js';
import { checkInputFile, InputFileError, readInputFile } from '../../util/input-error.js';
import { cacheKey, readCache, writeCache } from '../cache.js';
import { cropLabel, resizeLabel } from '../labels-resize.js';
import { resolveCrop } from '../preprocess.js';
import type { PreprocessOptions, SegData, Split } from '../seg-data.js';
import { LoadCounter, SegDataBuilder } from './collect.js';

type SimManifestLike = SimManifestInput;

export function isSimDataset(dir: string): boolean {
  return existsSync(join(dir, 'manifest.json')) && statSync(dir).isDirectory();
}

/** The checked manifest (errors name the file and the field; see `parseSimManifest`). */
function readManifest(dir: string): SimManifestLike {
  const path = join(dir, 'manifest.json');
  return parseSimManifest(readInputFile(path, "a manifest.json of 'evstream simulate'").toString('utf8'), path);
}

/** Label file of window k of a sequence. */
function simLabelPath(dir: string, s: SimManifestLike['sequences'][number], k: number): string {
  return join(dir, s.labels, `${String(k).padStart(6, '0')}.png`);
}

/** A label PNG of a synthetic set: sensor-sized, else the crop would read outside it. */
async function readSimLabel(path: string, m: SimManifestLike): Promise<{ label: Uint8Array; width: number }> {
  const png = await readLabelPng(path);
  if (png.width !== m.width || png.height !== m.height) throw new EventFormatError('bad-header', path, 0, `a ${m.width} x ${m.height} label (the sensor size in manifest.json)`, `${png.width} x ${png.height}`);
  return png;
}

/** `readEventFile` with the loader's options (onWarning) bound. */
type EventFileReader = (path: string, onBatch: BatchHandler) => Promise<StreamInfo>;

/** Sequence indices of a split of a synthetic set with `count` sequences (see header). */
export function simSplitSequences(count: number, split: Split): number[] {
  const all = Array.from({ length: count }, (_, i) => i);
  if (split === 'all' || count < 2) return all;
  const nVal = Math.max(1, Math.ceil(count * 0.2));
  return split === 'train' ? all.slice(0, count - nVal) : all.slice(count - nVal);
}

/**
 * Preprocess one synthetic sequence -> frames [k, 2, H, W] + labels [k, H, W] (k = manifest frames).
 * `readEventFile` is the event reader with the loader's onWarning bound (decoder warnings of a damaged
 * events file reach the caller, counted).
 */
async function loadSimSequence(dir: string, m: SimManifestLike, s: SimManifestLike['sequences'][number], o: Required<Pick<PreprocessOptions, 'size' | 'labelResize' | 'normalize'>> & { crop: CropRect }, readEventFile: EventFileReader): Promise<{ frames: Float32Array; labels: Uint8Array; count: number }> {
  const [H, W] = o.size;
  const plane = H * W;
  const frames = new Float32Array(s.frames * 2 * plane);
  const labels = new Uint8Array(s.frames * plane).fill(IGNORE_LABEL);
  const windowUs = s.windowUs ?? m.windowUs;
  const binner = new FrameBinner({ windowUs, width: m.width, height: m.height, crop: o.crop, resize: { width: W, height: H }, normalize: o.normalize, latenessUs: windowUs });
  let misaligned = false;
  const take = (f: { t0: number; counts: Float32Array }): void => {
    const kf = (f.t0 - s.t0) / windowUs;
    const k = Math.round(kf);
    if (Math.abs(kf - k) > 1e-6) misaligned = true;
    if (k >= 0 && k < s.frames) frames.set(f.counts, k * 2 * plane);
  };
  await readEventFile(join(dir, s.events), (b) => binner.push(b, take));
  binner.flush(take);
  if (misaligned) throw new Error(`${join(dir, s.events)}: the first event is not on a window boundary t0 + k * ${windowUs} µs (manifest t0 ${s.t0}); cannot pair frames with labels`);
  // windows without any event (before the first or after the last) stay all-zero (normalised: 0)
  for (let k = 0; k < s.frames; k++) {
    const p = simLabelPath(dir, s, k);
    if (!existsSync(p)) continue; // counted by loadSimData, which reports it
    const png = await readSimLabel(p, m);
    const cropped = cropLabel(png.label, png.width, o.crop);
    labels.set(resizeLabel(cropped, o.crop.width, o.crop.height, W, H, o.labelResize), k * plane);
  }
  return { frames, labels, count: s.frames };
}

export async function loadSimData(dir: string, split: Split = 'all', opts: PreprocessOptions = {}): Promise<SegData> {
  const m = readManifest(dir);
  const size = opts.size ?? [64, 64];
  const [H, W] = size;
  const crop = resolveCrop(opts.crop, m.width, m.height);
  const o = { size, crop, labelResize: opts.labelResize ?? 'nearest', normalize: opts.normalize ?? true } as const;
  const b = new SegDataBuilder(H * W);
  const single = m.sequences.length === 1 && split !== 'all';
  const seqs = simSplitSequences(m.sequences.length, split);
  // what the manifest claims is checked before anything is allocated or read
  const claimed = seqs.reduce((n, si) => n + m.sequences[si]!.frames, 0);
  const bytes = claimed * (2 * H * W * 4 + H * W) * 2; // frames + labels, per sequence and then the whole set
  const maxBytes = opts.maxBytes ?? totalmem() / 2;
  if (bytes > maxBytes) {
    const gb = (x: number): string => (x / 2 ** 30).toFixed(x < 2 ** 30 ? 3 : 1);
    throw new InputFileError(join(dir, 'manifest.json'), `claim ${claimed} frames (${gb(bytes)} GiB while preprocessing to ${H}x${W})`, `at most ${gb(maxBytes)} GiB (half this machine's memory)`, 'sequences[].frames');
  }
  const skipped = new LoadCounter(opts.onWarning);
  const readEvents: EventFileReader = (path, onBatch) => readEventFileWith(path, onBatch, { onWarning: skipped.onWarning });
  /** Windows [k0, k1) of a sequence in this split (one sequence: its last 20 % are 'val'). */
  const range = (s: SimManifestLike['sequences'][number]): [number, number] => {
    if (!single) return [0, s.frames];
    const cut = s.frames - Math.max(1, Math.ceil(s.frames * 0.2));
    return split === 'train' ? [0, cut] : [cut, s.frames];
  };
  // missing labels are looked up on every load, cached or not: the summary must not depend on the cache
  const missing = new Map<number, Set<number>>();
  for (const si of seqs) {
    const s = m.sequences[si]!;
    checkInputFile(join(dir, s.events), `the events file of ${s.name} (manifest.json sequences[${si}].events)`);
    const [k0, k1] = range(s);
    const gone = new Set<number>();
    for (let k = k0; k < k1; k++) {
      if (existsSync(simLabelPath(dir, s, k))) continue;
      gone.add(k);
      skipped.missing(simLabelPath(dir, s, k));
    }
    missing.set(si, gone);
  }
  const key = cacheKey({ v: 1, size, crop, labelResize: o.labelResize, normalize: o.normalize, windowUs: m.windowUs, generator: m.generator, seed: m.seed });
  let done = 0;
  for (const si of seqs) {
    const s = m.sequences[si]!;
    const cdir = join(dir, s.name, '.cache');
    const fp = join(cdir, `${key}.frames.npy`);
    const lp = join(cdir, `${key}.labels.npy`);
    const useCache = opts.cache ?? true;
    // the labels folder's time changes when a label is added or deleted
    let data = useCache ? readCache(fp, lp, [join(dir, s.events), join(dir, 'manifest.json'), join(dir, s.labels)]) : undefined;
    if (!data || data.frames.length !== s.frames * 2 * H * W) {
      const r = await loadSimSequence(dir, m, s, o, readEvents);
      data = r;
      if (useCache) writeCache(cdir, fp, lp, r.frames, [s.frames, 2, H, W], r.labels, [s.frames, H, W]);
    }
    const [k0, k1] = range(s);
    const seqIdx = b.sequences.length;
    const gone = missing.get(si)!;
    b.sequences.push(s.name);
    // a window whose label is missing stays in the sequence (history of 'frames' mode) but unlabelled
    for (let k = k0; k < k1; k++) b.add(data.frames.slice(k * 2 * H * W, (k + 1) * 2 * H * W), gone.has(k) ? undefined : data.labels.slice(k * H * W, (k + 1) * H * W), seqIdx, k);
    opts.onProgress?.(++done, seqs.length, 'sequences');
  }
  // one window length for the set when every sequence read shares it (a checkpoint records it)
  const windows = new Set(seqs.map((si) => m.sequences[si]!.windowUs ?? m.windowUs));
  return b.build({ name: basename(dir), layout: 'sim', split, channels: 2, height: H, width: W, classes: NUM_CLASSES, summary: skipped.summary(), ...(windows.size === 1 ? { windowUs: [...windows][0]! } : {}) });
}
