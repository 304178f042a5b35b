/**
 * Rasteriser: log-intensity image and exact label mask of the world seen from a camera pose.
 *
 * Painter's algorithm, far to near: sky and ground (per row, ray-cast onto the road plane), distant skyline,
 * building layer, object layer, ego hood. Label = class of the surface whose colour the pixel got, sampled
 * at the pixel centre, so the mask is exact for the rendered image.
 */
import { CameraView, type CameraPose } from './camera.js';
import { ClassId, IGNORE_LABEL } from '../labels/index.js';
import { ASPHALT, World, type Drawable, type Sprite, type SpritePart, type Wall } from './scene.js';
import { mipLevel, Texture } from './texture.js';

export interface RenderOptions {
  width: number;
  height: number;
  hfovDeg: number;
  /** Rows at the bottom covered by the ego vehicle's hood (label 255); 0 for none. */
  hoodRows: number;
  /** Light 1-2-1 optical blur, which also makes edges move smoothly by sub-pixel amounts. */
  blur: boolean;
}

const NEAR = 0.3;
const MAX_GROUND = 2000;
/** Added to texel coordinates so that `| 0` floors them (a multiple of every texture size). */
const TEX_OFFSET = 1 << 24;

export class Renderer {
  readonly cam: CameraView;
  readonly log: Float32Array;
  readonly label: Uint8Array;
  private readonly tmp: Float32Array;
  private readonly buildings: Drawable[] = [];
  private readonly objects: Drawable[] = [];
  private readonly proj = new Float64Array(3);
  private readonly proj2 = new Float64Array(3);
  private readonly hoodTop: Int32Array;
  /** Azimuth of each column relative to the optical axis (ignoring pitch). */
  private readonly colAz: Float64Array;

  constructor(readonly world: World, readonly opts: RenderOptions) {
    this.cam = new CameraView(opts.width, opts.height, opts.hfovDeg);
    const n = opts.width * opts.height;
    this.log = new Float32Array(n);
    this.label = new Uint8Array(n);
    this.tmp = new Float32Array(n);
    this.colAz = new Float64Array(opts.width);
    for (let i = 0; i < opts.width; i++) this.colAz[i] = Math.atan((i + 0.5 - this.cam.cx) / this.cam.f);
    // Hood outline: a shallow arc, highest in the middle.
    this.hoodTop = new Int32Array(opts.width);
    for (let i = 0; i < opts.width; i++) {
      const u = (i + 0.5) / opts.width - 0.5;
      this.hoodTop[i] = opts.hoodRows > 0 ? Math.round(opts.height - opts.hoodRows * (1 - 1.6 * u * u)) : opts.height;
    }
  }

  /** Renders the scene at time t (seconds) seen from `pose`. */
  render(t: number, pose: CameraPose): void {
    this.cam.setPose(pose);
    this.world.update(t, pose);
    this.world.collect(t, pose, this.buildings, this.objects);
    this.skyAndGround();
    this.skyline();
    for (const d of this.buildings) this.drawable(d);
    for (const d of this.objects) this.drawable(d);
    this.hood();
    if (this.opts.blur) this.blur();
  }

  private skyAndGround(): void {
    const { width: W, height: H } = this.opts;
    const c = this.cam;
    const pose = c.pose;
    const out = this.log;
    const lab = this.label;
    const zones = this.world.zones;
    const tx = this.world.textures;
    const sky = tx.coarse;
    for (let j = 0; j < H; j++) {
      const b = (j + 0.5 - c.cy) / c.f;
      const dirY = c.dy * b + c.fy;
      const row = j * W;
      if (dirY > -1e-4) {
        // Sky: brighter towards the horizon, faint clouds fixed in azimuth/elevation.
        const el = Math.atan2(dirY, Math.hypot(c.dz * b + c.fz, c.dx * b + c.fx));
        const base = -0.35 * Math.min(1, el / 0.5) - 0.05;
        const v = Math.floor(el * 300) & 255;
        const lvl = sky.levels[1]!;
        const colAz = this.colAz;
        for (let i = 0; i < W; i++) {
          const u = Math.floor((pose.yaw + colAz[i]!) * 120) & 127;
          out[row + i] = base + 0.07 * lvl[((v >> 1) << 7) | u]!;
          lab[row + i] = ClassId.constructionSky;
        }
        continue;
      }
      // Capped so texel coordinates stay far inside int32 range.
      const tHit = Math.min(MAX_GROUND, -pose.y / dirY);
      const x0 = pose.x + tHit * ((c.rx * (0.5 - c.cx)) / c.f + c.dx * b + c.fx);
      const z0 = pose.z + tHit * ((c.rz * (0.5 - c.cx)) / c.f + c.dz * b + c.fz);
      const dX = (tHit * c.rx) / c.f;
      const dZ = (tHit * c.rz) / c.f;
      const dirLen = Math.sqrt(1 + b * b);
      const fpX = (tHit * dirLen) / c.f;
      const fpZ = Math.min(1e6, (fpX * dirLen) / -dirY);
      // Zones are sorted by X and X grows along the row (right vector has positive X).
      let zi = 0;
      while (zi < zones.length - 1 && zones[zi]!.x1 <= x0) zi++;
      let i = 0;
      while (i < W) {
        const zone = zones[zi]!;
        // Pixels of this row whose X lies in the zone (up to the row's end).
        let iEnd = zi === zones.length - 1 ? W : Math.ceil((zone.x1 - x0) / dX);
        if (iEnd > W) iEnd = W;
        if (iEnd <= i) {
          zi++;
          continue;
        }
        const texLevel = mipLevel(fpZ * zone.scale, zone.tex.maxLevel);
        const tl = zone.tex.levels[texLevel]!;
        const lw = zone.tex.log2W - texLevel;
        const wm = (1 << lw) - 1;
        const hm = (1 << (zone.tex.log2H - texLevel)) - 1;
        const ts = zone.scale / (1 << texLevel);
        const label = zone.label;
        if (zone.paintWidth > 0) {
          // Thin markings: at distance a pixel covers more than the paint, so blend paint into asphalt.
          const coverage = Math.min(1, zone.paintWidth / fpX);
          const dashed = zone.dashPeriod > 0;
          const dashBlend = dashed && fpZ > zone.dashLength;
          const duty = dashed ? zone.dashLength / zone.dashPeriod : 1;
          for (; i < iEnd; i++) {
            const Z = z0 + i * dZ;
            const n = tl[((((Z * ts + TEX_OFFSET) | 0) & hm) << lw) | (((x0 + i * dX) * ts + TEX_OFFSET) | 0) & wm]!;
            let k = coverage;
            if (dashed) {
              if (dashBlend) k *= duty;
              else {
                const ph = Z - Math.floor(Z / zone.dashPeriod) * zone.dashPeriod;
                if (ph >= zone.dashLength) k = 0;
              }
            }
            out[row + i] = ASPHALT + k * (zone.base - ASPHALT) + zone.contrast * n;
            lab[row + i] = label;
          }
        } else {
          const base = zone.base;
          const con = zone.contrast;
          let u = x0 * ts + TEX_OFFSET + i * dX * ts;
          let v = z0 * ts + TEX_OFFSET + i * dZ * ts;
          const du = dX * ts;
          const dv = dZ * ts;
          for (; i < iEnd; i++) {
            out[row + i] = base + con * tl[(((v | 0) & hm) << lw) | ((u | 0) & wm)]!;
            lab[row + i] = label;
            u += du;
            v += dv;
          }
        }
        if (i < W) zi++;
      }
    }
  }

  /** Far buildings and tree lines at infinity: they move only with yaw and pitch. */
  private skyline(): void {
    const { width: W } = this.opts;
    const c = this.cam;
    const sk = this.world.skyline;
    const out = this.log;
    const lab = this.label;
    const horizon = c.cy - c.f * Math.tan(c.pose.pitch);
    for (let i = 0; i < W; i++) {
      const az = c.pose.yaw + this.colAz[i]!;
      const bin = ((Math.floor((az / (2 * Math.PI)) * sk.bins) % sk.bins) + sk.bins) % sk.bins;
      const top = sk.top[bin]!;
      if (top <= 0) continue;
      const vTop = c.cy - c.f * Math.tan(c.pose.pitch + top);
      const j0 = Math.max(0, Math.ceil(vTop - 0.5));
      const j1 = Math.min(this.opts.height, Math.ceil(horizon - 0.5));
      const base = sk.base[bin]!;
      const label = sk.label[bin]!;
      for (let j = j0; j < j1; j++) {
        out[j * W + i] = base;
        lab[j * W + i] = label;
      }
    }
  }

  private drawable(d: Drawable): void {
    for (const w of d.walls) this.wall(w);
    for (const s of d.sprites) this.sprite(s);
  }

  /** A wall in the plane X = const: per column, perspective-correct position along the wall. */
  private wall(w: Wall): void {
    const c = this.cam;
    const { width: W, height: H } = this.opts;
    const yMid = 0.5 * (w.y0 + w.y1);
    // Clip the wall's Z extent to the near plane (depth is linear in Z along the wall).
    let za = w.z0;
    let zb = w.z1;
    const da = c.depth(w.X, yMid, za);
    const db = c.depth(w.X, yMid, zb);
    if (da < NEAR && db < NEAR) return;
    if (da < NEAR) za = za + ((NEAR - da) / (db - da)) * (zb - za);
    else if (db < NEAR) zb = zb + ((NEAR - db) / (da - db)) * (za - zb);
    const pa = this.proj;
    const pb = this.proj2;
    c.project(w.X, w.y0, za, pa);
    const uA = pa[0]!, vBotA = pa[1]!, zA = pa[2]!;
    c.project(w.X, w.y1, za, pa);
    const vTopA = pa[1]!;
    c.project(w.X, w.y0, zb, pb);
    const uB = pb[0]!, vBotB = pb[1]!, zB = pb[2]!;
    c.project(w.X, w.y1, zb, pb);
    const vTopB = pb[1]!;
    if (!(Math.abs(uB - uA) > 1e-3)) return;
    const iLo = Math.max(0, Math.ceil(Math.min(uA, uB) - 0.5));
    const iHi = Math.min(W, Math.ceil(Math.max(uA, uB) - 0.5));
    const sA = za - w.z0;
    const sB = zb - w.z0;
    const tex = w.tex;
    const out = this.log;
    const lab = this.label;
    const invA = 1 / zA;
    const invB = 1 / zB;
    const hSpan = w.y1 - w.y0;
    for (let i = iLo; i < iHi; i++) {
      const lam = (i + 0.5 - uA) / (uB - uA);
      const inv = invA + lam * (invB - invA);
      const mu = (lam * invB) / inv;
      const s = sA + mu * (sB - sA);
      const vTop = vTopA + lam * (vTopB - vTopA);
      const vBot = vBotA + lam * (vBotB - vBotA);
      const pxH = vBot - vTop;
      if (!(pxH > 0)) continue;
      // Metres per pixel across the wall (distance along it grows fast when seen at grazing angles).
      const mpp = Math.max(hSpan / pxH, Math.abs(((invA * invB) / (inv * inv)) * (sB - sA) / (uB - uA)));
      const level = mipLevel(mpp * Math.max(Math.abs(w.sScale), w.hScale), tex.maxLevel);
      const tl = tex.levels[level]!;
      const lw = tex.log2W - level;
      const wm = (1 << lw) - 1;
      const hm = (1 << (tex.log2H - level)) - 1;
      const k = 1 / (1 << level);
      const tu = Math.floor((w.sOff + s * w.sScale) * k) & wm;
      const j0 = Math.max(0, Math.ceil(vTop - 0.5));
      const j1 = Math.min(H, Math.ceil(vBot - 0.5));
      const hPerRow = hSpan / pxH;
      for (let j = j0; j < j1; j++) {
        const y = (vBot - (j + 0.5)) * hPerRow;
        const val = tl[((Math.floor((w.hOff + y * w.hScale) * k) & hm) << lw) | tu]!;
        if (val !== val) continue;
        out[j * W + i] = w.base + w.contrast * val;
        lab[j * W + i] = w.label;
      }
    }
  }

  private sprite(s: Sprite): void {
    const c = this.cam;
    const p = this.proj;
    c.project(s.X, 0, s.Z, p);
    const depth = p[2]!;
    if (depth < NEAR) return;
    const scale = c.f / depth;
    const uA = p[0]!;
    const vA = p[1]!;
    for (const part of s.parts) this.part(part, uA, vA, scale);
  }

  private part(pt: SpritePart, uA: number, vA: number, scale: number): void {
    const { width: W, height: H } = this.opts;
    const vTop = vA - pt.y1 * scale;
    const vBot = vA - pt.y0 * scale;
    const j0 = Math.max(0, Math.ceil(vTop - 0.5));
    const j1 = Math.min(H, Math.ceil(vBot - 0.5));
    if (j0 >= j1) return;
    const shearMax = Math.abs(pt.shear) * (pt.y1 - pt.y0);
    if (uA + (pt.x1 + shearMax) * scale < 0 || uA + (pt.x0 - shearMax) * scale > W) return;
    const tex: Texture = pt.tex;
    const level = mipLevel(pt.scale / scale, tex.maxLevel);
    const tl = tex.levels[level]!;
    const lw = tex.log2W - level;
    const wm = (1 << lw) - 1;
    const hm = (1 << (tex.log2H - level)) - 1;
    const ts = pt.scale / (1 << level);
    const ou = pt.offU / (1 << level);
    const ov = pt.offV / (1 << level);
    const inv = 1 / scale;
    const out = this.log;
    const lab = this.label;
    const cx = 0.5 * (pt.x0 + pt.x1);
    const cy = 0.5 * (pt.y0 + pt.y1);
    const rx = 0.5 * (pt.x1 - pt.x0);
    const ry = 0.5 * (pt.y1 - pt.y0);
    for (let j = j0; j < j1; j++) {
      const ly = (vA - (j + 0.5)) * inv;
      let lx0: number;
      let lx1: number;
      if (pt.ellipse) {
        const dy = (ly - cy) / ry;
        const q = 1 - dy * dy;
        if (q <= 0) continue;
        const hw = rx * Math.sqrt(q);
        lx0 = cx - hw;
        lx1 = cx + hw;
      } else {
        const sh = pt.shear * (pt.y1 - ly);
        lx0 = pt.x0 + sh;
        lx1 = pt.x1 + sh;
      }
      const i0 = Math.max(0, Math.ceil(uA + lx0 * scale - 0.5));
      const i1 = Math.min(W, Math.ceil(uA + lx1 * scale - 0.5));
      if (i0 >= i1) continue;
      const rowOff = (Math.floor(ov + ly * ts) & hm) << lw;
      const row = j * W;
      let u = ou + (i0 + 0.5 - uA) * inv * ts + TEX_OFFSET;
      const du = inv * ts;
      const base = pt.base;
      const con = pt.contrast;
      const label = pt.label;
      for (let i = i0; i < i1; i++) {
        out[row + i] = base + con * tl[rowOff | ((u | 0) & wm)]!;
        lab[row + i] = label;
        u += du;
      }
    }
  }

  /** Ego hood: static relative to the camera, so it produces no events; labelled ignore. */
  private hood(): void {
    const { width: W, height: H } = this.opts;
    if (this.opts.hoodRows <= 0) return;
    for (let i = 0; i < W; i++) {
      for (let j = Math.max(0, this.hoodTop[i]!); j < H; j++) {
        this.log[j * W + i] = -3.2 + 0.3 * ((j - this.hoodTop[i]!) / this.opts.hoodRows);
        this.label[j * W + i] = IGNORE_LABEL;
      }
    }
  }

  private blur(): void {
    const { width: W, height: H } = this.opts;
    const a = this.log;
    const t = this.tmp;
    for (let j = 0; j < H; j++) {
      const r = j * W;
      let left = a[r]!;
      let mid = a[r]!;
      for (let i = 0; i < W - 1; i++) {
        const right = a[r + i + 1]!;
        t[r + i] = (left + mid + mid + right) * 0.25;
        left = mid;
        mid = right;
      }
      t[r + W - 1] = (left + 3 * mid) * 0.25;
    }
    for (let j = 0; j < H; j++) {
      const up = j > 0 ? (j - 1) * W : 0;
      const r = j * W;
      const dn = j < H - 1 ? (j + 1) * W : r;
      for (let i = 0; i < W; i++) a[r + i] = (t[up + i]! + 2 * t[r + i]! + t[dn + i]!) * 0.25;
    }
  }
}
