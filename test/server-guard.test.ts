/**
 * The viewer server's Host and Origin checks (src/server/plugins/guard.ts): DNS rebinding (foreign Host) and
 * other web pages (foreign Origin) can neither read nor control the pipeline; the viewer itself, curl and
 * scripts that send no Origin keep working.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { networkInterfaces } from 'node:os';
import WebSocket from 'ws';
import { buildServer, startViewerServer, type RunningServer } from '../src/server/app.js';
import { RequestGuard } from '../src/server/plugins/guard.js';
import { FakePipeline, WsProbe, waitFor } from './helpers/server-helpers.js';
import { runCli } from './helpers/cli.js';
import { applyOverrides, loadPipeline } from '../src/pipeline/config.js';

/** One HTTP request with exactly these headers (fetch would not let us set Host). */
function rawRequest(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Open a websocket with these options; resolves with how it ended up (never throws). */
function tryWebSocket(url: string, opts: { origin?: string; headers?: Record<string, string> }): Promise<{ opened: boolean; status?: number; messages: number; ws: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, opts);
    let messages = 0;
    ws.on('message', () => messages++);
    ws.on('open', () => resolve({ opened: true, messages, ws }));
    ws.on('unexpected-response', (_req: unknown, res: { statusCode: number; resume(): void }) => {
      res.resume();
      resolve({ opened: false, status: res.statusCode, messages, ws });
    });
    ws.on('error', () => resolve({ opened: false, messages, ws }));
  });
}

const portOf = (srv: RunningServer): number => Number(new URL(srv.url).port);

test('guard: a foreign Host gets 403 on every route (API, snapshot, static, websocket, control), one log line each', async () => {
  const p = new FakePipeline(8, 8);
  const lines: string[] = [];
  const { app } = await buildServer(p, { guard: { log: (l) => lines.push(l) } });
  try {
    p.emit();
    const evil = { host: 'evil.example' };
    const routes: { method: 'GET' | 'POST'; url: string; headers?: Record<string, string>; payload?: object }[] = [
      { method: 'GET', url: '/api/status' },
      { method: 'GET', url: '/api/snapshot.png' },
      { method: 'GET', url: '/' },
      { method: 'GET', url: '/app.js' },
      { method: 'GET', url: '/api/pipeline' },
      { method: 'GET', url: '/ws', headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } },
      { method: 'POST', url: '/api/control', payload: { action: 'pause' } },
      { method: 'GET', url: '/no-such-page' },
    ];
    for (const r of routes) {
      const res = await app.inject({ method: r.method, url: r.url, headers: { ...r.headers, ...evil }, payload: r.payload });
      assert.equal(res.statusCode, 403, `${r.method} ${r.url} with Host evil.example`);
      assert.equal(res.json().error, 'Forbidden');
      assert.match(res.json().message, /evil\.example/);
    }
    assert.equal(lines.length, routes.length, 'one log line per refused request');
    assert.match(lines[0]!, /GET "\/api\/status".*Host "evil\.example"/);
    assert.match(lines[6]!, /POST "\/api\/control"/);
    assert.deepEqual(p.commands, [], 'the refused control request never reached the pipeline');
    // the names a local user types work (inject has no socket port, so any port is accepted here)
    for (const host of ['localhost:8080', '127.0.0.1:8080', '[::1]:8080', 'LOCALHOST:8080', 'localhost']) {
      const res = await app.inject({ method: 'GET', url: '/api/status', headers: { host } });
      assert.equal(res.statusCode, 200, `Host ${host}`);
    }
    for (const host of ['evil.example:8080', '127.0.0.1.evil.example', 'localhost.evil.example:8080', '0.0.0.0:8080', '[::]:8080', 'localhost:8080@evil']) {
      const res = await app.inject({ method: 'GET', url: '/api/status', headers: { host } });
      assert.equal(res.statusCode, 403, `Host ${JSON.stringify(host)}`);
    }
  } finally {
    await app.close();
  }
});

test('guard: the Host must name the port the server listens on; [::1] and localhost work; --allow-host adds names', async () => {
  const p = new FakePipeline(8, 8);
  const srv = await startViewerServer(p, { port: 0 }, { guard: { allowHosts: ['viewer.lan', 'proxy.lan:9000', '[fe80::1]:8080'], log: () => {} } });
  const port = portOf(srv);
  const status = (host: string) => rawRequest(`${srv.url}api/status`, { headers: { host } }).then((r) => r.status);
  try {
    assert.equal(await status(`127.0.0.1:${port}`), 200);
    assert.equal(await status(`localhost:${port}`), 200);
    assert.equal(await status(`[::1]:${port}`), 200);
    // port mismatch: another port, or none (= 80)
    assert.equal(await status(`127.0.0.1:${port === 65535 ? 1 : port + 1}`), 403);
    assert.equal(await status(`localhost:${port === 65535 ? 1 : port + 1}`), 403);
    assert.equal(await status('127.0.0.1'), 403);
    // --allow-host: a bare name allows any port (behind a proxy), name:port only that port
    assert.equal(await status('viewer.lan'), 200);
    assert.equal(await status('viewer.lan:1234'), 200);
    assert.equal(await status('proxy.lan:9000'), 200);
    assert.equal(await status('proxy.lan:9001'), 403);
    assert.equal(await status('proxy.lan'), 403);
    assert.equal(await status('[fe80::1]:8080'), 200);
    assert.equal(await status('evil.example'), 403);
    // curl-like request: right Host, no Origin
    const r = await rawRequest(`${srv.url}api/status`);
    assert.equal(r.status, 200);
    assert.equal(JSON.parse(r.body).name, 'fake');
  } finally {
    await srv.close();
  }
});

test('guard: websocket from a foreign Origin is refused before the upgrade: no frames, its control has no effect', async () => {
  const p = new FakePipeline(8, 8);
  const lines: string[] = [];
  const srv = await startViewerServer(p, { port: 0 }, { guard: { log: (l) => lines.push(l) } });
  const port = portOf(srv);
  const wsUrl = `ws://127.0.0.1:${port}/ws`;
  const opened: WebSocket[] = [];
  try {
    p.emit();
    const attempts = [
      { origin: 'http://evil.example' },
      { origin: `http://localhost:${port === 65535 ? 1 : port + 1}` }, // another local web app
      { origin: 'null' }, // sandboxed iframe / file://
      { origin: `http://127.0.0.1:${port}`, headers: { host: 'evil.example' } }, // rebinding: Host refused first
    ];
    for (const a of attempts) {
      const r = await tryWebSocket(wsUrl, a);
      if (r.opened) {
        opened.push(r.ws);
        r.ws.send(JSON.stringify({ type: 'control', action: 'pause' }));
      }
      assert.equal(r.opened, false, `websocket with ${JSON.stringify(a)} must not open`);
      assert.equal(r.status, 403);
      r.ws.terminate();
    }
    assert.equal(srv.hub.size, 0, 'no refused socket joined the hub');
    p.emit();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(p.commands, []);
    assert.equal(p.source.paused, false);
    assert.equal(lines.length, attempts.length);
    assert.ok(lines.every((l) => /refused GET "\/ws"/.test(l)));
    assert.match(lines[0]!, /Origin "http:\/\/evil\.example"/);
    assert.match(lines[3]!, /Host "evil\.example"/);
  } finally {
    for (const ws of opened) ws.terminate();
    await srv.close();
  }
});

test("guard: the viewer's own origin and clients without Origin get frames and can control", async () => {
  const p = new FakePipeline(8, 8);
  const srv = await startViewerServer(p, { port: 0 }, { guard: { log: () => {} } });
  const port = portOf(srv);
  const clients: WebSocket[] = [];
  try {
    const url = `ws://127.0.0.1:${port}/ws`;
    for (const [host, origin] of [
      [`127.0.0.1:${port}`, `http://127.0.0.1:${port}`],
      [`localhost:${port}`, `http://localhost:${port}`],
      [`[::1]:${port}`, `http://[::1]:${port}`],
      [undefined, undefined],
    ] as const) {
      const r = await tryWebSocket(url, { ...(origin ? { origin } : {}), ...(host ? { headers: { host } } : {}) });
      assert.equal(r.opened, true, `websocket with Host ${host} and Origin ${origin} opens`);
      clients.push(r.ws);
    }
    const probe = new WsProbe(`ws://127.0.0.1:${port}/ws`); // no Origin, like a script
    await probe.opened;
    p.emit();
    await probe.waitFor(() => probe.binary >= 1, 3000, 'frame for a no-Origin client');
    clients[0]!.send(JSON.stringify({ type: 'control', action: 'pause' }));
    await waitFor(() => p.source.paused, 3000, 'pause from the same-origin client');
    probe.close();
  } finally {
    for (const c of clients) c.terminate();
    await srv.close();
  }
});

test('guard: --allow-origin adds origins; POST /api/control checks Origin too (a cross-site form post is refused)', async () => {
  const p = new FakePipeline(8, 8);
  const srv = await startViewerServer(p, { port: 0 }, { guard: { allowOrigins: ['http://dashboard.lan:3000', 'https://ops.example'], log: () => {} } });
  const port = portOf(srv);
  const wsUrl = `ws://127.0.0.1:${port}/ws`;
  const control = (origin: string | undefined, body = '{"action":"pause"}', type = 'application/json') =>
    rawRequest(`${srv.url}api/control`, { method: 'POST', headers: { 'content-type': type, ...(origin ? { origin } : {}) }, body }).then((r) => r.status);
  const opened: WebSocket[] = [];
  try {
    const dash = await tryWebSocket(wsUrl, { origin: 'http://dashboard.lan:3000' });
    opened.push(dash.ws);
    assert.equal(dash.opened, true);
    const ops = await tryWebSocket(wsUrl, { origin: 'https://ops.example' });
    opened.push(ops.ws);
    assert.equal(ops.opened, true);
    for (const origin of ['http://dashboard.lan:3001', 'http://ops.example', 'https://dashboard.lan:3000']) {
      const r = await tryWebSocket(wsUrl, { origin });
      opened.push(r.ws);
      assert.equal(r.opened, false, origin);
    }

    // a page elsewhere posting a form / no-cors fetch: refused before the body is even parsed
    assert.equal(await control('http://evil.example', 'action=pause', 'application/x-www-form-urlencoded'), 403);
    assert.equal(await control('http://evil.example'), 403);
    assert.equal(await control('null'), 403);
    assert.equal(p.commands.length, 0);
    // the viewer page itself, an allowed origin, and curl
    assert.equal(await control(`http://127.0.0.1:${port}`), 200);
    assert.equal(await control('http://dashboard.lan:3000', '{"action":"resume"}'), 200);
    assert.equal(await control(undefined, '{"action":"reset"}'), 200);
    assert.deepEqual(
      p.commands.map((c) => c.action),
      ['pause', 'resume', 'reset'],
    );
  } finally {
    for (const ws of opened) ws.terminate();
    await srv.close();
  }
});

test('guard: a server bound to [::1] serves its IPv6 origin and refuses others', async (t) => {
  const p = new FakePipeline(8, 8);
  let srv: RunningServer;
  try {
    srv = await startViewerServer(p, { host: '::1', port: 0 }, { guard: { log: () => {} } });
  } catch (e) {
    t.skip(`no IPv6 loopback here (${(e as Error).message})`);
    return;
  }
  const port = portOf(srv);
  const opened: WebSocket[] = [];
  try {
    assert.equal(srv.url, `http://[::1]:${port}/`);
    assert.equal((await rawRequest(`${srv.url}api/status`)).status, 200);
    assert.equal((await rawRequest(`${srv.url}api/status`, { headers: { host: 'evil.example' } })).status, 403);
    const own = await tryWebSocket(`ws://[::1]:${port}/ws`, { origin: `http://[::1]:${port}` });
    opened.push(own.ws);
    assert.equal(own.opened, true);
    const evil = await tryWebSocket(`ws://[::1]:${port}/ws`, { origin: 'http://evil.example' });
    opened.push(evil.ws);
    assert.equal(evil.status, 403);
  } finally {
    for (const ws of opened) ws.terminate();
    await srv.close();
  }
});

test('guard: bad --allow-host / --allow-origin values fail when the server is built', async () => {
  const p = new FakePipeline(8, 8);
  await assert.rejects(buildServer(p, { guard: { allowHosts: ['bad host'] } }), /--allow-host 'bad host'/);
  await assert.rejects(buildServer(p, { guard: { allowHosts: ['viewer.lan:99999'] } }), /--allow-host/);
  await assert.rejects(buildServer(p, { guard: { allowHosts: ['0.0.0.0'] } }), /wildcard/);
  await assert.rejects(buildServer(p, { guard: { allowOrigins: ['null'] } }), /--allow-origin 'null'/);
  await assert.rejects(buildServer(p, { guard: { allowOrigins: ['http://dash.lan/path'] } }), /--allow-origin/);
  await assert.rejects(buildServer(p, { guard: { allowOrigins: ['ftp://dash.lan'] } }), /--allow-origin/);
  const ok = await buildServer(p, { guard: { allowHosts: ['Viewer.LAN', '192.168.1.20:8080', '[fe80::1]'], allowOrigins: ['http://dash.lan:3000/'] } });
  await ok.app.close();
});

test('guard: bound to 0.0.0.0, the machine\'s own addresses are accepted at the port, names and 0.0.0.0 are not', () => {
  const g = new RequestGuard({ boundHost: '0.0.0.0' });
  const port = 8080;
  assert.equal(g.checkHost('127.0.0.1:8080', port), undefined);
  assert.equal(g.checkHost('localhost:8080', port), undefined);
  assert.equal(g.checkHost('[::1]:8080', port), undefined);
  assert.match(g.checkHost('0.0.0.0:8080', port)!, /not allowed/);
  assert.match(g.checkHost('mybox.lan:8080', port)!, /not allowed/);
  assert.match(g.checkHost('evil.example:8080', port)!, /not allowed/);
  assert.match(g.checkHost('127.0.0.1:8081', port)!, /port/);
  // an IP that is not this machine's: someone else's address (or a stale one) is refused too
  assert.match(g.checkHost('203.0.113.7:8080', port)!, /not allowed/);
  const own = Object.values(networkInterfaces())
    .flatMap((l) => l ?? [])
    .find((a) => !a.internal && a.family === 'IPv4');
  if (own) assert.equal(g.checkHost(`${own.address}:8080`, port), undefined, `this machine's ${own.address}`);
  // bound to one address: that address, not the others
  const lan = new RequestGuard({ boundHost: '192.0.2.5' });
  assert.equal(lan.checkHost('192.0.2.5:8080', port), undefined);
  assert.equal(lan.checkHost('localhost:8080', port), undefined);
  assert.match(lan.checkHost('192.0.2.6:8080', port)!, /not allowed/);
  const v6 = new RequestGuard({ boundHost: '::1' });
  assert.equal(v6.checkHost('[::1]:8080', port), undefined);
  // same-origin rule: Origin's host and port equal the Host; default ports compare by number
  assert.equal(g.checkOrigin('http://127.0.0.1:8080', '127.0.0.1:8080'), undefined);
  assert.equal(g.checkOrigin('http://[::1]:8080', '[::1]:8080'), undefined);
  assert.equal(g.checkOrigin('http://viewer.lan', 'viewer.lan:80'), undefined);
  assert.equal(g.checkOrigin('https://viewer.lan', 'viewer.lan'), undefined);
  assert.match(g.checkOrigin('http://localhost:8080', '127.0.0.1:8080')!, /not allowed/);
  assert.match(g.checkOrigin('http://127.0.0.1:3000', '127.0.0.1:8080')!, /not allowed/);
  assert.match(g.checkOrigin('http://127.0.0.1:8080/x', '127.0.0.1:8080')!, /not allowed/);
});

test('guard: refusals are logged at most `logBurst` per window, the rest counted in the next line', async () => {
  const p = new FakePipeline(8, 8);
  const lines: string[] = [];
  let now = 0;
  const { app } = await buildServer(p, { guard: { log: (l) => lines.push(l), logBurst: 3, logWindowMs: 1000, now: () => now } });
  try {
    for (let i = 0; i < 50; i++) assert.equal((await app.inject({ method: 'GET', url: `/api/status?i=${i}`, headers: { host: 'evil.example' } })).statusCode, 403);
    assert.equal(lines.length, 3);
    now = 1000;
    await app.inject({ method: 'GET', url: '/api/status', headers: { host: 'evil.example' } });
    assert.equal(lines.length, 4);
    assert.match(lines[3]!, /\(47 more refused requests not logged\)/);
    // log lines quote the untrusted values (no raw control characters reach the log)
    now = 5000;
    await app.inject({ method: 'GET', url: '/api/status?x=\u001b[2J', headers: { host: 'evil\u001b.example' } });
    assert.equal(lines.length, 5);
    assert.doesNotMatch(lines[4]!, /\u001b/);
    assert.match(lines[4]!, /\\u001b/);
  } finally {
    await app.close();
  }
});

test('evstream run: --allow-host / --allow-origin take repeats and comma lists, add to the pipeline\'s lists, and bad values fail before the model loads', async () => {
  const cfg = applyOverrides(loadPipeline('demo'), { allowHosts: ['viewer.lan'], allowOrigins: ['http://dash.lan:3000'] });
  assert.deepEqual(cfg.sinks.viewer.allowHosts, ['viewer.lan']);
  const more = applyOverrides(cfg, { allowHosts: ['b.lan:8080'] });
  assert.deepEqual(more.sinks.viewer.allowHosts, ['viewer.lan', 'b.lan:8080'], 'the command line adds to the pipeline file');
  assert.deepEqual(more.sinks.viewer.allowOrigins, ['http://dash.lan:3000']);

  // the second entry of a comma list, and the second of two repeats, are each read and checked
  let r = await runCli(['run', 'demo', '--port', '0', '--allow-host', 'viewer.lan,bad host']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--allow-host 'bad host' is not a host name/);
  assert.doesNotMatch(r.stderr, /engine|tfjs|\n\s+at /, 'fails before the model loads, without a stack');
  r = await runCli(['run', 'demo', '--port', '0', '--allow-origin', 'http://dash.lan:3000', '--allow-origin', 'ftp://x']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--allow-origin 'ftp:\/\/x' is not an origin/);
  r = await runCli(['run', 'demo', '--port', '0', '--speed', '1e-300']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /--speed must be in \[0\.01, 100\]/);
  r = await runCli(['run', '--help']);
  assert.match(r.stdout, /--allow-host <host>/);
  assert.match(r.stdout, /--allow-origin <origin>/);
});
