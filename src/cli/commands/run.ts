import type { Command } from 'commander';
import { PipelineConfigError, applyOverrides, loadPipeline, type PipelineOverrides } from '../../pipeline/config.js';
import { SPEED_MAX, SPEED_MIN } from '../../sources/speed.js';
import { RequestGuard } from '../../server/plugins/guard.js';
import { integerArg, numberArg, oneOf, option, PRECISION_HELP, precisionOption, repeatableListOption, sensorOption, type Size } from '../options.js';

/** Parsed flags: the pipeline overrides, with commander's names and shapes for those that differ. */
type RunOpts = Omit<PipelineOverrides, 'allowHosts' | 'allowOrigins' | 'sensor'> & {
  allowHost?: string[];
  allowOrigin?: string[];
  sensor?: Size;
  duration?: number;
  quiet?: boolean;
};

const portArg = integerArg({ min: 0, max: 65535 });

export function registerRun(program: Command): void {
  const cmd = program
    .command('run')
    .description('run a live pipeline (pipelines/<name>.json or a path): events -> frames -> SNN -> browser viewer and sinks')
    .argument('<pipeline>', 'pipeline name (demo, ddd17, live-davis) or path to a pipeline .json')
    .option('--source <path|url>', 'event file / DDD17 drive path, or tcp://host:port of a DV camera or replay server')
    .option('--checkpoint <file>', "model checkpoint (.safetensors); its own framing (size, crop, window, normalize), encoder and streaming policy replace the pipeline's, each change logged");
  option(cmd, '--port <n>', "viewer port (default: $PORT, else the pipeline's, else 8080; 0 = any free port)", portArg);
  cmd.option('--host <addr>', 'viewer address to bind (default 127.0.0.1; 0.0.0.0 = every interface, reachable by IP, names need --allow-host)');
  repeatableListOption(cmd, '--allow-host <host>', "also accept this Host header, 'name' (any port) or 'name:port' (repeatable, or a comma list; default: localhost, 127.0.0.1, [::1] and the bound address)");
  repeatableListOption(cmd, '--allow-origin <origin>', "also accept websocket / control requests from pages of this origin, e.g. http://dashboard.lan:3000 (repeatable, or a comma list; default: the viewer's own)");
  // the range is the pipeline's (src/sources/speed.ts), checked with the pipeline file's own value
  option(cmd, '--speed <x>', `replay speed of a file source (1 = real time, ${SPEED_MIN}..${SPEED_MAX})`, numberArg());
  cmd
    .option('--no-loop', 'play a file source once')
    .option('--save-overlays <dir>', 'write a PNG overlay per processed frame into <dir>')
    .option('--metrics <file>', "append pipeline metrics as JSON lines to <file> ('-' = stdout)")
    .option('--record <file>', 'record every incoming event to <file> as it arrives: .aedat4 (AEDAT 4, lz4) or .raw (Prophesee EVT 3.0), closed cleanly on Ctrl-C, source end or failure')
    .option('--record-predictions <file>', 'record the predicted class maps of every processed frame (.evpred)')
    .option('--no-viewer', 'no web server (headless: use --metrics)');
  sensorOption(cmd);
  option(cmd, '--fit <how>', "a sensor of another aspect than the model input, when the pipeline has no crop: stretch (resize the whole sensor) or crop (its largest centred region with the input's aspect, e.g. 720 x 720 of a 1280 x 720 camera); default: the pipeline's (stretch)", oneOf(['stretch', 'crop'] as const));
  precisionOption(cmd, `${PRECISION_HELP}; int8 runs the stream's first model.calibrationFrames (64) frames in fp32 and calibrates on them, then switches (default: the pipeline's model.precision, else fp32)`);
  option(cmd, '--duration <s>', 'stop after this many seconds', numberArg({ above: 0 }));
  cmd.option('-q, --quiet', 'no periodic status line');
  cmd.action(async (name: string, opts: RunOpts) => {
      const envPort = process.env.PORT !== undefined && process.env.PORT !== '' ? portArg(process.env.PORT, 'PORT') : undefined;
      const o: PipelineOverrides = {
        source: opts.source,
        checkpoint: opts.checkpoint,
        port: opts.port ?? envPort,
        host: opts.host,
        speed: opts.speed,
        // commander sets loop=true unless --no-loop: only an explicit --no-loop overrides the pipeline
        loop: opts.loop === false ? false : undefined,
        saveOverlays: opts.saveOverlays,
        metrics: opts.metrics,
        record: opts.record,
        recordPredictions: opts.recordPredictions,
        viewer: opts.viewer === false ? false : undefined,
        allowHosts: opts.allowHost,
        allowOrigins: opts.allowOrigin,
        sensor: opts.sensor ? [opts.sensor.width, opts.sensor.height] : undefined,
        fit: opts.fit,
        precision: opts.precision,
      };
      // A checkpoint (from the file or --checkpoint) runs as it was trained: Pipeline.create applies and logs that.
      const cfg = applyOverrides(loadPipeline(name), o);
      // check the guard's options now, before the model loads (the server checks them again when it starts)
      const v = cfg.sinks.viewer;
      if (v.enabled) new RequestGuard({ boundHost: v.host, allowHosts: v.allowHosts, allowOrigins: v.allowOrigins });
      // a record path that cannot be written is refused now, not after the model has loaded
      if (cfg.sinks.record.path) {
        const { checkRecordPath } = await import('../../pipeline/record-events.js');
        try {
          checkRecordPath(cfg.sinks.record.path);
        } catch (e) {
          throw new PipelineConfigError((e as Error).message);
        }
      }
      const duration = opts.duration;
      // The pipeline (tfjs, fastify) loads only when a pipeline runs, so other commands start fast.
      const { runPipeline } = await import('../../server/live-run.js');
      const run = await runPipeline(cfg, { log: (l) => console.error(l), statusEveryS: opts.quiet ? 0 : 10 });
      if (run.url) console.log(`evstream: viewer at ${run.url}`);
      // One way out: stop the server and pipeline, then close every sink (the event recording writes its
      // last packets and data table) before exiting. A second Ctrl-C exits at once (a hung disk).
      let stopping = false;
      const stop = (code: number) => {
        if (stopping) return;
        stopping = true;
        void run.stop().then(() => process.exit(code));
      };
      const onSignal = () => {
        if (stopping) {
          console.error('evstream: second signal: exiting without waiting for the sinks');
          process.exit(130);
        }
        stop(0);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      if (duration !== undefined) setTimeout(() => stop(0), duration * 1000).unref();
      run.done.then(
        () => {
          // file played once: keep serving the last frame while the viewer is open; headless runs end here
          if (!run.url) stop(0);
        },
        (err: unknown) => {
          console.error(`evstream: ${(err as Error).message}`);
          stop(1);
        },
      );
    });
}
