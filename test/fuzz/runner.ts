/**
 * Runs cases: builds the input, writes it to the tmp dir, runs the driver in the child pool and, when
 * asked, the whole CLI (info and frames), and folds everything into one verdict. At most `lanes` cases
 * run at once, and a lane runs its driver case and its CLI runs one after another, so the number of busy
 * processes never exceeds `lanes` (2 by default: the machine is shared).
 */
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ChildPool, type CaseReport } from './pool.js';
import { runCliCheck, type CliReport } from './cli-check.js';
import type { CaseSpec } from './cases.js';
import type { Outcome } from './driver.js';
import { EXTENSION } from './structure.js';
import { hashSeed } from '../../src/sim/prng.js';

export interface RunnerOptions {
  tmpDir: string;
  lanes: number;
  /** Driver bounds (per case, all three passes together). */
  timeoutMs: number;
  rssLimitMb: number;
  /** Run the CLI too; its own bounds. */
  cli?: { timeoutMs: number; rssLimitMb: number };
  /** Skip the in-process driver (CLI only). */
  noDriver?: boolean;
}

export interface CaseVerdict {
  spec: CaseSpec;
  outcome: Outcome;
  /** First failure, one line. */
  symptom?: string;
  /** Every failure (driver and CLI). */
  symptoms: string[];
  driver?: CaseReport;
  cli: CliReport[];
  /** Largest peak RSS over the driver case and the CLI runs (MiB). */
  peakRssMb: number;
  /** Slowest single run (driver case or one CLI command), ms. */
  ms: number;
  bytes?: Uint8Array;
  size: number;
}

export class CaseRunner {
  readonly pool: ChildPool;
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly opts: RunnerOptions) {
    mkdirSync(opts.tmpDir, { recursive: true });
    this.pool = new ChildPool({ size: opts.lanes, timeoutMs: opts.timeoutMs, rssLimitMb: opts.rssLimitMb });
  }

  close(): void {
    this.pool.close();
  }

  /**
   * Run one case. `keepBytes`: return the input in the verdict (the campaign saves failing inputs);
   * `cli`: run the CLI too (default: when the runner has CLI bounds).
   */
  async run(spec: CaseSpec, opts: { keepBytes?: boolean; cli?: boolean } = {}): Promise<CaseVerdict> {
    await this.acquire();
    try {
      return await this.runNow(spec, opts.keepBytes ?? false, opts.cli ?? this.opts.cli !== undefined);
    } finally {
      this.release();
    }
  }

  private acquire(): Promise<void> {
    if (this.active < this.opts.lanes) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next) next();
    else this.active--;
  }

  private async runNow(spec: CaseSpec, keepBytes: boolean, withCli: boolean): Promise<CaseVerdict> {
    const bytes = await spec.build();
    const path = join(this.opts.tmpDir, `${spec.id.replace(/[^\w.-]/g, '_')}.${EXTENSION[spec.container]}`);
    writeFileSync(path, bytes);
    const symptoms: string[] = [];
    const outcomes: Outcome[] = [];
    let peak = 0;
    let slowest = 0;
    let driver: CaseReport | undefined;
    const cli: CliReport[] = [];
    try {
      if (!this.opts.noDriver) {
        driver = await this.pool.run(path);
        outcomes.push(driver.outcome);
        if (driver.symptom && driver.outcome === 'failure') symptoms.push(driver.symptom);
        peak = Math.max(peak, driver.peakRssMb);
        slowest = Math.max(slowest, driver.ms);
      }
      if (withCli && this.opts.cli) {
        for (const command of ['info', 'frames'] as const) {
          const r = await runCliCheck(path, command, {
            tmpDir: this.opts.tmpDir,
            timeoutMs: this.opts.cli.timeoutMs,
            rssLimitMb: this.opts.cli.rssLimitMb,
            tag: spec.id.replace(/[^\w.-]/g, '_'),
            // Half the cases frame at sensor size (the bare `frames --out x.npy`), half resized to 64 x 64.
            resize: hashSeed(...Array.from(spec.id, (ch) => ch.charCodeAt(0))) % 2 === 0,
          });
          cli.push(r);
          outcomes.push(r.outcome);
          if (r.outcome === 'failure' && r.symptom) symptoms.push(r.symptom);
          peak = Math.max(peak, r.peakRssMb);
          slowest = Math.max(slowest, r.ms);
        }
      }
    } finally {
      try {
        unlinkSync(path);
      } catch {
        // already gone
      }
    }
    const outcome: Outcome = outcomes.includes('failure') ? 'failure' : outcomes.includes('typed-error') ? 'typed-error' : 'ok';
    return { spec, outcome, symptom: symptoms[0], symptoms, driver, cli, peakRssMb: peak, ms: slowest, bytes: keepBytes ? bytes : undefined, size: bytes.length };
  }
}

/** A failure's signature for grouping: container + symptom with numbers and paths blanked. */
export function signature(v: CaseVerdict): string {
  const s = (v.symptom ?? '')
    .replace(/\/[^\s:'"]+/g, '<path>')
    .replace(/0x[0-9a-f]+/gi, 'N')
    .replace(/\d+/g, 'N')
    .slice(0, 160);
  return `${v.spec.container} | ${s}`;
}
