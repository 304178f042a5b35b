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
import { decodeEventBytes, type EventBatch } from '../src/events/index.js';
import { writeHdf5Events } from '../src/events/hdf5-events-writer.js';
import { H5Session } from '../src/events/hdf5-session.js';
import { loadPipeline } from '../src/pipeline/config.js';
import { streamFrames, type ModelFrame } from '../src/web/frame-stream.js';
import { hdf5Frames } from '../src/web/hdf5-frames.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';

const SOURCE = sharedRecording('dvs-lz4-sample.aedat4');

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
