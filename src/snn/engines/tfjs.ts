/** The tfjs engine: the reference streaming session (session.ts) behind the engine interface. */
import type { SegModel } from '../model.js';
import type { FrameInput, SessionOptions, SnnSession, StepResult } from '../session.js';
import type { EngineSession } from './types.js';

export class TfjsSession implements EngineSession {
  readonly engine = 'tfjs' as const;
  readonly batch: number;
  private s: SnnSession | null;

  constructor(model: SegModel, opts: SessionOptions = {}) {
    this.s = model.createSession(opts);
    this.batch = this.s.batch;
  }

  get steps(): number {
    return this.s?.steps ?? 0;
  }

  step(frame: FrameInput): StepResult {
    if (!this.s) throw new Error('session disposed');
    return this.s.step(frame);
  }

  reset(): void {
    this.s?.reset();
  }

  dispose(): void {
    this.s?.dispose();
    this.s = null;
  }
}
