/**
 * Start a whole live run from a pipeline config: the pipeline, its sinks and the viewer server.
 * Used by `evstream run`, the e2e tests, the bench and the soak script.
 */
import type { PipelineConfig } from '../pipeline/config.js';
import { Pipeline } from '../pipeline/runner.js';
import { startSinks, type Sink } from '../pipeline/sinks.js';
import { startViewerServer, type RunningServer, type ViewerServerOptions } from './app.js';

export interface LiveRun {
  pipeline: Pipeline;
  server: RunningServer | undefined;
  url: string | undefined;
  sinks: Sink[];
  /** Resolves when the source ends (a file played once), rejects when the pipeline fails. */
  done: Promise<void>;
  stop(): Promise<void>;
}

export interface RunOptions {
  log?: (line: string) => void;
  /** Print a one-line status every N seconds (0 = never). */
  statusEveryS?: number;
  server?: ViewerServerOptions;
}

export async function runPipeline(cfg: PipelineConfig, opts: RunOptions = {}): Promise<LiveRun> {
  const log = opts.log ?? (() => {});
  const pipeline = await Pipeline.create(cfg, { log });
  let server: RunningServer | undefined;
  try {
    if (cfg.sinks.viewer.enabled) {
      const v = cfg.sinks.viewer;
      // refused requests go to the run's log (fastify's own logger is off in `evstream run`)
      const guard = { allowHosts: v.allowHosts, allowOrigins: v.allowOrigins, log, ...opts.server?.guard };
      server = await startViewerServer(pipeline, { host: v.host, port: v.port }, { ...opts.server, guard });
    }
  } catch (e) {
    pipeline.stop();
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EADDRINUSE') throw new Error(`port ${cfg.sinks.viewer.port} on ${cfg.sinks.viewer.host} is in use (pick another with --port or PORT=...)`);
    throw e;
  }
  const sinks = startSinks(pipeline);
  const done = new Promise<void>((resolve, reject) => {
    pipeline.errors$.subscribe((e) => reject(e));
    pipeline.results$.subscribe({ complete: () => resolve() });
  });
  done.catch(() => {});
  pipeline.start();
  let timer: NodeJS.Timeout | undefined;
  if (opts.statusEveryS) {
    timer = setInterval(() => {
      const s = pipeline.status();
      log(
        `evstream: ${s.source.state}${s.paused ? ' (paused)' : ''} | ${s.fps.toFixed(1)} fps | step ${s.latency.stepMs.p50} ms p50 | e2e ${s.latency.e2eMs.p50} ms p50 | dropped ${s.frames.dropped} | clients ${server?.hub.size ?? 0} | rss ${s.memory.rssMB.toFixed(0)} MB | tensors ${s.tensors}`,
      );
    }, opts.statusEveryS * 1000);
    timer.unref();
  }
  let stopped = false;
  return {
    pipeline,
    server,
    url: server?.url,
    sinks,
    done,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      if (timer) clearInterval(timer);
      await server?.close();
      pipeline.stop();
      await Promise.all(sinks.map((s) => s.close()));
    },
  };
}
