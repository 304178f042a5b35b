/**
 * Segmentation datasets for training / evaluation, with the paper's DDD17 preprocessing:
 *   crop the 346 x 260 DAVIS346 sensor to its top 346 x 200 (hood rows dropped) -> two channels
 *   (ON, OFF counts of a 50 ms window) -> area-averaged resize to 64 x 64 -> per-channel min-max
 *   scaling to [-0.5, 0.5] (a constant channel, e.g. an empty window, maps to 0).
 * Labels follow the same crop and are resized by nearest neighbour (default; cv2.INTER_NEAREST as in
 * the reference loader: source index floor(dst * in / out)) or by majority vote over the covered
 * source pixels ('majority', ties -> lower id, 255 votes like a class).
 *
 * Note: the reference scales with sklearn's MinMaxScaler on each [H, W] channel, which in fact scales
 * every *column* separately; evstream follows PAPER.md (per channel, as `FrameBinner({ normalize })`).
 *
 * Sources (`openSegData(path, split)` detects the layout):
 * - evstream synthetic sets (`manifest.json`): each sequence's events are binned into the manifest's
 *   windows with `FrameBinner` (label k <-> window k = [t0 + k w, t0 + (k+1) w)). Sensors other than
 *   346 x 260 keep the same fraction of rows (round(H * 200 / 260)). Splits: 'all'; 'train' / 'val'
 *   by sequence (the last ceil(20 %) of the sequences are 'val', at least one when there are >= 2;
 *   'test' = 'val'); with one sequence its last 20 % of frames are 'val'. The preprocessed tensors of
 *   each sequence are cached as .npy beside it (`seq_XXX/.cache/`), keyed by the preprocessing.
 * - Ev-SegNet (`<root>/<split>/events|labels`): stored 200 x 346 event images, channels 0 and 1;
 *   splits train / test ('val' = 'test': Ev-SegNet has no validation split). Consecutive frames are
 *   `<rec>_<k>` with the same rec and consecutive k.
 * - ESS DDD17 drives (`dir0..dir6`): windows of the 50 ms index, splits train = dirs 0,2,3,5,6,
 *   valid ('val') = dir 1, test = dir 4.
 * - Static images ('voc': JPEGImages/ + SegmentationClass/; 'images': images/ + masks/): RGB frames
 *   [n, 3, H, W], one per image, for Poisson rate coding; see images.ts.
 *
 * Broken input names the file: a corrupt or wrongly sized label PNG or event image is an EventFormatError, a
 * bad manifest.json an InputFileError naming the field (checked by `parseSimManifest`, frame counts against
 * `maxBytes` before anything is allocated). A missing label leaves its window unlabelled and is counted in
 * `SegData.summary`; decoder warnings go to `onWarning` and are counted there too.
 *
 * A `SegData` holds frames [n, C, H, W] (C = 2 for events, 3 for images) and labels [n, H, W] in
 * memory (plus sequence / window ids); `FrameDataset` turns it into samples for one of the frame modes:
 * - 'poisson': one frame per sample, Poisson-sampled for T steps at batch time (the paper's default);
 * - 'frames': T consecutive windows of one sequence fed as the T steps, the label of the last;
 * - 'direct': the analog frame itself at every step (ANN twins use it with T = 1).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { readEventFile as readEventFileWith, type BatchHandler } from '../events/read-file.js';
import { EventFormatError, type FormatWarning } from '../events/errors.js';
import type { StreamInfo } from '../events/types.js';
import { checkInputFile, InputFileError, readInputFile } from '../util/input-error.js';
import { parseSimManifest, type SimManifestInput } from '../sim/dataset.js';
import { FrameBinner } from '../framing/binner.js';
import { DDD17_CROP, type CropRect } from '../framing/frame.js';
import { areaWeights, resizeArea } from '../framing/resize.js';
import { normalizeMinMax } from '../framing/normalize.js';
import { detectDatasetLayout, essSplit, evSegNetFolders, isEssDrive, readEssDrive, readEvSegNet, readLabelPng } from '../events/datasets/index.js';
import { decodeNpy, encodeNpy } from '../util/npy.js';
import { detectImageLayout, loadImageData } from './images.js';
import type { EventBatch } from '../events/types.js';

import { IGNORE_LABEL, NUM_CLASSES } from '../labels/index.js';
import { resizeLabel, type DataLayout, type LoadSummary, type PreprocessOptions, type SegData, type Split } from './seg-data.js';

export { resizeLabel, type DataLayout, type LabelResize, type LoadSummary, type PreprocessOptions, type SegData, type Split } from './seg-data.js';

export type FrameMode = 'poisson' | 'frames' | 'direct';

/** How many missing label files a summary lists by name. */
const MISSING_SHOWN = 5;

/** One line for a summary with something to report, else undefined. */
export function formatLoadSummary(path: string, s: LoadSummary | undefined): string | undefined {
  if (!s || (s.missingLabels === 0 && s.warnings === 0)) return undefined;
  const parts: string[] = [];
  if (s.missingLabels) {
    const more = s.missingLabels - s.missingLabelFiles.length;
    parts.push(`${s.missingLabels} label file${s.missingLabels === 1 ? '' : 's'} missing (those windows are not trained or evaluated on): ${s.missingLabelFiles.join(', ')}${more > 0 ? ` and ${more} more` : ''}`);
  }
  if (s.warnings) parts.push(`${s.warnings} warning${s.warnings === 1 ? '' : 's'} while reading`);
  return `${path}: ${parts.join('; ')}`;
}

/** Counts what a loader skips; `onWarning` forwards to the caller's. */
class Skipped {
  missing: string[] = [];
  warnings = 0;
  readonly onWarning: (w: FormatWarning) => void;
  constructor(forward?: (w: FormatWarning) => void) {
    this.onWarning = (w) => {
      this.warnings++;
      forward?.(w);
    };
  }
  summary(): LoadSummary {
    return { missingLabels: this.missing.length, missingLabelFiles: this.missing.slice(0, MISSING_SHOWN), warnings: this.warnings };
  }
}


// ------------------------------------------------------------------ helpers

/** The default crop for a sensor: DDD17's 346 x 200 on 346 x 260, else the same fraction of rows. */
export function defaultCrop(width: number, height: number): CropRect {
  if (width === 346 && height === 260) return { ...DDD17_CROP };
  return { x: 0, y: 0, width, height: Math.max(1, Math.round((height * 200) / 260)) };
}

function resolveCrop(c: PreprocessOptions['crop'], width: number, height: number): CropRect {
  if (c === undefined || c === 'ddd17') return defaultCrop(width, height);
  if (c === 'none') return { x: 0, y: 0, width, height };
  return c;
}

/** Crop a label plane (row-major, width x height). */
export function cropLabel(label: Uint8Array, width: number, crop: CropRect): Uint8Array {
  const out = new Uint8Array(crop.width * crop.height);
  for (let y = 0; y < crop.height; y++) out.set(label.subarray((crop.y + y) * width + crop.x, (crop.y + y) * width + crop.x + crop.width), y * crop.width);
  return out;
}


/** Two-channel [2, H, W] plane of a sensor-size image -> crop -> area resize -> (normalize). */
export function preprocessFrame(planes: Float32Array, inW: number, inH: number, crop: CropRect, size: [number, number], normalize = true): Float32Array {
  const plane = inW * inH;
  let src = planes;
  if (crop.x !== 0 || crop.y !== 0 || crop.width !== inW || crop.height !== inH) {
    src = new Float32Array(2 * crop.width * crop.height);
    for (let c = 0; c < 2; c++)
      for (let y = 0; y < crop.height; y++)
        src.set(planes.subarray(c * plane + (crop.y + y) * inW + crop.x, c * plane + (crop.y + y) * inW + crop.x + crop.width), c * crop.width * crop.height + y * crop.width);
  }
  const out = resizeArea(src, 2, crop.width, crop.height, size[1], size[0], areaWeights(crop.width, size[1]), areaWeights(crop.height, size[0]));
  if (normalize) normalizeMinMax(out, 2);
  return out;
}

/** ON / OFF counts of a batch of events on a width x height sensor -> [2, H, W]. */
export function countEvents(batch: EventBatch, width: number, height: number): Float32Array {
  const plane = width * height;
  const out = new Float32Array(2 * plane);
  for (let i = 0; i < batch.length; i++) {
    const x = batch.x[i]!;
    const y = batch.y[i]!;
    if (x < width && y < height) out[(batch.p[i]! ? 0 : plane) + y * width + x]!++;
  }
  return out;
}

class Builder {
  frames: Float32Array[] = [];
  labels: Uint8Array[] = [];
  labelled: number[] = [];
  seq: number[] = [];
  window: number[] = [];
  sequences: string[] = [];
  constructor(readonly plane: number) {}
  add(frame: Float32Array, label: Uint8Array | undefined, seq: number, window: number): void {
    this.frames.push(frame);
    this.labels.push(label ?? new Uint8Array(this.plane).fill(IGNORE_LABEL));
    this.labelled.push(label ? 1 : 0);
    this.seq.push(seq);
    this.window.push(window);
  }
  build(base: Omit<SegData, 'n' | 'frames' | 'labels' | 'labelled' | 'seq' | 'window' | 'sequences'>): SegData {
    const n = this.frames.length;
    const frames = new Float32Array(n * 2 * this.plane);
    const labels = new Uint8Array(n * this.plane);
    this.frames.forEach((f, i) => frames.set(f, i * 2 * this.plane));
    this.labels.forEach((l, i) => labels.set(l, i * this.plane));
    return { ...base, n, frames, labels, labelled: Uint8Array.from(this.labelled), seq: Int32Array.from(this.seq), window: Int32Array.from(this.window), sequences: this.sequences };
  }
}

// ------------------------------------------------------------------ synthetic sets

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

function cacheKey(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

function mtime(p: string): number {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return Infinity;
  }
}

function readCache(framesPath: string, labelsPath: string, newerThan: string[]): { frames: Float32Array; labels: Uint8Array } | undefined {
  if (!existsSync(framesPath) || !existsSync(labelsPath)) return undefined;
  const t = Math.min(mtime(framesPath), mtime(labelsPath));
  if (newerThan.some((p) => mtime(p) > t)) return undefined;
  try {
    const f = decodeNpy(new Uint8Array(readFileSync(framesPath)), framesPath);
    const l = decodeNpy(new Uint8Array(readFileSync(labelsPath)), labelsPath);
    if (!(f.data instanceof Float32Array) || !(l.data instanceof Uint8Array)) return undefined;
    return { frames: f.data, labels: l.data };
  } catch {
    return undefined;
  }
}

function writeCache(dir: string, framesPath: string, labelsPath: string, frames: Float32Array, fShape: number[], labels: Uint8Array, lShape: number[]): void {
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(framesPath, encodeNpy(frames, fShape));
    writeFileSync(labelsPath, encodeNpy(labels, lShape));
  } catch {
    // read-only dataset: no cache
  }
}

export async function loadSimData(dir: string, split: Split = 'all', opts: PreprocessOptions = {}): Promise<SegData> {
  const m = readManifest(dir);
  const size = opts.size ?? [64, 64];
  const [H, W] = size;
  const crop = resolveCrop(opts.crop, m.width, m.height);
  const o = { size, crop, labelResize: opts.labelResize ?? 'nearest', normalize: opts.normalize ?? true } as const;
  const b = new Builder(H * W);
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
  const skipped = new Skipped(opts.onWarning);
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
      skipped.missing.push(simLabelPath(dir, s, k));
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
  return b.build({ name: basename(dir), layout: 'sim', split, channels: 2, height: H, width: W, classes: NUM_CLASSES, summary: skipped.summary() });
}

// ------------------------------------------------------------------ Ev-SegNet

export async function loadEvSegNetData(root: string, split: Split, opts: PreprocessOptions = {}): Promise<SegData> {
  const size = opts.size ?? [64, 64];
  const [H, W] = size;
  const name = split === 'val' ? 'test' : split;
  const splits = name === 'all' ? ['train', 'test'] : [name];
  const b = new Builder(H * W);
  const seqIndex = new Map<string, number>();
  const skipped = new Skipped(opts.onWarning);
  for (const sp of splits) {
    const folders = evSegNetFolders(root, sp);
    if (!folders) throw new Error(`${root}: no Ev-SegNet split '${sp}' (${sp}/events + ${sp}/labels)`);
    const total = readdirSync(folders.events).filter((f) => f.toLowerCase().endsWith('.npy')).length;
    let done = 0;
    const items: { rec: string; k: number; frame: Float32Array; label: Uint8Array }[] = [];
    for await (const s of readEvSegNet(root, { split: sp, onWarning: skipped.onWarning, onMissingLabel: (p) => skipped.missing.push(p) })) {
      const crop: CropRect = opts.crop === undefined || opts.crop === 'ddd17' || opts.crop === 'none' ? { x: 0, y: 0, width: s.width, height: s.height } : opts.crop; // stored images are already 346 x 200
      const frame = preprocessFrame(s.events, s.width, s.height, crop, size, opts.normalize ?? true);
      const label = resizeLabel(cropLabel(s.label, s.width, crop), crop.width, crop.height, W, H, opts.labelResize ?? 'nearest');
      const m = /^(.*)_(\d+)$/.exec(s.id);
      items.push({ rec: `${sp}/${m ? m[1]! : s.id}`, k: m ? Number(m[2]) : 0, frame, label });
      opts.onProgress?.(++done, total, 'files');
    }
    items.sort((a, b2) => (a.rec < b2.rec ? -1 : a.rec > b2.rec ? 1 : a.k - b2.k));
    for (const it of items) {
      let si = seqIndex.get(it.rec);
      if (si === undefined) {
        si = b.sequences.length;
        seqIndex.set(it.rec, si);
        b.sequences.push(it.rec);
      }
      b.add(it.frame, it.label, si, it.k);
    }
  }
  return b.build({ name: basename(root), layout: 'evsegnet', split, channels: 2, height: H, width: W, classes: NUM_CLASSES, summary: skipped.summary() });
}

// ------------------------------------------------------------------ ESS DDD17

export async function loadEssData(path: string, split: Split, opts: PreprocessOptions = {}): Promise<SegData> {
  const size = opts.size ?? [64, 64];
  const [H, W] = size;
  const drives = isEssDrive(path) ? [path] : split === 'all' ? [...new Set([...essSplit(path, 'train'), ...essSplit(path, 'valid'), ...essSplit(path, 'test')])].sort() : essSplit(path, split === 'val' ? 'valid' : split);
  if (!drives.length) throw new Error(`${path}: no ESS drive dirs (dir0..dir6 with events.dat.t/.xyp and index/)`);
  const history = opts.history ?? 0;
  const b = new Builder(H * W);
  const skipped = new Skipped(opts.onWarning);
  for (const [di, drive] of drives.entries()) {
    b.sequences.push(basename(drive));
    const pending: { frame: Float32Array; window: number }[] = [];
    let lastKept = -Infinity;
    for await (const w of readEssDrive(drive, { onWarning: skipped.onWarning })) {
      const crop = resolveCrop(opts.crop, w.batch.width, w.batch.height);
      const frame = preprocessFrame(countEvents(w.batch, w.batch.width, w.batch.height), w.batch.width, w.batch.height, crop, size, opts.normalize ?? true);
      if (w.label) {
        // ESS masks are 346 x 200 (already the crop); larger masks are cropped like the events
        const lw = w.labelWidth!;
        const lh = w.labelHeight!;
        const lcrop = lw === crop.width && lh === crop.height ? { x: 0, y: 0, width: lw, height: lh } : crop;
        const label = resizeLabel(cropLabel(w.label, lw, lcrop), lcrop.width, lcrop.height, W, H, opts.labelResize ?? 'nearest');
        for (const p of pending) if (p.window > lastKept && p.window >= w.index - history) b.add(p.frame, undefined, di, p.window);
        pending.length = 0;
        b.add(frame, label, di, w.index);
        lastKept = w.index;
      } else if (history > 0) {
        pending.push({ frame, window: w.index });
        if (pending.length > history) pending.shift();
      }
      if (w.index % 200 === 0) opts.onProgress?.(w.index, NaN, `windows of ${basename(drive)}`);
    }
  }
  return b.build({ name: basename(path), layout: 'ess', split, channels: 2, height: H, width: W, classes: NUM_CLASSES, summary: skipped.summary() });
}

// ------------------------------------------------------------------ entry point

export function detectLayout(path: string): DataLayout | undefined {
  if (isSimDataset(path)) return 'sim';
  return detectDatasetLayout(path) ?? detectImageLayout(path);
}

/** Layouts of static images (one RGB frame per sample, no time axis). */
export function isStaticImageLayout(layout: DataLayout | undefined): layout is 'voc' | 'images' {
  return layout === 'voc' || layout === 'images';
}

/** Load a split of any supported layout. */
export async function openSegData(path: string, split: Split, opts: PreprocessOptions = {}): Promise<SegData> {
  if (!existsSync(path)) throw new Error(`dataset '${path}' does not exist`);
  const layout = detectLayout(path);
  const loaded = (data: SegData): SegData => {
    opts.onLoaded?.(path, data);
    return data;
  };
  switch (layout) {
    case 'sim':
      return loaded(await loadSimData(path, split, opts));
    case 'evsegnet':
      return loaded(await loadEvSegNetData(path, split, opts));
    case 'ess':
      return loaded(await loadEssData(path, split, opts));
    case 'voc':
    case 'images':
      return loaded(await loadImageData(path, split, opts));
    default:
      throw new Error(`${path}: not a dataset evstream knows (expected manifest.json of 'evstream simulate', an Ev-SegNet root <split>/events + <split>/labels, ESS DDD17 drive dirs, a VOC root JPEGImages/ + SegmentationClass/, or an image folder images/ + masks/)`);
  }
}

// ------------------------------------------------------------------ samples and batches

export interface Sample {
  /** One frame [C, H, W] ('poisson') or T frames ('frames'), oldest first. */
  frames: Float32Array[];
  /** [H, W] */
  label: Uint8Array;
  /** frame index in the SegData */
  index: number;
}

/** The samples of a SegData for a frame mode. */
export class FrameDataset {
  /** Frame index of each sample (the labelled, last frame). */
  readonly indices: Int32Array;
  readonly plane: number;

  constructor(
    readonly data: SegData,
    readonly mode: FrameMode,
    readonly T: number,
  ) {
    this.plane = data.height * data.width;
    const idx: number[] = [];
    for (let i = 0; i < data.n; i++) {
      if (!data.labelled[i]) continue;
      if (mode === 'frames') {
        let ok = i - T + 1 >= 0;
        for (let j = 1; ok && j < T; j++) ok = data.seq[i - j] === data.seq[i] && data.window[i - j] === data.window[i]! - j;
        if (!ok) continue;
      }
      idx.push(i);
    }
    this.indices = Int32Array.from(idx);
  }

  get length(): number {
    return this.indices.length;
  }
  get channels(): number {
    return this.data.channels;
  }
  get classes(): number {
    return this.data.classes;
  }
  get size(): [number, number] {
    return [this.data.height, this.data.width];
  }

  frame(i: number): Float32Array {
    const n = this.data.channels * this.plane;
    return this.data.frames.subarray(i * n, (i + 1) * n);
  }

  sample(s: number): Sample {
    const i = this.indices[s]!;
    const frames = this.mode === 'frames' ? Array.from({ length: this.T }, (_, j) => this.frame(i - this.T + 1 + j)) : [this.frame(i)];
    return { frames, label: this.data.labels.subarray(i * this.plane, (i + 1) * this.plane), index: i };
  }

  /**
   * Model input x [T, N, C, H, W] and labels [N, H, W] for samples `which`. Poisson mode draws
   * T signed spike maps per sample from `rng` (spike = sign(v) if u <= |v|, u ~ U[0,1)).
   */
  batch(which: ArrayLike<number>, rng?: () => number): { x: Float32Array; y: Uint8Array; shape: [number, number, number, number, number]; inputSpikes: number } {
    const N = which.length;
    const T = this.T;
    const fn = this.data.channels * this.plane;
    const x = new Float32Array(T * N * fn);
    const y = new Uint8Array(N * this.plane);
    let spikes = 0;
    for (let b = 0; b < N; b++) {
      const s = this.sample(which[b]!);
      y.set(s.label, b * this.plane);
      for (let t = 0; t < T; t++) {
        const off = (t * N + b) * fn;
        if (this.mode === 'frames') x.set(s.frames[t]!, off);
        else if (this.mode === 'direct') x.set(s.frames[0]!, off);
        else {
          if (!rng) throw new Error('FrameDataset.batch: poisson mode needs an rng');
          const f = s.frames[0]!;
          for (let i = 0; i < fn; i++) {
            const v = f[i]!;
            if (rng() <= Math.abs(v) && v !== 0) {
              x[off + i] = v > 0 ? 1 : -1;
              spikes++;
            }
          }
        }
      }
    }
    return { x, y, shape: [T, N, this.data.channels, this.data.height, this.data.width], inputSpikes: spikes };
  }
}
