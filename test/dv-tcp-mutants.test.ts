/**
 * Behaviour of the live DV TCP client that the hostile-peer tests leave unpinned, written against the
 * mutants Stryker found surviving (issue 19, item 4): the packet guard's bounds, error kinds and offsets,
 * its data-table and zero-size-packet paths and its "where was the stream cut" text; the client's address
 * parsing, option checks, status sequence, close reasons, a refused or hanging connect, idleTimeoutMs 0,
 * maxAttempts' final status, unsubscribing (also from inside a batch) and a throwing onWarning.
 * Guard tests are pure; client tests use local sockets with the timers in virtual time (helpers/dv-peers).
 */
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { take } from 'rxjs';
import { fromDvTcp, parseTcpUrl, type DvConnectionStatus } from '../src/sources/dv-tcp.js';
import { DvPacketGuard, type GuardStep } from '../src/sources/dv-packet-guard.js';
import { encodeAedat4, MAX_PACKET_SIZE, parseIoHeader } from '../src/events/aedat4/index.js';
import { buildIoHeader, VERSION_LINE_BYTES } from '../src/events/aedat4/format.js';
import type { FormatWarning } from '../src/events/errors.js';
import { PER_PACKET, dvStream, events, packetHeader, serve as servePeer, until, virtualTime, watch } from './helpers/dv-peers.js';

const VL = VERSION_LINE_BYTES.length;

/** Servers of the running test, closed after it whatever happened (an assertion may fail before its `finally`). */
const servers: { close: () => Promise<void> }[] = [];
const serve: typeof servePeer = async (onClient) => {
  const srv = await servePeer(onClient);
  servers.push(srv);
  return srv;
};
afterEach(async () => {
  for (const srv of servers.splice(0)) await srv.close();
});

/**
 * Run every clean-up step even when one throws, then rethrow the first error: a teardown that throws must
 * fail its test, not leave a server open that holds the whole run (each mutant runs this file).
 */
async function finish(...steps: (() => unknown)[]): Promise<void> {
  let first: unknown;
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      first ??= e;
    }
  }
  if (first !== undefined) throw first;
}

/** Feed `bytes` in chunks of `chunk` (or at the given cut points) until a fault; sums of pass and packets. */
function feed(g: DvPacketGuard, bytes: Uint8Array, cuts: number | number[]): GuardStep {
  const at = typeof cuts === 'number' ? Array.from({ length: Math.ceil(bytes.length / cuts) - 1 }, (_, k) => (k + 1) * cuts) : cuts;
  const bounds = [0, ...at, bytes.length];
  let pass = 0;
  let packets = 0;
  for (let k = 0; k + 1 < bounds.length; k++) {
    const step = g.scan(bytes.subarray(bounds[k], bounds[k + 1]));
    pass += step.pass;
    packets += step.packets;
    if (step.fault) return { pass, packets, fault: step.fault };
  }
  return { pass, packets };
}

function int32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(v, 0);
  return b;
}

/** An AEDAT 4 file (version line, uncompressed 100-event packets, data table) and where its table starts. */
async function fileWithTable(): Promise<{ file: Buffer; tablePos: number; headerEnd: number; packetStarts: number[] }> {
  const file = Buffer.from(await encodeAedat4([events(400)], { width: 320, height: 240, compression: 'none', maxPacketEvents: 100 }));
  const headerEnd = VL + 4 + file.readInt32LE(VL);
  const tablePos = parseIoHeader(file.subarray(VL + 4, headerEnd)).dataTablePosition;
  const packetStarts: number[] = [];
  for (let o = headerEnd; o < tablePos; o += 8 + file.readInt32LE(o + 4)) packetStarts.push(o);
  assert.equal(packetStarts.length, 4);
  return { file, tablePos, headerEnd, packetStarts };
}

// ------------------------------------------------------------------------------------------- the guard

test('DvPacketGuard: maxBytes must be an integer in 8..MAX_PACKET_SIZE', () => {
  for (const ok of [8, 4096, MAX_PACKET_SIZE]) assert.equal(new DvPacketGuard('t', ok).maxBytes, ok);
  for (const bad of [7, 0, -8, 8.5, NaN, MAX_PACKET_SIZE + 1]) {
    assert.throws(() => new DvPacketGuard('t', bad), { name: 'RangeError', message: `maxPacketBytes must be an integer in 8..${MAX_PACKET_SIZE}, got ${bad}` });
  }
});

test('DvPacketGuard: IOHeader size bounds, with the error kind of each form (no version line: bad-magic; file: bad-header)', async () => {
  const { header } = await dvStream(1);
  const max = header.length - 4; // this header's own size: accepted as the cap, one less is not
  for (const [name, stream, kind, offset, expected] of [
    ['7, no version line', int32(7), 'bad-magic', 0, `'#!AER-DAT4.0' or an int32 IOHeader size in 8..${max}`],
    ['-1 after a version line', Buffer.concat([VERSION_LINE_BYTES, int32(-1)]), 'bad-header', VL, `an int32 IOHeader size in 8..${max}`],
    [`${max + 1}`, int32(max + 1), 'bad-magic', 0, `'#!AER-DAT4.0' or an int32 IOHeader size in 8..${max}`],
  ] as const) {
    const step = new DvPacketGuard('t', max).scan(stream);
    assert.ok(step.fault, name);
    assert.deepEqual([step.pass, step.fault.kind, step.fault.offset, step.fault.expected], [offset, kind, offset, expected], name); // the version line passes
  }
  const g = new DvPacketGuard('t', max);
  assert.deepEqual(g.scan(header), { pass: header.length, packets: 0 }, 'a header of exactly maxBytes');
  // 8 is a legal size: the 8 bytes are then read as the flatbuffer (not a flatbuffer: bad-header after the size field)
  const eight = new DvPacketGuard('t', 4096).scan(Buffer.concat([int32(8), Buffer.alloc(8)]));
  assert.equal(eight.fault?.kind, 'bad-header');
  assert.equal(eight.fault?.offset, 4);
  assert.equal(eight.fault?.expected, 'an IOHeader flatbuffer');
  assert.equal(eight.pass, 12);
});

test('DvPacketGuard: dataTablePosition inside the header is a bad header; right after it, the table follows at once', () => {
  const xml = '';
  // a file form whose header says the table starts at byte 0
  const early = Buffer.concat([VERSION_LINE_BYTES, buildIoHeader('none', 0, xml)]);
  const step = new DvPacketGuard('t', 4096).scan(early);
  assert.equal(step.fault?.kind, 'bad-header');
  assert.equal(step.fault?.offset, VL + 4);
  assert.equal(step.fault?.expected, `dataTablePosition after the header (>= ${early.length})`);
  assert.equal(step.fault?.found, '0');
  // a header whose table starts exactly where the header ends (no packets): table bytes pass
  const size = buildIoHeader('none', 0, xml).length;
  const atEnd = Buffer.concat([VERSION_LINE_BYTES, buildIoHeader('none', VL + size, xml), Buffer.alloc(100, 7)]);
  const g = new DvPacketGuard('t', 4096);
  assert.deepEqual(g.scan(atEnd), { pass: atEnd.length, packets: 0 });
  assert.equal(g.partial(), undefined);
});

test('DvPacketGuard: a file data table is bounded by maxBytes (exact fit passes; one byte more is withheld, at any chunking)', async () => {
  const { file, tablePos } = await fileWithTable();
  const maxBytes = 4096;
  const table = file.length - tablePos;
  assert.ok(table < maxBytes && tablePos > maxBytes / 2);
  const fit = Buffer.concat([file, Buffer.alloc(maxBytes - table, 0x11)]); // a table of exactly maxBytes
  const over = Buffer.concat([fit, Buffer.from([0x11])]);
  for (const cuts of [[], [tablePos + 10], [tablePos + 1000, tablePos + 3000]]) {
    assert.deepEqual(feed(new DvPacketGuard('t', maxBytes), fit, cuts), { pass: fit.length, packets: 4 }, `fit, cuts ${cuts}`);
    const r = feed(new DvPacketGuard('t', maxBytes), over, cuts);
    assert.ok(r.fault, `over, cuts ${cuts}`);
    assert.deepEqual(
      [r.pass, r.packets, r.fault.kind, r.fault.offset, r.fault.expected, r.fault.found],
      [tablePos + maxBytes, 4, 'corrupt-packet', tablePos, `a file data table of at most ${maxBytes} bytes (maxPacketBytes)`, 'more bytes'],
      `over, cuts ${cuts}`,
    );
  }
});

test('DvPacketGuard: a packet running into the data table is corrupt; a file without its version line finds its table', async () => {
  const { file, tablePos, packetStarts } = await fileWithTable();
  const last = packetStarts[3]!;
  const toTable = tablePos - (last + 8);
  const bad = Buffer.from(file);
  bad.writeInt32LE(1, last); // stream 1 in the message
  bad.writeInt32LE(toTable + 1, last + 4);
  const r = feed(new DvPacketGuard('t', 1 << 20), bad, []);
  assert.ok(r.fault);
  assert.deepEqual(
    [r.pass, r.packets, r.fault.kind, r.fault.offset, r.fault.expected, r.fault.found],
    [last, 3, 'corrupt-packet', last, `a packet size in 0..${toTable} (stream 1; maxPacketBytes ${1 << 20})`, String(toTable + 1)],
  );
  // the same file with its version line stripped: dataTablePosition still counts it, so it is shifted back
  const stripped = file.subarray(VL);
  for (const cuts of [[], [tablePos - VL - 3]]) {
    const g = new DvPacketGuard('t', 1 << 20);
    assert.deepEqual(feed(g, stripped, cuts), { pass: stripped.length, packets: 4 }, `cuts ${cuts}`);
    assert.equal(g.partial(), undefined);
  }
});

test('DvPacketGuard: zero-size packets are complete packets, also as the last bytes of a chunk', async () => {
  const { header, packets } = await dvStream(1);
  const g = new DvPacketGuard('t', 1 << 20);
  assert.deepEqual(g.scan(Buffer.concat([header, packetHeader(0, 0)])), { pass: header.length + 8, packets: 1 });
  assert.equal(g.partial(), undefined);
  assert.deepEqual(g.scan(Buffer.concat([packetHeader(0, 0), packets[0]!, packetHeader(3, 0)])), { pass: 16 + packets[0]!.length, packets: 3 });
  assert.equal(g.packets, 4);
});

test('DvPacketGuard: a fault reports only the packets of its own scan, and every later scan repeats the fault', async () => {
  const { header, packets } = await dvStream(3);
  const g = new DvPacketGuard('t', 1 << 20);
  assert.deepEqual(g.scan(Buffer.concat([header, packets[0]!])), { pass: header.length + packets[0]!.length, packets: 1 });
  const step = g.scan(Buffer.concat([packets[1]!, packetHeader(0, -5)]));
  assert.ok(step.fault);
  assert.deepEqual([step.pass, step.packets], [packets[1]!.length, 1]);
  assert.deepEqual(g.scan(packets[2]!), { pass: 0, packets: 0, fault: step.fault });
  assert.deepEqual(g.scan(new Uint8Array(0)), { pass: 0, packets: 0, fault: step.fault });
});

test('DvPacketGuard: partial() says where the stream was cut', async () => {
  const { header, packets } = await dvStream(1);
  const size = packets[0]!.readInt32LE(4);
  const at = (bytes: Uint8Array): string | undefined => {
    const g = new DvPacketGuard('t', 1 << 20);
    g.scan(bytes);
    return g.partial();
  };
  assert.equal(new DvPacketGuard('t', 1 << 20).partial(), undefined, 'nothing received');
  assert.equal(at(VERSION_LINE_BYTES.subarray(0, 5)), 'inside the stream header (5 bytes received)');
  assert.equal(at(Buffer.concat([VERSION_LINE_BYTES, header.subarray(0, 2)])), `inside the stream header (${VL + 2} bytes received)`);
  assert.equal(at(header.subarray(0, 9)), 'inside the stream header (9 bytes received)');
  assert.equal(at(header), undefined, 'at a packet boundary');
  assert.equal(at(Buffer.concat([header, packets[0]!.subarray(0, 3)])), `inside a packet header at byte ${header.length}`);
  assert.equal(at(Buffer.concat([header, packets[0]!.subarray(0, 20)])), `inside a packet of ${size} bytes at byte ${header.length} (12 received)`);
});

// ------------------------------------------------------------------------------------------ the client

test('parseTcpUrl: tcp:// is optional, brackets only around an IPv6 host, the whole string must match, ports 1..65535', () => {
  assert.deepEqual(parseTcpUrl('camera.local:7777'), { host: 'camera.local', port: 7777 });
  assert.deepEqual(parseTcpUrl('  tcp://10.0.0.2:7000/ \n'), { host: '10.0.0.2', port: 7000 });
  assert.deepEqual(parseTcpUrl('tcp://[::1]:65535'), { host: '::1', port: 65535 });
  assert.deepEqual(parseTcpUrl('[fe80::1]:1'), { host: 'fe80::1', port: 1 });
  // only the enclosing pair is removed
  assert.deepEqual(parseTcpUrl('[a[b]:1'), { host: 'a[b', port: 1 });
  assert.deepEqual(parseTcpUrl('a]b:1'), { host: 'a]b', port: 1 });
  for (const url of ['http://h:1', 'h:1x', 'x tcp://h:1', 'tcp://h', 'tcp://h:1/path']) {
    assert.throws(() => parseTcpUrl(url), { message: `bad DV TCP address '${url}': expected tcp://host:port` }, url);
  }
  for (const url of ['h:0', 'h:65536', 'h:99999']) {
    assert.throws(() => parseTcpUrl(url), { message: `bad DV TCP address '${url}': port out of range` }, url);
  }
});

test('fromDvTcp: idleTimeoutMs is checked (0 allowed) and status$ starts stopped before any subscription', () => {
  for (const bad of [-1, NaN]) {
    assert.throws(() => fromDvTcp('tcp://127.0.0.1:1', { idleTimeoutMs: bad }), { name: 'RangeError', message: `idleTimeoutMs must be >= 0, got ${bad}` });
  }
  const src = fromDvTcp('127.0.0.1:1', { idleTimeoutMs: 0 });
  const seen: DvConnectionStatus[] = [];
  src.status$.subscribe((s) => seen.push(s)).unsubscribe();
  assert.deepEqual(seen, [{ state: 'stopped', url: 'tcp://127.0.0.1:1', attempt: 0, events: 0 }]);
});

test('statuses: connecting, then reconnecting; close reasons say whether a packet came and where the stream was cut; events are counted', async () => {
  const { header, packets } = await dvStream(1);
  const size = packets[0]!.readInt32LE(4);
  const srv = await serve((s, n) => {
    if (n === 1) s.destroy();
    else if (n === 2) s.end(Buffer.concat([header, packets[0]!.subarray(0, 20)]));
    else s.end(Buffer.concat([header, packets[0]!]));
  });
  const vt = virtualTime();
  const w = watch(srv.port, { scheduler: vt.scheduler, idleTimeoutMs: 0 });
  const label = `tcp://127.0.0.1:${srv.port}`;
  try {
    for (let k = 1; k <= 4; k++) {
      await until(() => w.ends().length >= k, `end ${k}`);
      if (k < 4) vt.advance(w.ends()[k - 1]!.retryInMs!);
    }
    const opens = w.statuses.filter((s) => s.state === 'connecting' || (s.state === 'reconnecting' && s.retryInMs === undefined));
    assert.deepEqual(
      opens.map((s) => [s.state, s.attempt, s.events]),
      [
        ['connecting', 1, 0],
        ['reconnecting', 2, 0], // a retry is not the first connection, even with no events yet
        ['reconnecting', 3, 0],
        ['reconnecting', 1, PER_PACKET], // after a connection that delivered, the counter starts over
      ],
    );
    assert.deepEqual(
      w.ends().map((s) => [s.reason, s.cause, s.attempt, s.events, s.url]),
      [
        ['connection closed by the peer before a complete packet', 'closed', 1, 0, label],
        [`connection closed by the peer before a complete packet inside a packet of ${size} bytes at byte ${header.length} (12 received)`, 'closed', 2, 0, label],
        ['connection closed by the peer', 'closed', 0, PER_PACKET, label],
        ['connection closed by the peer', 'closed', 0, 2 * PER_PACKET, label],
      ],
    );
  } finally {
    await finish(() => w.stop(), srv.close);
  }
  assert.deepEqual(w.statuses.at(-1), { state: 'stopped', url: label, attempt: 0, events: 2 * PER_PACKET });
});

test('a refused connection is cause error with the socket error as reason', async () => {
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((r) => probe.close(() => r())); // nothing listens there now
  const w = watch(port, { scheduler: virtualTime().scheduler });
  try {
    await until(() => w.ends().length >= 1, 'the refused connection');
    assert.equal(w.ends()[0]!.cause, 'error');
    assert.match(w.ends()[0]!.reason!, /ECONNREFUSED/);
  } finally {
    w.stop();
  }
});

test('a connect that does not complete within idleTimeoutMs is dropped as a connect timeout', async () => {
  const srv = await serve(() => {});
  const vt = virtualTime();
  const w = watch(srv.port, { scheduler: vt.scheduler, idleTimeoutMs: 1000 });
  try {
    vt.advance(1000); // before any I/O turn: the socket cannot have connected yet
    await until(() => w.ends().length >= 1, 'the dropped connect');
    assert.deepEqual([w.ends()[0]!.cause, w.ends()[0]!.reason], ['idle', 'connect timed out after 1000 ms']);
    assert.equal(w.statuses.some((s) => s.state === 'connected'), false);
  } finally {
    await finish(() => w.stop(), srv.close);
  }
});

test('idleTimeoutMs 0: a quiet connection is never dropped; its close and unsubscribing still work', async () => {
  const { header, packets } = await dvStream(1);
  let client: Socket | undefined;
  const srv = await serve((s) => {
    client = s;
    s.write(Buffer.concat([header, packets[0]!]));
  });
  const vt = virtualTime();
  const w = watch(srv.port, { scheduler: vt.scheduler, idleTimeoutMs: 0 });
  try {
    await until(() => w.events() === PER_PACKET, 'the packet');
    vt.advance(3_600_000);
    assert.equal(w.ends().length, 0, 'quiet for a virtual hour, still connected');
    client!.end();
    await until(() => w.ends().length >= 1, 'the close');
    assert.deepEqual([w.ends()[0]!.cause, w.ends()[0]!.reason, w.ends()[0]!.retryInMs], ['closed', 'connection closed by the peer', 200]);
  } finally {
    await finish(() => w.stop(), srv.close);
  }
});

test('maxAttempts: the final status says why it stopped', async () => {
  const srv = await serve((s) => s.destroy());
  const vt = virtualTime();
  const label = `tcp://127.0.0.1:${srv.port}`;
  const statuses: DvConnectionStatus[] = [];
  const src = fromDvTcp(label, { scheduler: vt.scheduler, maxAttempts: 2, idleTimeoutMs: 0 });
  const st = src.status$.subscribe((s) => statuses.push(s));
  let error: Error | undefined;
  const sub = src.subscribe({ error: (e: Error) => (error = e) });
  try {
    await until(() => statuses.some((s) => s.retryInMs !== undefined), 'the first failure');
    vt.advance(200);
    await until(() => error !== undefined, 'the source to give up');
    const last = 'connection closed by the peer before a complete packet';
    assert.equal(error!.message, `${label}: no connection after 2 attempts (last: ${last})`);
    assert.deepEqual(statuses.at(-2), { state: 'stopped', url: label, attempt: 2, events: 0, reason: `too many failed attempts (last: ${last})`, cause: 'closed' });
  } finally {
    await finish(() => sub.unsubscribe(), () => st.unsubscribe(), srv.close);
  }
});

test('unsubscribing closes the socket, reports stopped last and never reconnects', async () => {
  const { header, packets } = await dvStream(1);
  let closed = false;
  const srv = await serve((s) => {
    s.on('close', () => (closed = true));
    s.write(Buffer.concat([header, packets[0]!]));
  });
  const vt = virtualTime();
  const label = `tcp://127.0.0.1:${srv.port}`;
  const src = fromDvTcp(label, { scheduler: vt.scheduler });
  const statuses: DvConnectionStatus[] = [];
  const st = src.status$.subscribe((s) => statuses.push(s)); // kept past the unsubscribe: nothing may follow 'stopped'
  let got = 0;
  const sub = src.subscribe((b) => (got += b.length));
  try {
    await until(() => got === PER_PACKET, 'the packet');
    sub.unsubscribe();
    await until(() => closed, 'the server to see the client go', 2000);
    await new Promise((r) => setTimeout(r, 5)); // the client's own 'close' event
    vt.advance(60_000);
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(srv.connections(), 1);
    assert.deepEqual(statuses.at(-1), { state: 'stopped', url: label, attempt: 1, events: PER_PACKET });
  } finally {
    await finish(() => st.unsubscribe(), srv.close);
  }
});

test('unsubscribing from inside a batch: the rest of that chunk is not reported', async () => {
  const { header, packets } = await dvStream(2);
  let closed = false;
  const srv = await serve((s) => {
    s.on('close', () => (closed = true));
    s.write(Buffer.concat([header, packets[0]!, packets[1]!, packetHeader(0, -5)])); // one chunk
  });
  const warnings: FormatWarning[] = [];
  const src = fromDvTcp(`tcp://127.0.0.1:${srv.port}`, { scheduler: virtualTime().scheduler, onWarning: (x) => warnings.push(x) });
  let got = 0;
  src.pipe(take(1)).subscribe((b) => (got += b.length));
  try {
    await until(() => closed, 'the client to go');
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(got, PER_PACKET);
    assert.deepEqual(warnings, [], 'the bad size after the batch is not reported once unsubscribed');
  } finally {
    await srv.close();
  }
});

test('without onWarning: a bad payload is skipped on the same connection, a bad size still drops it', async () => {
  const { header, packets } = await dvStream(3);
  const broken = Buffer.from(packets[1]!);
  broken.fill(0xee, 8);
  const srv = await serve((s, n) => {
    if (n === 1) s.write(Buffer.concat([header, packets[0]!, broken, packets[2]!]));
    else s.write(Buffer.concat([header, packets[0]!, packetHeader(0, -5)]));
  });
  const vt = virtualTime();
  const src = fromDvTcp(`tcp://127.0.0.1:${srv.port}`, { scheduler: vt.scheduler });
  const statuses: DvConnectionStatus[] = [];
  const st = src.status$.subscribe((s) => statuses.push(s));
  let got = 0;
  const sub = src.subscribe((b) => (got += b.length));
  const ends = () => statuses.filter((s) => s.retryInMs !== undefined);
  try {
    await until(() => got === 2 * PER_PACKET || ends().length > 0, 'the packets around the broken one');
    assert.deepEqual([got, ends().length], [2 * PER_PACKET, 0]);
    // a second subscription (connection 2) gets a bad size field
    const sub2 = src.subscribe();
    try {
      await until(() => ends().length > 0, 'the corrupt connection');
      assert.equal(ends()[0]!.cause, 'corrupt');
    } finally {
      await finish(() => sub2.unsubscribe());
    }
  } finally {
    await finish(() => sub.unsubscribe(), () => st.unsubscribe(), srv.close);
  }
});

test('an onWarning that throws makes the stream corrupt: reported as a warning at offset -1, then dropped', async () => {
  const { header, packets } = await dvStream(3);
  const broken = Buffer.from(packets[1]!);
  broken.fill(0xee, 8);
  const srv = await serve((s) => s.write(Buffer.concat([header, packets[0]!, broken, packets[2]!])));
  const vt = virtualTime();
  const label = `tcp://127.0.0.1:${srv.port}`;
  const warnings: FormatWarning[] = [];
  let calls = 0;
  const src = fromDvTcp(label, {
    scheduler: vt.scheduler,
    onWarning: (x) => {
      if (calls++ === 0) throw new Error('boom');
      warnings.push(x);
    },
  });
  const statuses: DvConnectionStatus[] = [];
  const st = src.status$.subscribe((s) => statuses.push(s));
  const sub = src.subscribe();
  try {
    await until(() => statuses.some((s) => s.retryInMs !== undefined), 'the dropped connection');
    const end = statuses.find((s) => s.retryInMs !== undefined)!;
    assert.deepEqual([end.cause, end.reason, end.events], ['corrupt', 'corrupt stream: boom', PER_PACKET]);
    assert.deepEqual(warnings, [{ kind: 'corrupt-packet', source: label, offset: -1, message: `${label}: boom` }]);
  } finally {
    await finish(() => sub.unsubscribe(), () => st.unsubscribe(), srv.close);
  }
});

test('the file form (version line, data table) over TCP: every event arrives, one warning for one bad size', async () => {
  const { file } = await fileWithTable();
  const { header, packets } = await dvStream(1);
  const srv = await serve((s, n) => {
    if (n === 1) s.write(file);
    else s.write(Buffer.concat([header, packets[0]!, packetHeader(0, -5)])); // one chunk: the bad header is withheld from the decoder
  });
  const vt = virtualTime();
  let w = watch(srv.port, { scheduler: vt.scheduler });
  try {
    await until(() => w.events() === 400 || w.ends().length > 0, 'the file');
    assert.deepEqual([w.events(), w.ends().length, w.warnings.length], [400, 0, 0]);
  } finally {
    w.stop();
  }
  w = watch(srv.port, { scheduler: vt.scheduler });
  try {
    await until(() => w.ends().length > 0, 'the corrupt connection');
    assert.equal(w.events(), PER_PACKET);
    assert.equal(w.warnings.length, 1, JSON.stringify(w.warnings));
    assert.equal(w.warnings[0]!.offset, header.length + packets[0]!.length);
  } finally {
    await finish(() => w.stop(), srv.close);
  }
});
