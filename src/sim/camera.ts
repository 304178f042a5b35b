/**
 * Ego-camera path (closed-form in time, so any render rate sees the same motion) and pinhole projection.
 *
 * World: X right, Y up, Z forward along the road; the road surface is Y = 0. Camera: x right, y down,
 * z forward, no roll. Pitch > 0 looks down.
 */
import { Rng } from './prng.js';

export interface CameraPose {
  x: number;
  y: number;
  z: number;
  yaw: number;
  pitch: number;
}

export interface CameraPathOptions {
  /** Mean forward speed, m/s (0: parked camera). */
  speed: number;
  /** Lateral position of the camera (lane centre), m. */
  laneX: number;
  /** Camera height above the road, m. */
  height: number;
  /** Static downward pitch, rad. */
  pitch: number;
  /** Multiplier for all wobble (speed variation, yaw, lateral drift, bumps); 0 gives a perfectly steady camera. */
  shake: number;
}

export class CameraPath {
  private readonly speedAmp: number;
  private readonly speedW: number;
  private readonly speedPhase: number;
  private readonly yawAmp: number[];
  private readonly yawW: number[];
  private readonly yawPhase: number[];
  private readonly latAmp: number;
  private readonly latW: number;
  private readonly latPhase: number;
  private readonly bumpAmp: number[];
  private readonly bumpW: number[];
  private readonly bumpPhase: number[];

  constructor(readonly opts: CameraPathOptions, rng: Rng) {
    const k = opts.shake;
    this.speedAmp = 0.08 * k;
    this.speedW = rng.range(0.15, 0.35);
    this.speedPhase = rng.range(0, 2 * Math.PI);
    // Slow steering wobble plus a little faster jitter (radians).
    this.yawAmp = [0.02 * k, 0.004 * k];
    this.yawW = [rng.range(0.3, 0.6), rng.range(2, 3.5)];
    this.yawPhase = [rng.range(0, 6.3), rng.range(0, 6.3)];
    this.latAmp = 0.25 * k;
    this.latW = rng.range(0.2, 0.4);
    this.latPhase = rng.range(0, 6.3);
    // Road bumps: pitch oscillation of a few tenths of a degree at suspension frequencies.
    this.bumpAmp = [0.004 * k, 0.0025 * k, 0.0015 * k];
    this.bumpW = [rng.range(6, 9), rng.range(11, 16), rng.range(20, 28)];
    this.bumpPhase = [rng.range(0, 6.3), rng.range(0, 6.3), rng.range(0, 6.3)];
  }

  /** Maximum forward speed over the path (for choosing agent speeds that never rear-end the camera). */
  get maxSpeed(): number {
    return this.opts.speed * (1 + this.speedAmp);
  }

  /** Forward position at time t (s); speed(t) = v (1 + a sin(w t + phi)). */
  zAt(t: number): number {
    const v = this.opts.speed;
    const a = this.speedAmp;
    const w = this.speedW;
    return v * t - ((v * a) / w) * (Math.cos(w * t + this.speedPhase) - Math.cos(this.speedPhase));
  }

  /** Earliest time at which the camera reaches forward position z (bisection; Infinity if never). */
  timeAtZ(z: number): number {
    if (z <= 0) return 0;
    if (!(this.opts.speed > 0)) return Infinity;
    let lo = 0;
    let hi = z / (this.opts.speed * (1 - this.speedAmp)) + 1;
    for (let i = 0; i < 50; i++) {
      const mid = 0.5 * (lo + hi);
      if (this.zAt(mid) < z) lo = mid;
      else hi = mid;
    }
    return hi;
  }

  poseAt(t: number): CameraPose {
    let yaw = 0;
    for (let i = 0; i < this.yawAmp.length; i++) yaw += this.yawAmp[i]! * Math.sin(this.yawW[i]! * t + this.yawPhase[i]!);
    let bump = 0;
    for (let i = 0; i < this.bumpAmp.length; i++) bump += this.bumpAmp[i]! * Math.sin(this.bumpW[i]! * t + this.bumpPhase[i]!);
    return {
      x: this.opts.laneX + this.latAmp * Math.sin(this.latW * t + this.latPhase),
      y: this.opts.height + 0.6 * bump,
      z: this.zAt(t),
      yaw,
      pitch: this.opts.pitch + bump,
    };
  }
}

/** Pose plus intrinsics, with the camera basis precomputed for projection and ray casting. */
export class CameraView {
  readonly f: number;
  readonly cx: number;
  readonly cy: number;
  // Basis vectors in world coordinates.
  rx = 1; rz = 0; // right (ry = 0: no roll)
  dx = 0; dy = -1; dz = 0; // down
  fx = 0; fy = 0; fz = 1; // forward
  pose: CameraPose = { x: 0, y: 1.4, z: 0, yaw: 0, pitch: 0 };

  constructor(readonly width: number, readonly height: number, hfovDeg: number) {
    this.f = width / 2 / Math.tan((hfovDeg * Math.PI) / 360);
    this.cx = width / 2;
    this.cy = height / 2;
  }

  setPose(pose: CameraPose): void {
    this.pose = pose;
    const cy = Math.cos(pose.yaw);
    const sy = Math.sin(pose.yaw);
    const cp = Math.cos(pose.pitch);
    const sp = Math.sin(pose.pitch);
    this.fx = sy * cp;
    this.fy = -sp;
    this.fz = cy * cp;
    this.rx = cy;
    this.rz = -sy;
    // down = right x forward
    this.dx = -this.rz * this.fy;
    this.dy = this.rz * this.fx - this.rx * this.fz;
    this.dz = this.rx * this.fy;
  }

  /** Camera-frame depth of a world point. */
  depth(X: number, Y: number, Z: number): number {
    const p = this.pose;
    return (X - p.x) * this.fx + (Y - p.y) * this.fy + (Z - p.z) * this.fz;
  }

  /** Projects a world point into `out` as [u, v, depth] (u, v in pixels; pixel i spans [i, i+1)). */
  project(X: number, Y: number, Z: number, out: Float64Array): void {
    const p = this.pose;
    const ax = X - p.x;
    const ay = Y - p.y;
    const az = Z - p.z;
    const xc = ax * this.rx + az * this.rz;
    const yc = ax * this.dx + ay * this.dy + az * this.dz;
    const zc = ax * this.fx + ay * this.fy + az * this.fz;
    out[0] = this.cx + (this.f * xc) / zc;
    out[1] = this.cy + (this.f * yc) / zc;
    out[2] = zc;
  }
}
