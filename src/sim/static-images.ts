/**
 * A small labelled static-image segmentation set drawn from seeded shapes, so the static (VOC-style)
 * training path runs without PASCAL VOC. Classes: 0 background, 1 circle, 2 square, 3 triangle; each
 * has its own colour distribution and texture (background: tinted gradient; circle: radial shading;
 * square: stripes; triangle: speckle), plus pixel noise. 1-3 objects per image, later ones on top.
 * As in VOC, a band of `border` pixels on each side of every outline is labelled 255 (ignore).
 *
 * Layouts (read by src/train/images.ts):
 * - 'voc': JPEGImages/<id>.jpg, SegmentationClass/<id>.png (RGB PNGs in the VOC colour map, which is
 *   what sharp decodes VOC's palette PNGs to), ImageSets/Segmentation/{train,val,trainval}.txt
 *   (the last ceil(20 %) of the ids are val, at least one from 2 images).
 * - 'images': images/<id>.png (or .jpg), masks/<id>.png (greyscale class indices), classes.json;
 *   no splits.json, so the loader's default 80 / 10 / 10 split applies.
 * The same seed gives the same pixels and labels (JPEG files may differ across libjpeg builds).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import sharp from 'sharp';
import { IGNORE_LABEL, vocColor } from '../labels/index.js';
import { hashSeed, Rng } from './prng.js';

export const STATIC_CLASS_NAMES = ['background', 'circle', 'square', 'triangle'] as const;

export type StaticImageLayout = 'voc' | 'images';

export interface StaticImageOptions {
  seed: number;
  count: number;
  /** Image size (default 96 x 72). */
  width?: number;
  height?: number;
  layout: StaticImageLayout;
  /** Ignore band on each side of an outline, in pixels (default 1; 0 = none). */
  border?: number;
  /** Image files of the 'images' layout (default png; 'voc' is always jpg). */
  imageFormat?: 'png' | 'jpg';
}

export interface StaticImageSummary {
  layout: StaticImageLayout;
  width: number;
  height: number;
  classes: string[];
  ids: string[];
  /** The VOC lists (the 'images' layout leaves splitting to the loader: both empty). */
  train: string[];
  val: string[];
}

/** Mean RGB (0..255) and per-object jitter of each class. */
const PALETTE: readonly { mean: [number, number, number]; jitter: number }[] = [
  { mean: [110, 120, 95], jitter: 30 },
  { mean: [200, 60, 50], jitter: 25 },
  { mean: [50, 80, 200], jitter: 25 },
  { mean: [215, 190, 40], jitter: 25 },
];

interface Shape {
  cls: 1 | 2 | 3;
  cx: number;
  cy: number;
  r: number;
  angle: number;
  color: [number, number, number];
}

/** Shape-local coordinates (rotated into the shape's frame, scaled by r) -> inside? */
function inside(s: Shape, x: number, y: number): { in: boolean; u: number; v: number } {
  const dx = (x + 0.5 - s.cx) / s.r;
  const dy = (y + 0.5 - s.cy) / s.r;
  const c = Math.cos(s.angle);
  const sn = Math.sin(s.angle);
  const u = c * dx + sn * dy;
  const v = -sn * dx + c * dy;
  if (s.cls === 1) return { in: u * u + v * v <= 1, u, v };
  if (s.cls === 2) return { in: Math.abs(u) <= 0.8 && Math.abs(v) <= 0.8, u, v };
  // equilateral triangle with circumradius 1: three half-planes
  let ok = true;
  for (let k = 0; k < 3 && ok; k++) {
    const a = (2 * Math.PI * k) / 3;
    ok = u * Math.cos(a) + v * Math.sin(a) <= 0.5;
  }
  return { in: ok, u, v };
}

const clamp8 = (v: number): number => Math.max(0, Math.min(255, Math.round(v)));

/** Image `index` of a set: RGB (interleaved, width x height) and its labels. */
export function renderStaticImage(seed: number, index: number, width: number, height: number, border = 1): { rgb: Uint8Array; label: Uint8Array } {
  const rng = new Rng(hashSeed(seed, index, 0x57a71c));
  const jitter = (c: number): [number, number, number] => PALETTE[c]!.mean.map((m) => m + PALETTE[c]!.jitter * rng.normal()) as [number, number, number];
  const bg = jitter(0);
  const gx = rng.range(-40, 40);
  const gy = rng.range(-40, 40);
  const shapes: Shape[] = [];
  const n = 1 + rng.int(3);
  const m = Math.min(width, height);
  for (let k = 0; k < n; k++) {
    const cls = (1 + rng.int(3)) as 1 | 2 | 3;
    const r = m * rng.range(0.15, 0.32);
    shapes.push({ cls, cx: rng.range(0.15, 0.85) * width, cy: rng.range(0.15, 0.85) * height, r, angle: rng.range(0, 2 * Math.PI), color: jitter(cls) });
  }
  const stripe = rng.range(4, 8); // stripes per radius of the squares
  const rgb = new Uint8Array(width * height * 3);
  const label = new Uint8Array(width * height);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      let col: [number, number, number] = [bg[0] + (gx * x) / width, bg[1] + (gx * x) / width + (gy * y) / height, bg[2] + (gy * y) / height];
      let l = 0;
      for (const s of shapes) {
        const p = inside(s, x, y);
        if (!p.in) continue;
        l = s.cls;
        const shade = s.cls === 1 ? 40 * (0.5 - Math.hypot(p.u, p.v)) : s.cls === 2 ? 30 * Math.sin(Math.PI * stripe * p.u) : 35 * rng.normal();
        col = [s.color[0] + shade, s.color[1] + shade, s.color[2] + shade];
      }
      label[i] = l;
      for (let c = 0; c < 3; c++) rgb[i * 3 + c] = clamp8(col[c]! + 8 * rng.normal());
    }
  if (border > 0) {
    // pixels with a different label within `border` (Chebyshev) lie on an outline
    const out = label.slice();
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++) {
        const l = label[y * width + x]!;
        let edge = false;
        for (let yy = Math.max(0, y - border); yy <= Math.min(height - 1, y + border) && !edge; yy++)
          for (let xx = Math.max(0, x - border); xx <= Math.min(width - 1, x + border) && !edge; xx++) edge = label[yy * width + xx] !== l;
        if (edge) out[y * width + x] = IGNORE_LABEL;
      }
    return { rgb, label: out };
  }
  return { rgb, label };
}

/** Labels -> RGB in the VOC colour map (255 -> the (224, 224, 192) border colour). */
function vocRgb(label: Uint8Array): Uint8Array {
  const out = new Uint8Array(label.length * 3);
  const colors = new Map<number, [number, number, number]>();
  for (let i = 0; i < label.length; i++) {
    const l = label[i]!;
    let c = colors.get(l);
    if (!c) colors.set(l, (c = vocColor(l)));
    out.set(c, i * 3);
  }
  return out;
}

const rawImage = (data: Uint8Array, width: number, height: number, channels: 1 | 3): ReturnType<typeof sharp> => sharp(Buffer.from(data.buffer, data.byteOffset, data.byteLength), { raw: { width, height, channels } });

export async function writeStaticImageDataset(dir: string, o: StaticImageOptions): Promise<StaticImageSummary> {
  const width = o.width ?? 96;
  const height = o.height ?? 72;
  if (!Number.isInteger(o.count) || o.count < 1) throw new Error(`count must be a positive integer, got ${o.count}`);
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= 8 && height >= 8)) throw new Error(`image size must be at least 8 x 8, got ${width} x ${height}`);
  const voc = o.layout === 'voc';
  const [imgDir, maskDir] = voc ? [join(dir, 'JPEGImages'), join(dir, 'SegmentationClass')] : [join(dir, 'images'), join(dir, 'masks')];
  await mkdir(imgDir, { recursive: true });
  await mkdir(maskDir, { recursive: true });
  const ext = voc || o.imageFormat === 'jpg' ? 'jpg' : 'png';
  const ids = Array.from({ length: o.count }, (_, i) => `img_${String(i).padStart(6, '0')}`);
  for (const [i, id] of ids.entries()) {
    const { rgb, label } = renderStaticImage(o.seed, i, width, height, o.border ?? 1);
    const img = rawImage(rgb, width, height, 3);
    await (ext === 'jpg' ? img.jpeg({ quality: 90 }) : img.png()).toFile(join(imgDir, `${id}.${ext}`));
    const mask = voc ? rawImage(vocRgb(label), width, height, 3) : rawImage(label, width, height, 1).toColourspace('b-w'); // else sharp writes 1 channel as RGB
    await mask.png().toFile(join(maskDir, `${id}.png`));
  }
  const summary: StaticImageSummary = { layout: o.layout, width, height, classes: [...STATIC_CLASS_NAMES], ids, train: [], val: [] };
  if (voc) {
    const nVal = o.count >= 2 ? Math.max(1, Math.ceil(o.count * 0.2)) : 0;
    summary.train = ids.slice(0, o.count - nVal);
    summary.val = nVal ? ids.slice(o.count - nVal) : ids.slice();
    const sets = join(dir, 'ImageSets', 'Segmentation');
    await mkdir(sets, { recursive: true });
    const list = (xs: string[]): string => xs.map((s) => s + '\n').join('');
    await writeFile(join(sets, 'train.txt'), list(summary.train));
    await writeFile(join(sets, 'val.txt'), list(summary.val));
    await writeFile(join(sets, 'trainval.txt'), list(ids));
  } else await writeFile(join(dir, 'classes.json'), JSON.stringify(STATIC_CLASS_NAMES) + '\n');
  return summary;
}
