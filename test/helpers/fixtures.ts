/**
 * Reference fixture sets (read in place from ../shared/reference, never copied): weights
 * (single file or parts), input.npy, output.npy, spikes.json, spike_maps.npy and manifest.json.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readNpy } from '../../src/util/npy.js';
import { archFromReference, type Arch } from '../../src/snn/definition.js';
import { missingShared, referenceDir } from './shared.js';

export interface FixtureSet {
  dir: string;
  name: string;
  arch: Arch;
  T: number;
  N: number;
  weightFiles: string[];
  manifest: Record<string, unknown> & { timesteps_T: number; architecture: string };
}

/** Every subdirectory of the reference dir with a manifest.json (empty when absent). */
export function listFixtures(dir = referenceDir): FixtureSet[] {
  if (!existsSync(dir)) return [];
  const out: FixtureSet[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (!e.isDirectory()) continue;
    const d = join(dir, e.name);
    const mf = join(d, 'manifest.json');
    if (!existsSync(mf)) continue;
    const manifest = JSON.parse(readFileSync(mf, 'utf8')) as FixtureSet['manifest'] & { batch_N?: number; weights?: { files_in_order?: string[] } };
    const parts = manifest.weights?.files_in_order;
    const weightFiles = parts && parts.length ? parts.map((p) => join(d, p)) : [join(d, 'weights.safetensors')];
    out.push({ dir: d, name: e.name, arch: archFromReference(manifest.architecture), T: manifest.timesteps_T, N: manifest.batch_N ?? 0, weightFiles, manifest });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The fixture set directories ../shared/reference/README.md lists in its table (the one headed
 * "| directory |"): the independent expectation for a loop over listFixtures(), so a renamed or
 * missing set cannot make such a loop pass vacuously. Empty when the README is absent.
 */
export function expectedFixtureNames(dir = referenceDir): string[] {
  const readme = join(dir, 'README.md');
  if (!existsSync(readme)) return [];
  const table = readFileSync(readme, 'utf8').split(/\n\s*\n/).find((block) => block.startsWith('| directory |')) ?? '';
  return [...table.matchAll(/^\| `([^`]+)` \|/gm)].map((m) => m[1]!).sort((x, y) => x.localeCompare(y));
}

/** Skip reason when the reference dir holds no fixture set (the shared-input wording), else false. */
export function skipUnlessFixtures(sets: readonly FixtureSet[]): string | false {
  return sets.length ? false : missingShared(join(referenceDir, '*', 'manifest.json'));
}

/**
 * Bound on |logits - reference| for a fixture forward: LOGIT_ULPS * 2^-23 * max |reference logit|.
 * The logits are float32 sums of up to K = 9 * 1024 products (classifier.0 / .1), summed in another order
 * than PyTorch's; rounding grows like sqrt(K) * eps * |terms| in practice (K * eps at worst). Measured
 * (max |diff|, in ulps of the max): DeepLab (max 0.61) 2.98e-7 wasm / 8.9e-8 cpu / 3.13e-7 onnx (<= 4 ulps);
 * FCN (max 5.48, deeper, with skip sums and three transposed convs) 7.99e-6 wasm / 1.88e-5 cpu / 1.35e-5
 * onnx (<= 29 ulps). 128 ulps keeps >= 4x margin for other SIMD paths and is still 12x (FCN) to 100x
 * (DeepLab) tighter than the former 1e-3, which a wrong BN step or leak (errors ~1e-2 and up) could pass.
 * It holds only because every spike decision matches exactly (asserted alongside): one flipped spike
 * moves the logits by far more.
 */
export function fixtureLogitBound(ref: ArrayLike<number>): number {
  const LOGIT_ULPS = 128;
  let max = 0;
  for (let i = 0; i < ref.length; i++) max = Math.max(max, Math.abs(ref[i]!));
  return LOGIT_ULPS * 2 ** -23 * max;
}

export interface FixtureData {
  input: { data: Float32Array; shape: number[] };
  output: { data: Float32Array; shape: number[] };
  spikes: { name: string; spikes: number; neurons: number }[];
}

export function loadFixtureData(f: FixtureSet): FixtureData {
  const i = readNpy(join(f.dir, 'input.npy'));
  const o = readNpy(join(f.dir, 'output.npy'));
  return {
    input: { data: i.data as Float32Array, shape: i.shape },
    output: { data: o.data as Float32Array, shape: o.shape },
    spikes: JSON.parse(readFileSync(join(f.dir, 'spikes.json'), 'utf8')) as FixtureData['spikes'],
  };
}

/**
 * Unpack one layer's spike bits from spike_maps.npy (numpy.packbits, big bit order) as a
 * Uint8Array of 0/1 in [T, N, C, H, W] C order.
 */
export function fixtureSpikeMap(f: FixtureSet, layer: string): { bits: Uint8Array; shape: number[] } {
  const m = f.manifest as unknown as { spike_maps: { layers: { name: string; shape: number[]; bit_offset: number; bits: number }[] } };
  const l = m.spike_maps.layers.find((x) => x.name === layer);
  if (!l) throw new Error(`fixture ${f.name}: no spike map for layer '${layer}'`);
  const packed = readNpy(join(f.dir, 'spike_maps.npy')).data as Uint8Array;
  const bits = new Uint8Array(l.bits);
  for (let i = 0; i < l.bits; i++) {
    const j = l.bit_offset + i;
    bits[i] = (packed[j >> 3]! >> (7 - (j & 7))) & 1;
  }
  return { bits, shape: l.shape };
}
