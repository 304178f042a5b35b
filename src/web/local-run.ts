/// <reference lib="dom" />
/**
 * The in-browser pipeline (issue 15), the entry of dist/web/local/local.js: a recording opened in the page
 * is read as a stream (frame-stream.ts: the project's decoders and framing), each 50 ms frame is segmented
 * by the exported step graph on onnxruntime-web (step-graph.ts: states carried from frame to frame), and
 * the results are drawn by the viewer (web/app.js: the same hello / frame / stats handlers the live
 * websocket feeds, so legend, canvases, counters and spike-rate bars are one code path).
 *
 * Backend: WebGPU when `navigator.gpu` gives an adapter and the session builds on it, else wasm (SIMD;
 * threads only when the page is cross-origin isolated, which SharedArrayBuffer needs). Two ORT builds,
 * each loaded only when used: the plain wasm one (`onnxruntime-web/wasm`, 15 MB) and the JSEP one with
 * WebGPU (`onnxruntime-web`, 29 MB), whose CPU kernels ran the demo model 2.4x slower here (80 vs 33 ms
 * per frame in headless Chromium), so wasm never goes through it. `?backend=wasm`
 * forces wasm, `?speed=0` starts unpaced (the bench). Every frame is segmented (a local file can wait: nothing is dropped), paced at the
 * recording's speed times `speed` (0 = as fast as the model runs); the recording loops, like the demo
 * pipeline's file source, until stopped. The only network requests are the model, its manifest and ORT's
 * own .mjs / .wasm files, all relative to the page: never /api or /ws.
 */
import type * as Ort from 'onnxruntime-web';
import { countsToBytes } from '../pipeline/frame-style.js';
import type { ModelFrame } from './frame-stream.js';
import { openFrames } from './open-frames.js';
import { parseManifest, type WebModelManifest } from './manifest.js';
import { StepGraph } from './step-graph.js';

export type Backend = 'webgpu' | 'wasm';

/** The viewer's handlers (web/app.js), fed messages shaped as the live protocol's (src/server/protocol.ts). */
export interface ViewerHooks {
  hello(h: object): void;
  frame(width: number, height: number, classMap: Uint8Array, on: Uint8Array, off: Uint8Array): void;
  stats(s: object): void;
  paused(p: boolean): void;
  speed(v: number): void;
  /** The run stopped on an error (e.g. an EventFormatError naming the file and byte offset), after the frames before it. */
  error(message: string): void;
}

/** What tests and the console read (`window.evstream.local`). */
export interface LocalState {
  file: string;
  backend: Backend | null;
  framesProcessed: number;
  /** Passes over the file started (it loops). */
  pass: number;
  /** onnxruntime-web's wasm threads (more than 1 only in a cross-origin isolated page). */
  threads: number;
  /** Bytes of the file read in the current pass (byte-stream formats; the file is read as a stream, never whole). */
  bytesRead: number;
  paused: boolean;
  /** Logits of the first frames after the first reset, for parity checks: frame index, window start, logits. */
  first: { index: number; t0: number; logits: number[] }[];
  lastStepMs: number;
  /** Model time summed over every frame (ms): with framesProcessed, the mean per-frame model time. */
  stepMsTotal: number;
  error: string | null;
  ended: boolean;
}

export interface LocalRunOptions {
  /** Manifest URL (default: models/demo.json beside the page). */
  manifestUrl?: string;
  backend?: Backend;
  /** Frames whose logits are kept in `state.first` (default: the model's T). */
  keepFirst?: number;
  loop?: boolean;
  /** Clock and sleep (injectable for tests). */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const realSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** WebGPU when an adapter is there, else wasm; `?backend=` in the page URL overrides. */
async function preferredBackend(forced?: Backend): Promise<Backend> {
  const q = new URLSearchParams(location.search).get('backend');
  if (forced ?? q) return (forced ?? q) === 'webgpu' ? 'webgpu' : 'wasm';
  const gpu = (navigator as Navigator & { gpu?: { requestAdapter(): Promise<unknown> } }).gpu;
  if (!gpu) return 'wasm';
  try {
    return (await gpu.requestAdapter()) ? 'webgpu' : 'wasm';
  } catch {
    return 'wasm';
  }
}

type OrtModule = typeof Ort;

function configure(ort: OrtModule): OrtModule {
  // ORT's own loader (.mjs) and binary (.wasm) sit in ort/ beside this bundle
  ort.env.wasm.wasmPaths = new URL('ort/', import.meta.url).href;
  ort.env.wasm.numThreads = globalThis.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  return ort;
}

async function createSession(model: Uint8Array, want: Backend): Promise<{ ort: OrtModule; session: Ort.InferenceSession; backend: Backend }> {
  if (want === 'webgpu') {
    try {
      const ort = configure(await import('onnxruntime-web'));
      return { ort, session: await ort.InferenceSession.create(model, { executionProviders: ['webgpu'], graphOptimizationLevel: 'all' }), backend: 'webgpu' };
    } catch (e) {
      console.warn('evstream: WebGPU session failed, using wasm:', e);
    }
  }
  const ort = configure(await import('onnxruntime-web/wasm'));
  return { ort, session: await ort.InferenceSession.create(model, { executionProviders: ['wasm'], graphOptimizationLevel: 'all' }), backend: 'wasm' };
}

async function fetchOk(url: URL): Promise<Response> {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url.pathname}: HTTP ${r.status}`);
  return r;
}

/** Frames per second over the last second of arrivals. */
class Rate {
  private times: number[] = [];
  constructor(private readonly now: () => number) {}
  tick(): void {
    const t = this.now();
    this.times.push(t);
    while (this.times.length > 2 && t - this.times[0]! > 1000) this.times.shift();
  }
  get fps(): number {
    const n = this.times.length;
    return n < 2 ? 0 : ((n - 1) * 1000) / (this.times[n - 1]! - this.times[0]!);
  }
}

export class LocalRun {
  readonly state: LocalState;
  private speed = 1;
  private stopped = false;
  private anchor: { wall: number; t: number } | undefined;
  private resume: (() => void) | undefined;
  private readonly out = new Rate(() => this.now());
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  done: Promise<void> = Promise.resolve();

  private constructor(
    private readonly file: File,
    private readonly manifest: WebModelManifest,
    private readonly graph: StepGraph,
    backend: Backend,
    private readonly hooks: ViewerHooks,
    private readonly opts: LocalRunOptions,
  ) {
    this.now = opts.now ?? (() => performance.now());
    this.sleep = opts.sleep ?? realSleep;
    this.state = { file: file.name, backend, framesProcessed: 0, pass: 0, threads: 1, bytesRead: 0, paused: false, first: [], lastStepMs: NaN, stepMsTotal: 0, error: null, ended: false };
    document.body.dataset.backend = backend;
    document.body.dataset.framesProcessed = '0';
  }

  /** Load the model (manifest + graph), pick the backend, and start segmenting `file`. */
  static async open(file: File, hooks: ViewerHooks, opts: LocalRunOptions = {}): Promise<LocalRun> {
    const manifestUrl = new URL(opts.manifestUrl ?? 'models/demo.json', document.baseURI);
    const manifest = parseManifest(await (await fetchOk(manifestUrl)).text(), manifestUrl.pathname);
    const bytes = new Uint8Array(await (await fetchOk(new URL(manifest.onnx, manifestUrl))).arrayBuffer());
    const { ort, session, backend } = await createSession(bytes, await preferredBackend(opts.backend));
    const graph = new StepGraph(session, (data, dims) => new ort.Tensor('float32', data, dims as number[]), {
      size: manifest.framing.size,
      classes: manifest.model.classes,
      states: manifest.states,
      neurons: manifest.layers.map((l) => l.neurons),
    });
    const run = new LocalRun(file, manifest, graph, backend, hooks, opts);
    run.state.threads = backend === 'wasm' ? Math.max(1, ort.env.wasm.numThreads ?? 1) : 1;
    document.body.dataset.threads = String(run.state.threads);
    const speed = Number(new URLSearchParams(location.search).get('speed') ?? NaN);
    if (speed >= 0) run.speed = speed;
    run.hello();
    run.done = run.loop();
    return run;
  }

  private hello(): void {
    const m = this.manifest;
    const f = m.framing;
    this.hooks.hello({
      type: 'hello',
      pipeline: `${m.pipeline} (in this browser)`,
      model: { ...m.model, engine: 'onnx', checkpoint: m.model.checkpoint },
      backend: this.state.backend,
      backendLabel: `onnxruntime-web ${this.state.backend}${this.state.threads > 1 ? ` (${this.state.threads} threads)` : ''} · ${f.windowMs} ms windows · ${f.size[1]}×${f.size[0]} · every frame (no drops)`,
      layers: m.layers,
      classes: m.classes,
      framing: f,
      source: { state: 'connected', description: `local file ${this.file.name} (${(this.file.size / 2 ** 20).toFixed(1)} MiB), decoded in this page` },
      sourceKind: 'file',
      paused: false,
      speed: this.speed,
      dropPolicy: 'none',
    });
  }

  pause(): void {
    this.state.paused = true;
    this.hooks.paused(true);
  }

  play(): void {
    this.state.paused = false;
    this.anchor = undefined; // pacing restarts from here, no catch-up burst
    this.hooks.paused(false);
    this.resume?.();
  }

  /** Zero the states (membranes, logit window), as the live viewer's "Reset state". */
  reset(): void {
    this.graph.reset();
  }

  /** Playback speed (recording time per wall time); 0: as fast as the model runs. */
  setSpeed(v: number): void {
    this.speed = v;
    this.anchor = undefined;
    this.hooks.speed(v);
  }

  stop(): void {
    this.stopped = true;
    this.resume?.();
  }

  /** Wait while paused, then until the frame's end is due at the current speed. */
  private async pace(fr: ModelFrame): Promise<void> {
    while (this.state.paused && !this.stopped) await new Promise<void>((r) => (this.resume = r));
    let wait = 0;
    if (this.speed > 0) {
      const now = this.now();
      if (!this.anchor) this.anchor = { wall: now, t: fr.t1 };
      wait = this.anchor.wall + (fr.t1 - this.anchor.t) / 1000 / this.speed - now;
      if (wait < -1000) this.anchor = undefined; // far behind (a slow model): re-anchor instead of bursting
    }
    // Always a real task boundary, even when late: ORT's wasm run and a buffered stream resolve as
    // microtasks only, and a loop of them would never let the page paint or handle input.
    await this.sleep(Math.max(0, wait));
  }

  private async loop(): Promise<void> {
    const keep = this.opts.keepFirst ?? this.manifest.model.T;
    try {
      do {
        this.state.pass++;
        this.anchor = undefined;
        let t0 = NaN;
        const frames = openFrames(this.file, this.manifest.framing, {
          source: this.file.name,
          onWarning: (w) => console.warn('evstream:', w),
          onProgress: (n) => {
            this.state.bytesRead = n;
            document.body.dataset.bytesRead = String(n);
          },
        });
        for await (const fr of frames) {
          if (this.stopped) break;
          if (Number.isNaN(t0)) t0 = fr.t0;
          await this.pace(fr);
          if (this.stopped) break;
          await this.segment(fr, t0, keep);
        }
      } while (!this.stopped && (this.opts.loop ?? true));
      this.state.ended = true;
    } catch (e) {
      this.state.error = e instanceof Error ? e.message : String(e);
      console.error('evstream: local run stopped:', e);
      this.hooks.error(this.state.error);
    }
  }

  private async segment(fr: ModelFrame, t0: number, keep: number): Promise<void> {
    const a = this.now();
    const r = await this.graph.step(fr.input);
    const stepMs = this.now() - a;
    this.out.tick();
    const s = this.state;
    if (s.pass === 1 && s.first.length < keep && r.t === s.first.length) s.first.push({ index: fr.index, t0: fr.t0, logits: Array.from(r.logits) });
    const plane = fr.width * fr.height;
    const { bytes } = countsToBytes(fr.counts, plane);
    this.hooks.frame(fr.width, fr.height, r.classMap, bytes.subarray(0, plane), bytes.subarray(plane));
    s.framesProcessed++;
    s.lastStepMs = stepMs;
    s.stepMsTotal += stepMs;
    document.body.dataset.framesProcessed = String(s.framesProcessed);
    const fps = this.out.fps;
    this.hooks.stats({
      type: 'frame',
      index: fr.index,
      t0: fr.t0 - t0,
      t1: fr.t1 - t0,
      events: fr.events,
      t: r.t,
      fps,
      inputFps: fps,
      latencyMs: stepMs,
      e2eMs: null,
      stepMs,
      dropped: 0,
      merged_total: 0,
      clientDropped: 0,
      layers: this.manifest.layers.map((l, i) => ({ name: l.name, spikes: r.spikes[i] ?? 0, rate: r.rates[i] ?? 0 })),
      paused: s.paused,
    });
  }
}
