/** `evstream replay-server` listens too: loopback by default, and a bounded number of clients. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { DEFAULT_REPLAY_MAX_CLIENTS, startReplayServer } from '../src/server/dv-replay-server.js';
import { ROOT, waitFor } from './server-helpers.js';

const RECORDING = join(ROOT, 'recordings', 'demo.aedat4');

interface Probe {
  socket: Socket;
  bytes: number;
  closed: boolean;
}

function probe(port: number): Probe {
  const p: Probe = { socket: connect(port, '127.0.0.1'), bytes: 0, closed: false };
  p.socket.on('data', (d: Buffer) => (p.bytes += d.length));
  p.socket.on('error', () => {});
  p.socket.on('close', () => (p.closed = true));
  return p;
}

test('replay-server binds 127.0.0.1 by default and refuses clients beyond maxClients (logged, others unaffected)', async () => {
  assert.ok(DEFAULT_REPLAY_MAX_CLIENTS >= 1 && DEFAULT_REPLAY_MAX_CLIENTS <= 64);
  const lines: string[] = [];
  const server = await startReplayServer(RECORDING, { port: 0, speed: 1, maxClients: 2, log: (l) => lines.push(l) });
  const probes: Probe[] = [];
  try {
    // the address actually bound, read back from the listening socket
    assert.equal(server.host, '127.0.0.1');
    probes.push(probe(server.port), probe(server.port));
    await waitFor(() => probes.every((p) => p.bytes > 0), 5000, 'the first two clients get their stream');
    assert.equal(server.clients, 2);
    const third = probe(server.port);
    probes.push(third);
    await waitFor(() => third.closed, 3000, 'the third client is closed');
    assert.equal(third.bytes, 0, 'the refused client got no data');
    assert.equal(server.refused, 1);
    assert.ok(lines.some((l) => /refused: 2 clients already connected/.test(l)), lines.join('\n'));
    // the first two keep streaming
    const before = probes[0]!.bytes;
    await waitFor(() => probes[0]!.bytes > before, 3000, 'first client still streaming');
    assert.equal(probes[0]!.closed || probes[1]!.closed, false);
    // a slot frees up when a client leaves
    probes[0]!.socket.destroy();
    await waitFor(() => server.clients === 1, 3000, 'client gone');
    const fourth = probe(server.port);
    probes.push(fourth);
    await waitFor(() => fourth.bytes > 0, 5000, 'a new client is served once a slot is free');
    await assert.rejects(startReplayServer(RECORDING, { port: 0, maxClients: 0 }), /maxClients/);
  } finally {
    for (const p of probes) p.socket.destroy();
    await server.close();
  }
});
