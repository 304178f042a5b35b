/**
 * Pipeline sinks besides the viewer: metrics log (JSON lines), event recording (record-events.ts),
 * prediction recording, PNG overlays.
 * Every sink is bounded: a sink that cannot keep up skips frames (counted) instead of queueing them.
 *
 * Prediction recording format (`.evpred`): one UTF-8 JSON header line
 *   {"format":"evstream-predictions","version":1,"width":W,"height":H,"classes":C,"classNames":[...],"pipeline":...}\n
 * then one record per processed frame, little-endian:
 *   f64 t0 (µs), f64 t1 (µs), u32 window index, u32 events, u8[H*W] class map (row-major).
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';
import type { Pipeline, FrameResult } from './runner.js';
import { classStyle, overlayPng } from './render.js';
import { resolveIn } from './config.js';
import { EventRecorder, checkRecordPath, openEventWriter } from './record-events.js';

export interface Sink {
  readonly name: string;
  /** Frames skipped because the sink was busy. */
  readonly skipped: number;
  close(): Promise<void>;
}

export interface SinkOptions {
  /** Timers of the periodic sinks (metrics); default: a real interval that does not keep the process alive. Tests pass virtual time. */
  scheduler?: SchedulerLike;
}

/** `fn` every `ms` on `scheduler` (or a real, unref'd interval); returns the cancel. */
function every(ms: number, fn: () => void, scheduler?: SchedulerLike): () => void {
  if (!scheduler) {
    const t = setInterval(fn, ms);
    t.unref();
    return () => clearInterval(t);
  }
  const sub = scheduler.schedule(function (this: SchedulerAction<undefined>) {
    fn();
    this.schedule(undefined, ms);
  }, ms);
  return () => sub.unsubscribe();
}

/** JSON line of pipeline metrics every `intervalMs` to a file or stdout ("-"). */
export function metricsSink(p: Pipeline, path: string, intervalMs: number, opts: SinkOptions = {}): Sink {
  const out: WriteStream | NodeJS.WriteStream = path === '-' ? process.stdout : createWriteStream(path, { flags: 'a' });
  const cancel = every(intervalMs, () => {
    const s = p.status();
    const line = {
      time: new Date().toISOString(),
      pipeline: s.name,
      source: s.source.state,
      paused: s.paused,
      fps: s.fps,
      inputFps: s.inputFps,
      frames: s.frames,
      stepMs: s.latency.stepMs,
      processingMs: s.latency.processingMs,
      e2eMs: s.latency.e2eMs,
      rates: p.latest?.layers.map((l) => ({ name: l.name, rate: Math.round(l.rate * 1e5) / 1e5 })),
      tensors: s.tensors,
      ...(s.recording ? { recording: { state: s.recording.state, written: s.recording.written, dropped: s.recording.dropped, bufferedBytes: s.recording.bufferedBytes } } : {}),
      rssMB: Math.round(s.memory.rssMB * 10) / 10,
    };
    // a stalled stdout pipe must not grow memory: skip the line while the stream is backed up
    if (out.writableNeedDrain) return;
    out.write(JSON.stringify(line) + '\n');
  }, opts.scheduler);
  return {
    name: 'metrics',
    skipped: 0,
    close: async () => {
      cancel();
      if (out !== process.stdout) await new Promise<void>((r) => (out as WriteStream).end(r));
    },
  };
}

/**
 * Every incoming event batch to an event file (`.aedat4`; see record-events.ts). A file source is paused
 * while the disk is behind; a live source's excess batches are dropped and counted. The file is closed
 * (data table written) when the source ends or fails, or when the sink is closed (run stopped, Ctrl-C).
 */
export function eventRecordSink(p: Pipeline, rec: { path: string; compression: 'none' | 'lz4' | 'zstd'; maxBufferMB: number }): Sink {
  const format = checkRecordPath(rec.path);
  const src = p.source;
  const recorder = new EventRecorder({
    path: rec.path,
    format,
    open: openEventWriter(rec.path, { compression: rec.compression }),
    maxBufferedBytes: rec.maxBufferMB * 2 ** 20,
    overflow: src.kind === 'file' ? { kind: 'pause', pause: () => src.setPaused(true), resume: () => src.setPaused(false) } : { kind: 'drop' },
    log: p.log,
  });
  p.recording = () => recorder.status();
  let reported = false;
  const done = () => {
    if (reported) return;
    reported = true;
    void recorder.close().then(() => {
      const s = recorder.status();
      p.log(`evstream: recorded ${s.written} events to ${s.path}${s.dropped ? ` (${s.dropped} dropped)` : ''}`);
    });
  };
  // source end or failure closes the file at once: the viewer may keep serving long after
  const sub: Subscription = p.events$.subscribe({ next: (b) => recorder.push(b), error: done, complete: done });
  return {
    name: 'record',
    get skipped() {
      return recorder.status().droppedBatches;
    },
    close: async () => {
      sub.unsubscribe();
      done();
      await recorder.close();
    },
  };
}

/** Class maps of every processed frame to a `.evpred` file (see module comment). */
export function predictionsSink(p: Pipeline, path: string): Sink {
  const out = createWriteStream(path);
  const { width, height, classes } = { width: p.cfg.framing.size[1], height: p.cfg.framing.size[0], classes: p.model.info.classes };
  out.write(JSON.stringify({ format: 'evstream-predictions', version: 1, width, height, classes, classNames: classStyle(classes).names, pipeline: p.cfg.name, model: p.model.info.arch }) + '\n');
  let skipped = 0;
  const sub: Subscription = p.results$.subscribe((r) => {
    if (out.writableLength > 8 * 2 ** 20) {
      skipped++;
      return;
    }
    const rec = Buffer.alloc(24 + r.classMap.length);
    rec.writeDoubleLE(r.t0, 0);
    rec.writeDoubleLE(r.t1, 8);
    rec.writeUInt32LE(r.index >>> 0, 16);
    rec.writeUInt32LE(r.events >>> 0, 20);
    rec.set(r.classMap, 24);
    out.write(rec);
  });
  return {
    name: 'predictions',
    get skipped() {
      return skipped;
    },
    close: async () => {
      sub.unsubscribe();
      await new Promise<void>((r) => out.end(r));
    },
  };
}

/** A PNG overlay (sharp) of every `every`-th processed frame into `dir`; at most 2 encodes in flight. */
export function overlaySink(p: Pipeline, dir: string, every: number, scale: number): Sink {
  mkdirSync(dir, { recursive: true });
  const style = classStyle(p.model.info.classes);
  let inFlight = 0;
  let skipped = 0;
  const pending = new Set<Promise<void>>();
  const sub = p.results$.subscribe((r: FrameResult) => {
    if (r.seq % every !== 0) return;
    if (inFlight >= 2) {
      skipped++;
      return;
    }
    inFlight++;
    const job = overlayPng(r, style, scale)
      .then((png) => writeFile(join(dir, `frame-${String(r.seq).padStart(6, '0')}.png`), png))
      .catch(() => {
        skipped++;
      })
      .finally(() => {
        inFlight--;
        pending.delete(job);
      });
    pending.add(job);
  });
  return {
    name: 'overlays',
    get skipped() {
      return skipped;
    },
    close: async () => {
      sub.unsubscribe();
      await Promise.all([...pending]);
    },
  };
}

/** The sinks a pipeline file asks for (the viewer server is started separately). */
export function startSinks(p: Pipeline, opts: SinkOptions = {}): Sink[] {
  const s = p.cfg.sinks;
  const sinks: Sink[] = [];
  if (s.metrics.path) sinks.push(metricsSink(p, s.metrics.path, s.metrics.intervalMs, opts));
  if (s.record.path) sinks.push(eventRecordSink(p, { ...s.record, path: resolveIn(p.cfg, s.record.path) }));
  if (s.predictions.path) sinks.push(predictionsSink(p, resolveIn(p.cfg, s.predictions.path)));
  if (s.overlays.dir) sinks.push(overlaySink(p, s.overlays.dir, s.overlays.every, s.overlays.scale));
  return sinks;
}
