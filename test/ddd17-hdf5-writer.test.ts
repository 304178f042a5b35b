import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import h5wasm from 'h5wasm/node';
import { Ddd17Hdf5Writer, writeDdd17Hdf5 } from '../src/events/ddd17-hdf5-writer.js';
import { collectDdd17Hdf5 } from '../src/events/ddd17-hdf5.js';
import { parseCaerHeader, CaerEventType } from '../src/events/caer.js';
import { readEvents } from '../src/events/read-events.js';
import { concatBatches, type EventBatch } from '../src/events/types.js';
import { RECORDING_FACTS } from './helpers/facts.js';
import { factsOf } from './helpers/event-facts.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import { runCli } from './helpers/cli.js';

const WRAP = 2 ** 31;

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'ddd17w-'));
}

/** Seeded events with irregular steps that start 3000 µs before 2^31 and end well after it. */
function craftedEvents(n: number, width: number, height: number): EventBatch {
  let s = 12345;
  const rnd = (): number => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const t = new Float64Array(n);
  const x = new Uint16Array(n);
  const y = new Uint16Array(n);
  const p = new Uint8Array(n);
  let time = WRAP - 3000;
  for (let i = 0; i < n; i++) {
    time += Math.floor(rnd() * 13); // 0..12 µs: equal times happen too
    t[i] = time;
    x[i] = Math.floor(rnd() * width);
    y[i] = Math.floor(rnd() * height);
    p[i] = rnd() < 0.5 ? 1 : 0;
  }
  return { t, x, y, p, length: n, width, height };
}

function slice(b: EventBatch, from: number, to: number): EventBatch {
  return { t: b.t.slice(from, to), x: b.x.slice(from, to), y: b.y.slice(from, to), p: b.p.slice(from, to), length: to - from, width: b.width, height: b.height };
}

/** Every `dvs/data` row as [host time text, cAER header, payload], read with h5wasm directly (not the reader). */
async function rawRows(path: string): Promise<{ host: string; header: ReturnType<typeof parseCaerHeader>; payload: Uint8Array }[]> {
  await h5wasm.ready;
  const f = new h5wasm.File(path, 'r');
  try {
    const ds = f.get('dvs/data') as unknown as { shape: number[]; slice(r: [number, number][]): Uint8Array[] };
    const stamps = f.get('dvs/timestamp') as unknown as { value: BigInt64Array };
    const rows = ds.shape[0]!;
    const cells = rows > 0 ? ds.slice([[0, rows], [0, 3]]) : [];
    assert.equal(stamps.value.length, rows);
    return Array.from({ length: rows }, (_, r) => {
      const host = new TextDecoder().decode(cells[3 * r]!);
      assert.equal(host, String(stamps.value[r]), `row ${r}: dvs/timestamp is the host time`);
      return { host, header: parseCaerHeader(cells[3 * r + 1]!), payload: cells[3 * r + 2]! };
    });
  } finally {
    f.close();
  }
}

test('DDD17 writer: crafted batches across a 2^31 µs overflow read back identical; packets respect N events / D µs and never cross the overflow', async () => {
  const dir = tmp();
  try {
    const all = craftedEvents(5000, 346, 260);
    const path = join(dir, 'crafted.ddd17.hdf5');
    // batch boundaries that fall inside packets; a small heap so several global heap collections are used
    const written = await writeDdd17Hdf5(path, [slice(all, 0, 1234), slice(all, 1234, 1235), slice(all, 1235, 5000)], { maxPacketEvents: 300, maxPacketUs: 500, heapBytes: 4096 });
    assert.equal(written.events, 5000);
    const { batches, info } = await collectDdd17Hdf5(path, { strict: true });
    const back = concatBatches(batches);
    assert.deepEqual(Array.from(back.t), Array.from(all.t));
    assert.deepEqual(Array.from(back.x), Array.from(all.x));
    assert.deepEqual(Array.from(back.y), Array.from(all.y));
    assert.deepEqual(Array.from(back.p), Array.from(all.p));
    assert.equal(info.width, 346);
    assert.equal(info.height, 260);
    assert.equal(info.header?.['sizeFrom'], 'default');
    assert.deepEqual(info.skipped, {}, 'DAVIS346: no size frame, nothing skipped');
    // the layout, decoded here independently of caer.ts's polarity decoder
    const rows = await rawRows(path);
    assert.equal(rows.length, written.rows);
    let k = 0;
    for (const [r, { host, header: h, payload }] of rows.entries()) {
      assert.equal(h.eventType, CaerEventType.polarity);
      assert.ok(h.eventNumber >= 1 && h.eventNumber <= 300, `row ${r}: ${h.eventNumber} events`);
      assert.deepEqual([h.eventSize, h.eventTSOffset, h.eventCapacity, h.eventValid], [8, 4, h.eventNumber, h.eventNumber]);
      assert.equal(payload.length, h.eventNumber * 8);
      const dv = new DataView(payload.buffer, payload.byteOffset, payload.length);
      const first = all.t[k]!;
      for (let i = 0; i < h.eventNumber; i++, k++) {
        assert.equal(Math.floor(all.t[k]! / WRAP), h.eventTSOverflow, `row ${r}: one overflow per packet`);
        assert.equal(dv.getInt32(8 * i + 4, true), all.t[k]! % WRAP);
        assert.equal(dv.getUint32(8 * i, true), all.x[k]! * 2 ** 17 + all.y[k]! * 4 + all.p[k]! * 2 + 1);
      }
      assert.ok(all.t[k - 1]! - first < 500, `row ${r}: spans less than D`);
      assert.equal(host, String(all.t[k - 1]), `row ${r}: host time is the packet's last event time`);
      // a packet ends only when full, at the overflow or at D µs (kills a writer that splits too early)
      if (k < all.length) {
        const full = h.eventNumber === 300;
        const wrap = Math.floor(all.t[k]! / WRAP) !== h.eventTSOverflow;
        assert.ok(full || wrap || all.t[k]! - first >= 500, `row ${r}: ended early`);
      }
    }
    assert.equal(k, all.length);
    assert.ok(rows.some((r) => r.header.eventTSOverflow === 0) && rows.some((r) => r.header.eventTSOverflow === 1), 'both sides of 2^31');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DDD17 writer: a size other than 346 x 260 travels in a blank frame packet (first row); 346 x 260 writes none unless asked', async () => {
  const dir = tmp();
  try {
    const small = craftedEvents(50, 240, 180);
    const p240 = join(dir, 'small.ddd17.hdf5');
    await writeDdd17Hdf5(p240, [small]);
    const r240 = await collectDdd17Hdf5(p240, { strict: true });
    assert.deepEqual([r240.info.width, r240.info.height, r240.info.header?.['sizeFrom']], [240, 180, 'frame']);
    assert.deepEqual(r240.info.skipped, { framePackets: 1, frame: 1 });
    assert.ok(r240.batches.every((b) => b.width === 240 && b.height === 180));
    const rows = await rawRows(p240);
    assert.equal(rows[0]!.header.eventType, CaerEventType.frame);
    assert.equal(rows[0]!.host, String(small.t[0]), 'the frame row is stamped with the first event time');
    const forced = join(dir, 'forced.ddd17.hdf5');
    await writeDdd17Hdf5(forced, [craftedEvents(10, 346, 260)], { sizeFrame: 'always' });
    const rf = await collectDdd17Hdf5(forced, { strict: true });
    assert.deepEqual([rf.info.width, rf.info.height, rf.info.header?.['sizeFrom']], [346, 260, 'frame']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DDD17 writer: no events is a valid empty file; a bad event is a RangeError naming it and the file keeps every event before it', async () => {
  const dir = tmp();
  try {
    const empty = join(dir, 'empty.ddd17.hdf5');
    assert.deepEqual(await writeDdd17Hdf5(empty, []), { rows: 0, events: 0 });
    const re = await collectDdd17Hdf5(empty, { strict: true });
    assert.deepEqual([re.batches.length, re.info.header?.['rows'], re.info.width, re.info.height], [0, 0, 346, 260]);

    const bad = craftedEvents(700, 346, 260);
    bad.t[650] = bad.t[650]! + 0.5; // not an integer µs: mutant "no time check" writes a truncated ts
    const path = join(dir, 'bad.ddd17.hdf5');
    const spoolDir = join(dir, 'spool');
    mkdirSync(spoolDir);
    await assert.rejects(writeDdd17Hdf5(path, [slice(bad, 0, 400), slice(bad, 400, 700)], { maxPacketEvents: 256, spoolDir }), (e: Error) => e instanceof RangeError && /event 650/.test(e.message) && e.message.includes(path));
    const back = concatBatches((await collectDdd17Hdf5(path, { strict: true })).batches);
    assert.equal(back.length, 650);
    assert.deepEqual(Array.from(back.t), Array.from(bad.t.subarray(0, 650)));

    const wide = join(dir, 'wide.ddd17.hdf5');
    await assert.rejects(Ddd17Hdf5Writer.open(wide, { width: 40000, height: 10 }), RangeError);
    // the temporary spool folder is removed on close, after a failure too
    assert.deepEqual(readdirSync(spoolDir), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const aedat = sharedRecording('davis240-translboxes.aedat');

test('DDD17 writer: davis240-translboxes.aedat round trip keeps every event and the README facts (240 x 180)', { skip: skipUnless(aedat, 'davis240-translboxes.aedat'), timeout: 60_000 }, async () => {
  const dir = tmp();
  try {
    const src: EventBatch[] = [];
    const gen = readEvents(aedat!, { maxGapUs: 0 });
    for await (const b of gen) src.push(b);
    const path = join(dir, 'translboxes.ddd17.hdf5');
    await writeDdd17Hdf5(path, src);
    const { batches, info } = await collectDdd17Hdf5(path, { strict: true });
    const back = concatBatches(batches);
    const orig = concatBatches(src);
    assert.deepEqual(back, orig);
    const f = RECORDING_FACTS.find((r) => r.file === 'davis240-translboxes.aedat')!;
    assert.deepEqual(factsOf(back), { n: f.events, on: f.on, off: f.off, first: f.tFirstUs, last: f.tLastUs, xyp: f.xyp, dt: f.dt, win: f.windows });
    assert.deepEqual([info.width, info.height], [f.width, f.height]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DDD17 writer CLI: a simulated DAVIS346 drive converted to .ddd17.hdf5 has the same info as its source', { timeout: 120_000 }, async () => {
  const dir = tmp();
  try {
    const sim = await runCli(['simulate', '--size', '346x260', '--seconds', '0.5', '--seed', '7', '--out', dir]);
    assert.equal(sim.code, 0, sim.stderr);
    const src = join(dir, 'seq_000', 'events.aedat4');
    const out = join(dir, 'drive.ddd17.hdf5');
    const conv = await runCli(['convert', src, out]);
    assert.equal(conv.code, 0, conv.stderr);
    assert.match(conv.stdout, /DDD17 HDF5/);
    const a = JSON.parse((await runCli(['info', src, '--json'])).stdout) as Record<string, unknown>;
    const b = JSON.parse((await runCli(['info', out, '--json'])).stdout) as Record<string, unknown>;
    assert.equal(b['format'], 'ddd17-hdf5');
    assert.ok((a['events'] as number) > 1000, 'a drive with events');
    for (const k of ['events', 'on', 'off', 'tFirstUs', 'tLastUs', 'checksums', 'width', 'height', 'nonMonotonic']) assert.deepEqual(b[k], a[k], k);
    assert.deepEqual(b['skipped'], {});
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
