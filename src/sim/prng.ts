/**
 * Seeded pseudo-random numbers (mulberry32). Everything in the simulator draws from these so that a seed
 * fully determines a sequence; Math.random is never used.
 */

/** Mixes integers into one 32-bit seed (murmur3-style finaliser), for independent sub-streams. */
export function hashSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  // Each part contributes its low and high 32-bit halves, so e.g. -2 and 1 hash differently.
  const words: number[] = [];
  for (const part of parts) words.push(Math.floor(part) >>> 0, Math.floor(part / 4294967296) >>> 0);
  for (const word of words) {
    let k = word;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class Rng {
  private state: number;
  private spareNormal = NaN;

  constructor(seed: number) {
    this.state = hashSeed(seed) | 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform in [lo, hi). */
  range(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Standard normal (Box-Muller, caching the second value). */
  normal(): number {
    if (this.spareNormal === this.spareNormal) {
      const v = this.spareNormal;
      this.spareNormal = NaN;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const a = 2 * Math.PI * this.next();
    this.spareNormal = r * Math.sin(a);
    return r * Math.cos(a);
  }

  /** Poisson-distributed count with mean `lambda` (Knuth below 30, rounded normal above). */
  poisson(lambda: number): number {
    if (!(lambda > 0)) return 0;
    if (lambda > 30) return Math.max(0, Math.round(lambda + Math.sqrt(lambda) * this.normal()));
    const limit = Math.exp(-lambda);
    let k = 0;
    let prod = this.next();
    while (prod > limit) {
      k++;
      prod *= this.next();
    }
    return k;
  }
}
