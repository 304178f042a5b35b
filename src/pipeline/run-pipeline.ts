/**
 * Run a pipeline from code: what `evstream run` does minus the server and the viewer. The pipeline's
 * sinks (metrics, recordings, overlays) still run; frame results arrive on `pipeline.results$` and through
 * `onResult`.
 */
import { applyOverrides, loadPipeline, type PipelineConfig, type PipelineOverrides } from './config.js';
import { Pipeline, type FrameResult, type PipelineOptions } from './runner.js';
import { startSinks, type Sink, type SinkOptions } from './sinks.js';

export interface RunPipelineOptions extends PipelineOptions {
  /** Command-line style overrides (source path or tcp:// url, checkpoint, speed, loop, ...). */
  overrides?: PipelineOverrides;
  /** Called with every processed frame. */
  onResult?: (result: FrameResult) => void;
  /** Timers of the periodic sinks (metrics); default real time. */
  sinkScheduler?: SinkOptions['scheduler'];
}

/** A started pipeline and its sinks; `stop()` ends both and frees the model. */
export interface RunningPipeline {
  pipeline: Pipeline;
  /** Resolves when the source ends (a file source that does not loop), rejects on a pipeline error. */
  done: Promise<void>;
  stop(): Promise<void>;
}

/** Load (by name, path or parsed config), build and start a pipeline. */
export async function runPipeline(config: string | PipelineConfig, opts: RunPipelineOptions = {}): Promise<RunningPipeline> {
  const { overrides, onResult, sinkScheduler, ...pipelineOptions } = opts;
  const base = typeof config === 'string' ? loadPipeline(config) : config;
  const cfg = overrides ? applyOverrides(base, overrides) : base;
  const pipeline = await Pipeline.create(cfg, pipelineOptions);
  const done = new Promise<void>((resolve, reject) => {
    pipeline.results$.subscribe({ next: (r) => onResult?.(r), complete: resolve });
    pipeline.errors$.subscribe(reject);
  });
  done.catch(() => {}); // observed by the caller when it awaits `done`; never an unhandled rejection
  const sinks: Sink[] = startSinks(pipeline, { scheduler: sinkScheduler });
  pipeline.start();
  return {
    pipeline,
    done,
    async stop() {
      pipeline.stop();
      for (const s of sinks) await s.close();
    },
  };
}
