// Every shared recording, read through the generic path (content detection -> decoder -> batches ->
// 50 ms frames), must reproduce the facts measured by independent decoders.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readEventFile } from '../src/events/read-file.js';
import { EventStats } from '../src/events/stats.js';
import { FrameBinner } from '../src/framing/binner.js';
import type { Frame } from '../src/framing/frame.js';
import type { FormatWarning } from '../src/events/errors.js';
import { RECORDING_FACTS } from './helpers/facts.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';

for (const facts of RECORDING_FACTS) {
  const path = sharedRecording(facts.file);
  test(`conformance: ${facts.file}`, { skip: skipUnless(path) }, async () => {
    const stats = new EventStats();
    const binner = new FrameBinner({ windowUs: 50_000 });
    const frames: Frame[] = [];
    const warnings: FormatWarning[] = [];
    const info = await readEventFile(
      path!,
      (b) => {
        stats.add(b);
        binner.push(b, (f) => frames.push(f));
      },
      { onWarning: (w) => warnings.push(w) },
    );
    binner.flush((f) => frames.push(f));
    assert.equal(info.format, facts.format);
    if (facts.width !== undefined) assert.deepEqual([info.width, info.height], [facts.width, facts.height]);
    assert.equal(info.sizeFrom ?? 'header', facts.sizeFrom ?? 'header');
    assert.equal(stats.events, facts.events);
    assert.equal(stats.on, facts.on);
    assert.equal(stats.off, facts.off);
    if (facts.tFirstUs !== undefined) {
      assert.equal(stats.tFirstUs, facts.tFirstUs);
      assert.equal(stats.tLastUs, facts.tLastUs);
      assert.equal(stats.nonMonotonic, 0);
      assert.equal(stats.xypChecksum, facts.xyp);
      assert.equal(stats.dtChecksum, facts.dt);
    }
    if (facts.windows) {
      const plane = (f: Frame) => f.width * f.height;
      const sum = (a: Float32Array) => a.reduce((s, v) => s + v, 0);
      if (facts.tFirstUs !== undefined) assert.equal(frames.length, Math.floor((facts.tLastUs! - facts.tFirstUs) / 50_000) + 1, 'one frame per window up to the last event');
      const got = frames.slice(0, facts.windows.length).map((f) => [sum(f.counts.subarray(0, plane(f))), sum(f.counts.subarray(plane(f)))]);
      assert.deepEqual(got, facts.windows);
      assert.equal(frames.reduce((s, f) => s + f.events, 0), facts.events);
    }
    if (facts.events === 0) assert.ok(warnings.length > 0, 'a file with trailing partial data warns');
  });
}
