/**
 * Ev-SegNet's DDD17 segmentation dataset (Alonso & Murillo, CVPRW 2019; github.com/Shathe/Ev-SegNet).
 *
 * Layout (utils/Loader.py globs `<root>/*\/*\/*` and keeps paths containing `/<split>/` and `/events/` or
 * `/labels/`; generate_dataset.py writes `<root>/<kind>/<split>/`, the downloadable archive is
 * `<root>/<split>/<kind>/`; both are accepted):
 *   <root>/<split>/events/<name>.npy   float, (200, 346, 6)
 *   <root>/<split>/labels/<name>.png   uint8, 200 x 346, classes 0..5, 255 = ignore
 *   <root>/<split>/images/<name>.png   (grayscale APS frame; not read here)
 * Names look like `rec1487339175_export_123`; events and labels are paired by name (the loader pairs them
 * by sorted order, which is the same when both folders are complete). Splits: `train`, `test`, `other`.
 *
 * Channels of the event image (show_events.py): 0 ON histogram, 1 OFF histogram, 2 ON mean timestamp,
 * 3 ON timestamp std, 4 OFF mean timestamp, 5 OFF timestamp std (already normalised by the authors).
 * `events` is the documented 2-channel reduction: [ON, OFF] = channels 0 and 1 as stored, channel-first
 * (2, H, W). `raw` is the whole stored image, channel-last (H, W, C) as in the file.
 * Label values >= 6 other than 255 are mapped to 255 (the loader ignores every value >= n_classes).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import sharp from 'sharp';
import { NpyError, readNpy } from '../../util/npy.js';
import { EventFormatError, type FormatWarning } from '../errors.js';
import { IGNORE_LABEL, NUM_CLASSES } from '../../labels/index.js';

export interface EvSegNetSample {
  id: string;
  width: number;
  height: number;
  /** (2, H, W): ON then OFF channel (stored channels 0 and 1). */
  events: Float32Array;
  /** The stored image (H, W, channels), channel-last. */
  raw: Float32Array;
  channels: number;
  /** (H, W) class ids 0..5, 255 = ignore. */
  label: Uint8Array;
}

export interface EvSegNetOptions {
  split: string;
  onWarning?: (w: FormatWarning) => void;
  /** Called with the expected label path of each event image skipped for want of a label (after onWarning). */
  onMissingLabel?: (labelPath: string) => void;
  signal?: AbortSignal;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The events and labels folders of a split, in either layout, or undefined. */
export function evSegNetFolders(root: string, split: string): { events: string; labels: string } | undefined {
  for (const [events, labels] of [
    [join(root, split, 'events'), join(root, split, 'labels')],
    [join(root, 'events', split), join(root, 'labels', split)],
  ] as const) {
    if (isDir(events) && isDir(labels)) return { events, labels };
  }
  return undefined;
}

/** Splits present under `root` (folders that have both events and labels). */
export function evSegNetSplits(root: string): string[] {
  const found = new Set<string>();
  const candidates = isDir(root) ? readdirSync(root) : [];
  for (const c of candidates) if (evSegNetFolders(root, c)) found.add(c);
  if (isDir(join(root, 'events'))) for (const c of readdirSync(join(root, 'events'))) if (evSegNetFolders(root, c)) found.add(c);
  return [...found].sort();
}

const natural = (a: string, b: string): number => a.localeCompare(b, 'en', { numeric: true });

/**
 * Label images are sensor-sized (346 x 200 here, 1280 x 720 for the largest event cameras); a PNG claiming
 * more pixels than this is refused before it is decoded, so a small file cannot expand to gigabytes.
 */
export const MAX_LABEL_PIXELS = 4096 * 4096;

/**
 * Decode a label PNG to one uint8 per pixel (first channel of gray / RGB files). A missing, truncated or
 * corrupt file is an EventFormatError naming it (sharp's own messages do not say which file).
 */
export async function readLabelPng(path: string): Promise<{ label: Uint8Array; width: number; height: number }> {
  let decoded: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    // sharp's default failOn 'warning' makes a PNG cut short an error, not an image missing its bottom rows
    decoded = await sharp(readFileSync(path), { limitInputPixels: MAX_LABEL_PIXELS }).raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new EventFormatError('corrupt-packet', path, 0, 'a PNG label image (one class id per pixel)', (e as Error).message.replace(/\s+/g, ' ').trim());
  }
  const { data, info } = decoded;
  const n = info.width * info.height;
  const label = new Uint8Array(n);
  const c = info.channels;
  for (let i = 0; i < n; i++) label[i] = data[i * c]!;
  return { label, width: info.width, height: info.height };
}

export async function* readEvSegNet(root: string, opts: EvSegNetOptions): AsyncGenerator<EvSegNetSample> {
  const folders = evSegNetFolders(root, opts.split);
  if (!folders) {
    throw new EventFormatError('unknown-format', root, 0, `Ev-SegNet folders ${opts.split}/events and ${opts.split}/labels (or events/${opts.split}, labels/${opts.split})`, 'not found');
  }
  const labelByName = new Map<string, string>();
  for (const f of readdirSync(folders.labels)) if (f.toLowerCase().endsWith('.png')) labelByName.set(f.slice(0, -4), join(folders.labels, f));
  const eventFiles = readdirSync(folders.events).filter((f) => f.toLowerCase().endsWith('.npy')).sort(natural);
  for (const f of eventFiles) {
    opts.signal?.throwIfAborted();
    const id = f.slice(0, -4);
    const labelPath = labelByName.get(id);
    const eventPath = join(folders.events, f);
    if (!labelPath) {
      opts.onWarning?.({ kind: 'unsupported', source: eventPath, offset: 0, message: `${eventPath}: no label ${id}.png in ${folders.labels}; sample skipped` });
      opts.onMissingLabel?.(join(folders.labels, `${id}.png`));
      continue;
    }
    yield await loadSample(id, eventPath, labelPath);
  }
}

async function loadSample(id: string, eventPath: string, labelPath: string): Promise<EvSegNetSample> {
  let npy;
  try {
    npy = readNpy(eventPath);
  } catch (e) {
    // as the ESS index: .npy problems are dataset errors naming the file and byte
    if (e instanceof NpyError) throw new EventFormatError(/truncated/.test(e.message) ? 'truncated' : 'bad-header', eventPath, e.offset, 'a float (H, W, C) .npy event image', e.message);
    throw e;
  }
  if (npy.shape.length !== 3 || npy.shape[2]! < 2 || npy.fortranOrder) {
    throw new EventFormatError('bad-header', eventPath, 0, 'a C-order (H, W, C >= 2) event image', `shape (${npy.shape.join(', ')})${npy.fortranOrder ? ' Fortran order' : ''}`);
  }
  if (!(npy.data instanceof Float32Array || npy.data instanceof Float64Array)) {
    throw new EventFormatError('unsupported', eventPath, 0, 'float32 or float64 event image', npy.dtype);
  }
  const [height, width, channels] = npy.shape as [number, number, number];
  const raw = npy.data instanceof Float32Array ? npy.data : Float32Array.from(npy.data);
  const plane = width * height;
  const events = new Float32Array(2 * plane);
  for (let i = 0; i < plane; i++) {
    events[i] = raw[i * channels]!;
    events[plane + i] = raw[i * channels + 1]!;
  }
  const png = await readLabelPng(labelPath);
  if (png.width !== width || png.height !== height) {
    throw new EventFormatError('bad-header', labelPath, 0, `a ${width} x ${height} label for ${basename(eventPath)}`, `${png.width} x ${png.height}`);
  }
  const label = png.label;
  for (let i = 0; i < label.length; i++) if (label[i]! >= NUM_CLASSES) label[i] = IGNORE_LABEL;
  return { id, width, height, events, raw, channels, label };
}

/** True when `root` looks like an Ev-SegNet dataset (some split with events + labels folders). */
export function isEvSegNetRoot(root: string): boolean {
  return existsSync(root) && evSegNetSplits(root).length > 0;
}
