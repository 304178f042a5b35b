/**
 * Local DV TCP peers for the live-client tests (dv-tcp-hostile, dv-tcp-mutants): DV network-form streams
 * cut into whole packets, a local server, virtual time for the client's timers, and a watched source.
 */
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { VirtualTimeScheduler } from 'rxjs';
import { fromDvTcp, type DvConnectionStatus, type DvTcpOptions } from '../../src/sources/dv-tcp.js';
import { encodeAedat4 } from '../../src/events/aedat4/index.js';
import type { FormatWarning } from '../../src/events/errors.js';
import type { EventBatch } from '../../src/events/types.js';

export const PER_PACKET = 500;

export function events(n: number, t0 = 1000): EventBatch {
  return {
    t: Float64Array.from({ length: n }, (_, i) => t0 + i * 10),
    x: Uint16Array.from({ length: n }, (_, i) => (i * 7) % 320),
    y: Uint16Array.from({ length: n }, (_, i) => (i * 3) % 240),
    p: Uint8Array.from({ length: n }, (_, i) => i & 1),
    length: n,
    width: 320,
    height: 240,
  };
}

/** A DV network-form stream (no version line, no table), split into its IOHeader and whole packets. */
export async function dvStream(packets: number, compression: 'none' | 'lz4' = 'lz4'): Promise<{ header: Buffer; packets: Buffer[] }> {
  const bytes = Buffer.from(await encodeAedat4([events(packets * PER_PACKET)], { width: 320, height: 240, compression, versionLine: false, maxPacketEvents: PER_PACKET }));
  const headerLen = 4 + bytes.readInt32LE(0);
  const out: Buffer[] = [];
  for (let o = headerLen; o < bytes.length; ) {
    const size = bytes.readInt32LE(o + 4);
    out.push(bytes.subarray(o, o + 8 + size));
    o += 8 + size;
  }
  assert.equal(out.length, packets);
  return { header: bytes.subarray(0, headerLen), packets: out };
}

export function packetHeader(streamId: number, size: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeInt32LE(streamId, 0);
  b.writeInt32LE(size, 4);
  return b;
}

/** A local server; `onClient` is called per connection with the connection's 1-based index. */
export async function serve(onClient: (s: Socket, n: number) => void): Promise<{ port: number; server: Server; connections: () => number; close: () => Promise<void> }> {
  let n = 0;
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    onClient(s, ++n);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    port: (server.address() as { port: number }).port,
    server,
    connections: () => n,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** Virtual time: `advance(ms)` runs every timer due within the next `ms` and moves the clock there. */
export function virtualTime(): { scheduler: VirtualTimeScheduler; advance: (ms: number) => void } {
  const scheduler = new VirtualTimeScheduler();
  return {
    scheduler,
    advance(ms) {
      const to = scheduler.now() + ms;
      scheduler.maxFrames = to;
      scheduler.flush();
      scheduler.frame = to;
      scheduler.maxFrames = Infinity;
    },
  };
}

/** Wait (real time, a few ms per poll) for socket I/O to make `cond` true. */
export async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const t = Date.now();
  while (!cond()) {
    if (Date.now() - t > ms) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 3));
  }
}

/** A subscribed source with its statuses, events and warnings collected. */
export function watch(port: number, opts: DvTcpOptions) {
  const statuses: DvConnectionStatus[] = [];
  const warnings: FormatWarning[] = [];
  const src = fromDvTcp(`tcp://127.0.0.1:${port}`, { ...opts, onWarning: (w) => warnings.push(w) });
  const st = src.status$.subscribe((s) => statuses.push(s));
  let count = 0;
  const sub = src.subscribe((b) => (count += b.length));
  return {
    statuses,
    warnings,
    events: () => count,
    /** Statuses that end a connection (reconnecting with a delay). */
    ends: () => statuses.filter((s) => s.state === 'reconnecting' && s.retryInMs !== undefined),
    stop() {
      sub.unsubscribe();
      st.unsubscribe();
    },
  };
}
