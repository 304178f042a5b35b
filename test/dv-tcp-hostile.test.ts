/**
 * Hostile and broken DV TCP peers (issue 12, items 5-7): absurd packet sizes, size caps, trickling and
 * silent servers, accept-and-close servers, decoder warnings. Real sockets on 127.0.0.1 (ephemeral ports);
 * the source's timers (backoff, idle timeout) run on a VirtualTimeScheduler that the tests advance, so no
 * test waits on real time beyond the few ms a local socket needs to deliver bytes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { readFileSync } from 'node:fs';
import diagnostics from 'node:diagnostics_channel';
import { fromDvTcp, type DvConnectionStatus } from '../src/sources/dv-tcp.js';
import { DvPacketGuard } from '../src/sources/dv-packet-guard.js';
import { LiveTcpSource } from '../src/pipeline/source.js';
import { parsePipeline, applyOverrides } from '../src/pipeline/config.js';
import { encodeAedat4 } from '../src/events/aedat4/index.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import { PER_PACKET, dvStream, events, packetHeader, serve, until, virtualTime, watch } from './helpers/dv-peers.js';

// ------------------------------------------------------------------------------------------ size fields

for (const [name, size] of [
  ['0x7fffffff', 0x7fffffff],
  ['-5', -5],
  ['1 GiB', 1024 * 1024 * 1024],
] as const) {
  test(`a packet claiming ${name} bytes: events before it are delivered, the stream is reported corrupt and the source reconnects without buffering it`, async () => {
    const { header, packets } = await dvStream(3);
    const badAt = header.length + packets[0]!.length + packets[1]!.length;
    const srv = await serve((s, n) => {
      if (n === 1) {
        s.write(Buffer.concat([header, packets[0]!, packets[1]!, packetHeader(0, size)]));
        // then a few MB of "payload", as a peer that means it would send
        const junk = Buffer.alloc(1 << 20, 0x5a);
        for (let i = 0; i < 4; i++) s.write(junk);
      } else s.write(Buffer.concat([header, packets[2]!])); // the retry gets a sane stream
    });
    const vt = virtualTime();
    const before = process.memoryUsage().arrayBuffers;
    const w = watch(srv.port, { scheduler: vt.scheduler });
    try {
      await until(() => w.ends().length >= 1, 'the corrupt connection to be dropped');
      const grown = process.memoryUsage().arrayBuffers - before;
      const end = w.ends()[0]!;
      assert.equal(end.cause, 'corrupt');
      assert.match(end.reason!, new RegExp(`corrupt stream: .*byte ${badAt}: .*found ${size}`));
      assert.equal(w.events(), 2 * PER_PACKET, 'the two whole packets before the bad header were emitted');
      const warning = w.warnings.find((x) => x.offset === badAt);
      assert.ok(warning, `a warning names byte ${badAt}: ${JSON.stringify(w.warnings)}`);
      assert.equal(warning.kind, 'corrupt-packet');
      // The claimed size is never allocated: the cap (16 MiB) bounds what a peer can make it hold.
      assert.ok(grown < 48 * 1024 * 1024, `array buffers grew by ${(grown / 2 ** 20).toFixed(1)} MiB`);
      assert.equal(end.retryInMs, 200);
      vt.advance(200);
      await until(() => w.events() === 3 * PER_PACKET, 'the reconnected stream');
      assert.equal(srv.connections(), 2);
    } finally {
      w.stop();
      await srv.close();
    }
  });
}

test('maxPacketBytes is the cap: a sane packet larger than it, or an IOHeader larger than it, is a corrupt stream', async () => {
  const { header, packets } = await dvStream(2, 'none'); // uncompressed: 500 events = 8 kB payloads
  const payload = packets[0]!.readInt32LE(4);
  assert.ok(payload > 4096 && header.length < 4096);
  const srv = await serve((s) => s.write(Buffer.concat([header, ...packets])));
  const vt = virtualTime();
  let w = watch(srv.port, { scheduler: vt.scheduler, maxPacketBytes: 4096 });
  try {
    await until(() => w.ends().length >= 1, 'the connection to be dropped');
    assert.equal(w.ends()[0]!.cause, 'corrupt');
    assert.match(w.ends()[0]!.reason!, new RegExp(`found ${payload}`));
    assert.match(w.ends()[0]!.reason!, /maxPacketBytes 4096/);
    assert.equal(w.events(), 0);
  } finally {
    w.stop();
  }
  // the same stream under a cap above its packets is fine
  w = watch(srv.port, { scheduler: vt.scheduler, maxPacketBytes: payload });
  try {
    await until(() => w.events() === 2 * PER_PACKET, 'both packets');
    assert.equal(w.warnings.length, 0);
  } finally {
    w.stop();
  }
  // an IOHeader above the cap is refused before it is buffered
  w = watch(srv.port, { scheduler: vt.scheduler, maxPacketBytes: header.length - 8 });
  try {
    await until(() => w.ends().length >= 1, 'the connection to be dropped');
    assert.match(w.ends()[0]!.reason!, new RegExp(`IOHeader size in 8\\.\\.${header.length - 8}, found ${header.length - 4}`));
  } finally {
    w.stop();
    await srv.close();
  }
  assert.throws(() => fromDvTcp('tcp://127.0.0.1:1', { maxPacketBytes: 2 ** 31 }), /maxPacketBytes/);
});

// --------------------------------------------------------------------------------------- the guard alone

test('DvPacketGuard: same verdict for any chunking, withholds exactly the bad header, passes a file with its data table', async () => {
  const { header, packets } = await dvStream(4);
  const good = Buffer.concat([header, ...packets]);
  for (const chunk of [1, 7, 4096, good.length]) {
    const g = new DvPacketGuard('t', 1 << 20);
    let passed = 0;
    let n = 0;
    for (let o = 0; o < good.length; o += chunk) {
      const step = g.scan(good.subarray(o, o + chunk));
      assert.equal(step.fault, undefined);
      passed += step.pass;
      n += step.packets;
    }
    assert.equal(passed, good.length);
    assert.equal(n, 4, `chunk ${chunk}`);
    assert.equal(g.partial(), undefined);
  }
  const bad = Buffer.concat([header, packets[0]!, packetHeader(0, -5), packets[1]!]);
  for (const chunk of [1, 5, bad.length]) {
    const g = new DvPacketGuard('t', 1 << 20);
    let passed = 0;
    let fault;
    for (let o = 0; o < bad.length && !fault; o += chunk) {
      const step = g.scan(bad.subarray(o, o + chunk));
      passed += step.pass;
      fault = step.fault;
    }
    assert.ok(fault);
    const at = header.length + packets[0]!.length;
    assert.equal(fault.offset, at);
    // bytes of the bad header may have been passed only while it was incomplete (the decoder buffers 8 bytes)
    assert.ok(passed <= at + 7 && passed >= at - chunk + 1, `passed ${passed}, bad header at ${at}, chunk ${chunk}`);
  }
  // a cut stream says where it was cut
  const g = new DvPacketGuard('t', 1 << 20);
  g.scan(good.subarray(0, header.length + 20));
  assert.match(g.partial()!, new RegExp(`packet of ${packets[0]!.readInt32LE(4)} bytes at byte ${header.length}`));
  // The file form (version line, data table) passes through: a simple server may send a file's bytes.
  const file = await encodeAedat4([events(2000)], { width: 320, height: 240, compression: 'lz4', maxPacketEvents: 500 });
  const fg = new DvPacketGuard('t', 1 << 20);
  const step = fg.scan(file);
  assert.deepEqual([step.pass, step.packets, step.fault], [file.length, 4, undefined]);
});

test('DvPacketGuard passes the shared LZ4 recording whole', { skip: skipUnless(sharedRecording('dvs-lz4-sample.aedat4')) }, () => {
  const bytes = readFileSync(sharedRecording('dvs-lz4-sample.aedat4')!);
  const step = new DvPacketGuard('t', 16 << 20).scan(bytes);
  assert.equal(step.fault, undefined);
  assert.equal(step.pass, bytes.length);
  assert.ok(step.packets > 0);
});

// -------------------------------------------------------------------------------------------- idle timeout

test('a server that sends the header then trickles bytes is dropped by the idle timeout (bytes are not progress)', async () => {
  const { header, packets } = await dvStream(1);
  let client: Socket | undefined;
  const srv = await serve((s, n) => {
    if (n === 1) {
      client = s;
      s.write(header);
    } else s.write(Buffer.concat([header, packets[0]!]));
  });
  // the source's own socket (node's net.client.socket channel), to wait until each byte has reached it
  // instead of sleeping a guessed time
  const clientSockets: Socket[] = [];
  const onSocket = (m: unknown): void => void clientSockets.push((m as { socket: Socket }).socket);
  diagnostics.subscribe('net.client.socket', onSocket);
  const vt = virtualTime();
  const w = watch(srv.port, { scheduler: vt.scheduler, idleTimeoutMs: 5000 });
  try {
    await until(() => w.statuses.some((s) => s.state === 'connected') && client !== undefined, 'connected');
    const received = (n: number) => until(() => clientSockets[0]!.bytesRead === header.length + n, `${n} trickled bytes at the client`);
    const p = packets[0]!;
    for (let i = 0; i < 4; i++) {
      client!.write(p.subarray(i, i + 1)); // one byte per virtual second
      await received(i + 1);
      vt.advance(1000);
    }
    assert.equal(w.ends().length, 0, 'still within the timeout after 4 s');
    client!.write(p.subarray(4, 5));
    await received(5);
    vt.advance(1000);
    await until(() => w.ends().length >= 1, 'the idle timeout');
    const end = w.ends()[0]!;
    assert.equal(end.cause, 'idle');
    // the header and the 5 trickled bytes arrived, and none of them counted as progress
    assert.equal(end.reason, `stalled: no complete packet for 5000 ms (${header.length + 5} bytes since the last one)`);
    vt.advance(end.retryInMs!);
    await until(() => w.events() === PER_PACKET, 'the reconnected stream');
    assert.equal(srv.connections(), 2);
  } finally {
    diagnostics.unsubscribe('net.client.socket', onSocket);
    w.stop();
    await srv.close();
  }
});

test('a server that sends packets then goes silent is dropped by the idle timeout; packets keep it alive', async () => {
  const { header, packets } = await dvStream(8);
  let client: Socket | undefined;
  const srv = await serve((s) => {
    client = s;
    s.write(header);
  });
  const vt = virtualTime();
  const w = watch(srv.port, { scheduler: vt.scheduler, idleTimeoutMs: 5000 });
  try {
    await until(() => client !== undefined && w.statuses.some((s) => s.state === 'connected'), 'connected');
    // one packet every 3 virtual seconds for 24 s: far past the 5 s timeout, never idle for 5 s
    for (let i = 0; i < 8; i++) {
      client!.write(packets[i]!);
      await until(() => w.events() === (i + 1) * PER_PACKET, `packet ${i}`);
      vt.advance(3000);
    }
    assert.equal(w.ends().length, 0, 'packets count as progress');
    vt.advance(1999);
    assert.equal(w.ends().length, 0, 'not yet: 4999 ms since the last packet');
    vt.advance(1);
    await until(() => w.ends().length >= 1, 'the idle timeout');
    assert.equal(w.ends()[0]!.cause, 'idle');
    assert.match(w.ends()[0]!.reason!, /no complete packet for 5000 ms \(0 bytes/);
    assert.equal(w.ends()[0]!.attempt, 0, 'this connection delivered: the backoff starts over');
    assert.equal(w.ends()[0]!.retryInMs, 200);
  } finally {
    w.stop();
    await srv.close();
  }
});

// ------------------------------------------------------------------------------------------------ backoff

test('backoff grows against a server that accepts and closes (or sends garbage), and resets after a connection that delivered a packet', async () => {
  const { header, packets } = await dvStream(1);
  let mode: 'close' | 'deliver' | 'deliver-then-garbage' = 'close';
  const srv = await serve((s) => {
    if (mode === 'deliver') s.end(Buffer.concat([header, packets[0]!]));
    else if (mode === 'deliver-then-garbage') s.write(Buffer.concat([header, packets[0]!, packetHeader(0, -1)]));
    else s.destroy();
  });
  const vt = virtualTime();
  const w = watch(srv.port, { scheduler: vt.scheduler, initialBackoffMs: 200, maxBackoffMs: 1600 });
  // each dropped connection: check its delay and counter, then let that much virtual time pass
  const ends = async (list: [number, number][]) => {
    for (const [ms, attempt] of list) {
      const k = w.ends().length;
      await until(() => w.ends().length > k, `a dropped connection after ${k}`);
      const e = w.ends()[k]!;
      assert.deepEqual([e.retryInMs, e.attempt], [ms, attempt], `end #${k + 1}: ${e.reason}`);
      vt.advance(ms);
    }
  };
  try {
    await ends([
      [200, 1],
      [400, 2],
      [800, 3],
      [1600, 4],
      [1600, 5], // capped at maxBackoffMs
    ]);
    mode = 'deliver';
    await ends([[200, 0]]); // delivered a packet, then closed: counter reset
    assert.equal(w.events(), PER_PACKET);
    mode = 'close';
    await ends([
      [200, 1],
      [400, 2],
    ]);
    // a packet followed by garbage every time is a failure too, however many events came through
    mode = 'deliver-then-garbage';
    await ends([
      [800, 3],
      [1600, 4],
    ]);
    assert.equal(w.events(), 3 * PER_PACKET);
    assert.equal(w.ends().at(-1)!.cause, 'corrupt');
  } finally {
    w.stop();
    await srv.close();
  }
});

test('maxAttempts counts attempts without a packet and ends the source with the last reason', async () => {
  const srv = await serve((s) => s.destroy());
  const vt = virtualTime();
  const statuses: DvConnectionStatus[] = [];
  const src = fromDvTcp(`tcp://127.0.0.1:${srv.port}`, { scheduler: vt.scheduler, maxAttempts: 3 });
  const st = src.status$.subscribe((s) => statuses.push(s));
  let error: Error | undefined;
  const sub = src.subscribe({ error: (e: Error) => (error = e) });
  try {
    for (const ms of [200, 400]) {
      const k = statuses.filter((s) => s.retryInMs !== undefined).length;
      await until(() => statuses.filter((s) => s.retryInMs !== undefined).length > k, 'a dropped connection');
      vt.advance(ms);
    }
    await until(() => error !== undefined, 'the source to give up');
    assert.match(error!.message, /no connection after 3 attempts/);
    assert.equal(statuses.at(-1)!.state, 'stopped');
  } finally {
    sub.unsubscribe();
    st.unsubscribe();
    await srv.close();
  }
});

// ----------------------------------------------------------------------------------------------- warnings

test('decoder warnings reach onWarning and the pipeline log; a bad packet payload does not drop the connection', async () => {
  const { header, packets } = await dvStream(3);
  const broken = Buffer.from(packets[1]!);
  broken.fill(0xee, 8); // the size field is intact, the LZ4 frame is garbage
  const brokenAt = header.length + packets[0]!.length;
  const srv = await serve((s) => s.write(Buffer.concat([header, packets[0]!, broken, packets[2]!])));
  const vt = virtualTime();
  const w = watch(srv.port, { scheduler: vt.scheduler });
  try {
    await until(() => w.events() === 2 * PER_PACKET, 'the packets around the broken one');
    assert.equal(w.warnings.length, 1);
    assert.equal(w.warnings[0]!.offset, brokenAt);
    assert.equal(w.ends().length, 0, 'still connected');
  } finally {
    w.stop();
  }
  // the pipeline's live source logs the warning and the corrupt-stream report
  const lines: string[] = [];
  const live = new LiveTcpSource(`tcp://127.0.0.1:${srv.port}`, { scheduler: vt.scheduler, log: (l) => lines.push(l) });
  const sub = live.events$.subscribe();
  try {
    await until(() => lines.length >= 1, 'a log line');
    assert.match(lines[0]!, new RegExp(`^evstream: warning: tcp://127\\.0\\.0\\.1:${srv.port}: decompression at byte ${brokenAt}`));
    assert.equal(live.warnings, 1);
  } finally {
    sub.unsubscribe();
    await srv.close();
  }
  const bad = await serve((s) => s.write(Buffer.concat([header, packets[0]!, packetHeader(0, -5)])));
  const lines2: string[] = [];
  const live2 = new LiveTcpSource(`tcp://127.0.0.1:${bad.port}`, { scheduler: vt.scheduler, log: (l) => lines2.push(l) });
  const details2: string[] = [];
  const st2 = live2.status$.subscribe((s) => details2.push(`${s.state}: ${s.detail ?? ''}`));
  const sub2 = live2.events$.subscribe();
  try {
    await until(() => details2.some((d) => d.startsWith('reconnecting: corrupt stream')), 'the corrupt status');
    assert.ok(lines2.some((l) => /warning: .*corrupt-packet at byte \d+: expected a packet size in 0\.\.16777216 .*found -5/.test(l)), lines2.join('\n'));
    assert.ok(details2.some((d) => /^reconnecting: corrupt stream: corrupt-packet at byte \d+: .*found -5; retry in 200 ms \(attempt 1\)$/.test(d)), details2.join('\n'));
    vt.advance(200);
    await until(() => details2.some((d) => d.endsWith('retry in 400 ms (attempt 2)')), 'the second corrupt connection');
    assert.deepEqual(
      details2.map((d) => d.replace(/:.*/, '')).slice(-5),
      ['connecting', 'connected', 'reconnecting', 'connected', 'reconnecting'],
      `one reconnecting status per retry:\n${details2.join('\n')}`,
    );
  } finally {
    sub2.unsubscribe();
    st2.unsubscribe();
    await bad.close();
  }
});

test('warning floods are collapsed in the pipeline log', async () => {
  const { header, packets } = await dvStream(60);
  const stream = [header];
  for (const p of packets) {
    const b = Buffer.from(p);
    b.fill(0xee, 8);
    stream.push(b);
  }
  const srv = await serve((s) => s.write(Buffer.concat(stream)));
  const lines: string[] = [];
  const live = new LiveTcpSource(`tcp://127.0.0.1:${srv.port}`, { scheduler: virtualTime().scheduler, log: (l) => lines.push(l), warningLimit: 5 });
  const sub = live.events$.subscribe();
  try {
    await until(() => live.warnings === 60, 'all warnings');
    assert.equal(lines.length, 5);
  } finally {
    sub.unsubscribe();
    await srv.close();
  }
});

// ------------------------------------------------------------------------------------------------ config

test('pipeline config: dv-tcp idleTimeoutMs and maxPacketBytes are validated and kept across --source', () => {
  const cfg = parsePipeline({ source: { type: 'dv-tcp', url: 'tcp://127.0.0.1:7777', idleTimeoutMs: 2000, maxPacketBytes: 1 << 20 } }, '/x');
  assert.deepEqual(cfg.source, { type: 'dv-tcp', url: 'tcp://127.0.0.1:7777', idleTimeoutMs: 2000, maxPacketBytes: 1 << 20 });
  assert.deepEqual(applyOverrides(cfg, { source: 'tcp://10.0.0.2:7000' }).source, { type: 'dv-tcp', url: 'tcp://10.0.0.2:7000', idleTimeoutMs: 2000, maxPacketBytes: 1 << 20 });
  assert.throws(() => parsePipeline({ source: { type: 'dv-tcp', idleTimeoutMs: -1 } }, '/x'), /\/source\/idleTimeoutMs must be >= 0/);
  assert.throws(() => parsePipeline({ source: { type: 'dv-tcp', maxPacketBytes: 2 ** 31 } }, '/x'), /\/source\/maxPacketBytes must be <= 1073741824/);
  assert.throws(() => parsePipeline({ source: { type: 'dv-tcp', maxPacketBytes: '16M' } }, '/x'), /\/source\/maxPacketBytes must be integer/);
});
