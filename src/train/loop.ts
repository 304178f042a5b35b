/**
 * The training-loop skeleton both trainers run (`train` in trainer.ts, `trainStreaming` in
 * stream-trainer.ts): epochs of optimizer steps with the step lr decay, the epoch's loss, step logging,
 * progress, validation after every epoch, `checkpoint` after every epoch and `best` on a new best
 * validation MIoU, and interruption (AbortSignal / SIGINT: the current step finishes, a checkpoint is
 * saved, the loop returns). A trainer supplies only what differs: how a step is computed (`step`), how
 * validation is scored (`validate`) and what a checkpoint holds (`save`).
 *
 * Resume: the loop starts at `state.epoch`, `state.batchInEpoch` and continues the epoch's loss sum, so a
 * trainer that restores its state and step inputs exactly gets a run bit-identical to an uninterrupted one.
 *
 * Run directory files written here: log.jsonl (`step`, `epoch`, `checkpoint`, `interrupt`, `done`
 * entries; the trainers write `start`, `resume`, `initial-eval`) and curves.json.
 */
import cliProgress from 'cli-progress';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lrAt, type TrainConfig } from './config.js';
import { parseJsonFile, readInputFile } from '../util/input-error.js';
import type { TrainState } from './checkpoint.js';

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  valMiou: number;
  valPixelAccuracy: number;
  valPerClassIoU: (number | null)[];
  lr: number;
  steps: number;
  seconds: number;
  samplesPerS: number;
}

export interface Curves {
  initialValMiou: number | null;
  epochs: EpochRecord[];
}

/** The checkpointed state plus the running sums of the current epoch (saved too: resume continues them). */
export type LoopState = TrainState & { epochLossSum?: number; epochLossCount?: number; epochSeconds?: number };

/** What validation reports for an epoch's record. */
export interface Validation {
  miou: number;
  pixelAccuracy: number;
  perClassIoU: (number | null)[];
}

/** The files of a run directory the loop and the trainers share. */
export class RunDir {
  readonly logPath: string;
  readonly curvesPath: string;
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
    this.logPath = join(dir, 'log.jsonl');
    this.curvesPath = join(dir, 'curves.json');
  }
  /** Start a fresh log.jsonl (not on resume: the run's history continues). */
  clearLog(): void {
    writeFileSync(this.logPath, '');
  }
  log(obj: object): void {
    appendFileSync(this.logPath, JSON.stringify({ time: new Date().toISOString(), ...obj }) + '\n');
  }
  /** The curves of the run so far (resume), else empty ones. */
  readCurves(): Curves {
    if (!existsSync(this.curvesPath)) return { initialValMiou: null, epochs: [] };
    return parseJsonFile(this.curvesPath, readInputFile(this.curvesPath, "the run's curves.json").toString('utf8'), 'the curves JSON a run writes') as Curves;
  }
  writeCurves(c: Curves): void {
    writeFileSync(this.curvesPath, JSON.stringify(c, null, 2) + '\n');
  }
}

/**
 * When a training loop should stop: `signal` aborted, or (with `handleSigint`) a Ctrl-C, which is
 * then handled by the loop (finish the step, save a checkpoint) instead of killing the process.
 */
export function interruption(o: { signal?: AbortSignal; handleSigint?: boolean }): { aborted(): boolean; dispose(): void } {
  const controller = new AbortController();
  const onSig = (): void => controller.abort();
  if (o.handleSigint) process.once('SIGINT', onSig);
  return {
    aborted: () => controller.signal.aborted || !!o.signal?.aborted,
    dispose: () => {
      if (o.handleSigint) process.removeListener('SIGINT', onSig);
    },
  };
}

export function fmt(x: number, d = 4): string {
  return Number.isFinite(x) ? x.toFixed(d) : String(x);
}

export interface StepInfo {
  epoch: number;
  batch: number;
  step: number;
  loss: number;
}

export interface LoopSpec {
  /** Prefix of the progress lines ('train', 'train-stream'). */
  name: string;
  config: TrainConfig;
  run: RunDir;
  /** Mutated in place: the trainer's `save` writes it. */
  state: LoopState;
  /** Mutated in place: an epoch record is appended after every epoch. */
  curves: Curves;
  /** The optimizer, whose lr the loop sets every epoch. */
  opt: { lr: number };
  batchesPerEpoch: number;
  /** What one position in an epoch is called in messages ('batch' or 'step'). */
  unit: string;
  /** The validation figure's name in the epoch line ('val', 'streaming val'). */
  valLabel: string;
  /** How the interruption line says to continue. */
  resumeHint: string;
  say: (line: string) => void;
  /** Progress bar on stderr (else only the epoch lines). */
  bar?: boolean;
  signal?: AbortSignal;
  handleSigint?: boolean;
  /** Called when (this session's part of) an epoch begins, before its first step. */
  startEpoch?(epoch: number): void;
  /** One optimizer step on batch `batch` of `epoch`: its loss, model time (ms) and sample count. */
  step(epoch: number, batch: number): Promise<{ loss: number; ms: number; samples: number }>;
  /** After every step, the state updated. */
  afterStep?(info: StepInfo): void;
  validate(): Validation;
  /** Write `<stem>.*` from `state`; returns the weights file. */
  save(stem: 'checkpoint' | 'best'): string;
}

export interface LoopResult {
  interrupted: boolean;
  /** The last `checkpoint.safetensors` written (or where it would be). */
  checkpoint: string;
  msPerStep: number;
}

/** Run epochs from `state` to `config.epochs` (see the module comment). */
export async function runLoop(s: LoopSpec): Promise<LoopResult> {
  const { config, state, run } = s;
  const stop = interruption(s);
  const bar = s.bar
    ? new cliProgress.SingleBar(
        { format: 'epoch {ep} [{bar}] {value}/{total} | loss {loss} | {rate} samples/s | ETA {eta_formatted}', stream: process.stderr, hideCursor: true, etaBuffer: 20 },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  // checkpoints written before the count existed resume with the steps already taken in the epoch
  state.epochLossCount ??= state.batchInEpoch;
  const save = (stem: 'checkpoint' | 'best'): string => {
    const p = s.save(stem);
    run.log({ type: 'checkpoint', file: `${stem}.safetensors`, epoch: state.epoch, batch: state.batchInEpoch, step: state.globalStep });
    return p;
  };
  let interrupted = false;
  let stepMs = 0;
  let stepCount = 0;
  let checkpoint = join(run.dir, 'checkpoint.safetensors');
  try {
    while (state.epoch < config.epochs && !interrupted) {
      const e = state.epoch;
      s.opt.lr = lrAt(config, e);
      state.lr = s.opt.lr;
      if (state.batchInEpoch === 0) {
        state.epochLossSum = 0;
        state.epochLossCount = 0;
        state.epochSeconds = 0;
      }
      s.startEpoch?.(e);
      const tEpoch = performance.now();
      bar?.start(s.batchesPerEpoch, state.batchInEpoch, { ep: `${e + 1}/${config.epochs}`, loss: '-', rate: '-' });
      let samples = 0;
      for (let bi = state.batchInEpoch; bi < s.batchesPerEpoch; bi++) {
        const r = await s.step(e, bi);
        if (!Number.isFinite(r.loss)) throw new Error(`training diverged: loss ${r.loss} at epoch ${e + 1}, ${s.unit} ${bi + 1}`);
        stepMs += r.ms;
        stepCount++;
        samples += r.samples;
        state.globalStep++;
        state.batchInEpoch = bi + 1;
        state.epochLossSum! += r.loss;
        state.epochLossCount!++;
        s.afterStep?.({ epoch: e, batch: bi, step: state.globalStep, loss: r.loss });
        if (state.globalStep % config.logEvery === 0) run.log({ type: 'step', epoch: e, batch: bi, step: state.globalStep, loss: r.loss, lr: s.opt.lr, ms: r.ms });
        bar?.update(bi + 1, { loss: fmt(r.loss), rate: (samples / ((performance.now() - tEpoch) / 1000)).toFixed(1) });
        // let the event loop turn (SIGINT handlers, timers): the wasm backend resolves data() in a microtask
        await new Promise((res) => setImmediate(res));
        if (stop.aborted()) {
          interrupted = true;
          break;
        }
      }
      bar?.stop();
      const sessionSeconds = (performance.now() - tEpoch) / 1000;
      state.epochSeconds! += sessionSeconds;
      if (interrupted) break;
      const v = s.validate();
      const rec: EpochRecord = {
        epoch: e + 1,
        trainLoss: state.epochLossSum! / Math.max(1, state.epochLossCount!),
        valMiou: v.miou,
        valPixelAccuracy: v.pixelAccuracy,
        valPerClassIoU: v.perClassIoU,
        lr: s.opt.lr,
        steps: state.epochLossCount!,
        seconds: state.epochSeconds!,
        // this session's steps of the epoch (a resumed epoch's earlier steps ran in another process)
        samplesPerS: samples / Math.max(1e-9, sessionSeconds),
      };
      s.curves.epochs.push(rec);
      run.writeCurves(s.curves);
      run.log({ type: 'epoch', ...rec });
      s.say(`${s.name}: epoch ${e + 1}/${config.epochs} loss ${fmt(rec.trainLoss)} ${s.valLabel} MIoU ${fmt(rec.valMiou * 100, 2)} % (${rec.seconds.toFixed(1)} s)`);
      state.epoch = e + 1;
      state.batchInEpoch = 0;
      const best = state.bestMiou === null || rec.valMiou > state.bestMiou;
      if (best) state.bestMiou = rec.valMiou;
      state.done = state.epoch >= config.epochs;
      checkpoint = save('checkpoint');
      if (best) save('best');
    }
    if (interrupted) {
      checkpoint = save('checkpoint');
      run.log({ type: 'interrupt', epoch: state.epoch, batch: state.batchInEpoch, step: state.globalStep });
      s.say(`${s.name}: interrupted at epoch ${state.epoch + 1}, ${s.unit} ${state.batchInEpoch}; checkpoint saved (${s.resumeHint})`);
    } else run.log({ type: 'done', bestMiou: state.bestMiou, steps: state.globalStep });
    // a run interrupted in its first epoch still has curves (the untrained MIoU) for resume and report
    if (!existsSync(run.curvesPath)) run.writeCurves(s.curves);
  } finally {
    bar?.stop();
    stop.dispose();
  }
  return { interrupted, checkpoint, msPerStep: stepCount ? stepMs / stepCount : 0 };
}
