/**
 * The in-browser pipeline's test helpers (issue 15): dist/web built once per test file, and the parity of the page's in-browser segmentation with the Node engine (issue 15), shared by the browser
 * e2e tests: the page keeps the logits of its first frames (`window.evstream.local.first`); the same file
 * is decoded and binned in Node (Node's own decoders, the page's manifest framing) and stepped through the
 * Node onnx engine on the same checkpoint.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeEventBytes } from '../../src/events/index.js';
import { FrameBinner } from '../../src/framing/binner.js';
import type { Frame } from '../../src/framing/frame.js';
import { binOptionsOf } from '../../src/pipeline/frame-options.js';
import { modelInput } from '../../src/web/frame-stream.js';
import { parseManifest, type WebModelManifest } from '../../src/web/manifest.js';
import { loadCheckpoint } from '../../src/snn/checkpoint.js';
import { createSession } from '../../src/snn/engines/index.js';
import { initBackend } from '../../src/snn/backend.js';
import type { SegModel } from '../../src/snn/model.js';
import { argmaxClasses } from '../../src/train/metrics.js';

/** What the page's LocalRun state holds (src/web/local-run.ts LocalState). */
export interface PageLocalState {
  backend: string | null;
  framesProcessed: number;
  pass: number;
  bytesRead: number;
  first: { index: number; t0: number; logits: number[] }[];
  error: string | null;
}

/** dist/web's folder in this checkout. */
export const WEB_ROOT = join(process.cwd(), 'dist', 'web');

let built = false;
/** dist/web as the code now is (scripts/build-web.mjs takes a few seconds; once per test file). */
export function buildWebOnce(): void {
  if (!built) execFileSync(process.execPath, [join('scripts', 'build-web.mjs')], { stdio: 'inherit' });
  built = true;
}

/** The manifest of dist/web's demo model. */
export function webManifest(webRoot: string): WebModelManifest {
  return parseManifest(readFileSync(join(webRoot, 'models', 'demo.json'), 'utf8'), 'demo.json');
}

/** The manifest's checkpoint, loaded as the page's model was exported (size, BN policy). */
export async function manifestModel(manifest: WebModelManifest): Promise<SegModel> {
  await initBackend(undefined, false);
  return loadCheckpoint(join('pipelines', manifest.model.checkpoint!), { set: { size: manifest.framing.size }, bnPolicy: manifest.model.bnPolicy as 'last' }).model;
}

/** The first `n` model inputs of a recording, binned in Node as the page's manifest says. */
export function nodeFrames(file: string, framing: WebModelManifest['framing'], n: number): { index: number; input: Float32Array }[] {
  const binner = new FrameBinner(binOptionsOf(framing));
  const out: { index: number; input: Float32Array }[] = [];
  const emit = (f: Frame): void => {
    if (out.length < n) out.push({ index: f.index, input: modelInput(f, framing) });
  };
  decodeEventBytes(new Uint8Array(readFileSync(file)), (b) => binner.push(b, emit), { source: file });
  binner.flush(emit);
  return out;
}

/**
 * Compare the page's first frames with the Node engine from a zero state over the same frames: same windows,
 * and the argmax agreement and max logit difference (returned; the caller asserts its bound).
 */
export function pageParity(first: PageLocalState['first'], file: string, manifest: WebModelManifest, model: SegModel): { frames: number; share: number; maxDiff: number } {
  const T = manifest.model.T;
  const ref = nodeFrames(file, manifest.framing, T);
  assert.equal(first.length, Math.min(T, ref.length), 'the page kept the first min(T, frames in the file) frames');
  assert.ok(first.length > 0, 'the page segmented at least one frame');
  const session = createSession(model, { engine: 'onnx', horizon: T, bnPolicy: manifest.model.bnPolicy as 'last', log: () => {} });
  const plane = manifest.framing.size[0] * manifest.framing.size[1];
  let agree = 0;
  let maxDiff = 0;
  try {
    for (let k = 0; k < first.length; k++) {
      assert.equal(first[k]!.index, ref[k]!.index, 'same windows');
      const r = session.step(ref[k]!.input);
      const web = Float32Array.from(first[k]!.logits);
      assert.equal(web.length, r.logits.length);
      for (let i = 0; i < web.length; i++) maxDiff = Math.max(maxDiff, Math.abs(web[i]! - r.logits[i]!));
      const a = argmaxClasses(web, 1, manifest.model.classes, plane);
      const b = argmaxClasses(r.logits, 1, manifest.model.classes, plane);
      for (let i = 0; i < plane; i++) if (a[i] === b[i]) agree++;
    }
  } finally {
    session.dispose();
  }
  return { frames: first.length, share: agree / (first.length * plane), maxDiff };
}
