#!/usr/bin/env node
/**
 * Mutation testing of the core modules (issue 19), one Stryker run per module group:
 *   npm run mutate                     every group, one after the other
 *   npm run mutate -- framing snn      only these groups
 *   npm run mutate -- --list           the groups, their files and test commands
 * Options: --concurrency N (default 1: the dev box is shared), --checker (TypeScript checker, see below),
 *          --mutate a.ts,b.ts:10-80 (only these files / line ranges, with the first group's tests),
 *          --tests name,name (only these test files, e.g. prophesee-evt2: a narrower run is faster per mutant),
 *          --report NAME (report folder reports/mutation/NAME, default the group: keeps a narrowed run's report apart).
 *
 * Stryker's command runner runs one shell command per mutant, so each group names only the test files that
 * cover its modules (fast ones: the whole suite per mutant would take days). The project is compiled once per
 * group in Stryker's sandbox (buildCommand); the mutants are all compiled in (mutant schemata) and switched
 * on one at a time by the __STRYKER_ACTIVE_MUTANT__ variable that the command runner sets.
 *
 * No type checker by default: the project builds with TypeScript 7 (the Go port), which ships no JavaScript
 * compiler API, and @stryker-mutator/typescript-checker needs one (it fails at start-up: "Cannot read properties of undefined (reading 'fileExists')", ts.sys). Mutants that do
 * not type-check therefore run as JavaScript; Stryker marks instrumented files `// @ts-nocheck` so the one
 * build still succeeds. --checker is kept for when the checker supports the compiler in use.
 *
 * Reports: reports/mutation/<group>/index.html and mutation.json (gitignored), plus a score table per file
 * at the end. Not part of CI: it is slow (minutes to hours per group).
 */
import { Stryker } from '@stryker-mutator/core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const t = (...names) => names.map((n) => `dist/test/${n}.test.js`).join(' ');

/** Module groups: files to mutate (Stryker globs, `file:from-to` for line ranges) and the tests that cover them. */
export const GROUPS = {
  'events-aedat2': { mutate: ['src/events/aedat2.ts', 'src/events/wrap32.ts'], tests: t('aedat2-errors', 'aedat2-hostile', 'aedat2-wrap-chunks', 'prophesee-dat') },
  'events-prophesee': {
    mutate: ['src/events/prophesee/{header,word-decoder,evt2,evt21,evt3,dat}.ts', 'src/events/header-lines.ts'],
    tests: t('prophesee-header', 'prophesee-evt2', 'prophesee-evt3', 'prophesee-dat', 'evt3-writer', 'prophesee-mutants', 'prophesee-header-mutants'),
  },
  'events-aedat3': { mutate: ['src/events/aedat3.ts', 'src/events/caer.ts'], tests: t('aedat3-conformance', 'aedat3-errors', 'aedat3-hostile', 'aedat3-mutants') },
  'events-aedat4': { mutate: ['src/events/aedat4/*.ts'], tests: t('aedat4-conformance', 'aedat4-errors', 'aedat4-hostile', 'aedat4-roundtrip', 'aedat4-mutants', 'aedat4-codecs') },
  'events-time-guard': { mutate: ['src/events/time-guard.ts'], tests: t('time-guard', 'time-guard-rules') },
  framing: { mutate: ['src/framing/*.ts'], tests: t('framing', 'framing-bounds', 'framing-fit', 'framing-mutants', 'framing-ddd17-crop', 'framing-fast-path') },
  'snn-layers': { mutate: ['src/snn/lif.ts', 'src/snn/bntt.ts', 'src/snn/surrogate.ts'], tests: t('snn-lif', 'bntt-policy') },
  // snn-graph-static-mutants (no tfjs / ORT, ~0.3 s) covers definition.ts and windowed.ts on its own: a run of
  // those two files is faster with `--tests snn-graph-static-mutants`
  'snn-graph': {
    mutate: ['src/snn/definition.ts', 'src/snn/engines/*.ts', 'src/snn/engines/onnx/graph.ts'],
    tests: t('snn-graph-static-mutants', 'snn-graph-mutants'),
  },
  'dv-tcp': { mutate: ['src/sources/dv-tcp.ts', 'src/sources/dv-packet-guard.ts'], tests: t('dv-tcp-hostile', 'dv-tcp-mutants') },
  // checkpoint-mutants calls the module directly (a second); train-checkpoint trains a model per run (hours per group)
  checkpoint: { mutate: ['src/snn/checkpoint.ts'], tests: t('checkpoint-mutants') },
  'events-hdf5': { mutate: ['src/events/hdf5-layout.ts', 'src/events/ddd17-layout.ts'], tests: t('ddd17-layout', 'hdf5-layout-mutants') },
};

const args = process.argv.slice(2);
const flag = (name) => {
  const i = args.indexOf(name);
  if (i < 0) return undefined;
  args.splice(i, 1);
  return true;
};
const option = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const list = flag('--list');
const checker = flag('--checker');
const concurrency = Number(option('--concurrency', '1'));
/** Narrow a run to some files or line ranges of its group (e.g. src/framing/binner.ts:166-335), comma-separated. */
const only = option('--mutate', undefined)?.split(',');
const onlyTests = option('--tests', undefined)?.split(',');
const reportName = option('--report', undefined);
const names = args.length ? args : Object.keys(GROUPS);
for (const n of names) if (!GROUPS[n]) {
  console.error(`mutate: unknown group '${n}' (groups: ${Object.keys(GROUPS).join(', ')})`);
  process.exit(2);
}
if (list) {
  for (const n of names) console.log(`${n}\n  mutate: ${GROUPS[n].mutate.join(' ')}\n  tests:  ${GROUPS[n].tests}`);
  process.exit(0);
}

const root = resolve(import.meta.dirname, '..');
process.chdir(root);
// The sandbox is .stryker-tmp/sandbox-*/: tests find ../shared through this variable, not relative to cwd.
process.env.EVSTREAM_SHARED ??= resolve(root, '..', 'shared');

const score = (r) => {
  const killed = r.filter((m) => m.status === 'Killed' || m.status === 'Timeout').length;
  const valid = r.filter((m) => ['Killed', 'Timeout', 'Survived', 'NoCoverage'].includes(m.status)).length;
  return { killed, valid, survived: valid - killed, errors: r.length - valid, pct: valid ? (100 * killed) / valid : NaN };
};
const summary = [];
for (const name of names) {
  const g = GROUPS[name];
  const dir = join('reports', 'mutation', reportName ?? name);
  mkdirSync(dir, { recursive: true });
  const started = Date.now();
  const stryker = new Stryker({
    mutate: only ?? g.mutate,
    testRunner: 'command',
    commandRunner: { command: `node --test --test-reporter=dot ${onlyTests ? t(...onlyTests) : g.tests}` },
    // The sandbox gets no node_modules link (ours is itself a symlink); it lives under the project, so
    // imports resolve upwards to the project's node_modules, and tsc is called by its absolute path.
    buildCommand: `node ${join(root, 'node_modules', 'typescript', 'bin', 'tsc')} -p tsconfig.json`,
    checkers: checker ? ['typescript'] : [],
    // Stryker's sandbox preprocessor parses the tsconfig with the TypeScript JS API, which TypeScript 7 lacks
    // (TypeError: ts.parseConfigFileTextToJson is not a function). Ours has no extends / references for it to
    // rewrite, so it is pointed at no file (with --checker too: the checker fails on TypeScript 7 either way).
    tsconfigFile: '.stryker-no-tsconfig.json',
    concurrency,
    coverageAnalysis: 'off', // the command runner cannot report per-test coverage
    ignorePatterns: ['dist', 'reports', 'test-artifacts', '.build-*', '.stryker-tmp'],
    tempDirName: join('.stryker-tmp', reportName ?? name), // one per group: runs of two groups side by side do not meet
    cleanTempDir: true,
    timeoutMS: 20_000,
    reporters: ['html', 'json', 'clear-text', 'progress'],
    htmlReporter: { fileName: join(dir, 'index.html') },
    jsonReporter: { fileName: join(dir, 'mutation.json') },
    clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0 },
    thresholds: { high: 80, low: 60, break: null },
  });
  const results = await stryker.runMutationTest();
  const byFile = new Map();
  for (const r of results) byFile.set(r.fileName, [...(byFile.get(r.fileName) ?? []), r]);
  for (const [file, rs] of byFile) summary.push({ group: name, file: file.replace(`${root}/`, ''), ...score(rs) });
  summary.push({ group: name, file: '(all)', ...score(results), minutes: ((Date.now() - started) / 60000).toFixed(1) });
  writeFileSync(join(dir, 'scores.json'), JSON.stringify(summary.filter((s) => s.group === name), null, 2));
}
console.log('\ngroup              file                                      score   killed/valid  errors');
for (const s of summary)
  console.log(`${s.group.padEnd(18)} ${s.file.padEnd(41)} ${Number.isNaN(s.pct) ? '  n/a ' : `${s.pct.toFixed(1).padStart(5)}%`}  ${`${s.killed}/${s.valid}`.padStart(12)}  ${String(s.errors).padStart(6)}${s.minutes ? `  (${s.minutes} min)` : ''}`);
