/** Shared helpers of the server / pipeline / e2e tests (no tests here). */
import { BehaviorSubject, Subject } from 'rxjs';
import { existsSync, mkdirSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import type { LiveController } from '../../src/server/types.js';
import type { ControlCommand, FrameResult, PipelineStatus } from '../../src/pipeline/runner.js';
import type { SourceStatus } from '../../src/pipeline/source.js';
import { parsePipeline, packageRoot } from '../../src/pipeline/config.js';
import type { Browser, Page } from 'playwright-core';

export const ROOT = packageRoot();
export const ARTIFACTS = join(ROOT, 'test-artifacts');
export function artifactsDir(): string {
  mkdirSync(ARTIFACTS, { recursive: true });
  return ARTIFACTS;
}

/** A controllable stand-in for a Pipeline: frames are pushed by the test. */
export class FakePipeline implements LiveController {
  readonly results = new Subject<FrameResult>();
  readonly results$ = this.results.asObservable();
  latest: FrameResult | undefined;
  readonly commands: ControlCommand[] = [];
  readonly status$ = new BehaviorSubject<SourceStatus>({ state: 'playing' });
  private _paused = false;
  private _speed = 1;
  private seq = 0;
  readonly cfg = parsePipeline({ name: 'fake', source: { type: 'file', path: 'x.aedat4' } }, ROOT);
  readonly model = {
    info: {
      arch: 'spiking-deeplab' as const,
      width: 0.25,
      T: 4,
      classes: 6,
      size: [64, 64] as [number, number],
      checkpoint: null,
      untrained: true,
      encoder: 'direct',
      stepsPerFrame: 1,
      bnPolicy: 'last',
      layers: [
        { name: 'features.0', neurons: 100, shape: [1, 10, 10] as [number, number, number] },
        { name: 'features.1', neurons: 50, shape: [2, 5, 5] as [number, number, number] },
      ],
      params: 1,
      backend: 'fake',
    },
  };
  readonly source: LiveController['source'];
  constructor(
    readonly width = 64,
    readonly height = 64,
  ) {
    const status$ = this.status$.asObservable();
    const get = (): { paused: boolean; speed: number } => ({ paused: this._paused, speed: this._speed });
    this.source = {
      status$,
      get paused() {
        return get().paused;
      },
      get speed() {
        return get().speed;
      },
      kind: 'file',
    };
  }
  control(cmd: ControlCommand): void {
    this.commands.push(cmd);
    if (cmd.action === 'pause') this._paused = true;
    if (cmd.action === 'resume') this._paused = false;
    if (cmd.action === 'speed') this._speed = cmd.value;
  }
  /** Emit one synthetic frame (class map and counts vary with seq). */
  emit(): FrameResult {
    const W = this.width;
    const H = this.height;
    const plane = W * H;
    const s = this.seq++;
    const counts = new Float32Array(2 * plane);
    const classMap = new Uint8Array(plane);
    for (let i = 0; i < plane; i++) {
      counts[i] = (i + s) % 7;
      counts[plane + i] = (i * 3 + s) % 5;
      classMap[i] = (Math.floor(i / W) + s) % 6;
    }
    const r: FrameResult = {
      seq: s,
      index: s,
      t0: s * 50_000,
      t1: (s + 1) * 50_000,
      events: 1000,
      merged: 1,
      width: W,
      height: H,
      counts,
      classMap,
      layers: this.model.info.layers.map((l, k) => ({ name: l.name, spikes: 10 * (k + 1), rate: 0.1 * (k + 1) })),
      stepMs: 5,
      latencyMs: 6,
      e2eMs: 7,
      doneAt: performance.now(),
      windowEndWallMs: Date.now(),
      t: s,
    };
    this.latest = r;
    this.results.next(r);
    return r;
  }
  status(): PipelineStatus {
    const z = { last: 1, p50: 1, p95: 2 };
    return {
      name: 'fake',
      running: true,
      paused: this._paused,
      speed: this._speed,
      source: { type: 'file', description: 'fake source', state: this.status$.value.state },
      backend: 'fake',
      model: { ...this.model.info, layers: this.model.info.layers.map((l) => ({ name: l.name, neurons: l.neurons })) },
      framing: { windowMs: 50, size: [64, 64], crop: null, normalize: true },
      frames: { binned: this.seq, processed: this.seq, dropped: 0, merged: 0, droppedWhilePaused: 0, lateEvents: 0, timeRebases: 0 },
      dropPolicy: 'drop',
      fps: 20,
      inputFps: 20,
      latency: { stepMs: z, processingMs: z, e2eMs: z },
      resets: 0,
      tensors: 0,
      memory: { rssMB: 0, heapMB: 0 },
      uptimeS: 1,
    };
  }
}

/** Collects a websocket client's messages. */
export class WsProbe {
  readonly ws: WebSocket;
  readonly json: Record<string, unknown>[] = [];
  binary = 0;
  readonly opened: Promise<void>;
  constructor(url: string) {
    this.ws = new WebSocket(url);
    this.ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      if (isBinary) this.binary++;
      else this.json.push(JSON.parse(String(data)) as Record<string, unknown>);
    });
    this.ws.on('error', () => {});
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }
  of(type: string): Record<string, unknown>[] {
    return this.json.filter((m) => m.type === type);
  }
  async waitFor(pred: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    await waitFor(pred, timeoutMs, what);
  }
  close(): void {
    this.ws.terminate();
  }
}

export async function waitFor(pred: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export { chromiumPath, CHROMIUM_MISSING } from './chromium.js';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'];

/** Headless Chromium at `path` (playwright-core) with CHROMIUM_ARGS and any `extraArgs`. */
export async function launchChromium(path: string, extraArgs: string[] = []): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: path, args: [...CHROMIUM_ARGS, ...extraArgs], headless: true });
}

/** A viewer-sized page that collects its uncaught errors (a test asserts `errors` is empty at the end). */
export async function viewerPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return { page, errors };
}

/** The compiled test folder (dist/test): this module lives in its helpers/ subfolder. */
export const TEST_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
