/**
 * The preprocessing cache of synthetic sets: each sequence's frames and labels as two .npy files beside
 * it (`seq_XXX/.cache/<key>.frames.npy`, `.labels.npy`), the key a hash of everything the preprocessing
 * depends on. An entry older than any of its inputs, unreadable or of another dtype is a miss; a
 * read-only dataset simply has no cache.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { decodeNpy, encodeNpy } from '../util/npy.js';

/** A short hash of the preprocessing parameters (JSON), the cache entry's name. */
export function cacheKey(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex').slice(0, 16);
}

function mtime(p: string): number {
  try {
    return statSync(p).mtimeMs;
  } catch {
    return Infinity;
  }
}

/** The cached frames and labels, or undefined when absent, stale (older than a file of `newerThan`) or unreadable. */
export function readCache(framesPath: string, labelsPath: string, newerThan: string[]): { frames: Float32Array; labels: Uint8Array } | undefined {
  if (!existsSync(framesPath) || !existsSync(labelsPath)) return undefined;
  const t = Math.min(mtime(framesPath), mtime(labelsPath));
  if (newerThan.some((p) => mtime(p) > t)) return undefined;
  try {
    const f = decodeNpy(new Uint8Array(readFileSync(framesPath)), framesPath);
    const l = decodeNpy(new Uint8Array(readFileSync(labelsPath)), labelsPath);
    if (!(f.data instanceof Float32Array) || !(l.data instanceof Uint8Array)) return undefined;
    return { frames: f.data, labels: l.data };
  } catch {
    return undefined;
  }
}

/** Write a cache entry; failures (read-only dataset) are ignored. */
export function writeCache(dir: string, framesPath: string, labelsPath: string, frames: Float32Array, fShape: number[], labels: Uint8Array, lShape: number[]): void {
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(framesPath, encodeNpy(frames, fShape));
    writeFileSync(labelsPath, encodeNpy(labels, lShape));
  } catch {
    // read-only dataset: no cache
  }
}
