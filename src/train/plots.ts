/**
 * Small hand-written SVG charts (no plotting dependency) and PNG output through sharp:
 * `lineChart` (x/y series, optional log x, legend), `barChart` (grouped bars, optional log y),
 * `overlayPanel` (event frame | prediction | ground truth, DDD17 class colours of src/labels).
 */
import sharp from 'sharp';
import { writeFileSync } from 'node:fs';
import { CLASS_COLORS, CLASS_NAMES, IGNORE_COLOR } from '../labels/index.js';

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#17becf', '#7f7f7f'];

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceTicks(lo: number, hi: number, n = 5): number[] {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / n;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? raw;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return out;
}

function fmtTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(0);
  return String(Number(v.toPrecision(4)));
}

export interface Series {
  name: string;
  points: [number, number][];
  color?: string;
  dashed?: boolean;
}

export interface LineChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  width?: number;
  height?: number;
  xLog?: boolean;
  yMin?: number;
  yMax?: number;
  /** Horizontal reference lines. */
  hlines?: { y: number; label: string; color?: string }[];
}

export function lineChart(o: LineChartOptions): string {
  const W = o.width ?? 640;
  const H = o.height ?? 420;
  const m = { l: 70, r: 20, t: 62, b: 55 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const all = o.series.flatMap((s) => s.points);
  const xs = all.map((p) => p[0]);
  const ys = [...all.map((p) => p[1]), ...(o.hlines ?? []).map((h) => h.y)];
  const tx = (v: number): number => (o.xLog ? Math.log2(v) : v);
  let x0 = Math.min(...xs.map(tx));
  let x1 = Math.max(...xs.map(tx));
  if (!(x1 > x0)) {
    x0 -= 1;
    x1 += 1;
  }
  let y0 = o.yMin ?? Math.min(0, ...ys);
  const yHi = Math.max(...ys);
  let y1 = o.yMax ?? yHi + 0.08 * Math.max(1e-9, yHi - y0);
  if (!(y1 > y0)) y1 = y0 + 1;
  const yt = niceTicks(y0, y1);
  if (o.yMax === undefined) y1 = Math.max(y1, yt[yt.length - 1]!);
  if (o.yMin === undefined) y0 = Math.min(y0, yt[0]!);
  const X = (v: number): number => m.l + ((tx(v) - x0) / (x1 - x0)) * pw;
  const Y = (v: number): number => m.t + ph - ((v - y0) / (y1 - y0)) * ph;
  const xt = o.xLog ? [...new Set(xs)].sort((a, b) => a - b) : niceTicks(x0, x1);
  const parts: string[] = [];
  parts.push(`<rect width="${W}" height="${H}" fill="white"/>`);
  parts.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(o.title)}</text>`);
  for (const v of yt) {
    if (v < y0 - 1e-12 || v > y1 + 1e-12) continue;
    parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${Y(v)}" y2="${Y(v)}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${m.l - 6}" y="${Y(v) + 4}" text-anchor="end" font-size="12">${fmtTick(v)}</text>`);
  }
  for (const v of xt) {
    parts.push(`<line x1="${X(v)}" x2="${X(v)}" y1="${m.t + ph}" y2="${m.t + ph + 5}" stroke="black"/>`);
    parts.push(`<text x="${X(v)}" y="${m.t + ph + 19}" text-anchor="middle" font-size="12">${fmtTick(v)}</text>`);
  }
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  parts.push(`<text x="${m.l + pw / 2}" y="${H - 12}" text-anchor="middle" font-size="13">${esc(o.xLabel)}</text>`);
  parts.push(`<text transform="translate(18 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" font-size="13">${esc(o.yLabel)}</text>`);
  for (const h of o.hlines ?? []) {
    const c = h.color ?? '#555';
    parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${Y(h.y)}" y2="${Y(h.y)}" stroke="${c}" stroke-dasharray="6 4"/>`);
    parts.push(`<text x="${m.l + pw - 4}" y="${Y(h.y) - 5}" text-anchor="end" font-size="11" fill="${c}">${esc(h.label)}</text>`);
  }
  o.series.forEach((s, i) => {
    const c = s.color ?? PALETTE[i % PALETTE.length]!;
    const pts = s.points.map(([x, y]) => `${X(x).toFixed(1)},${Y(y).toFixed(1)}`).join(' ');
    if (s.points.length > 1) parts.push(`<polyline points="${pts}" fill="none" stroke="${c}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    if (s.points.length <= 40) for (const [x, y] of s.points) parts.push(`<circle cx="${X(x).toFixed(1)}" cy="${Y(y).toFixed(1)}" r="3.5" fill="${c}"/>`);
  });
  // legend: one row under the title
  let lx = m.l;
  o.series.forEach((s, i) => {
    const c = s.color ?? PALETTE[i % PALETTE.length]!;
    parts.push(`<line x1="${lx}" x2="${lx + 22}" y1="${m.t - 14}" y2="${m.t - 14}" stroke="${c}" stroke-width="3"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(`<text x="${lx + 28}" y="${m.t - 10}" font-size="12">${esc(s.name)}</text>`);
    lx += 28 + s.name.length * 7 + 20;
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">${parts.join('')}</svg>`;
}

export interface BarChartOptions {
  title: string;
  yLabel: string;
  categories: string[];
  series: { name: string; values: number[]; color?: string }[];
  width?: number;
  height?: number;
  yLog?: boolean;
  /** Value labels above bars (formatter). */
  label?: (v: number) => string;
}

export function barChart(o: BarChartOptions): string {
  const W = o.width ?? Math.max(640, o.categories.length * 60 * Math.max(1, o.series.length * 0.6) + 120);
  const H = o.height ?? 420;
  const m = { l: 75, r: 80, t: o.series.length > 1 ? 62 : 40, b: 95 };
  const pw = W - m.l - m.r;
  const ph = H - m.t - m.b;
  const vals = o.series.flatMap((s) => s.values).filter((v) => Number.isFinite(v));
  const pos = vals.filter((v) => v > 0);
  let y0: number;
  let y1: number;
  let ticks: number[];
  let Y: (v: number) => number;
  if (o.yLog) {
    y0 = Math.floor(Math.log10(Math.min(...(pos.length ? pos : [1]))));
    y1 = Math.ceil(Math.log10(Math.max(...(pos.length ? pos : [10]))));
    if (y1 <= y0) y1 = y0 + 1;
    ticks = Array.from({ length: y1 - y0 + 1 }, (_, i) => 10 ** (y0 + i));
    Y = (v: number): number => m.t + ph - ((Math.log10(Math.max(v, 10 ** y0)) - y0) / (y1 - y0)) * ph;
  } else {
    y0 = 0;
    const hi = Math.max(1e-9, ...vals);
    ticks = niceTicks(0, hi);
    y1 = Math.max(hi, ticks[ticks.length - 1]!);
    Y = (v: number): number => m.t + ph - ((v - y0) / (y1 - y0)) * ph;
  }
  const parts: string[] = [`<rect width="${W}" height="${H}" fill="white"/>`];
  parts.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="16" font-weight="bold">${esc(o.title)}</text>`);
  for (const v of ticks) {
    parts.push(`<line x1="${m.l}" x2="${m.l + pw}" y1="${Y(v)}" y2="${Y(v)}" stroke="#e0e0e0"/>`);
    parts.push(`<text x="${m.l - 6}" y="${Y(v) + 4}" text-anchor="end" font-size="12">${fmtTick(v)}</text>`);
  }
  const groupW = pw / o.categories.length;
  const bw = (groupW * 0.8) / o.series.length;
  o.categories.forEach((c, ci) => {
    const gx = m.l + ci * groupW + groupW * 0.1;
    o.series.forEach((s, si) => {
      const v = s.values[ci]!;
      if (!Number.isFinite(v)) return;
      const col = s.color ?? PALETTE[si % PALETTE.length]!;
      const top = Y(o.yLog ? Math.max(v, 10 ** y0) : v);
      parts.push(`<rect x="${(gx + si * bw).toFixed(1)}" y="${top.toFixed(1)}" width="${(bw * 0.92).toFixed(1)}" height="${(m.t + ph - top).toFixed(1)}" fill="${col}"/>`);
      if (o.label) parts.push(`<text x="${(gx + si * bw + bw * 0.46).toFixed(1)}" y="${(top - 3).toFixed(1)}" text-anchor="middle" font-size="${o.series.length > 1 ? 9 : 11}">${esc(o.label(v))}</text>`);
    });
    const lx = gx + groupW * 0.4;
    parts.push(`<text transform="translate(${lx.toFixed(1)} ${m.t + ph + 12}) rotate(35)" font-size="12">${esc(c)}</text>`);
  });
  parts.push(`<rect x="${m.l}" y="${m.t}" width="${pw}" height="${ph}" fill="none" stroke="black"/>`);
  parts.push(`<text transform="translate(18 ${m.t + ph / 2}) rotate(-90)" text-anchor="middle" font-size="13">${esc(o.yLabel)}</text>`);
  if (o.series.length > 1) {
    let lx = m.l;
    o.series.forEach((s, i) => {
      parts.push(`<rect x="${lx}" y="${m.t - 24}" width="14" height="12" fill="${s.color ?? PALETTE[i % PALETTE.length]!}"/>`);
      parts.push(`<text x="${lx + 20}" y="${m.t - 14}" font-size="12">${esc(s.name)}</text>`);
      lx += 20 + s.name.length * 7 + 20;
    });
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">${parts.join('')}</svg>`;
}

/** Write an SVG and its PNG rendering (`<stem>.svg`, `<stem>.png`). */
export async function writePlot(stem: string, svg: string): Promise<{ svg: string; png: string }> {
  writeFileSync(`${stem}.svg`, svg);
  await sharp(Buffer.from(svg)).png().toFile(`${stem}.png`);
  return { svg: `${stem}.svg`, png: `${stem}.png` };
}

/** RGB image of an event frame [2, H, W] normalised to [-0.5, 0.5]: ON red, OFF cyan, on black. */
export function eventFrameRgb(frame: Float32Array, H: number, W: number): Uint8Array {
  const plane = H * W;
  const out = new Uint8Array(plane * 3);
  for (let i = 0; i < plane; i++) {
    const on = Math.max(0, Math.min(1, frame[i]! + 0.5));
    const off = Math.max(0, Math.min(1, frame[plane + i]! + 0.5));
    out[i * 3] = Math.round(255 * on);
    out[i * 3 + 1] = Math.round(200 * off);
    out[i * 3 + 2] = Math.round(255 * off);
  }
  return out;
}

/** RGB image of a class map (CLASS_COLORS, ignore black). */
export function classMapRgb(map: ArrayLike<number>, H: number, W: number): Uint8Array {
  const out = new Uint8Array(H * W * 3);
  for (let i = 0; i < H * W; i++) {
    const c = CLASS_COLORS[map[i]!] ?? IGNORE_COLOR;
    out[i * 3] = c[0];
    out[i * 3 + 1] = c[1];
    out[i * 3 + 2] = c[2];
  }
  return out;
}

async function rgbPng(rgb: Uint8Array, H: number, W: number, scale: number): Promise<string> {
  const b = await sharp(Buffer.from(rgb), { raw: { width: W, height: H, channels: 3 } }).resize(W * scale, H * scale, { kernel: 'nearest' }).png().toBuffer();
  return b.toString('base64');
}

/**
 * PNG with rows of [event frame | prediction | ground truth] (nearest-neighbour upscaled by `scale`),
 * column titles, a per-row caption and a class-colour legend.
 */
export async function overlayPanel(path: string, rows: { frame: Float32Array; pred: Uint8Array; label: Uint8Array; caption: string }[], H: number, W: number, scale = 4): Promise<void> {
  scale = Math.max(scale, Math.ceil(200 / W));
  const cw = W * scale;
  const chh = H * scale;
  const gap = 10;
  const top = 30;
  const capH = 20;
  const Wt = 3 * cw + 4 * gap;
  // legend items, wrapped to the figure width
  const items = [...CLASS_NAMES.map((n, i) => ({ n, c: `rgb(${CLASS_COLORS[i]!.join(',')})` })), { n: 'ignore', c: 'black' }];
  const legend: { x: number; row: number; n: string; c: string }[] = [];
  let lx = gap;
  let lrow = 0;
  for (const it of items) {
    const w = 18 + it.n.length * 7 + 16;
    if (lx + w > Wt && lx > gap) {
      lx = gap;
      lrow++;
    }
    legend.push({ x: lx, row: lrow, ...it });
    lx += w;
  }
  const legendH = 22 * (lrow + 1) + 8;
  const Ht = top + rows.length * (chh + capH + gap) + legendH;
  const parts: string[] = [`<rect width="${Wt}" height="${Ht}" fill="white"/>`];
  ['events (ON red, OFF cyan)', 'predicted classes', 'ground truth'].forEach((t, i) => parts.push(`<text x="${gap + i * (cw + gap) + cw / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">${t}</text>`));
  for (const [r, row] of rows.entries()) {
    const y = top + r * (chh + capH + gap);
    const imgs = [await rgbPng(eventFrameRgb(row.frame, H, W), H, W, scale), await rgbPng(classMapRgb(row.pred, H, W), H, W, scale), await rgbPng(classMapRgb(row.label, H, W), H, W, scale)];
    imgs.forEach((b64, i) => parts.push(`<image x="${gap + i * (cw + gap)}" y="${y}" width="${cw}" height="${chh}" preserveAspectRatio="none" image-rendering="pixelated" style="image-rendering:pixelated" href="data:image/png;base64,${b64}"/>`));
    parts.push(`<text x="${gap}" y="${y + chh + 15}" font-size="12">${esc(row.caption)}</text>`);
  }
  for (const it of legend) {
    const ly = Ht - legendH + 4 + it.row * 22;
    parts.push(`<rect x="${it.x}" y="${ly}" width="14" height="14" fill="${it.c}"/><text x="${it.x + 18}" y="${ly + 12}" font-size="12">${esc(it.n)}</text>`);
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${Wt}" height="${Ht}" font-family="sans-serif">${parts.join('')}</svg>`;
  // the panels are pre-scaled (nearest) so librsvg does not smooth them
  await sharp(Buffer.from(svg)).png().toFile(path);
}
