/**
 * The procedural world: road cross-section, distant skyline, static roadside objects and moving agents.
 *
 * The road runs along +Z forever; content is generated lazily in 20 m segments from sub-seeds of the
 * sequence seed, so a seed fixes the whole world regardless of render rate. Moving agents follow
 * closed-form trajectories pos(t) = p + v (t - tRef).
 */
import { CameraPath, type CameraPose } from './camera.js';
import { ClassId } from '../labels/index.js';
import { hashSeed, Rng } from './prng.js';
import type { ScenePreset } from './presets.js';
import { buildTextureSet, Texture, type TextureSet } from './texture.js';

/** A screen-aligned textured shape of a billboard, in metres relative to the billboard's ground anchor (y up). */
export interface SpritePart {
  ellipse: boolean;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  /** Horizontal offset per metre below y1 (swinging legs and arms). */
  shear: number;
  tex: Texture;
  /** Texels per metre. */
  scale: number;
  offU: number;
  offV: number;
  base: number;
  contrast: number;
  label: number;
}

/** Camera-facing billboard anchored on the ground at (X, 0, Z). */
export interface Sprite {
  X: number;
  Z: number;
  parts: SpritePart[];
}

/** Textured rectangle in the plane X = const, spanning z0..z1 and heights y0..y1 (building facades, car sides). */
export interface Wall {
  X: number;
  z0: number;
  z1: number;
  y0: number;
  y1: number;
  tex: Texture;
  /** Texture coordinate u = sOff + (z - z0) * sScale, v = hOff + (y - y0) * hScale. */
  sScale: number;
  hScale: number;
  sOff: number;
  hOff: number;
  base: number;
  contrast: number;
  label: number;
}

/** One depth-sorted item: walls are drawn before sprites of the same item. */
export interface Drawable {
  depth: number;
  walls: Wall[];
  sprites: Sprite[];
}

/** A band of the road cross-section [x0, x1) (m), optionally a dashed marking over asphalt. */
export interface GroundZone {
  x0: number;
  x1: number;
  label: number;
  base: number;
  contrast: number;
  tex: Texture;
  scale: number;
  /** Markings: painted width (m) for anti-aliasing at distance; 0 for plain surfaces. */
  paintWidth: number;
  dashLength: number;
  dashPeriod: number;
}

export interface Skyline {
  bins: number;
  /** Top elevation (rad) per azimuth bin; 0 where there is nothing. */
  top: Float32Array;
  base: Float32Array;
  label: Uint8Array;
}

export interface WorldOptions {
  preset: ScenePreset;
  seed: number;
  /** Multipliers of the preset's densities. */
  carDensity: number;
  pedestrianDensity: number;
  /** Draw distance, m. */
  viewDistance: number;
}

const SEGMENT = 20;
export const ASPHALT = -2.1;

interface CarModel {
  length: number;
  width: number;
  height: number;
  side: Texture;
  truck: boolean;
}

interface Car {
  x: number;
  /** Rear (smallest-Z) end at time tRef. */
  z: number;
  v: number;
  tRef: number;
  /** +1 drives towards +Z (we see its rear), -1 oncoming (we see its front). */
  heading: number;
  model: CarModel;
  paint: number;
  ends: SpritePart[];
  sideTexOff: number;
}

interface Pedestrian {
  x: number;
  z: number;
  vx: number;
  vz: number;
  tRef: number;
  xMin: number;
  xMax: number;
  height: number;
  phase: number;
  parts: SpritePart[];
}

interface StaticItem {
  depthZ: number;
  walls: Wall[];
  sprites: Sprite[];
  building: boolean;
}

export class World {
  readonly textures: TextureSet;
  readonly zones: GroundZone[];
  readonly skyline: Skyline;
  readonly path: CameraPath;
  readonly roadHalf: number;
  readonly egoLaneX: number;
  private readonly p: ScenePreset;
  private readonly carModels: CarModel[];
  private readonly segments = new Map<number, StaticItem[]>();
  private nextSegment: number;
  private cars: Car[] = [];
  private peds: Pedestrian[] = [];

  constructor(readonly opts: WorldOptions, path: CameraPath) {
    this.p = opts.preset;
    this.path = path;
    const rng = new Rng(hashSeed(opts.seed, 11));
    this.textures = buildTextureSet(rng);
    const lanes = this.p.lanesPerDirection;
    this.roadHalf = lanes * this.p.laneWidth + this.p.parkingLane;
    this.egoLaneX = this.p.laneWidth * (Math.min(1, lanes - 1) + 0.5);
    this.zones = this.buildZones();
    this.skyline = this.buildSkyline(new Rng(hashSeed(opts.seed, 12)));
    this.carModels = buildCarModels(new Rng(hashSeed(opts.seed, 13)));
    this.nextSegment = Math.floor(-40 / SEGMENT);
  }

  private get curbOuter(): number {
    return this.roadHalf + this.p.verge + this.p.sidewalk;
  }

  private buildZones(): GroundZone[] {
    const p = this.p;
    const t = this.textures;
    const zones: GroundZone[] = [];
    const asphalt = (x0: number, x1: number): GroundZone => ({ x0, x1, label: ClassId.flat, base: ASPHALT, contrast: 0.07, tex: t.fine, scale: 40, paintWidth: 0, dashLength: 0, dashPeriod: 0 });
    const paint = (x: number, w: number, dashed: boolean): GroundZone => ({ x0: x - w / 2, x1: x + w / 2, label: ClassId.flat, base: -0.55, contrast: 0.08, tex: t.fine, scale: 40, paintWidth: w, dashLength: dashed ? p.dash[0] : 0, dashPeriod: dashed ? p.dash[1] : 0 });
    // Right half from the centre outwards, then mirrored.
    const half: GroundZone[] = [];
    const lanesW = p.lanesPerDirection * p.laneWidth;
    const marks: { x: number; w: number; dashed: boolean }[] = [{ x: 0.1, w: 0.12, dashed: false }];
    for (let k = 1; k < p.lanesPerDirection; k++) marks.push({ x: k * p.laneWidth, w: 0.15, dashed: true });
    marks.push({ x: lanesW - 0.15, w: 0.15, dashed: false });
    let x = 0;
    for (const m of marks) {
      half.push(asphalt(x, m.x - m.w / 2));
      half.push(paint(m.x, m.w, m.dashed));
      x = m.x + m.w / 2;
    }
    half.push(asphalt(x, this.roadHalf));
    x = this.roadHalf;
    half.push({ x0: x, x1: x + 0.2, label: ClassId.flat, base: -1.0, contrast: 0.1, tex: t.fine, scale: 40, paintWidth: 0, dashLength: 0, dashPeriod: 0 }); // curb
    x += 0.2;
    if (p.verge > 0) {
      half.push({ x0: x, x1: x + p.verge, label: ClassId.nature, base: -2.0, contrast: 0.3, tex: t.leaves, scale: 24, paintWidth: 0, dashLength: 0, dashPeriod: 0 });
      x += p.verge;
    }
    if (p.sidewalk > 0) {
      half.push({ x0: x, x1: x + p.sidewalk, label: ClassId.flat, base: -1.3, contrast: 0.16, tex: t.paving, scale: 64, paintWidth: 0, dashLength: 0, dashPeriod: 0 });
      x += p.sidewalk;
    }
    half.push(p.outerGround === 'paved'
      ? { x0: x, x1: 1e9, label: ClassId.flat, base: -1.5, contrast: 0.2, tex: t.fine, scale: 24, paintWidth: 0, dashLength: 0, dashPeriod: 0 }
      : { x0: x, x1: 1e9, label: ClassId.nature, base: -2.1, contrast: 0.35, tex: t.coarse, scale: 6, paintWidth: 0, dashLength: 0, dashPeriod: 0 });
    for (let i = half.length - 1; i >= 0; i--) {
      const z = half[i]!;
      zones.push({ ...z, x0: -z.x1, x1: -z.x0 });
    }
    zones.push(...half);
    // Merge the two centre-line halves' gap: the left mirror of "asphalt(0, ...)" already abuts at 0.
    return zones;
  }

  private buildSkyline(rng: Rng): Skyline {
    const bins = 1024;
    const top = new Float32Array(bins);
    const base = new Float32Array(bins);
    const label = new Uint8Array(bins);
    let i = 0;
    while (i < bins) {
      const w = 4 + rng.int(24);
      const r = rng.next();
      const kind = r < this.p.skylineBuildings ? 1 : r < this.p.skylineBuildings + this.p.skylineTrees ? 2 : 0;
      const h = kind === 1 ? rng.range(0.01, 0.07) : rng.range(0.008, 0.03);
      const b = kind === 1 ? rng.range(-1.1, -0.6) : -1.5;
      for (let k = 0; k < w && i < bins; k++, i++) {
        top[i] = kind === 0 ? 0 : kind === 1 ? h : h * (0.7 + 0.3 * Math.sin(k * 0.9 + w));
        base[i] = b;
        label[i] = kind === 2 ? ClassId.nature : ClassId.constructionSky;
      }
    }
    return { bins, top, base, label };
  }

  /** Generate segments entering the view and drop what is far behind. */
  update(t: number, pose: CameraPose): void {
    const ahead = pose.z + this.opts.viewDistance;
    while (this.nextSegment * SEGMENT < ahead) {
      const j = this.nextSegment++;
      // Segments already in view at t = 0 are "already there"; later ones are referenced to the time
      // their start enters the draw distance, computed from the path (not from the render clock).
      const tRef = j * SEGMENT <= this.opts.viewDistance ? 0 : this.path.timeAtZ(j * SEGMENT - this.opts.viewDistance);
      this.spawnSegment(j, tRef);
    }
    const behind = pose.z - 40;
    for (const j of this.segments.keys()) if ((j + 1) * SEGMENT < behind) this.segments.delete(j);
    const vCam = this.path.opts.speed;
    this.cars = this.cars.filter((c) => {
      const rel = c.z + c.v * (t - c.tRef) - pose.z;
      return !((rel > this.opts.viewDistance + 60 && c.v >= vCam) || (rel < -40 && c.v <= vCam));
    });
    this.peds = this.peds.filter((q) => q.z + q.vz * (t - q.tRef) - pose.z > -30);
  }

  private spawnSegment(j: number, tRef: number): void {
    const rng = new Rng(hashSeed(this.opts.seed, 21, j));
    const p = this.p;
    const items: StaticItem[] = [];
    const z0 = j * SEGMENT;
    const tx = this.textures;
    for (const side of [-1, 1]) {
      const outer = this.curbOuter;
      if (rng.chance(p.buildingProb)) {
        const za = z0 + rng.range(0, 5);
        const zb = z0 + SEGMENT - rng.range(0, 6);
        const X = side * (outer + rng.range(p.buildingSetback[0], p.buildingSetback[1]) + 0.3);
        const height = rng.range(p.buildingHeight[0], p.buildingHeight[1]);
        const tex = rng.pick(tx.facades);
        const bay = rng.range(2.4, 3.6);
        const storey = rng.range(2.9, 3.5);
        const base = rng.range(-1.7, -0.6);
        const wall: Wall = { X, z0: za, z1: zb, y0: 0, y1: height, tex, sScale: 64 / bay, hScale: 64 / storey, sOff: rng.range(0, 64), hOff: 0, base, contrast: 1, label: ClassId.constructionSky };
        const depth = rng.range(8, 16);
        const front: SpritePart = { ellipse: false, x0: side > 0 ? 0 : -depth, x1: side > 0 ? depth : 0, y0: 0, y1: height, shear: 0, tex, scale: 64 / bay, offU: 0, offV: 0, base: base - 0.25, contrast: 1, label: ClassId.constructionSky };
        items.push({ depthZ: za, walls: [wall], sprites: [{ X, Z: za, parts: [front] }], building: true });
      }
      const treeCount = rng.poisson(p.trees);
      for (let k = 0; k < treeCount; k++) {
        const X = side * (p.verge > 0 ? this.roadHalf + 0.2 + p.verge / 2 : p.sidewalk > 0 ? this.roadHalf + 1.0 : this.roadHalf + rng.range(3, 12));
        items.push(this.tree(rng, X, z0 + rng.range(0, SEGMENT)));
      }
      const bushCount = rng.poisson(p.bushes);
      for (let k = 0; k < bushCount; k++) {
        const X = side * (outer + rng.range(0.8, 3));
        const r = rng.range(0.4, 1.1);
        const part: SpritePart = { ellipse: true, x0: -r * 1.3, x1: r * 1.3, y0: -0.1, y1: r * 1.6, shear: 0, tex: tx.leaves, scale: 20, offU: rng.range(0, 128), offV: rng.range(0, 128), base: rng.range(-2.4, -1.8), contrast: 0.5, label: ClassId.nature };
        const Z = z0 + rng.range(0, SEGMENT);
        items.push({ depthZ: Z, walls: [], sprites: [{ X, Z, parts: [part] }], building: false });
      }
      if (rng.chance(p.lampProb)) items.push(this.lamp(rng, side, z0 + rng.range(0, SEGMENT)));
      if (rng.chance(p.signProb)) items.push(this.sign(rng, side, z0 + rng.range(0, SEGMENT)));
      if (rng.chance(p.trafficLightProb)) items.push(this.trafficLight(rng, side, z0 + rng.range(0, SEGMENT)));
      const parked = p.parkingLane > 0 ? rng.poisson(p.parkedCars * this.opts.carDensity) : 0;
      let zc = z0 + rng.range(0, 3);
      for (let k = 0; k < parked && zc < z0 + SEGMENT; k++) {
        const car = this.makeCar(rng, side * (this.roadHalf - p.parkingLane / 2), zc, 0, 0, side > 0 ? 1 : -1);
        this.cars.push(car);
        zc += car.model.length + rng.range(0.8, 6);
      }
      const peds = rng.poisson(p.pedestrians * this.opts.pedestrianDensity);
      for (let k = 0; k < peds; k++) {
        if (p.sidewalk <= 0) break;
        const x0 = this.roadHalf + 0.2 + p.verge + 0.5;
        const X = side * rng.range(x0, x0 + p.sidewalk - 1);
        const standing = rng.chance(0.2);
        const vz = standing ? 0 : rng.pick([-1, 1]) * rng.range(0.9, 1.7);
        this.peds.push(this.makePed(rng, X, z0 + rng.range(0, SEGMENT), 0, vz, tRef, -1e9, 1e9));
      }
    }
    if (rng.chance(p.crossingProb * this.opts.pedestrianDensity)) this.spawnCrossing(rng, z0 + rng.range(0, SEGMENT), tRef);
    this.spawnTraffic(rng, z0, tRef);
    this.segments.set(j, items);
  }

  private spawnTraffic(rng: Rng, z0: number, tRef: number): void {
    const p = this.p;
    const lanes = p.lanesPerDirection;
    const vEgo = this.path.opts.speed;
    const camZ = this.path.zAt(tRef);
    const n = rng.poisson(p.cars * this.opts.carDensity);
    const egoLane = Math.min(1, lanes - 1);
    for (let k = 0; k < n; k++) {
      const oncoming = rng.chance(0.5);
      const lane = rng.int(lanes);
      const x = (oncoming ? -1 : 1) * p.laneWidth * (lane + 0.5);
      const vNominal = p.speed * rng.range(0.8, 1.25);
      if (oncoming) {
        this.cars.push(this.makeCar(rng, x, z0 + rng.range(0, SEGMENT), -vNominal, tRef, -1));
        continue;
      }
      if (lane === egoLane) {
        // Lead cars in the ego lane always pull away, so the camera never drives through one.
        const v = this.path.maxSpeed + rng.range(0.5, 3);
        this.cars.push(this.makeCar(rng, x, camZ + rng.range(8, 40), v, tRef, 1));
      } else if (vNominal > vEgo) {
        // Faster cars start behind the camera and overtake it.
        this.cars.push(this.makeCar(rng, x, camZ - rng.range(10, 40), vNominal, tRef, 1));
      } else {
        this.cars.push(this.makeCar(rng, x, z0 + rng.range(0, SEGMENT), vNominal, tRef, 1));
      }
    }
  }

  private spawnCrossing(rng: Rng, z: number, tRef: number): void {
    const edge = this.roadHalf + 0.6;
    const dir = rng.pick([-1, 1]);
    const speed = rng.range(1.1, 1.6);
    const start = tRef + rng.range(0, 4);
    // Check the crossing does not put the pedestrian in the camera's lane when the camera arrives.
    const tArrive = this.path.timeAtZ(z);
    const xAt = (t: number) => Math.min(edge, Math.max(-edge, -dir * edge + dir * speed * Math.max(0, t - start)));
    for (let dt = -1.5; dt <= 0.5; dt += 0.1) {
      if (Math.abs(xAt(tArrive + dt) - this.egoLaneX) < 2.2) return;
    }
    this.peds.push(this.makePed(rng, -dir * edge, z, dir * speed, 0, start, -edge, edge));
  }

  private tree(rng: Rng, X: number, Z: number): StaticItem {
    const tx = this.textures;
    const h = rng.range(4, 10);
    const crownR = rng.range(1.2, 2.8);
    const trunkW = rng.range(0.2, 0.4);
    const crownBase = h - 2 * crownR;
    const parts: SpritePart[] = [
      { ellipse: false, x0: -trunkW / 2, x1: trunkW / 2, y0: 0, y1: crownBase + crownR * 0.6, shear: 0, tex: tx.bark, scale: 40, offU: rng.range(0, 64), offV: 0, base: rng.range(-2.8, -2.2), contrast: 0.35, label: ClassId.nature },
    ];
    const lobes = 1 + rng.int(3);
    const leafBase = rng.range(-2.5, -1.7);
    for (let k = 0; k < lobes; k++) {
      const cx = rng.range(-0.5, 0.5) * crownR;
      const cy = crownBase + crownR * rng.range(0.8, 1.2);
      const rx = crownR * rng.range(0.7, 1.0);
      const ry = crownR * rng.range(0.8, 1.1);
      parts.push({ ellipse: true, x0: cx - rx, x1: cx + rx, y0: cy - ry, y1: cy + ry, shear: 0, tex: tx.leaves, scale: 14, offU: rng.range(0, 128), offV: rng.range(0, 128), base: leafBase + rng.range(-0.2, 0.2), contrast: 0.4, label: ClassId.nature });
    }
    return { depthZ: Z, walls: [], sprites: [{ X, Z, parts }], building: false };
  }

  private lamp(rng: Rng, side: number, Z: number): StaticItem {
    const tx = this.textures;
    const X = side * (this.roadHalf + 0.45);
    const h = rng.range(6, 9);
    const base = rng.range(-2.0, -1.2);
    const arm = rng.range(1.2, 2.2);
    const parts: SpritePart[] = [
      { ellipse: false, x0: -0.09, x1: 0.09, y0: 0, y1: h, shear: 0, tex: tx.fine, scale: 30, offU: 0, offV: 0, base, contrast: 0.1, label: ClassId.object },
      { ellipse: false, x0: side > 0 ? -arm : 0, x1: side > 0 ? 0 : arm, y0: h - 0.12, y1: h, shear: 0, tex: tx.fine, scale: 30, offU: 0, offV: 0, base, contrast: 0.1, label: ClassId.object },
      { ellipse: true, x0: side > 0 ? -arm - 0.25 : arm - 0.25, x1: side > 0 ? -arm + 0.25 : arm + 0.25, y0: h - 0.3, y1: h + 0.05, shear: 0, tex: tx.fine, scale: 30, offU: 0, offV: 0, base: base + 0.8, contrast: 0.1, label: ClassId.object },
    ];
    return { depthZ: Z, walls: [], sprites: [{ X, Z, parts }], building: false };
  }

  private sign(rng: Rng, side: number, Z: number): StaticItem {
    const tx = this.textures;
    const X = side * (this.roadHalf + 0.5);
    const h = rng.range(2.2, 2.8);
    const round = rng.chance(0.5);
    const s = rng.range(0.6, 0.9);
    const parts: SpritePart[] = [
      { ellipse: false, x0: -0.04, x1: 0.04, y0: 0, y1: h, shear: 0, tex: tx.fine, scale: 30, offU: 0, offV: 0, base: -1.4, contrast: 0.1, label: ClassId.object },
      { ellipse: round, x0: -s / 2, x1: s / 2, y0: h - 0.05, y1: h + s - 0.05, shear: 0, tex: tx.fine, scale: 30, offU: 0, offV: 0, base: rng.range(-2.6, -1.8), contrast: 0.05, label: ClassId.object },
      { ellipse: round, x0: -s * 0.38, x1: s * 0.38, y0: h - 0.05 + s * 0.12, y1: h - 0.05 + s * 0.88, shear: 0, tex: tx.fine, scale: 30, offU: 0, offV: 0, base: rng.range(-0.5, -0.1), contrast: 0.05, label: ClassId.object },
    ];
    return { depthZ: Z, walls: [], sprites: [{ X, Z, parts }], building: false };
  }

  private trafficLight(rng: Rng, side: number, Z: number): StaticItem {
    const tx = this.textures;
    const X = side * (this.roadHalf + 0.5);
    const h = rng.range(2.8, 3.4);
    const lit = rng.int(3);
    const parts: SpritePart[] = [
      { ellipse: false, x0: -0.07, x1: 0.07, y0: 0, y1: h, shear: 0, tex: tx.fine, scale: 30, offU: 0, offV: 0, base: -2.2, contrast: 0.1, label: ClassId.object },
      { ellipse: false, x0: -0.2, x1: 0.2, y0: h, y1: h + 1.0, shear: 0, tex: tx.fine, scale: 30, offU: 0, offV: 0, base: -3.0, contrast: 0.1, label: ClassId.object },
    ];
    for (let k = 0; k < 3; k++) {
      const cy = h + 0.18 + k * 0.32;
      parts.push({ ellipse: true, x0: -0.12, x1: 0.12, y0: cy - 0.12, y1: cy + 0.12, shear: 0, tex: tx.fine, scale: 30, offU: 0, offV: 0, base: k === lit ? 0 : -2.4, contrast: 0.05, label: ClassId.object });
    }
    return { depthZ: Z, walls: [], sprites: [{ X, Z, parts }], building: false };
  }

  private makeCar(rng: Rng, x: number, z: number, v: number, tRef: number, heading: number): Car {
    const model = rng.pick(this.carModels);
    const paint = rng.pick([-3.0, -2.6, -2.0, -1.5, -1.0, -0.6, -0.3]) + rng.range(-0.1, 0.1);
    return { x, z, v, tRef, heading, model, paint, ends: carEnd(model, paint, heading, this.textures), sideTexOff: 0 };
  }

  private makePed(rng: Rng, x: number, z: number, vx: number, vz: number, tRef: number, xMin: number, xMax: number): Pedestrian {
    const tx = this.textures;
    const h = rng.range(1.55, 1.9);
    const shirt = rng.range(-3, -0.4);
    const pants = rng.range(-3.2, -1.2);
    const skin = rng.range(-1.6, -0.8);
    const L = ClassId.human;
    const part = (x0: number, x1: number, y0: number, y1: number, base: number, ellipse = false): SpritePart => ({ ellipse, x0, x1, y0, y1, shear: 0, tex: tx.fine, scale: 60, offU: rng.range(0, 256), offV: rng.range(0, 256), base, contrast: 0.2, label: L });
    const parts = [
      part(-0.13 * h * 0.5 - 0.04, -0.01, 0, 0.48 * h, pants), // legs
      part(0.01, 0.13 * h * 0.5 + 0.04, 0, 0.48 * h, pants),
      part(-0.13 * h, 0.13 * h, 0.46 * h, 0.82 * h, shirt), // torso
      part(-0.16 * h, -0.1 * h, 0.5 * h, 0.8 * h, shirt), // arms
      part(0.1 * h, 0.16 * h, 0.5 * h, 0.8 * h, shirt),
      part(-0.06 * h, 0.06 * h, 0.81 * h, 0.97 * h, skin, true), // head
    ];
    return { x, z, vx, vz, tRef, xMin, xMax, height: h, phase: rng.range(0, 6.3), parts };
  }

  /**
   * Everything to draw at time t: building layer (facades and front faces) and object layer (roadside
   * objects, cars, pedestrians), each sorted far to near. Building faces are never in front of
   * roadside objects because buildings stand behind the sidewalk.
   */
  collect(t: number, pose: CameraPose, buildings: Drawable[], objects: Drawable[]): void {
    buildings.length = 0;
    objects.length = 0;
    const maxZ = pose.z + this.opts.viewDistance;
    for (const items of this.segments.values()) {
      for (const it of items) {
        if (it.depthZ > maxZ) continue;
        const target = it.building ? buildings : objects;
        const farEnd = it.walls.length > 0 ? Math.max(it.depthZ, it.walls[0]!.z1) : it.depthZ;
        if (farEnd < pose.z) continue;
        target.push({ depth: Math.max(0, it.depthZ - pose.z), walls: it.walls, sprites: it.sprites });
      }
    }
    for (const c of this.cars) {
      const zr = c.z + c.v * (t - c.tRef);
      const m = c.model;
      if (zr > maxZ || zr + m.length < pose.z) continue;
      const walls: Wall[] = [];
      const sprites: Sprite[] = [];
      const sideX = c.x > pose.x ? c.x - m.width / 2 : c.x + m.width / 2;
      const scale = m.side.width / m.length;
      // Oncoming cars show the mirrored side texture (front towards -Z).
      walls.push({ X: sideX, z0: zr, z1: zr + m.length, y0: 0, y1: m.height, tex: m.side, sScale: c.heading > 0 ? scale : -scale, hScale: m.side.height / m.height, sOff: c.heading > 0 ? 0 : m.side.width - 0.01, hOff: 0, base: c.paint, contrast: 1, label: ClassId.vehicle });
      if (zr > pose.z) sprites.push({ X: c.x, Z: zr, parts: c.ends });
      objects.push({ depth: Math.max(0, zr - pose.z), walls, sprites });
    }
    for (const q of this.peds) {
      const dt = t - q.tRef;
      const X = Math.min(q.xMax, Math.max(q.xMin, q.x + q.vx * Math.max(0, dt)));
      const Z = q.z + q.vz * dt;
      if (Z > maxZ || Z < pose.z) continue;
      const moving = (q.vx !== 0 && X > q.xMin && X < q.xMax && dt > 0) || q.vz !== 0;
      const speed = Math.hypot(q.vx, q.vz);
      const swing = moving ? Math.sin(q.phase + (dt * speed * Math.PI) / (0.42 * q.height)) : 0;
      q.parts[0]!.shear = 0.45 * swing;
      q.parts[1]!.shear = -0.45 * swing;
      q.parts[3]!.shear = -0.3 * swing;
      q.parts[4]!.shear = 0.3 * swing;
      objects.push({ depth: Z - pose.z, walls: [], sprites: [{ X, Z, parts: q.parts }] });
    }
    buildings.sort((a, b) => b.depth - a.depth);
    objects.sort((a, b) => b.depth - a.depth);
  }
}

function buildCarModels(rng: Rng): CarModel[] {
  const specs: [number, number, number, boolean][] = [
    [4.5, 1.8, 1.45, false],
    [4.0, 1.75, 1.5, false],
    [4.8, 1.9, 1.75, false],
    [5.2, 2.0, 2.2, true], // van
    [9.0, 2.5, 3.3, true], // truck
  ];
  return specs.map(([length, width, height, truck]) => ({ length, width, height, truck, side: carSide(rng, length, height, truck) }));
}

/** Side view of a car, 128 x 32 texels over length x height: body, windows, wheels; NaN outside the profile. */
function carSide(rng: Rng, length: number, height: number, truck: boolean): Texture {
  const W = 128;
  const H = 32;
  const tex = new Float32Array(W * H);
  const noise = rng.range(0, 1);
  const wheelR = (0.33 / height) * H;
  const wheelsX = [0.18 * W, 0.82 * W];
  const wheelY = wheelR;
  const belt = truck ? 0.55 : 0.58;
  for (let y = 0; y < H; y++) {
    const hy = (y + 0.5) / H;
    for (let x = 0; x < W; x++) {
      const lx = (x + 0.5) / W;
      let v = NaN;
      let inWheel = false;
      for (const wx of wheelsX) if ((x + 0.5 - wx) ** 2 + (y + 0.5 - wheelY) ** 2 < wheelR * wheelR) inWheel = true;
      if (inWheel) {
        const d = Math.min(...wheelsX.map((wx) => Math.hypot(x + 0.5 - wx, y + 0.5 - wheelY)));
        v = d < wheelR * 0.5 ? -0.6 : -2.2; // rim and tyre
      } else if (hy >= 0.12 && hy < belt) {
        v = 0.05 * Math.sin(x * 0.7 + noise * 10);
        if (Math.abs(lx - 0.5) < 0.005 || Math.abs(hy - 0.35) < 0.01) v = -0.6; // door seam, trim
      } else if (hy >= belt) {
        // Cabin: trapezoid for cars (windscreens slope), full box for vans and trucks.
        const front = truck ? 0.97 : 0.78 - (hy - belt) * 0.35;
        const rear = truck ? (length > 6 ? 0.72 : 0.03) : 0.08 + (hy - belt) * 0.25;
        if (lx > rear && lx < front) {
          const roof = hy > 0.92;
          const pillar = Math.abs(lx - (rear + front) / 2) < 0.015 || lx < rear + 0.02 || lx > front - 0.02;
          v = roof || pillar || (truck && length > 6) ? 0 : -1.8 + 0.6 * (hy - belt);
        }
        if (truck && length > 6 && lx <= 0.72) v = 0.15 + 0.04 * Math.sin(y); // cargo box
      }
      tex[y * W + x] = v;
    }
  }
  return new Texture(tex, 7, 5);
}

/** Rear (heading +1) or front (heading -1) face of a car as sprite parts. */
function carEnd(m: CarModel, paint: number, heading: number, tx: TextureSet): SpritePart[] {
  const L = ClassId.vehicle;
  const w = m.width / 2;
  const h = m.height;
  const belt = h * (m.truck ? 0.55 : 0.58);
  const p = (x0: number, x1: number, y0: number, y1: number, base: number, ellipse = false): SpritePart => ({ ellipse, x0, x1, y0, y1, shear: 0, tex: tx.fine, scale: 40, offU: 0, offV: 0, base, contrast: 0.06, label: L });
  const cabinW = m.truck ? w : w * 0.82;
  const parts: SpritePart[] = [
    p(-w + 0.05, -w + 0.3, 0, 0.35, -3.3), // tyres
    p(w - 0.3, w - 0.05, 0, 0.35, -3.3),
    p(-w, w, 0.2, belt, paint), // body
    p(-cabinW, cabinW, belt, h, paint), // cabin
    p(-cabinW + 0.1, cabinW - 0.1, belt + 0.08, h - 0.1, m.truck && m.length > 6 ? paint + 0.15 : -2.4), // window
    p(-0.25, 0.25, 0.3, 0.42, -0.3), // plate
  ];
  if (heading > 0) {
    parts.push(p(-w + 0.08, -w + 0.38, belt - 0.22, belt - 0.05, -1.6), p(w - 0.38, w - 0.08, belt - 0.22, belt - 0.05, -1.6)); // tail lights
  } else {
    parts.push(p(-w + 0.1, -w + 0.45, belt - 0.25, belt - 0.08, 0.2, true), p(w - 0.45, w - 0.1, belt - 0.25, belt - 0.08, 0.2, true)); // headlights
    parts.push(p(-w + 0.55, w - 0.55, 0.35, belt - 0.1, -2.8)); // grille
  }
  return parts;
}
