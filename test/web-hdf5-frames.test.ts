/**
 * The page's HDF5 path (src/web/hdf5-frames.ts) in Node: the Web Worker is replaced by Node's h5wasm worker
 * (hdf5-session.ts), which serves the same protocol (h5wasm-handler.ts) and opens the path given as the
 * source. The frames of an HDF5 file written from a shared recording's events must equal, frame by frame,
 * those streamFrames makes from the original bytes (slices of an odd size, so slices cross windows: a
 * mutant that drops or repeats a slice's tail, mis-applies t_offset or skips the final flush shows).
 * The Chromium test (e2e-browser-hdf5) runs the real Web Worker.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDdd17Hdf5 } from '../src/events/ddd17-hdf5.js';
import { decodeEventBytes, type EventBatch, type StreamInfo } from '../src/events/index.js';
import { writeHdf5Events } from '../src/events/hdf5-events-writer.js';
import { H5Session } from '../src/events/hdf5-session.js';
import { loadPipeline } from '../src/pipeline/config.js';
import { ModelFrameAssembler, streamFrames, type ModelFrame } from '../src/web/frame-stream.js';
import { hdf5Frames } from '../src/web/hdf5-frames.js';
import { drain } from './helpers/batches.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';

const SOURCE = sharedRecording('dvs-lz4-sample.aedat4');
const DDD17 = sharedRecording('davis240-translboxes.ddd17.hdf5');
const AEDAT2 = sharedRecording('davis240-translboxes.aedat');

async function all(frames: AsyncIterable<ModelFrame>): Promise<ModelFrame[]> {
  const out: ModelFrame[] = [];
  for await (const f of frames) out.push(f);
  return out;
}

test('hdf5Frames over the HDF5 worker protocol = streamFrames of the original recording (DSEC layout with t_offset, 4999-event slices)', { skip: skipUnless(SOURCE, 'dvs-lz4-sample.aedat4'), timeout: 60_000 }, async () => {
  const framing = loadPipeline('demo').framing;
  const bytes = new Uint8Array(readFileSync(SOURCE!));
  const batches: EventBatch[] = [];
  decodeEventBytes(bytes, (b) => batches.push(b), { source: SOURCE! });
  const dir = mkdtempSync(join(tmpdir(), 'evstream-h5frames-'));
  try {
    const h5 = join(dir, 'sample.h5');
    await writeHdf5Events(h5, batches, { layout: 'dsec' });
    const want = await all(streamFrames(new Blob([bytes]).stream() as never, framing, { source: 'sample.aedat4' }));
    const infos: unknown[] = [];
    const session = new H5Session();
    const got = await all(hdf5Frames(new File([readFileSync(h5)], 'sample.h5'), framing, { source: h5, transport: session, eventsPerRead: 4999, onInfo: (i) => infos.push(i) }));
    assert.ok(want.length >= 10, `${want.length} frames`);
    assert.equal(got.length, want.length);
    for (let k = 0; k < want.length; k++) {
      const [g, w] = [got[k]!, want[k]!];
      assert.deepEqual([g.index, g.t0, g.t1, g.events, g.width, g.height], [w.index, w.t0, w.t1, w.events, w.width, w.height], `frame ${k}`);
      assert.deepEqual(g.counts, w.counts, `frame ${k} counts`);
      assert.deepEqual(g.input, w.input, `frame ${k} model input`);
    }
    assert.equal(infos.length, 1);
    assert.equal(session.dead, true, 'the worker is given back (terminated) at the end');

    // leaving early closes the file and ends the worker too
    const s2 = new H5Session();
    for await (const f of hdf5Frames(new File([readFileSync(h5)], 'sample.h5'), framing, { source: h5, transport: s2 })) {
      assert.equal(f.index, want[0]!.index);
      break;
    }
    assert.equal(s2.dead, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function sameFrames(got: ModelFrame[], want: ModelFrame[], what: string): void {
  assert.equal(got.length, want.length, `${what}: frame count`);
  for (let k = 0; k < want.length; k++) {
    const [g, w] = [got[k]!, want[k]!];
    assert.deepEqual([g.index, g.t0, g.t1, g.events, g.width, g.height], [w.index, w.t0, w.t1, w.events, w.width, w.height], `${what}: frame ${k}`);
    assert.deepEqual(g.counts, w.counts, `${what}: frame ${k} counts`);
    assert.deepEqual(g.input, w.input, `${what}: frame ${k} model input`);
  }
}

// The page's DDD17 path: hdf5Frames classifies the file as 'ddd17' and reads dvs/data with ddd17-layout.ts,
// the rules Node's readDdd17Hdf5 uses. Its frames must equal (1) Node's reader's events framed by the
// same assembler, (2) the page's frames of the shared AEDAT 2 file, which holds the very same 162771 events
// (shared README): an independent decoder, so a block dropped or repeated (37-row blocks cross windows),
// a wrong size from the frame packet (240 x 180: the 64 x 64 model input would differ) or a cAER time
// mistake shows. Buffer is removed from the globals meanwhile: the page has none.
test('hdf5Frames reads a DDD17 recording (dvs/data) = Node\'s readDdd17Hdf5 frames = the page\'s frames of the same events as AEDAT 2; no Buffer needed', { skip: skipUnless(DDD17, 'davis240-translboxes.ddd17.hdf5') || skipUnless(AEDAT2, 'davis240-translboxes.aedat'), timeout: 60_000 }, async () => {
  const framing = loadPipeline('demo').framing;
  const node = new ModelFrameAssembler(framing);
  const { info: nodeInfo, error } = await drain(readDdd17Hdf5(DDD17!), (b) => node.push(b));
  assert.equal(error, undefined);
  node.flush();
  const fromNode = node.take();
  const fromAedat2 = await all(streamFrames(new Blob([readFileSync(AEDAT2!)]).stream() as never, framing, { source: 'davis240-translboxes.aedat' }));

  const infos: StreamInfo[] = [];
  const warnings: unknown[] = [];
  const session = new H5Session();
  const saved = globalThis.Buffer;
  delete (globalThis as { Buffer?: unknown }).Buffer;
  let got: ModelFrame[];
  try {
    got = await all(hdf5Frames(new File([readFileSync(DDD17!)], 'translboxes.hdf5'), framing, { source: DDD17!, transport: session, rowsPerRead: 37, onInfo: (i) => infos.push(i), onWarning: (w) => warnings.push(w) }));
  } finally {
    globalThis.Buffer = saved;
  }
  // 162771 events from t 294976755 to 297049406 (README): 2.07 s of 50 ms windows
  assert.ok(fromAedat2.length >= 40, `${fromAedat2.length} frames`);
  assert.equal(fromAedat2.reduce((s, f) => s + f.events, 0), 162771);
  sameFrames(got, fromNode, 'vs readDdd17Hdf5');
  sameFrames(got, fromAedat2, 'vs the AEDAT 2 bytes');
  assert.deepEqual(warnings, []);
  assert.equal(infos.length, 1);
  assert.deepEqual(infos[0], nodeInfo, 'the StreamInfo (size from the frame packet, skipped counts, first host time) is Node\'s');
  assert.deepEqual([infos[0]!.format, infos[0]!.width, infos[0]!.height], ['ddd17-hdf5', 240, 180]);
  assert.equal(session.dead, true, 'the worker is given back (terminated) at the end');
});
