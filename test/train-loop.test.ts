/**
 * The shared training-loop skeleton (src/train/loop.ts) with a fake trainer: a scalar "model" updated by
 * each step, so interruption, resume, best / last checkpoints, the epoch records and divergence are
 * checked exactly and in milliseconds (the real trainers' resume tests run the same loop on tfjs).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveConfig, lrAt, type TrainConfig } from '../src/train/config.js';
import { RunDir, runLoop, type Curves, type LoopSpec, type LoopState } from '../src/train/loop.js';

interface Saved {
  stem: string;
  w: number;
  state: LoopState;
}

/** A deterministic fake trainer: step (e, b) moves w and reports a loss that depends on w and lr. */
function fake(config: TrainConfig, run: RunDir, from?: Saved, curves: Curves = { initialValMiou: null, epochs: [] }) {
  let w = from?.w ?? 1;
  const state: LoopState = from ? structuredClone(from.state) : { epoch: 0, batchInEpoch: 0, globalStep: 0, rng: { seed: 1, epoch: 0, batch: 0 }, lr: config.lr, bestMiou: null, done: false };
  const saves: Saved[] = [];
  const opt = { lr: 0 };
  const spec = (extra: Partial<LoopSpec> = {}): LoopSpec => ({
    name: 'fake',
    config,
    run,
    state,
    curves,
    opt,
    batchesPerEpoch: 4,
    unit: 'batch',
    valLabel: 'val',
    resumeHint: 'resume',
    say: () => {},
    step: async (e, b) => {
      w = w * (1 - opt.lr) + Math.sin(1 + e * 7 + b * 3) * 0.1;
      return { loss: w * w + b / 10, ms: 1, samples: 2 };
    },
    // not monotonic in the epochs: 'best' is written only on some of them
    validate: () => ({ miou: 0.1 * ((state.epoch * 3) % 4) + 0.01 * Math.tanh(w * w), pixelAccuracy: 0.5, perClassIoU: [null] }),
    save: (stem) => {
      saves.push({ stem, w, state: structuredClone(state) });
      return join(run.dir, `${stem}.safetensors`);
    },
    ...extra,
  });
  return { spec, saves, state, curves, w: () => w };
}

function logTypes(run: RunDir): string[] {
  return readFileSync(run.logPath, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
}

test('loop: interrupt (signal, SIGINT) + resume from the saved state equals a straight run; best only on a new best', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evs-loop-'));
  try {
    const config = resolveConfig({ data: 'x', out: dir, epochs: 4, lr: 0.2, lrSteps: [0.5], lrFactor: 0.1, logEvery: 1 });
    const runA = new RunDir(join(dir, 'A'));
    const a = fake(config, runA);
    const ra = await runLoop(a.spec());
    assert.equal(ra.interrupted, false);
    assert.equal(a.state.globalStep, 16);
    assert.deepEqual(a.curves.epochs.map((r) => r.lr), [0, 1, 2, 3].map((e) => lrAt(config, e)));
    assert.deepEqual(a.curves.epochs.map((r) => r.steps), [4, 4, 4, 4]);
    // 'best' follows each new maximum of valMiou, 'checkpoint' every epoch
    let best = -1;
    const expected = a.curves.epochs.flatMap((r) => (r.valMiou > best ? ((best = r.valMiou), ['checkpoint', 'best']) : ['checkpoint']));
    assert.deepEqual(a.saves.map((s) => s.stem), expected);
    assert.ok(expected.length < 8, 'the fake must have an epoch that is not a new best');
    assert.equal(a.state.bestMiou, Math.max(...a.curves.epochs.map((r) => r.valMiou)));
    assert.deepEqual(logTypes(runA).filter((t) => t !== 'step' && t !== 'checkpoint'), ['epoch', 'epoch', 'epoch', 'epoch', 'done']);

    // B: aborted by a signal in epoch 2 (after global step 6), resumed, then Ctrl-C at step 11, resumed
    const runB = new RunDir(join(dir, 'B'));
    const ctl = new AbortController();
    const b1 = fake(config, runB);
    const r1 = await runLoop(b1.spec({ signal: ctl.signal, afterStep: (i) => i.step === 6 && ctl.abort() }));
    assert.equal(r1.interrupted, true);
    const last1 = b1.saves.at(-1)!;
    assert.deepEqual([last1.stem, last1.state.epoch, last1.state.batchInEpoch, last1.state.globalStep], ['checkpoint', 1, 2, 6]);
    const sigints = process.listenerCount('SIGINT');
    const b2 = fake(config, runB, last1, runB.readCurves());
    const r2 = await runLoop(b2.spec({ handleSigint: true, afterStep: (i) => i.step === 11 && process.emit('SIGINT') }));
    assert.equal(r2.interrupted, true);
    assert.equal(process.listenerCount('SIGINT'), sigints, 'SIGINT handler removed');
    const b3 = fake(config, runB, b2.saves.at(-1)!, runB.readCurves());
    assert.equal((await runLoop(b3.spec())).interrupted, false);
    assert.equal(b3.w(), a.w());
    const noTime = ({ epochSeconds, ...st }: LoopState) => (void epochSeconds, st);
    assert.deepEqual(noTime(b3.state), noTime(a.state));
    const key = (c: Curves) => c.epochs.map((r) => [r.epoch, r.trainLoss, r.valMiou, r.lr, r.steps]);
    assert.deepEqual(key(b3.curves), key(a.curves));
    assert.deepEqual(key(runB.readCurves()), key(a.curves));
    assert.deepEqual(logTypes(runB).filter((t) => t === 'interrupt' || t === 'done'), ['interrupt', 'interrupt', 'done']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loop: a checkpoint without epochLossCount (older runs) resumes mid-epoch with the same epoch loss', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evs-loop-'));
  try {
    const config = resolveConfig({ data: 'x', out: dir, epochs: 2, lr: 0.1, lrSteps: [], logEvery: 100 });
    const a = fake(config, new RunDir(join(dir, 'A')));
    await runLoop(a.spec());
    const ctl = new AbortController();
    const runB = new RunDir(join(dir, 'B'));
    const b1 = fake(config, runB);
    await runLoop(b1.spec({ signal: ctl.signal, afterStep: (i) => i.step === 7 && ctl.abort() }));
    const saved = structuredClone(b1.saves.at(-1)!);
    assert.equal(saved.state.epochLossCount, 3);
    delete saved.state.epochLossCount;
    const b2 = fake(config, runB, saved, runB.readCurves());
    await runLoop(b2.spec());
    assert.deepEqual(b2.curves.epochs.map((r) => [r.trainLoss, r.steps]), a.curves.epochs.map((r) => [r.trainLoss, r.steps]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('loop: a non-finite loss stops the run with an error naming epoch and step, nothing saved after it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evs-loop-'));
  try {
    const config = resolveConfig({ data: 'x', out: dir, epochs: 3, logEvery: 100 });
    const f = fake(config, new RunDir(dir));
    const spec = f.spec({ unit: 'step' });
    const inner = spec.step;
    spec.step = async (e, b) => (e === 1 && b === 2 ? { loss: NaN, ms: 1, samples: 2 } : inner(e, b));
    await assert.rejects(runLoop(spec), /training diverged: loss NaN at epoch 2, step 3/);
    assert.deepEqual(f.saves.map((s) => [s.stem, s.state.epoch]).filter(([s]) => s === 'checkpoint'), [['checkpoint', 1]]);
    assert.equal(f.state.globalStep, 6);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a run's damaged curves.json on resume is a one-line error naming the file; a folder in its place too", async () => {
  const { writeFileSync: write, mkdirSync } = await import('node:fs');
  const { InputFileError } = await import('../src/util/input-error.js');
  const dir = mkdtempSync(join(tmpdir(), 'evstream-loop-curves-'));
  try {
    const run = new RunDir(dir);
    assert.deepEqual(run.readCurves(), { initialValMiou: null, epochs: [] }, 'absent: a fresh run');
    write(run.curvesPath, '{"epochs": [');
    assert.throws(() => run.readCurves(), (e: unknown) => e instanceof InputFileError && e.message.includes(run.curvesPath) && !e.message.includes('\n'));
    rmSync(run.curvesPath);
    mkdirSync(run.curvesPath);
    assert.throws(() => run.readCurves(), (e: unknown) => e instanceof InputFileError && e.message.includes(run.curvesPath) && /directory/.test(e.message));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
