/**
 * JSON API:
 *   GET  /api/status        pipeline, source, backend, model, fps, latency, dropped frames, clients
 *   GET  /api/pipeline      the resolved pipeline configuration
 *   POST /api/control       { action: 'pause' | 'resume' | 'reset' | 'speed', value? } (schema-validated)
 *   GET  /api/snapshot.png  current overlay (sharp, nearest-neighbour upscale): ?scale=1..16&alpha=0..1
 * Every route sits behind the guard (plugins/guard.ts): a foreign Host, or on the control POST a foreign
 * Origin, is a 403 before any of this runs.
 */
import type { FastifyPluginAsync, FastifySchemaCompiler } from 'fastify';
import type { LiveController } from '../types.js';
import type { FrameHub } from '../hub.js';
import { compileStrict, CONTROL_BODY_SCHEMA } from '../protocol.js';
import { classStyle, overlayPng } from '../../pipeline/render.js';
import type { ControlCommand } from '../../pipeline/runner.js';

export interface ApiPluginOptions {
  pipeline: LiveController;
  hub: FrameHub;
  /** Called after every accepted control command (the ws plugin tells clients). */
  onControl?: (cmd: ControlCommand) => void;
}

export const apiPlugin: FastifyPluginAsync<ApiPluginOptions> = async (app, opts) => {
  const p = opts.pipeline;
  const hub = opts.hub;
  const style = classStyle(p.model.info.classes);

  app.get('/api/status', async () => {
    const s = p.status();
    return {
      ...s,
      clients: { count: hub.size, droppedFrames: hub.totalDropped, list: hub.info() },
    };
  });

  app.get('/api/pipeline', async () => {
    const { baseDir: _b, ...cfg } = p.cfg;
    return cfg;
  });

  // strict validation (no coercion): `{"action":"speed","value":"2"}` is a 400, not speed 2
  app.post<{ Body: ControlCommand }>('/api/control', { schema: { body: CONTROL_BODY_SCHEMA }, validatorCompiler: ({ schema }) => compileStrict(schema) as ReturnType<FastifySchemaCompiler<unknown>> }, async (req, reply) => {
    const cmd = req.body;
    try {
      p.control(cmd);
    } catch (e) {
      return reply.code(409).send({ statusCode: 409, error: 'Conflict', message: (e as Error).message });
    }
    opts.onControl?.(cmd);
    return { ok: true, action: cmd.action, paused: p.source.paused, speed: p.source.speed };
  });

  app.get<{ Querystring: { scale: number; alpha: number } }>(
    '/api/snapshot.png',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { scale: { type: 'integer', minimum: 1, maximum: 16, default: 8 }, alpha: { type: 'number', minimum: 0, maximum: 1, default: 0.45 } },
        },
      },
    },
    async (req, reply) => {
      const r = p.latest;
      if (!r) return reply.code(503).send({ statusCode: 503, error: 'Service Unavailable', message: 'no frame processed yet' });
      const png = await overlayPng(r, style, req.query.scale, req.query.alpha);
      return reply.header('cache-control', 'no-store').type('image/png').send(png);
    },
  );
};
