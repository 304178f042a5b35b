/**
 * `evstream/pipeline`: the live pipelines of `evstream run` as a library. A pipeline file (JSON, checked
 * against PIPELINE_SCHEMA) names a source (file replay or a DV camera over TCP), framing, a model checkpoint,
 * runtime limits and sinks; runPipeline builds and starts one without the viewer server.
 *
 * @packageDocumentation
 */
export {
  PIPELINE_SCHEMA,
  PipelineConfigError,
  applyOverrides,
  loadPipeline,
  parsePipeline,
  pipelinesDir,
  type FramingConfig,
  type ModelConfig,
  type PipelineConfig,
  type PipelineOverrides,
  type RuntimeConfig,
  type SinksConfig,
  type SourceConfig,
} from './config.js';
export { Pipeline, type ControlCommand, type FrameResult, type PipelineOptions, type PipelineStatus } from './runner.js';
export { runPipeline, type RunPipelineOptions, type RunningPipeline } from './run-pipeline.js';
export type { Sink } from './sinks.js';
