/**
 * Websocket stream at /ws (protocol: ../protocol.ts). Subscribes to the pipeline's results and hands each
 * frame to the FrameHub (per-client backpressure). Client messages are validated; bad ones are answered
 * with an `error` message and logged, and a client that keeps sending them is disconnected. Who may open
 * the socket at all (Host, Origin) is decided before the upgrade, by the guard (guard.ts).
 */
import type { FastifyPluginAsync } from 'fastify';
import fastifyWebsocket from '@fastify/websocket';
import type WebSocket from 'ws';
import type { Subscription } from 'rxjs';
import type { LiveController } from '../types.js';
import type { FrameHub } from '../hub.js';
import { CLIENT_MESSAGE_SCHEMA, compileStrict, MAX_CLIENT_MESSAGE_BYTES, PROTOCOL_VERSION, type FrameStats } from '../protocol.js';
import { formatSchemaErrors } from '../../pipeline/config.js';
import { classStyle } from '../../pipeline/render.js';
import type { ControlCommand, FrameResult } from '../../pipeline/runner.js';
import { basename } from 'node:path';

export interface WsPluginOptions {
  pipeline: LiveController;
  hub: FrameHub;
  /** Bad client messages tolerated before the connection is closed (default 20). */
  maxRejected?: number;
}

type ClientMessage = { type: 'ping'; id?: number | string } | ({ type: 'control' } & ControlCommand);

export function helloMessage(p: LiveController): object {
  const info = p.model.info;
  const st = p.status();
  return {
    type: 'hello',
    protocol: PROTOCOL_VERSION,
    pipeline: p.cfg.name,
    model: {
      arch: info.arch,
      width: info.width,
      T: info.T,
      untrained: info.untrained,
      checkpoint: info.checkpoint ? basename(info.checkpoint) : null,
      encoder: info.encoder,
      stepsPerFrame: info.stepsPerFrame,
      bnPolicy: info.bnPolicy,
      params: info.params,
      engine: info.engine ?? 'tfjs',
    },
    backend: info.backend,
    layers: info.layers.map((l) => ({ name: l.name, neurons: l.neurons, shape: l.shape })),
    classes: classStyle(info.classes),
    framing: st.framing,
    source: st.source,
    sourceKind: p.source.kind,
    paused: p.source.paused,
    speed: p.source.speed,
    dropPolicy: st.dropPolicy,
  };
}

export function frameStats(p: LiveController, r: FrameResult): Omit<FrameStats, 'clientDropped' | 'sentAt'> {
  const st = p.status();
  const round = (v: number, k = 100): number => Math.round(v * k) / k;
  return {
    type: 'frame',
    seq: r.seq,
    index: r.index,
    t0: r.t0,
    t1: r.t1,
    events: r.events,
    merged: r.merged,
    t: r.t,
    layers: r.layers.map((l) => ({ name: l.name, rate: round(l.rate, 1e6), spikes: l.spikes })),
    stepMs: round(r.stepMs),
    latencyMs: round(r.latencyMs),
    e2eMs: Number.isFinite(r.e2eMs) ? round(r.e2eMs) : null,
    windowEndWallMs: round(r.windowEndWallMs),
    fps: st.fps,
    inputFps: st.inputFps,
    dropped: st.frames.dropped,
    merged_total: st.frames.merged,
    paused: st.paused,
    speed: st.speed,
  };
}

export const wsPlugin: FastifyPluginAsync<WsPluginOptions> = async (app, opts) => {
  const p = opts.pipeline;
  const hub = opts.hub;
  const maxRejected = opts.maxRejected ?? 20;
  const validate = compileStrict(CLIENT_MESSAGE_SCHEMA);
  const classes = p.model.info.classes;

  await app.register(fastifyWebsocket, { options: { maxPayload: MAX_CLIENT_MESSAGE_BYTES, perMessageDeflate: false } });

  const subs: Subscription[] = [];
  subs.push(p.results$.subscribe((r) => hub.broadcast(r, frameStats(p, r), classes)));
  subs.push(p.source.status$.subscribe((s) => hub.sendJson({ type: 'source', ...s })));
  app.addHook('onClose', async () => {
    for (const s of subs) s.unsubscribe();
    hub.closeAll();
  });

  const reject = (socket: WebSocket, id: number, remote: string, why: string): void => {
    const n = hub.noteRejected(id);
    app.log.warn({ client: id, remote }, `rejected websocket message: ${why}`);
    if (socket.readyState === 1) socket.send(JSON.stringify({ type: 'error', message: why }));
    if (n >= maxRejected) socket.close(1008, 'too many malformed messages');
  };

  app.get('/ws', { websocket: true }, (socket: WebSocket, req) => {
    const remote = req.socket.remoteAddress ?? '';
    const id = hub.add(socket, remote);
    socket.on('error', (err: Error) => app.log.warn({ client: id }, `websocket error: ${err.message}`));
    socket.send(JSON.stringify(helloMessage(p)));
    // the newest frame at once, so a paused pipeline still shows a picture
    const last = p.latest;
    if (last) hub.broadcastTo(id, last, frameStats(p, last), classes);
    socket.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (isBinary) return reject(socket, id, remote, 'binary messages are not accepted');
      let msg: unknown;
      try {
        msg = JSON.parse(Buffer.isBuffer(data) ? data.toString('utf8') : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data).toString('utf8'));
      } catch {
        return reject(socket, id, remote, 'not valid JSON');
      }
      if (!validate(msg)) return reject(socket, id, remote, `invalid message: ${formatSchemaErrors((validate.errors ?? []) as never)}`);
      const m = msg as ClientMessage;
      if (m.type === 'ping') {
        socket.send(JSON.stringify({ type: 'pong', id: m.id ?? null, serverTime: Date.now() }));
        return;
      }
      const { type: _t, ...cmd } = m;
      try {
        p.control(cmd as ControlCommand);
      } catch (e) {
        return reject(socket, id, remote, (e as Error).message);
      }
      hub.sendJson({ type: 'control', action: cmd.action, paused: p.source.paused, speed: p.source.speed });
    });
  });
};
