/**
 * Seeded randomness for training with state that fits in JSON: mulberry32 (the same generator as
 * src/snn/encoders.ts) with its 32-bit state exposed, a seed mixer, and a Fisher-Yates shuffle.
 * Training derives every stream from (seed, epoch, batch), so a resumed run redraws exactly what
 * the uninterrupted run would have drawn.
 */
export class Rng {
  state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** A bound `() => number` view. */
  fn(): () => number {
    return () => this.next();
  }
}

/** Mix integers into one 32-bit seed (splitmix-style avalanche). */
export function mixSeed(...parts: number[]): number {
  let h = 0x9e3779b9;
  for (const p of parts) {
    h = Math.imul(h ^ (p >>> 0), 0x85ebca6b) >>> 0;
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35) >>> 0;
    h ^= h >>> 16;
  }
  return h >>> 0;
}

/** Permutation of 0..n-1 from a seed. */
export function shuffled(n: number, seed: number): Int32Array {
  const a = Int32Array.from({ length: n }, (_, i) => i);
  const r = new Rng(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r.next() * (i + 1));
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  }
  return a;
}
