/**
 * ddd17-layout.ts (the DDD17 rules shared by Node and the page) over a fake H5Transport serving crafted
 * `dvs/data` rows: no h5wasm, no worker. The real file goes through both hosts in ddd17-hdf5.test.ts and
 * web-hdf5-frames.test.ts; here the open checks, the file closing once, and the platform-neutral host-time
 * decoding, with expected values computed by hand.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DDD17_MIN_ROW_BYTES, Ddd17Rows, decodeDdd17Rows, latin1 } from '../src/events/ddd17-layout.js';
import { EventFormatError } from '../src/events/errors.js';
import type { H5Command, H5Reply } from '../src/events/h5wasm-handler.js';
import { Hdf5File, type H5Transport } from '../src/events/hdf5-layout.js';
import type { EventBatch, StreamInfo } from '../src/events/types.js';

/** A worker answering from `rows` (3 cells each); `shape` overrides what 'rows' reports. */
class FakeWorker implements H5Transport {
  dead = false;
  readonly ops: string[] = [];
  constructor(
    private readonly rows: Uint8Array[][],
    private readonly shape: number[] | null = [rows.length, 3],
  ) {}
  request(cmd: H5Command): Promise<H5Reply> {
    this.ops.push(cmd.op);
    const id = 0;
    const tainted = false;
    switch (cmd.op) {
      case 'open':
        return Promise.resolve({ id, tainted, ok: 'open' });
      case 'rows':
        return Promise.resolve({ id, tainted, ok: 'rows', shape: this.shape });
      case 'read': {
        const cells = this.rows.slice(cmd.from, cmd.to).flatMap((r) => (cmd.column === undefined ? r : [r[cmd.column]!]));
        const data = new Uint8Array(cells.reduce((s, c) => s + c.length, 0));
        let o = 0;
        for (const c of cells) {
          data.set(c, o);
          o += c.length;
        }
        return Promise.resolve({ id, tainted, ok: 'read', data, lengths: Uint32Array.from(cells, (c) => c.length) });
      }
      case 'close':
        return Promise.resolve({ id, tainted, ok: 'close' });
      default:
        return Promise.resolve({ id, tainted, error: 'usage', reason: cmd.op });
    }
  }
  kill(): void {
    this.dead = true;
  }
}

/** A cAER polarity packet of the given events: [28-byte header, payload] (layout: shared README, caer.ts). */
function polarityPacket(events: { t: number; x: number; y: number; p: number }[]): [Uint8Array, Uint8Array] {
  const h = new DataView(new ArrayBuffer(28));
  h.setInt16(0, 1, true); // polarity
  h.setInt16(2, 1, true);
  h.setInt32(4, 8, true); // eventSize
  h.setInt32(8, 4, true); // eventTSOffset
  h.setInt32(12, 0, true); // overflow
  for (const at of [16, 20, 24]) h.setInt32(at, events.length, true); // capacity, number, valid
  const p = new DataView(new ArrayBuffer(8 * events.length));
  events.forEach((e, i) => {
    p.setUint32(8 * i, ((e.x << 17) | (e.y << 2) | (e.p << 1) | 1) >>> 0, true);
    p.setInt32(8 * i + 4, e.t, true);
  });
  return [new Uint8Array(h.buffer), new Uint8Array(p.buffer)];
}

async function openRows(w: FakeWorker, fileSize: number): Promise<{ rows: Ddd17Rows; released: () => number }> {
  let released = 0;
  const f = await Hdf5File.open(w, { path: 'crafted.hdf5', fileSize, timeoutMs: 1000, release: () => released++ });
  return { rows: await Ddd17Rows.open(f), released: () => released };
}

test('Ddd17Rows.open: shape (N, 3) and at most fileSize / 48 rows, else bad-header naming the file; the file is closed and its worker released exactly once', async () => {
  const row = [new Uint8Array(1), new Uint8Array(28), new Uint8Array(0)];
  // 4800 bytes hold at most 4800 / 48 = 100 rows (hand computation)
  assert.equal(DDD17_MIN_ROW_BYTES, 48);
  const ok = await openRows(new FakeWorker([row], [100, 3]), 4800);
  assert.equal(ok.rows.rows, 100);
  await ok.rows.close();
  await ok.rows.close();
  assert.equal(ok.released(), 1, 'a second close releases nothing (the page would otherwise end its pooled worker)');
  for (const [shape, found] of [[[101, 3], '101 rows'], [[5, 2], 'shape (5, 2)'], [null, 'no such dataset']] as const) {
    let released = 0;
    const w = new FakeWorker([row], shape === null ? null : [...shape]);
    const f = await Hdf5File.open(w, { path: 'crafted.hdf5', fileSize: 4800, timeoutMs: 1000, release: () => released++ });
    await assert.rejects(Ddd17Rows.open(f), (e: unknown) => e instanceof EventFormatError && e.kind === 'bad-header' && e.message.includes('crafted.hdf5') && e.message.includes(found), String(shape));
    await f.close(); // the caller's finally: must not release the worker a second time
    assert.equal(released, 1, String(shape));
    assert.deepEqual(w.ops, ['open', 'rows', 'close']);
  }
});

test('decodeDdd17Rows over crafted rows: events from the cAER payloads, empty rows counted, host time as latin1 (0x80..0x9F too), size from the options', async () => {
  // host time bytes: '1', 0x80, 0x9f, 0xe9: latin1 maps each byte to that code point, as Node's Buffer did
  // (browsers' TextDecoder('latin1') is windows-1252, '€' for 0x80; Node's is not, so only a browser tells those apart)
  const ts = Uint8Array.of(0x31, 0x80, 0x9f, 0xe9);
  const a = polarityPacket([{ t: 1000, x: 3, y: 2, p: 1 }, { t: 1010, x: 239, y: 179, p: 0 }]);
  const b = polarityPacket([{ t: 2000, x: 0, y: 0, p: 1 }]);
  const empty = [new Uint8Array(0), new Uint8Array(0), new Uint8Array(0)];
  const w = new FakeWorker([[ts, ...a], [Uint8Array.of(0x32), ...b], empty]);
  const { rows } = await openRows(w, 1 << 20);
  const batches: EventBatch[] = [];
  const it = decodeDdd17Rows(rows, { width: 240, height: 180, rowsPerRead: 2 });
  let info: StreamInfo;
  for (;;) {
    const n = await it.next();
    if (n.done) {
      info = n.value;
      break;
    }
    batches.push(n.value);
  }
  await rows.close();
  const ev = batches.flatMap((bt) => Array.from({ length: bt.length }, (_, i) => [bt.t[i], bt.x[i], bt.y[i], bt.p[i]]));
  assert.deepEqual(ev, [[1000, 3, 2, 1], [1010, 239, 179, 0], [2000, 0, 0, 1]]);
  assert.equal(info.header?.['firstHostTime'], '1\u0080\u009f\u00e9');
  assert.equal(latin1(ts), '1\u0080\u009f\u00e9');
  assert.deepEqual([info.width, info.height, info.header?.['sizeFrom'], info.header?.['rows'], info.header?.['packets'], info.skipped['emptyRows']], [240, 180, 'option', 3, 2, 1]);
});
