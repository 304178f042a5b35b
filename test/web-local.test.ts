/**
 * The in-browser pipeline's pieces, run in Node (fast; the Chromium run is e2e-browser-local.test.ts):
 *   - streamFrames (src/web/frame-stream.ts) on a shared AEDAT 4 delivered as a stream of odd-sized chunks
 *     gives the README's 50 ms window counts (kills a chunk dropped or pushed twice, a head held back);
 *     bad bytes are an EventFormatError naming the file; leaving early cancels the stream.
 *   - the browser build of the decoders (esbuild, browser conditions) decodes every shared recording the page
 *     accepts with Node's Buffer removed from globalThis, to the README facts (kills a decoder that needs
 *     Buffer: the AEDAT 2 header lines did, and the page failed with 'Buffer is not defined').
 *   - StepGraph (src/web/step-graph.ts) on the exported demo graph, with plain onnxruntime-node, follows the
 *     Node pipeline's model (a sliding window of T staggered engine sessions, as `evstream run demo` runs it)
 *     for 2T + 3 frames: kills a state not fed back from `<name>.next` (logits from step 2 on would be those of
 *     a fresh start), a continuous export (differs from frame T on) and a reset() that keeps state.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import type * as EventsApi from '../src/events/browser.js';
import * as ort from 'onnxruntime-node';
import { EventFormatError } from '../src/events/errors.js';
import type { FramingConfig } from '../src/pipeline/config.js';
import { loadPipeline } from '../src/pipeline/config.js';
import { streamFrames, type ByteChunkStream, type ModelFrame } from '../src/web/frame-stream.js';
import { StepGraph } from '../src/web/step-graph.js';
import { exportWebModel } from '../src/web/export-model.js';
import { loadCheckpoint } from '../src/snn/checkpoint.js';
import { createSession, WindowedSession } from '../src/snn/engines/index.js';
import { RECORDING_FACTS } from './helpers/facts.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';

const AEDAT4 = 'dvs-lz4-sample.aedat4';

/** `bytes` as a ReadableStream of chunks of sizes cycling through `sizes`; counts cancel() calls. */
function chunked(bytes: Uint8Array, sizes: number[]): ByteChunkStream & { cancelled: number } {
  let at = 0;
  let k = 0;
  const s = new ReadableStream<Uint8Array>({
    pull(c) {
      if (at >= bytes.length) return c.close();
      const n = sizes[k++ % sizes.length]!;
      c.enqueue(bytes.slice(at, at + n));
      at += n;
    },
    cancel: () => void out.cancelled++,
  });
  const out = { cancelled: 0, getReader: () => s.getReader() as ReturnType<ByteChunkStream['getReader']> };
  return out;
}

/** Sensor-resolution framing: no crop, no resize, raw counts (so window sums are event counts). */
const RAW: FramingConfig = { windowMs: 50, crop: null, size: [240, 320], normalize: false, latenessMs: 0, fit: 'stretch' };

async function collect(it: AsyncIterable<ModelFrame>, n = Infinity): Promise<ModelFrame[]> {
  const out: ModelFrame[] = [];
  for await (const f of it) {
    out.push(f);
    if (out.length >= n) break;
  }
  return out;
}

test('streamFrames: a shared AEDAT 4 in odd chunks gives the README window counts', { skip: skipUnless(sharedRecording(AEDAT4), AEDAT4) }, async () => {
  const bytes = new Uint8Array(readFileSync(sharedRecording(AEDAT4)!));
  const facts = RECORDING_FACTS.find((f) => f.file === AEDAT4)!;
  // 1 byte, then sizes that straddle packet headers and the 64 KiB detection head
  const frames = await collect(streamFrames(chunked(bytes, [1, 777, 65_536, 13, 100_003]), RAW, { source: AEDAT4 }));
  const plane = 240 * 320;
  const windows = frames.slice(0, 5).map((f) => {
    let on = 0;
    let off = 0;
    for (let i = 0; i < plane; i++) {
      on += f.counts[i]!;
      off += f.counts[plane + i]!;
    }
    return [on, off];
  });
  assert.deepEqual(windows, facts.windows);
  // the model input is the counts (normalize off), a copy
  assert.deepEqual(frames[0]!.input, frames[0]!.counts);
  assert.notEqual(frames[0]!.input, frames[0]!.counts);
});

test('streamFrames: bytes of no known format are an EventFormatError naming the source; leaving early cancels the stream', { skip: skipUnless(sharedRecording(AEDAT4), AEDAT4) }, async () => {
  await assert.rejects(collect(streamFrames(chunked(new TextEncoder().encode('not an event file at all'), [5]), RAW, { source: 'junk.bin' })), (e: unknown) => e instanceof EventFormatError && e.message.includes('junk.bin'));
  const s = chunked(new Uint8Array(readFileSync(sharedRecording(AEDAT4)!)), [4096]);
  assert.equal((await collect(streamFrames(s, RAW, { source: AEDAT4 }), 1)).length, 1);
  assert.equal(s.cancelled, 1);
});

test('the browser build decodes every shared format the page accepts without Node\'s Buffer, to the README facts', async (t) => {
  const r = await build({ entryPoints: [join(process.cwd(), 'dist/src/events/browser.js')], bundle: true, platform: 'browser', format: 'esm', write: false, conditions: ['browser'], logLevel: 'silent' });
  const dir = mkdtempSync(join(tmpdir(), 'evstream-web-'));
  const file = join(dir, 'events.mjs');
  writeFileSync(file, r.outputFiles[0]!.text);
  const api = (await import(pathToFileURL(file).href)) as typeof EventsApi;
  rmSync(dir, { recursive: true, force: true });
  const facts = RECORDING_FACTS.filter((f) => f.format !== 'ddd17-hdf5' && f.events > 0 && sharedRecording(f.file));
  if (facts.length === 0) return t.skip(skipUnless(undefined) || 'no shared recordings');
  for (const f of facts) {
    const bytes = new Uint8Array(readFileSync(sharedRecording(f.file)!));
    const saved = globalThis.Buffer;
    let n = 0;
    let on = 0;
    let format: string;
    // decoding is synchronous: nothing else runs while Buffer is gone
    delete (globalThis as { Buffer?: unknown }).Buffer;
    try {
      format = api.decodeEventBytes(bytes, (b) => {
        n += b.length;
        for (let i = 0; i < b.length; i++) on += b.p[i]!;
      }, { source: f.file }).format;
    } finally {
      globalThis.Buffer = saved;
    }
    assert.deepEqual([format, n, on], [f.format, f.events, f.on], f.file);
  }
});

test('StepGraph on the exported demo graph (onnxruntime-node) follows the Node pipeline\'s sliding window over 2T + 3 frames; reset() starts over', { skip: skipUnless(sharedRecording(AEDAT4), AEDAT4), timeout: 120_000 }, async () => {
  const cfg = loadPipeline('demo');
  const { onnx, manifest } = await exportWebModel(cfg);
  const T = manifest.model.T;
  // the demo pipeline runs its model as a sliding window; the page's model says so
  assert.equal(cfg.model.slidingWindow, true);
  assert.equal(manifest.model.streaming, 'sliding-window');
  const session = await ort.InferenceSession.create(onnx);
  const graph = new StepGraph(session, (d, dims) => new ort.Tensor('float32', d, dims as number[]), {
    size: manifest.framing.size,
    classes: manifest.model.classes,
    states: manifest.states,
    neurons: manifest.layers.map((l) => l.neurons),
  });
  const bytes = new Uint8Array(readFileSync(sharedRecording(AEDAT4)!));
  const frames = await collect(streamFrames(chunked(bytes, [65_536]), manifest.framing, { source: AEDAT4 }), 2 * T + 3);
  assert.equal(frames.length, 2 * T + 3);
  const { model } = loadCheckpoint('pipelines/demo.safetensors', { set: { size: manifest.framing.size }, bnPolicy: manifest.model.bnPolicy as 'last' });
  // the Node pipeline's model (model-adapter.ts LiveModel): T staggered sessions, each zeroed every T steps
  const ref = new WindowedSession(() => createSession(model, { engine: 'onnx', horizon: T, bnPolicy: manifest.model.bnPolicy as 'last', log: () => {} }), { sliding: T });
  const cont = createSession(model, { engine: 'onnx', horizon: T, bnPolicy: manifest.model.bnPolicy as 'last', log: () => {} });
  const maxDiff = (a: Float32Array, b: Float32Array): number => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);
  try {
    let worst = 0;
    let contGap = 0;
    const firstLogits: Float32Array[] = [];
    for (const [k, f] of frames.entries()) {
      const r = await graph.step(f.input);
      const e = ref.step(f.input);
      worst = Math.max(worst, maxDiff(r.logits, e.logits));
      const c = cont.step(f.input);
      if (k >= T) contGap = Math.max(contGap, maxDiff(c.logits, e.logits));
      assert.equal(r.t, k);
      assert.deepEqual(r.spikes, e.spikes.map((s) => s.spikes), `spikes per layer, step ${k}`);
      firstLogits.push(Float32Array.from(r.logits));
    }
    console.log(`StepGraph vs Node sliding window over ${frames.length} frames: max |logit diff| ${worst.toExponential(2)} (continuous differs by up to ${contGap.toFixed(3)} from frame T)`);
    assert.ok(worst <= 1e-5, `max |logit diff| ${worst}`);
    // the comparison can tell the policies apart on this recording (else a continuous export would pass)
    assert.ok(contGap > 1e-3, `continuous vs sliding window from frame T: ${contGap}`);
    // reset: the same frames again give the same logits as from the start
    graph.reset();
    const again = await graph.step(frames[0]!.input);
    assert.equal(again.t, 0);
    assert.ok(maxDiff(again.logits, firstLogits[0]!) <= 1e-6);
    // and a state carried is visible: frame 1 from reset differs from frame 1 after frame 0
    graph.reset();
    assert.ok(maxDiff((await graph.step(frames[1]!.input)).logits, firstLogits[1]!) > 1e-3, 'states change the logits');
  } finally {
    ref.dispose();
    cont.dispose();
    model.dispose();
    await session.release();
  }
});
