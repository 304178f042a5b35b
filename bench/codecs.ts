/**
 * AEDAT 4 codec benchmark: native vs pure-JS/wasm LZ4 and ZSTD on real-sized event packets, plus whole-file
 * AEDAT 4 decode rates (events/s) per compression. Input: the events of the shared sample recording when
 * present (re-packed), otherwise synthetic DVS-like events.
 * Standalone: `node .build-a4/bench/codecs.js` (after tsc).
 */
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { EventBatch } from '../src/events/types.js';
import {
  Aedat4Decoder,
  availableCodecs,
  encodeAedat4,
  initZstdWasm,
  decodeAedat4Buffer,
  type FrameCodec,
} from '../src/events/aedat4/index.js';
import { encodeEventPacket } from '../src/events/aedat4/format.js';

function sampleEvents(): { batch: EventBatch; origin: string } {
  const path = join(process.env.EVSTREAM_SHARED ?? join(process.cwd(), '..', 'shared'), 'recordings', 'dvs-lz4-sample.aedat4');
  try {
    const { batches } = decodeAedat4Buffer(readFileSync(path), { source: path });
    const n = batches.reduce((s, b) => s + b.length, 0);
    const out = { t: new Float64Array(n), x: new Uint16Array(n), y: new Uint16Array(n), p: new Uint8Array(n) };
    let o = 0;
    for (const b of batches) {
      out.t.set(b.t, o);
      out.x.set(b.x, o);
      out.y.set(b.y, o);
      out.p.set(b.p, o);
      o += b.length;
    }
    return { batch: { ...out, length: n, width: 320, height: 240 }, origin: 'dvs-lz4-sample events' };
  } catch {
    const n = 200_000;
    let seed = 12345;
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 4294967296);
    const t = new Float64Array(n);
    const x = new Uint16Array(n);
    const y = new Uint16Array(n);
    const p = new Uint8Array(n);
    let now = 1.6e15;
    for (let i = 0; i < n; i++) {
      now += Math.floor(rnd() * 10);
      t[i] = now;
      x[i] = Math.floor(rnd() * 320);
      y[i] = Math.floor(rnd() * 240);
      p[i] = rnd() < 0.5 ? 1 : 0;
    }
    return { batch: { t, x, y, p, length: n, width: 320, height: 240 }, origin: 'synthetic events' };
  }
}

/** Repeat `fn` until at least `minMs` elapsed; returns seconds per call. */
function timeIt(fn: () => void, minMs = 300): number {
  fn(); // warm-up
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    fn();
    calls++;
    elapsed = performance.now() - start;
  } while (elapsed < minMs);
  return elapsed / 1000 / calls;
}

export async function benchCodecs(): Promise<Array<Record<string, string | number>>> {
  await initZstdWasm();
  const { batch, origin } = sampleEvents();
  // Packets of 10k events (what the writer emits), uncompressed flatbuffers.
  const packets: Uint8Array[] = [];
  for (let i = 0; i < batch.length; i += 10000) {
    packets.push(encodeEventPacket(batch.t, batch.x, batch.y, batch.p, i, Math.min(batch.length, i + 10000)));
  }
  const rawBytes = packets.reduce((s, p) => s + p.length, 0);
  const rows: Array<Record<string, string | number>> = [];
  const codecs = availableCodecs();
  const encoders = new Map<string, FrameCodec>();
  for (const c of codecs) if (c.encode && !encoders.has(c.algorithm)) encoders.set(c.algorithm, c);
  for (const codec of codecs) {
    // Compress with the reference encoder of the algorithm so every decoder sees identical frames.
    const enc = encoders.get(codec.algorithm)!;
    const frames = packets.map((p) => enc.encode!(p));
    const compressed = frames.reduce((s, f) => s + f.length, 0);
    const dec = timeIt(() => {
      for (const f of frames) codec.decode(f);
    });
    const row: Record<string, string | number> = {
      codec: codec.algorithm,
      package: codec.packageName,
      input: origin,
      'ratio': +(rawBytes / compressed).toFixed(2),
      'decode MB/s': +(rawBytes / dec / 1e6).toFixed(1),
    };
    if (codec.encode) {
      const encT = timeIt(() => {
        for (const p of packets) codec.encode!(p);
      });
      row['encode MB/s'] = +(rawBytes / encT / 1e6).toFixed(1);
    }
    rows.push(row);
  }
  // Whole-file decode through Aedat4Decoder (default codec choice), events per second, one thread.
  for (const compression of ['none', 'lz4', 'zstd'] as const) {
    const file = await encodeAedat4([batch], { width: 320, height: 240, compression });
    const sec = timeIt(() => {
      const d = new Aedat4Decoder({ batch: () => {} }, { source: 'bench' });
      d.push(file);
      d.end();
    });
    rows.push({
      codec: `aedat4-decode-${compression}`,
      package: compression === 'none' ? '-' : compression === 'lz4' ? 'lz4-napi' : '@bokuweb/zstd-wasm',
      input: origin,
      'file MB': +(file.length / 1e6).toFixed(2),
      'M events/s': +(batch.length / sec / 1e6).toFixed(1),
    });
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const rows = await benchCodecs();
  console.table(rows);
}
