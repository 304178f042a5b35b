/**
 * Procedural textures in the log-intensity domain with a mip pyramid.
 *
 * Values are log-intensity offsets (added to a surface's base log intensity), so shading is addition and the
 * renderer never takes a logarithm per pixel. NaN marks transparent texels (car side profiles).
 * Mip levels are what keep distant texture from aliasing into flickering pixels, which a DVS model would
 * turn into spurious events.
 */
import { Rng } from './prng.js';

export class Texture {
  /** levels[k] is (width >> k) x (height >> k), row-major. */
  readonly levels: Float32Array[] = [];
  readonly log2W: number;
  readonly log2H: number;

  constructor(base: Float32Array, log2W: number, log2H: number) {
    if (base.length !== (1 << log2W) << log2H) throw new Error('Texture: size mismatch');
    this.log2W = log2W;
    this.log2H = log2H;
    this.levels.push(base);
    let w = 1 << log2W;
    let h = 1 << log2H;
    let prev = base;
    while (w > 1 && h > 1) {
      const nw = w >> 1;
      const nh = h >> 1;
      const next = new Float32Array(nw * nh);
      for (let y = 0; y < nh; y++) {
        for (let x = 0; x < nw; x++) {
          const i = 2 * y * w + 2 * x;
          let sum = 0;
          let n = 0;
          for (const v of [prev[i]!, prev[i + 1]!, prev[i + w]!, prev[i + w + 1]!]) {
            if (v === v) {
              sum += v;
              n++;
            }
          }
          // Mostly-transparent blocks stay transparent so silhouettes do not grow at distance.
          next[y * nw + x] = n >= 2 ? sum / n : NaN;
        }
      }
      this.levels.push(next);
      prev = next;
      w = nw;
      h = nh;
    }
  }

  get width(): number {
    return 1 << this.log2W;
  }

  get height(): number {
    return 1 << this.log2H;
  }

  get maxLevel(): number {
    return this.levels.length - 1;
  }

  /** Nearest sample at texel coordinates of level 0 (wrapping), on mip level `level`. */
  sample(u: number, v: number, level: number): number {
    const lw = this.log2W - level;
    const lh = this.log2H - level;
    const s = 1 / (1 << level);
    const x = Math.floor(u * s) & ((1 << lw) - 1);
    const y = Math.floor(v * s) & ((1 << lh) - 1);
    return this.levels[level]![(y << lw) | x]!;
  }
}

/** Mip level for a footprint of `texelsPerPixel` level-0 texels per screen pixel. */
export function mipLevel(texelsPerPixel: number, maxLevel: number): number {
  if (!(texelsPerPixel > 1)) return 0;
  const l = Math.floor(Math.log2(texelsPerPixel) + 0.5);
  return l > maxLevel ? maxLevel : l;
}

/** Tileable fractal value noise, normalised to zero mean and unit standard deviation. */
export function fractalNoise(rng: Rng, log2W: number, log2H: number, opts: { baseCells?: number; octaves?: number; persistence?: number; anisotropy?: number } = {}): Float32Array {
  const w = 1 << log2W;
  const h = 1 << log2H;
  const out = new Float32Array(w * h);
  let cells = opts.baseCells ?? 4;
  let amp = 1;
  const octaves = opts.octaves ?? 6;
  const persistence = opts.persistence ?? 0.55;
  const aniso = opts.anisotropy ?? 1;
  for (let o = 0; o < octaves; o++) {
    const cx = Math.max(1, Math.min(w, Math.round(cells)));
    const cy = Math.max(1, Math.min(h, Math.round(cells * aniso)));
    const lattice = new Float32Array(cx * cy);
    for (let i = 0; i < lattice.length; i++) lattice[i] = rng.next() * 2 - 1;
    for (let y = 0; y < h; y++) {
      const fy = (y / h) * cy;
      const y0 = Math.floor(fy);
      const ty = smooth(fy - y0);
      const r0 = (y0 % cy) * cx;
      const r1 = ((y0 + 1) % cy) * cx;
      for (let x = 0; x < w; x++) {
        const fx = (x / w) * cx;
        const x0 = Math.floor(fx);
        const tx = smooth(fx - x0);
        const c0 = x0 % cx;
        const c1 = (x0 + 1) % cx;
        const a = lattice[r0 + c0]! + (lattice[r0 + c1]! - lattice[r0 + c0]!) * tx;
        const b = lattice[r1 + c0]! + (lattice[r1 + c1]! - lattice[r1 + c0]!) * tx;
        out[y * w + x]! += amp * (a + (b - a) * ty);
      }
    }
    cells *= 2;
    amp *= persistence;
  }
  normalize(out);
  return out;
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

export function normalize(a: Float32Array): void {
  let sum = 0;
  let n = 0;
  for (const v of a) if (v === v) { sum += v; n++; }
  const mean = sum / Math.max(1, n);
  let sq = 0;
  for (const v of a) if (v === v) sq += (v - mean) ** 2;
  const sd = Math.sqrt(sq / Math.max(1, n)) || 1;
  for (let i = 0; i < a.length; i++) a[i] = (a[i]! - mean) / sd;
}

/**
 * The fixed texture set of one sequence. Each is in "unit contrast" (about unit standard deviation);
 * surfaces scale them by their own contrast.
 */
export interface TextureSet {
  /** Fine isotropic noise (asphalt, gravel, clothing). */
  fine: Texture;
  /** Coarse blotchy noise (grass, foliage patches, clouds). */
  coarse: Texture;
  /** Leaf clusters: high-contrast speckle. */
  leaves: Texture;
  /** Vertical streaks (bark). */
  bark: Texture;
  /** Paving slabs: noise plus joint lines every texture/4. */
  paving: Texture;
  /** Building facade modules, 64x64 texels per (storey x window bay). */
  facades: Texture[];
}

export function buildTextureSet(rng: Rng): TextureSet {
  const fine = new Texture(fractalNoise(rng, 8, 8, { baseCells: 16, octaves: 5, persistence: 0.7 }), 8, 8);
  const coarse = new Texture(fractalNoise(rng, 8, 8, { baseCells: 4, octaves: 6, persistence: 0.6 }), 8, 8);
  const leavesBase = fractalNoise(rng, 7, 7, { baseCells: 8, octaves: 4, persistence: 0.8 });
  for (let i = 0; i < leavesBase.length; i++) leavesBase[i] = Math.tanh(2 * leavesBase[i]!);
  normalize(leavesBase);
  const leaves = new Texture(leavesBase, 7, 7);
  const bark = new Texture(fractalNoise(rng, 6, 6, { baseCells: 8, octaves: 4, anisotropy: 0.125 }), 6, 6);
  const pav = fractalNoise(rng, 7, 7, { baseCells: 16, octaves: 4, persistence: 0.6 });
  for (let y = 0; y < 128; y++) for (let x = 0; x < 128; x++) {
    const joint = (x & 31) < 2 || ((y + ((x >> 5) & 1) * 16) & 31) < 2;
    pav[y * 128 + x] = 0.35 * pav[y * 128 + x]! + (joint ? -2.2 : 0.3);
  }
  normalize(pav);
  const paving = new Texture(pav, 7, 7);
  const facades: Texture[] = [];
  for (let k = 0; k < 4; k++) facades.push(new Texture(facadeModule(rng, k), 6, 6));
  return { fine, coarse, leaves, bark, paving, facades };
}

/** One storey x bay of a facade: wall noise, a dark window with a light frame and sill. */
function facadeModule(rng: Rng, variant: number): Float32Array {
  const n = 64;
  const wall = fractalNoise(rng, 6, 6, { baseCells: 8, octaves: 4, persistence: 0.6 });
  const out = new Float32Array(n * n);
  const wx0 = Math.round(n * rng.range(0.18, 0.3));
  const wx1 = n - wx0;
  const wy0 = Math.round(n * rng.range(0.2, 0.3));
  const wy1 = Math.round(n * rng.range(0.68, 0.8));
  const mullion = variant % 2 === 0;
  const glass = rng.range(-2.2, -1.4);
  const frame = 0.5;
  for (let y = 0; y < n; y++) for (let x = 0; x < n; x++) {
    let v = 0.12 * wall[y * n + x]!;
    const inFrame = x >= wx0 - 2 && x < wx1 + 2 && y >= wy0 - 2 && y < wy1 + 2;
    const inGlass = x >= wx0 && x < wx1 && y >= wy0 && y < wy1;
    if (inFrame) v = frame;
    if (inGlass) {
      // Reflections: a diagonal gradient so windows are not flat.
      v = glass + 0.4 * ((x - wx0) / (wx1 - wx0) - (y - wy0) / (wy1 - wy0)) + 0.1 * wall[y * n + x]!;
      if (mullion && Math.abs(x - n / 2) < 1.5) v = frame;
    }
    if (variant >= 2 && y >= n - 3) v = -0.8; // storey band
    out[(n - 1 - y) * n + x] = v; // texture v grows upward in the renderer
  }
  return out;
}
