/**
 * Labelled static-image segmentation sets (the paper's static, PASCAL VOC-style setting) as `SegData`,
 * so FrameDataset, the trainer and `evstream eval` use them unchanged. The trainer feeds each image
 * Poisson rate-coded for T steps (mode 'poisson').
 *
 * Layouts (`detectImageLayout`):
 * - 'voc': ROOT/JPEGImages/<id>.jpg, ROOT/SegmentationClass/<id>.png (palette PNGs in the VOC colour map;
 *   sharp decodes them to RGB, so colours are mapped back to indices with `vocColor`; (224,224,192) is
 *   the 255 "ignore" border, any other unknown colour -> 255), ROOT/ImageSets/Segmentation/{train,val}.txt.
 *   Splits: train, val; 'test' = 'val' (the VOC test masks are not public); 'all' = train + val. 21 classes.
 * - 'images': ROOT/images/<name>.{png,jpg,jpeg} + ROOT/masks/<name>.png (8-bit greyscale, pixel = class
 *   index, 255 = ignore). Splits from ROOT/splits.json { train, val, test: [names] } ('test' falls back
 *   to 'val'), else a fixed seeded shuffle of the sorted names: 80 % train, 10 % val, 10 % test (at
 *   least one each from 3 images; with fewer, every split is all images); 'all' = every image.
 *   Classes: the length of ROOT/classes.json (an array of names), else the largest label in any mask + 1.
 *
 * Preprocessing: RGB (greyscale expanded, alpha dropped) resized to the input size by bilinear
 * interpolation, scaled to [0, 1], normalised per channel with the ImageNet mean / std that VOC
 * segmentation models conventionally use (IMAGE_MEAN / IMAGE_STD), then clipped to [-1, 1]: the signed
 * Poisson coder spikes with probability |v|, so values beyond 1 would saturate anyway, and the clip keeps
 * the ANN twin's direct input on the same scale. `normalize: false` keeps RGB in [0, 1]. Masks are
 * decoded at full size (and must match their image's size), then resized by nearest neighbour (or
 * majority vote). The sensor `crop` option of event sets does not apply to images, and nothing is
 * cached (`cache` is ignored): decoding is fast next to training.
 */
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, extname, join } from 'node:path';
import sharp from 'sharp';
import { resizeLabel } from './labels-resize.js';
import type { PreprocessOptions, SegData, Split } from './seg-data.js';
import { IGNORE_LABEL, VOC_CLASS_NAMES, VOC_CLASSES, vocColor } from '../labels/index.js';

// The VOC names, count and colour map live in src/labels; re-exported for callers of the image loader.
export { VOC_CLASS_NAMES, VOC_CLASSES, vocColor };

export type ImageLayout = 'voc' | 'images';

/** Per-channel RGB mean / std of ImageNet (torchvision's Normalize constants). */
export const IMAGE_MEAN = [0.485, 0.456, 0.406] as const;
export const IMAGE_STD = [0.229, 0.224, 0.225] as const;

const IMAGE_EXTS = ['.png', '.jpg', '.jpeg'];
/** Images decoded at once (sharp works on libuv's thread pool). */
const CONCURRENCY = 8;

export type ImageDataErrorKind = 'missing-mask' | 'missing-image' | 'unreadable' | 'size-mismatch' | 'bad-label' | 'bad-split' | 'duplicate-name';

/** A problem with one file of a static-image set; `file` names it (also at the start of the message). */
export class ImageDataError extends Error {
  constructor(
    readonly kind: ImageDataErrorKind,
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'ImageDataError';
  }
}

// ------------------------------------------------------------------ VOC colour map

/** 0xRRGGBB -> label for indices 0..classes-1 and the 255 border; other colours are absent (-> 255). */
export function vocLabelLookup(classes = VOC_CLASSES): Map<number, number> {
  const m = new Map<number, number>();
  for (const i of [...Array.from({ length: classes }, (_, k) => k), IGNORE_LABEL]) {
    const [r, g, b] = vocColor(i);
    m.set((r << 16) | (g << 8) | b, i);
  }
  return m;
}

/** Interleaved RGB(+) pixels -> VOC labels. */
export function decodeVocMask(px: Uint8Array, channels: number, lookup: Map<number, number> = vocLabelLookup()): Uint8Array {
  const n = Math.floor(px.length / channels);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = lookup.get((px[i * channels]! << 16) | (px[i * channels + 1]! << 8) | px[i * channels + 2]!) ?? IGNORE_LABEL;
  return out;
}

// ------------------------------------------------------------------ layouts and splits

const isDir = (p: string): boolean => existsSync(p) && statSync(p).isDirectory();

export function detectImageLayout(root: string): ImageLayout | undefined {
  if (isDir(join(root, 'JPEGImages')) && isDir(join(root, 'SegmentationClass'))) return 'voc';
  if (isDir(join(root, 'images')) && isDir(join(root, 'masks'))) return 'images';
  return undefined;
}

interface Item {
  name: string;
  image: string;
  mask: string;
}

function readIds(file: string): string[] {
  if (!existsSync(file)) throw new ImageDataError('bad-split', file, 'split list not found (VOC layout: ImageSets/Segmentation/{train,val}.txt, one id per line)');
  return readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((s) => s.trim().split(/\s+/)[0]!)
    .filter((s) => s.length > 0);
}

function vocItems(root: string, split: Split): Item[] {
  const lists = split === 'all' ? ['train', 'val'] : [split === 'test' ? 'val' : split];
  const ids = [...new Set(lists.flatMap((l) => readIds(join(root, 'ImageSets', 'Segmentation', `${l}.txt`))))];
  return ids.map((id) => {
    const image = join(root, 'JPEGImages', `${id}.jpg`);
    const mask = join(root, 'SegmentationClass', `${id}.png`);
    if (!existsSync(image)) throw new ImageDataError('missing-image', image, `image of id '${id}' not found`);
    if (!existsSync(mask)) throw new ImageDataError('missing-mask', mask, `no mask for image ${image}`);
    return { name: id, image, mask };
  });
}

/** Every image of a folder-layout set with its mask, sorted by name. */
function folderAll(root: string): Item[] {
  const items: Item[] = [];
  const seen = new Set<string>();
  for (const f of readdirSync(join(root, 'images')).sort()) {
    const ext = extname(f).toLowerCase();
    if (!IMAGE_EXTS.includes(ext)) continue;
    const name = f.slice(0, f.length - ext.length);
    const image = join(root, 'images', f);
    const mask = join(root, 'masks', `${name}.png`);
    if (!existsSync(mask)) throw new ImageDataError('missing-mask', mask, `no mask for image ${image}`);
    if (seen.has(name)) throw new ImageDataError('duplicate-name', image, `two images named '${name}'`);
    seen.add(name);
    items.push({ name, image, mask });
  }
  if (!items.length) throw new ImageDataError('missing-image', join(root, 'images'), `no images (${IMAGE_EXTS.join(', ')})`);
  return items;
}

/** The default split of `n` sorted names: indices of a fixed seeded shuffle, 80 / 10 / 10 %. */
export function defaultImageSplit(n: number, split: Split): number[] {
  const all = Array.from({ length: n }, (_, i) => i);
  if (split === 'all' || n < 3) return all;
  // a shuffle, so names that sort by class ("cat_1", "dog_1") do not put whole classes in one split
  let s = 0x9e3779b9;
  const rnd = (): number => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const p = all.slice();
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  const k = Math.max(1, Math.round(n * 0.1));
  const pick = split === 'train' ? p.slice(0, n - 2 * k) : split === 'val' ? p.slice(n - 2 * k, n - k) : p.slice(n - k);
  return pick.sort((a, b) => a - b);
}

function folderItems(root: string, split: Split): { items: Item[]; all: Item[] } {
  const all = folderAll(root);
  if (split === 'all') return { items: all, all };
  const file = join(root, 'splits.json');
  if (!existsSync(file)) return { items: defaultImageSplit(all.length, split).map((i) => all[i]!), all };
  let lists: Partial<Record<string, unknown>>;
  try {
    lists = JSON.parse(readFileSync(file, 'utf8')) as Partial<Record<string, unknown>>;
  } catch (e) {
    throw new ImageDataError('bad-split', file, (e as Error).message);
  }
  const key = split === 'test' && lists.test === undefined ? 'val' : split;
  const names = lists[key];
  if (!Array.isArray(names) || !names.every((v) => typeof v === 'string')) throw new ImageDataError('bad-split', file, `expected "${key}": [image names]`);
  const byName = new Map(all.map((it) => [it.name, it]));
  const items = (names as string[]).map((raw) => {
    const ext = extname(raw).toLowerCase();
    const it = byName.get(IMAGE_EXTS.includes(ext) ? raw.slice(0, raw.length - ext.length) : raw);
    if (!it) throw new ImageDataError('bad-split', file, `"${key}" lists '${raw}', which is not in images/`);
    return it;
  });
  return { items, all };
}

function readClassNames(root: string): string[] | undefined {
  const file = join(root, 'classes.json');
  if (!existsSync(file)) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new ImageDataError('bad-label', file, (e as Error).message);
  }
  if (!Array.isArray(v) || v.length < 1 || v.length > 255 || !v.every((s) => typeof s === 'string')) throw new ImageDataError('bad-label', file, 'expected an array of 1..255 class names');
  return v as string[];
}

// ------------------------------------------------------------------ decoding

function readBytes(path: string, kind: ImageDataErrorKind): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new ImageDataError(kind, path, (e as Error).message);
  }
}

/** One image -> normalised [3, H, W] plus its original size. */
export async function readImage(path: string, size: [number, number], normalize = true): Promise<{ data: Float32Array; width: number; height: number }> {
  const [H, W] = size;
  const buf = readBytes(path, 'missing-image');
  let width: number;
  let height: number;
  let px: Buffer;
  try {
    const img = sharp(buf);
    const m = await img.metadata();
    width = m.width;
    height = m.height;
    px = await img.removeAlpha().toColourspace('srgb').resize(W, H, { fit: 'fill', kernel: 'linear' }).raw().toBuffer();
  } catch (e) {
    throw new ImageDataError('unreadable', path, `cannot decode the image (${(e as Error).message})`);
  }
  if (px.length !== 3 * H * W) throw new ImageDataError('unreadable', path, 'expected an 8-bit RGB or greyscale image');
  const plane = H * W;
  const out = new Float32Array(3 * plane);
  for (let c = 0; c < 3; c++) {
    const mean = IMAGE_MEAN[c]!;
    const std = IMAGE_STD[c]!;
    for (let i = 0; i < plane; i++) {
      const v = px[i * 3 + c]! / 255;
      out[c * plane + i] = normalize ? Math.max(-1, Math.min(1, (v - mean) / std)) : v;
    }
  }
  return { data: out, width, height };
}

/** One mask at full size: VOC colours -> indices, or grey values as indices. */
export async function readMask(path: string, kind: ImageLayout): Promise<{ data: Uint8Array; width: number; height: number }> {
  const buf = readBytes(path, 'missing-mask');
  let r: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    const img = kind === 'voc' ? sharp(buf).removeAlpha().toColourspace('srgb') : sharp(buf);
    r = await img.raw().toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new ImageDataError('unreadable', path, `cannot decode the mask (${(e as Error).message})`);
  }
  const px = r.data;
  const { width, height, channels } = r.info;
  const bytes = new Uint8Array(px.buffer, px.byteOffset, px.byteLength);
  if (bytes.length !== width * height * channels) throw new ImageDataError('bad-label', path, 'expected an 8-bit mask');
  if (kind === 'voc') return { data: decodeVocMask(bytes, channels), width, height };
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) {
    const v = bytes[i * channels]!;
    // a colour mask would silently turn its red channel into labels
    if (channels >= 3 && (bytes[i * channels + 1] !== v || bytes[i * channels + 2] !== v))
      throw new ImageDataError('bad-label', path, 'colour mask: the folder layout expects class indices as grey values (use the VOC layout for VOC-coloured masks)');
    out[i] = v;
  }
  return { data: out, width, height };
}

/** Map `fn` over `xs` with at most CONCURRENCY calls in flight, results in order. */
async function mapPool<T, R>(xs: T[], fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(xs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < xs.length) {
      const i = next++;
      out[i] = await fn(xs[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, xs.length) }, worker));
  return out;
}

const maxLabel = (l: Uint8Array): number => {
  let m = -1;
  for (const v of l) if (v !== IGNORE_LABEL && v > m) m = v;
  return m;
};

// ------------------------------------------------------------------ entry point

/** Load a split of a static-image set (VOC or folder layout, see the header). */
export async function loadImageData(root: string, split: Split, opts: PreprocessOptions = {}): Promise<SegData> {
  const layout = detectImageLayout(root);
  if (!layout) throw new Error(`${root}: not a static-image set (expected JPEGImages/ + SegmentationClass/, or images/ + masks/)`);
  const size = opts.size ?? [64, 64];
  const [H, W] = size;
  const plane = H * W;
  const { items, all } = layout === 'voc' ? { items: vocItems(root, split), all: undefined } : folderItems(root, split);
  const names = layout === 'voc' ? [...VOC_CLASS_NAMES] : readClassNames(root);
  const frames = new Float32Array(items.length * 3 * plane);
  const labels = new Uint8Array(items.length * plane);
  let top = -1;
  let done = 0;
  await mapPool(items, async (it, i) => {
    const [img, mask] = await Promise.all([readImage(it.image, size, opts.normalize ?? true), readMask(it.mask, layout)]);
    if (img.width !== mask.width || img.height !== mask.height) throw new ImageDataError('size-mismatch', it.mask, `mask is ${mask.width}x${mask.height} but its image ${it.image} is ${img.width}x${img.height}`);
    const m = maxLabel(mask.data);
    if (names && m >= names.length) throw new ImageDataError('bad-label', it.mask, `label ${m} >= the ${names.length} classes of classes.json`);
    top = Math.max(top, m);
    frames.set(img.data, i * 3 * plane);
    labels.set(resizeLabel(mask.data, mask.width, mask.height, W, H, opts.labelResize ?? 'nearest'), i * plane);
    opts.onProgress?.(++done, items.length, 'images');
  });
  let classes = names?.length;
  if (classes === undefined) {
    // from all masks, so every split of a set agrees on the class count
    const loaded = new Set(items.map((it) => it.name));
    const rest = (all ?? []).filter((it) => !loaded.has(it.name));
    for (const m of await mapPool(rest, async (it) => maxLabel((await readMask(it.mask, layout)).data))) top = Math.max(top, m);
    classes = Math.max(1, top + 1);
  }
  return {
    name: basename(root),
    layout,
    split,
    n: items.length,
    channels: 3,
    height: H,
    width: W,
    classes,
    ...(names ? { classNames: names } : {}),
    frames,
    labels,
    labelled: new Uint8Array(items.length).fill(1),
    // each image is its own one-window "sequence": there is no time axis ('frames' mode has no samples)
    seq: Int32Array.from(items, (_, i) => i),
    window: new Int32Array(items.length),
    sequences: items.map((it) => it.name),
  };
}
