import type { Observable } from 'rxjs';
import type { ControlCommand, FrameResult, PipelineStatus } from '../pipeline/runner.js';
import type { ModelInfo } from '../pipeline/model-adapter.js';
import type { SourceStatus } from '../pipeline/source.js';
import type { PipelineConfig } from '../pipeline/config.js';

/** What the server needs from a running pipeline (a `Pipeline` fits; tests may pass a fake). */
export interface LiveController {
  status(): PipelineStatus;
  control(cmd: ControlCommand): void;
  readonly latest: FrameResult | undefined;
  readonly results$: Observable<FrameResult>;
  readonly source: { readonly status$: Observable<SourceStatus>; readonly paused: boolean; readonly speed: number; readonly kind: 'file' | 'live' };
  readonly model: { readonly info: ModelInfo };
  readonly cfg: PipelineConfig;
}
