/**
 * The live pipeline: one RxJS chain
 *
 *   source (paced file / DV TCP) -> [framing.filters] -> binFrames -> boundedStep(SNN session) -> share() -> sinks
 *
 * The model stage never queues without bound (see bounded-step.ts); frames are stepped in event-time
 * order, so the membranes always advance forward in time. Dropped frames are counted and reported.
 */
import { Observable, Subject, Subscription, filter, share, tap, type SchedulerLike } from 'rxjs';
import { existsSync } from 'node:fs';
import { binFrames } from '../framing/bin-frames.js';
import { FilterChain, filterChain } from '../filters/index.js';
import { normalizeMinMax } from '../framing/normalize.js';
import type { Frame } from '../framing/frame.js';
import { binOptionsOf } from './frame-options.js';
import { boundedStep } from './bounded-step.js';
import { describeSource, resolveIn, type PipelineConfig } from './config.js';
import { LiveModel, checkpointPipeline, tensorCount, type ModelInfo } from './model-adapter.js';
import { PacedFileSource } from '../sources/paced-file.js';
import { scanSensorSizeIfUnstated } from '../events/sensor-size.js';
import type { ControlledSource, SourceStatus } from '../sources/controlled.js';
import { LiveTcpSource, continuousTime } from './source.js';
import { Stats, type Percentiles } from './stats.js';
import type { EventBatch } from '../events/types.js';
import type { RecordingStatus } from './record-events.js';

/** One processed frame, as handed to every sink. */
export interface FrameResult {
  /** Processed-frame sequence number (since start). */
  seq: number;
  /** Window index, window [t0, t1) in µs of event time; when frames were merged, the span of all of them. */
  index: number;
  t0: number;
  t1: number;
  events: number;
  /** Frames merged into this one (1 = none). */
  merged: number;
  width: number;
  height: number;
  /** Raw event counts [2, H, W] (ch0 ON, ch1 OFF) after crop / resize, before normalisation. */
  counts: Float32Array;
  /** Argmax class per pixel [H, W]. */
  classMap: Uint8Array;
  layers: { name: string; spikes: number; rate: number }[];
  /** Model time for this frame (ms). */
  stepMs: number;
  /** Frame ready (binned) -> result ready (ms): queueing + model. */
  latencyMs: number;
  /** Event time t1 due on the wall clock -> result ready (ms); NaN for live sources (camera clock unknown). */
  e2eMs: number;
  /** performance.now() when the result was ready. */
  doneAt: number;
  /** Wall time (Date.now() ms) at which t1 was due, or when the frame was binned for live sources. */
  windowEndWallMs: number;
  /** Model step index since the last reset. */
  t: number;
}

export type ControlCommand = { action: 'pause' } | { action: 'resume' } | { action: 'reset' } | { action: 'speed'; value: number };

export interface PipelineStatus {
  name: string;
  running: boolean;
  paused: boolean;
  speed: number;
  source: { type: string; description: string; state: SourceStatus['state']; detail?: string; loops?: number };
  backend: string;
  model: Omit<ModelInfo, 'layers' | 'backend'> & { layers: { name: string; neurons: number }[] };
  framing: { windowMs: number; size: [number, number]; crop: number[] | null | 'ddd17'; normalize: boolean };
  frames: { binned: number; processed: number; dropped: number; merged: number; droppedWhilePaused: number; lateEvents: number; timeRebases: number };
  /** framing.filters, in order: events in and kept so far (absent: no filters). */
  filters?: { filter: string; in: number; kept: number; outside: number }[];
  dropPolicy: string;
  fps: number;
  inputFps: number;
  latency: { stepMs: Percentiles; processingMs: Percentiles; e2eMs: Percentiles };
  resets: number;
  tensors: number;
  /** The event recording (sinks.record), when one runs. */
  recording?: RecordingStatus;
  memory: { rssMB: number; heapMB: number };
  uptimeS: number;
}

interface TimedFrame extends Frame {
  readyAt: number;
  merged: number;
}

export interface PipelineOptions {
  log?: (line: string) => void;
  /** Clock and timers of the source (file pacing, camera reconnects); default realtimeScheduler. */
  scheduler?: SchedulerLike;
  /** Where model steps run (see boundedStep); default immediateScheduler, one step per macrotask. */
  stepScheduler?: SchedulerLike;
}

export class Pipeline {
  readonly results$: Observable<FrameResult>;
  /** The latest result (snapshot API, new clients). */
  latest: FrameResult | undefined;
  readonly source: ControlledSource;
  private readonly sourceType: string;
  private sub: Subscription | undefined;
  private readonly stats = new Stats();
  private readonly started = performance.now();
  private seq = 0;
  private binned = 0;
  private dropped = 0;
  private mergedCount = 0;
  private pausedDrops = 0;
  private lateEvents = 0;
  private resets = 0;
  private timeRebases = 0;
  private running = false;
  private readonly out = new Subject<FrameResult>();
  readonly errors$ = new Subject<Error>();
  /**
   * Every event batch as the source delivers it (live sources after time rebasing), before framing: what
   * the event recorder writes. Completes / errors with the source.
   */
  readonly events$: Observable<EventBatch>;
  private readonly input = new Subject<EventBatch>();
  /** Set by the event-recording sink: its status joins status(). */
  recording: (() => RecordingStatus) | undefined;
  /** The run's log (sinks report through it too). */
  readonly log: (line: string) => void;
  private readonly stepScheduler: SchedulerLike | undefined;
  /** framing.filters of the running chain (made by chain(): fresh state per run). */
  private filters: FilterChain | undefined;

  private constructor(
    readonly cfg: PipelineConfig,
    readonly model: LiveModel,
    opts: PipelineOptions,
    sensorSize?: { width: number; height: number },
  ) {
    this.log = opts.log ?? (() => {});
    this.stepScheduler = opts.stepScheduler;
    const s = cfg.source;
    this.sourceType = s.type;
    this.source =
      s.type === 'dv-tcp'
        ? new LiveTcpSource(s.url, { idleTimeoutMs: s.idleTimeoutMs, maxPacketBytes: s.maxPacketBytes, log: this.log, scheduler: opts.scheduler })
        : new PacedFileSource(resolveIn(cfg, s.path), { speed: s.speed, loop: s.loop, scheduler: opts.scheduler, sensorSize });
    this.results$ = this.out.asObservable();
    this.events$ = this.input.asObservable();
  }

  /** Build the model (loads the tfjs backend and checkpoint); call start() to run. */
  static async create(cfg: PipelineConfig, opts: PipelineOptions = {}): Promise<Pipeline> {
    if (cfg.source.type !== 'dv-tcp') {
      const path = resolveIn(cfg, cfg.source.path);
      if (!existsSync(path)) throw new Error(`pipeline '${cfg.name}': source ${path} does not exist${cfg.source.type === 'ddd17' ? ' (give the DDD17 drive with --source PATH)' : ''}`);
    }
    const checkpoint = cfg.model.checkpoint ? resolveIn(cfg, cfg.model.checkpoint) : null;
    if (checkpoint) {
      // a checkpoint runs as it was trained (its framing, encoder, streaming): what the file says otherwise is replaced, and said
      const r = checkpointPipeline(cfg, checkpoint);
      const changes = r.changes.filter((c) => !c.startsWith('model.checkpoint '));
      if (changes.length) opts.log?.(`evstream: warning: pipeline '${cfg.name}' runs ${checkpoint} as it was trained: ${changes.join(', ')}`);
      cfg = r.cfg;
    }
    const model = await LiveModel.create(cfg.model, checkpoint, cfg.framing.size, opts.log);
    return new Pipeline(cfg, model, opts, await fileSensorSize(cfg, opts.log));
  }

  /** The chain itself (cold): source -> binFrames -> model. */
  private chain(): Observable<FrameResult> {
    const live = this.source.kind === 'live';
    const events$ = live ? this.source.events$.pipe(continuousTime(2_000_000, () => this.timeRebases++)) : this.source.events$;
    const input = this.input;
    const specs = this.cfg.framing.filters ?? [];
    const filters = (this.filters = specs.length ? new FilterChain(specs) : undefined);
    return events$.pipe(
      // the recorder gets the events as they came (before the filters)
      tap({ next: (b) => input.next(b), error: (e: unknown) => input.error(e), complete: () => input.complete() }),
      (src: Observable<EventBatch>) => (filters ? src.pipe(filterChain(filters)) : src),
      binFrames(binOptionsOf(this.cfg.framing)),
      tap((fr) => {
        this.binned++;
        this.lateEvents = fr.lateDropped;
        this.stats.input(performance.now());
      }),
      // a paused live camera keeps sending: its frames are dropped here (counted separately)
      filter(() => {
        if (live && this.source.paused) {
          this.pausedDrops++;
          return false;
        }
        return true;
      }),
      (src: Observable<Frame>) =>
        new Observable<TimedFrame>((sub) => src.subscribe({ next: (fr) => sub.next({ ...fr, readyAt: performance.now(), merged: 1 }), error: (e) => sub.error(e), complete: () => sub.complete() })),
      boundedStep<TimedFrame, FrameResult>({
        maxPending: this.cfg.runtime.maxPending,
        policy: this.cfg.runtime.dropPolicy,
        merge: mergeFrames,
        onOverflow: () => {
          if (this.cfg.runtime.dropPolicy === 'drop') this.dropped++;
          else this.mergedCount++;
        },
        process: (fr) => this.process(fr),
        scheduler: this.stepScheduler,
      }),
      share(),
    );
  }

  private process(fr: TimedFrame): FrameResult {
    const input = new Float32Array(fr.counts);
    if (this.cfg.framing.normalize) normalizeMinMax(input, 2);
    const r = this.model.step(input);
    const doneAt = performance.now();
    // wallOf is on the source's clock (its scheduler), so the latency is measured on that clock too
    const due = this.source.wallOf(fr.t1);
    const e2eMs = Number.isNaN(due) ? NaN : this.source.now() - due;
    const wallBase = Date.now() - doneAt; // performance.now() -> epoch ms
    const res: FrameResult = {
      seq: this.seq++,
      index: fr.index,
      t0: fr.t0,
      t1: fr.t1,
      events: fr.events,
      merged: fr.merged,
      width: fr.width,
      height: fr.height,
      counts: fr.counts,
      classMap: r.classMap,
      layers: r.layers,
      stepMs: r.stepMs,
      latencyMs: doneAt - fr.readyAt,
      e2eMs,
      doneAt,
      windowEndWallMs: Number.isNaN(due) ? wallBase + fr.readyAt : wallBase + doneAt - e2eMs,
      t: r.t,
    };
    this.stats.output(res);
    return res;
  }

  /** Start the chain; results flow to `results$`. Resolves at once (the chain runs until stop()). */
  start(): void {
    if (this.running) return;
    this.running = true;
    const src = this.source;
    const specs = this.cfg.framing.filters ?? [];
    const filtered = specs.length ? ` -> ${new FilterChain(specs).label}` : '';
    this.log(`evstream: pipeline '${this.cfg.name}': ${describeSource(this.cfg)}${filtered} -> ${this.cfg.framing.windowMs} ms frames ${this.cfg.framing.size.join('x')} -> ${this.model.info.arch} (width ${this.model.info.width}, T ${this.model.info.T}${this.model.info.untrained ? ', UNTRAINED' : ''}) on ${this.model.info.engine === 'onnx' ? 'onnxruntime' : `tfjs ${this.model.info.backend}`}`);
    this.sub = this.chain().subscribe({
      next: (r) => {
        this.latest = r;
        this.out.next(r);
      },
      error: (e: unknown) => {
        this.running = false;
        const err = e instanceof Error ? e : new Error(String(e));
        this.log(`evstream: pipeline stopped: ${err.message}`);
        this.errors$.next(err);
      },
      complete: () => {
        this.running = false;
        this.log('evstream: source ended');
        this.out.complete();
      },
    });
    this.sub.add(
      src.status$.subscribe((s) => {
        if (s.state === 'reconnecting' || s.state === 'connected') this.log(`evstream: source ${s.state}${s.detail ? ` (${s.detail})` : ''}`);
      }),
    );
  }

  control(cmd: ControlCommand): void {
    switch (cmd.action) {
      case 'pause':
        this.source.setPaused(true);
        break;
      case 'resume':
        this.source.setPaused(false);
        break;
      case 'reset':
        this.model.reset();
        this.resets++;
        break;
      case 'speed':
        this.source.setSpeed(cmd.value);
        break;
    }
  }

  status(): PipelineStatus {
    const info = this.model.info;
    const s = this.source.status$.value;
    const mem = process.memoryUsage();
    return {
      name: this.cfg.name,
      running: this.running,
      paused: this.source.paused,
      speed: this.source.speed,
      source: { type: this.sourceType, description: describeSource(this.cfg), state: s.state, detail: s.detail, loops: s.loops },
      backend: info.backend,
      model: { ...info, layers: info.layers.map((l) => ({ name: l.name, neurons: l.neurons })) },
      framing: { windowMs: this.cfg.framing.windowMs, size: this.cfg.framing.size, crop: this.cfg.framing.crop, normalize: this.cfg.framing.normalize },
      ...(this.filters ? { filters: this.filters.report().map((r) => ({ filter: r.filter, in: r.in, kept: r.kept, outside: r.outside })) } : {}),
      frames: { binned: this.binned, processed: this.seq, dropped: this.dropped, merged: this.mergedCount, droppedWhilePaused: this.pausedDrops, lateEvents: this.lateEvents, timeRebases: this.timeRebases },
      dropPolicy: this.cfg.runtime.dropPolicy,
      fps: this.stats.fps(),
      inputFps: this.stats.inputFps(),
      latency: { stepMs: this.stats.step.summary(), processingMs: this.stats.latency.summary(), e2eMs: this.stats.e2e.summary() },
      resets: this.resets,
      tensors: tensorCount(),
      ...(this.recording ? { recording: this.recording() } : {}),
      memory: { rssMB: mem.rss / 2 ** 20, heapMB: mem.heapUsed / 2 ** 20 },
      uptimeS: (performance.now() - this.started) / 1000,
    };
  }

  get droppedFrames(): number {
    return this.dropped;
  }

  /** Stop the chain and free the model. */
  stop(): void {
    this.sub?.unsubscribe();
    this.sub = undefined;
    this.running = false;
    this.out.complete();
    this.input.complete();
    this.model.dispose();
  }
}

/** Merge two consecutive frames (b after a): counts summed, time span joined. */
export function mergeFrames(a: TimedFrame, b: TimedFrame): TimedFrame {
  const counts = new Float32Array(a.counts);
  for (let i = 0; i < counts.length; i++) counts[i]! += b.counts[i]!;
  return { ...b, t0: a.t0, counts, events: a.events + b.events, readyAt: a.readyAt, merged: a.merged + b.merged };
}

/**
 * The sensor size of a file source that states none (Prophesee RAW / DAT without a geometry): the
 * pipeline's `sensor`, else one decoding pass over the file (largest coordinates + 1), so framing covers
 * the whole sensor from the first frame. Undefined: the file states its size.
 */
async function fileSensorSize(cfg: PipelineConfig, log?: (line: string) => void): Promise<{ width: number; height: number } | undefined> {
  const s = cfg.source;
  if (s.type === 'dv-tcp') return undefined;
  if (s.sensor) return { width: s.sensor[0], height: s.sensor[1] };
  const scanned = await scanSensorSizeIfUnstated(resolveIn(cfg, s.path), { onWarning: (w) => log?.(`evstream: warning: ${w.message}`) });
  return scanned && { width: scanned.width, height: scanned.height };
}
