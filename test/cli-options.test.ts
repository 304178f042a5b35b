/** src/cli/options.ts: the CLI's value parsers as plain functions, and the option helpers under commander. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import {
  cropArg,
  existingDir,
  existingFile,
  integerArg,
  legacySizeNote,
  listOf,
  MAX_SIDE,
  numberArg,
  oneOf,
  option,
  parseSize,
  repeatableListOption,
  requiredOption,
  sizeArg,
  UsageError,
} from '../src/cli/options.js';
import { reportError } from '../src/cli/errors.js';
import { InputFileError } from '../src/util/input-error.js';

const tmp = mkdtempSync(join(tmpdir(), 'evstream-cli-options-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

/** The message of what `fn` throws, asserting it is a one-line error of class `cls`. */
function refusal(fn: () => unknown, cls: new (...a: never[]) => Error = UsageError): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof cls, `${String(e)} is a ${cls.name}`);
    assert.doesNotMatch(e.message, /[\r\n]/, 'one line');
    return e.message;
  }
  assert.fail('no error');
}

test('numbers: the message names the option, the bounds and the text', () => {
  const window = numberArg({ min: 0.1, max: 60000 });
  assert.equal(window('50', '--window-ms'), 50);
  assert.equal(window('0.1', '--window-ms'), 0.1);
  assert.equal(window('6e4', '--window-ms'), 60000);
  for (const bad of ['abc', '0.05', '60000.5', '', '  ', 'NaN', 'Infinity', '5ms'])
    assert.equal(refusal(() => window(bad, '--window-ms')), `--window-ms must be a number between 0.1 and 60000, got '${bad}'`);
  assert.equal(refusal(() => numberArg()('x', '--lr')), "--lr must be a number, got 'x'");
  assert.equal(refusal(() => numberArg({ above: 0 })('0', '--seconds')), "--seconds must be a number > 0, got '0'");
  assert.equal(numberArg({ above: 0 })('1e-9', '--seconds'), 1e-9);
  assert.equal(refusal(() => numberArg({ min: 0 })('-1', '--x')), "--x must be a number >= 0, got '-1'");
  assert.equal(refusal(() => numberArg({ max: 3 })('4', '--x')), "--x must be a number <= 3, got '4'");
  // Infinity only where asked for; the note rides along in the words
  const gap = numberArg({ min: 0, infinity: true, note: 'seconds; 0 or Infinity: off' });
  assert.equal(gap('Infinity', '--max-gap'), Infinity);
  assert.equal(gap('0', '--max-gap'), 0);
  assert.equal(refusal(() => gap('-Infinity', '--max-gap')), "--max-gap must be a number >= 0 (seconds; 0 or Infinity: off), got '-Infinity'");
});

test('integers: fractions, unsafe integers and out-of-range values are refused', () => {
  const port = integerArg({ min: 0, max: 65535 });
  assert.equal(port('0', '--port'), 0);
  assert.equal(port('65535', '--port'), 65535);
  for (const bad of ['65536', '-1', '80.5', 'http', '1e20'])
    assert.equal(refusal(() => port(bad, '--port')), `--port must be an integer between 0 and 65535, got '${bad}'`);
  assert.equal(refusal(() => integerArg({ min: 1 })('0', '--count')), "--count must be an integer >= 1, got '0'");
  assert.equal(refusal(() => integerArg()('9007199254740993', '--seed')), "--seed must be an integer, got '9007199254740993'");
  assert.equal(integerArg()('-3', '--seed'), -3);
});

test('sizes are W x H (width first) in every form; bad ones name the form', () => {
  assert.deepEqual(sizeArg('64x32', '--size'), { width: 64, height: 32 });
  assert.deepEqual(sizeArg('346X260', '--size'), { width: 346, height: 260 });
  assert.deepEqual(sizeArg(' 40 × 30 ', '--size'), { width: 40, height: 30 });
  assert.deepEqual(sizeArg('64', '--size'), { width: 64, height: 64 }, 'N is N x N');
  assert.deepEqual(parseSize('32x16'), { width: 32, height: 16 });
  assert.deepEqual(sizeArg(`${MAX_SIDE}x1`, '--size'), { width: MAX_SIDE, height: 1 });
  for (const bad of ['64x', 'x64', '0x32', '64x0', '64x32x2', '-64x32', '64.5x32', `${MAX_SIDE + 1}x1`, '99999999x1', 'WxH', ''])
    assert.equal(refusal(() => sizeArg(bad, '--size')), `--size must be W x H in pixels, width first, e.g. 64x32 (each 1 to ${MAX_SIDE}), got '${bad}'`);
  assert.match(refusal(() => sizeArg('1x', '--sensor')), /^--sensor must be W x H/);
});

test('the old H x W reading of train / infer gets a note only where it changes the meaning', () => {
  assert.equal(legacySizeNote({ width: 64, height: 64 }), undefined, 'a square size means the same either way');
  const note = legacySizeNote({ width: 64, height: 32 });
  assert.ok(note);
  assert.match(note, /^note: --size is W x H \(width first\)/);
  assert.match(note, /train and infer used to read H x W/);
  assert.match(note, /64x32 = 64 wide, 32 high$/);
  assert.match(legacySizeNote({ width: 16, height: 48 })!, /16x48 = 16 wide, 48 high/);
});

test('crops: x,y,w,h integers, w and h >= 1', () => {
  assert.deepEqual(cropArg('0,0,346,200', '--crop'), { x: 0, y: 0, width: 346, height: 200 });
  assert.deepEqual(cropArg(' 1, 2 ,3,4', '--crop'), { x: 1, y: 2, width: 3, height: 4 });
  for (const bad of ['0,0,346', '0,0,346,200,1', '0,0,0,200', '-1,0,10,10', '0,0,10.5,10', '0,,10,10', 'a,b,c,d'])
    assert.equal(refusal(() => cropArg(bad, '--crop')), `--crop must be x,y,w,h (integers >= 0, w and h >= 1), got '${bad}'`);
});

test('enumerations and comma lists', () => {
  const c = oneOf(['none', 'lz4', 'zstd'] as const);
  assert.equal(c('zstd', '--compression'), 'zstd');
  assert.equal(refusal(() => c('LZ4', '--compression')), "--compression must be one of none, lz4, zstd, got 'LZ4'");
  const sigmas = listOf(numberArg({ min: 0 }));
  assert.deepEqual(sigmas('0, 0.05,0.1,', '--sigmas'), [0, 0.05, 0.1]);
  assert.deepEqual(sigmas('', '--sigmas'), []);
  assert.equal(refusal(() => sigmas('0,-1', '--sigmas')), "--sigmas must be a comma list, each a number >= 0, got '0,-1'");
  assert.equal(refusal(() => listOf(integerArg({ min: 1 }))('4,8.5', '--conv-steps')), "--conv-steps must be a comma list, each an integer >= 1, got '4,8.5'");
});

test('the text is quoted on one line and shortened: a pasted newline or escape cannot split the message', () => {
  const m = refusal(() => numberArg()('1\n\u001b[2J', '--lr'));
  assert.equal(m, "--lr must be a number, got '1\\x0a\\x1b[2J'");
  assert.ok(refusal(() => numberArg()('9'.repeat(500) + 'x', '--lr')).length < 140);
});

test('paths: missing, wrong kind, named with the option, as the loaders name them', () => {
  const file = join(tmp, 'w.safetensors');
  writeFileSync(file, 'x');
  const weights = existingFile('a .safetensors weights file');
  assert.equal(weights(file, '--weights'), file);
  assert.equal(refusal(() => weights(tmp, '--weights'), InputFileError), `${tmp}: is a directory, expected a .safetensors weights file for --weights`);
  const gone = join(tmp, 'nope');
  assert.equal(refusal(() => weights(gone, '--weights'), InputFileError), `${gone}: does not exist, expected a .safetensors weights file for --weights`);
  const run = existingDir('a training run directory');
  assert.equal(run(tmp, '<run_dir>'), tmp);
  assert.equal(refusal(() => run(file, '<run_dir>'), InputFileError), `${file}: is not a directory, expected a training run directory for <run_dir>`);
  assert.equal(refusal(() => run(gone, '<run_dir>'), InputFileError), `${gone}: does not exist, expected a training run directory for <run_dir>`);
});

test('usage errors print one line and map to exit code 2', () => {
  const lines: string[] = [];
  const err = console.error;
  console.error = (s: string) => lines.push(s);
  try {
    assert.equal(reportError(new UsageError("--x must be a number, got 'y'")), 2);
  } finally {
    console.error = err;
  }
  assert.deepEqual(lines, ["evstream: --x must be a number, got 'y'"]);
});

test('under commander: parsed values, parsed defaults shown as written, variadic and repeatable lists', async () => {
  const seen: Record<string, unknown>[] = [];
  const program = new Command().exitOverride();
  const cmd = program.command('t');
  option(cmd, '--window-ms <ms>', 'window', numberArg({ min: 0.1, max: 60000 }), '50');
  option(cmd, '--size <WxH>', 'size', sizeArg, '346x260');
  option(cmd, '--files <f...>', 'files', existingFile('a file'));
  requiredOption(cmd, '--n <n>', 'n', integerArg({ min: 1 }));
  repeatableListOption(cmd, '--allow <h>', 'hosts');
  cmd.action((o: Record<string, unknown>) => void seen.push(o));
  const file = join(tmp, 'f.bin');
  writeFileSync(file, '');
  await program.parseAsync(['node', 'x', 't', '--n', '3', '--files', file, file, '--allow', 'a,b', '--allow', ' c ']);
  assert.deepEqual(seen[0], { windowMs: 50, size: { width: 346, height: 260 }, n: 3, files: [file, file], allow: ['a', 'b', 'c'] });
  await program.parseAsync(['node', 'x', 't', '--n', '1', '--size', '64x32', '--window-ms', '0.5']);
  assert.deepEqual(seen[1], { windowMs: 0.5, size: { width: 64, height: 32 }, n: 1 });
  await assert.rejects(program.parseAsync(['node', 'x', 't', '--n', '0']), (e: unknown) => e instanceof UsageError && e.message === "--n must be an integer >= 1, got '0'");
  await assert.rejects(program.parseAsync(['node', 'x', 't', '--n', '1', '--files', file, join(tmp, 'gone')]), InputFileError);
  const help = cmd.helpInformation();
  assert.match(help, /--window-ms <ms>\s+window \(default: 50\)/);
  assert.match(help, /--size <WxH>\s+size \(default: 346x260\)/);
  // a built-in default that its own parser refuses fails at once (at start-up, not when a user hits it)
  assert.throws(() => option(new Command(), '--x <n>', 'x', integerArg({ min: 1 }), '0'), /--x must be an integer >= 1, got '0'/);
});
