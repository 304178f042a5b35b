import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { collectDdd17Hdf5, probeDdd17Hdf5, readDdd17Hdf5 } from '../src/events/ddd17-hdf5.js';
import { EventFormatError, type FormatWarning } from '../src/events/errors.js';
import { concatBatches } from '../src/events/types.js';
import { sharedRecording, skipUnless } from './helpers/shared.js';
import { factsOf as facts } from './helpers/event-facts.js';
import { runCli } from './helpers/cli.js';

const ddd17 = sharedRecording('davis240-translboxes.ddd17.hdf5');

test('DDD17 HDF5: README facts, skipped packets, empty rows, size from the frame packet', { skip: skipUnless(ddd17), timeout: 120_000 }, async () => {
  const warnings: unknown[] = [];
  const { batches, info } = await collectDdd17Hdf5(ddd17!, { onWarning: (w) => warnings.push(w) });
  assert.deepEqual(warnings, []);
  const all = concatBatches(batches);
  assert.deepEqual(facts(all), {
    n: 162771, on: 82944, off: 79827, first: 294976755, last: 297049406, xyp: 430655846, dt: 3265321358,
    win: [[1149, 922], [1392, 1317], [1760, 1515], [1626, 1778], [2010, 1630]],
  });
  assert.equal(info.format, 'ddd17-hdf5');
  assert.equal(info.width, 240);
  assert.equal(info.height, 180);
  assert.equal(info.skipped['imu6Packets'], 51);
  assert.equal(info.skipped['framePackets'], 1);
  assert.equal(info.skipped['emptyRows'], 3);
  assert.equal(info.header?.['sizeFrom'], 'frame');
  assert.ok(batches.every((b) => b.width === 240 && b.height === 180));
});

test('DDD17 HDF5: identical output for any rowsPerRead; options override the size', { skip: skipUnless(ddd17), timeout: 120_000 }, async () => {
  const ref = concatBatches((await collectDdd17Hdf5(ddd17!)).batches);
  for (const rowsPerRead of [1, 7, 1000]) {
    const r = await collectDdd17Hdf5(ddd17!, { rowsPerRead });
    assert.deepEqual(concatBatches(r.batches), ref, `rowsPerRead ${rowsPerRead}`);
  }
  const sized = await collectDdd17Hdf5(ddd17!, { width: 346, height: 260 });
  assert.equal(sized.info.width, 346);
  assert.equal(sized.batches[0]!.height, 260);
});

test('DDD17 HDF5: probe gives size and packet counts without decoding', { skip: skipUnless(ddd17), timeout: 120_000 }, async () => {
  const info = await probeDdd17Hdf5(ddd17!);
  assert.equal(info.width, 240);
  assert.equal(info.height, 180);
  assert.equal(info.header?.['rows'], 106);
  assert.equal(info.skipped['imu6Packets'], 51);
  assert.equal(info.skipped['framePackets'], 1);
  assert.equal(info.skipped['emptyRows'], 3);
  assert.equal(info.skipped['polarityPackets'], 106 - 3 - 51 - 1);
});

test('DDD17 HDF5: early return and abort close the file and stop', { skip: skipUnless(ddd17), timeout: 120_000 }, async () => {
  for (let i = 0; i < 3; i++) {
    for await (const b of readDdd17Hdf5(ddd17!, { rowsPerRead: 4 })) {
      assert.ok(b.length > 0);
      break;
    }
  }
  const ac = new AbortController();
  let batches = 0;
  await assert.rejects(async () => {
    for await (const _ of readDdd17Hdf5(ddd17!, { rowsPerRead: 4, signal: ac.signal })) {
      batches++;
      ac.abort();
    }
  }, (e: unknown) => (e as Error).name === 'AbortError');
  assert.equal(batches, 1);
  // The file is still readable afterwards (handles were released).
  assert.equal((await probeDdd17Hdf5(ddd17!)).width, 240);
});

test('DDD17 HDF5: not HDF5, zero-length and missing files are clear errors', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evstream-ddd17-'));
  try {
    const empty = join(dir, 'empty.hdf5');
    writeFileSync(empty, new Uint8Array(0));
    await assert.rejects(collectDdd17Hdf5(empty), (e: unknown) => e instanceof EventFormatError && e.kind === 'empty' && e.source === empty);
    const text = join(dir, 'text.hdf5');
    writeFileSync(text, '#!AER-DAT2.0\r\n');
    await assert.rejects(collectDdd17Hdf5(text), (e: unknown) => e instanceof EventFormatError && e.kind === 'bad-magic' && e.offset === 0);
    await assert.rejects(probeDdd17Hdf5(join(dir, 'missing.hdf5')), (e: unknown) => e instanceof EventFormatError && e.kind === 'unknown-format');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ------------------------------------------------------------------------------------ hostile files (issue 12)

/** A copy of the shared file with `patch` applied, in a fresh temp dir (never written into ../shared). */
function mutant(dir: string, name: string, patch: (b: Buffer) => void): string {
  const bytes = readFileSync(ddd17!);
  patch(bytes);
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

/**
 * Run one hostile read. An endless read is caught by the test's own `timeout` (node:test fails a test that
 * runs past it), a generous safety net rather than an assertion on wall-clock time: on a loaded CI box a
 * correct read may take several times longer than here. `what` names the case in the failure.
 */
async function hostileRead<T>(what: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    if (e instanceof assert.AssertionError) e.message = `${what}: ${e.message}`;
    throw e;
  }
}

test('DDD17 hostile: a corrupt dvs/data row count (byte 1864) is a bad-header error, not an endless read', { skip: skipUnless(ddd17), timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evstream-ddd17-rows-'));
  try {
    const path = mutant(dir, 'rows.hdf5', (b) => b.writeUInt32LE(0x7fffffff, 1864));
    for (const read of [() => collectDdd17Hdf5(path), () => probeDdd17Hdf5(path)]) {
      await hostileRead('row count', () =>
        assert.rejects(read(), (e: unknown) => {
          assert.ok(e instanceof EventFormatError, String(e));
          assert.equal(e.kind, 'bad-header');
          assert.equal(e.source, path);
          assert.match(e.message, /row count .* at most \d+ .*found 2147483647 rows/);
          return true;
        }),
      );
    }
    const cli = await runCli(['info', path]);
    assert.equal(cli.code, 2);
    assert.equal(cli.stderr.trim().split('\n').length, 1, cli.stderr);
    assert.match(cli.stderr, /rows\.hdf5: bad-header/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DDD17 hostile: a corrupt data block (byte 1629224) loses that row only; strict names the row; no HDF5 noise', { skip: skipUnless(ddd17), timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evstream-ddd17-block-'));
  try {
    const path = mutant(dir, 'block.hdf5', (b) => void (b[1629224] ^= 0xff));
    const ref = concatBatches((await collectDdd17Hdf5(ddd17!)).batches);
    const warnings: FormatWarning[] = [];
    const got = concatBatches((await hostileRead('block', () => collectDdd17Hdf5(path, { onWarning: (w) => warnings.push(w) }))).batches);
    assert.equal(warnings.length, 1);
    const w = warnings[0]!;
    assert.equal(w.kind, 'corrupt-packet');
    assert.equal(w.unit, 'row');
    assert.equal(w.source, path);
    assert.match(w.message, /block\.hdf5: corrupt-packet at row \d+: .*HDF5: /);
    // The events are the reference with one contiguous run (that row's packet) missing.
    const lost = ref.length - got.length;
    assert.ok(lost > 0 && lost < 10_000, `lost ${lost}`);
    let a = 0;
    while (a < got.length && got.t[a] === ref.t[a] && got.x[a] === ref.x[a]) a++;
    for (let i = a; i < got.length; i++) {
      assert.ok(got.t[i] === ref.t[i + lost] && got.x[i] === ref.x[i + lost] && got.y[i] === ref.y[i + lost], `event ${i}`);
    }
    await assert.rejects(collectDdd17Hdf5(path, { strict: true }), (e: unknown) => {
      assert.ok(e instanceof EventFormatError && e.kind === 'corrupt-packet' && e.unit === 'row' && e.offset === w.offset, String(e));
      return true;
    });
    for (const [args, code, lines] of [[['info', path], 0, 1], [['info', '--strict', path], 2, 1]] as const) {
      const cli = await runCli([...args]);
      assert.equal(cli.code, code, cli.stderr);
      assert.equal(cli.stderr.trim().split('\n').length, lines, cli.stderr);
      assert.doesNotMatch(cli.stderr, /HDF5-DIAG|#0\d\d:|Aborted/);
      assert.match(cli.stderr, new RegExp(`block\\.hdf5: corrupt-packet at row ${w.offset}`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DDD17 hostile: superblock / object-header / B-tree mutants fail cleanly and leave no stale HDF5 state', { skip: skipUnless(ddd17), timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'evstream-ddd17-hdr-'));
  try {
    // The same path for every mutant: HDF5 recognises a file by device and inode, so a file left open
    // inside the library after an error would serve stale metadata to the next one (this looped forever).
    const path = join(dir, 'm.hdf5');
    const original = readFileSync(ddd17!);
    for (const [offset, value] of [[12, 0xf7], [24, 0xff], [48, 0x00], [48, 0xff], [1864, 0x95], [2000, 0xff], [3000, 0xff], [4100, 0x7f]] as const) {
      const bytes = Buffer.from(original);
      bytes[offset] = value;
      writeFileSync(path, bytes);
      const outcome = await hostileRead(`byte ${offset}`, async () => {
        try {
          const r = await collectDdd17Hdf5(path, { onWarning: (w) => assert.equal(w.source, path) });
          return concatBatches(r.batches).length;
        } catch (e) {
          assert.ok(e instanceof EventFormatError && e.source === path, `byte ${offset}: ${String(e)}`);
          return e.kind;
        }
      });
      assert.ok(typeof outcome === 'number' || outcome === 'bad-header' || outcome === 'corrupt-packet', `byte ${offset}: ${outcome}`);
    }
    writeFileSync(path, original);
    assert.equal(concatBatches((await collectDdd17Hdf5(path)).batches).length, 162771, 'the restored file reads in full');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DDD17 hostile: the HDF5 watchdog kills a reader that does not answer (a corrupt global-heap index, byte 461080, found by fuzzing, makes HDF5 loop); the next read gets a fresh one', { skip: skipUnless(ddd17), timeout: 120_000 }, async () => {
  // A real stall, not a race against a tiny timeout: on this mutant HDF5 never answers.
  const dir = mkdtempSync(join(tmpdir(), 'evstream-ddd17-heap-'));
  try {
    const path = mutant(dir, 'heap.hdf5', (b) => {
      b[461080] = 0;
    });
    await hostileRead('heap index', () =>
      assert.rejects(collectDdd17Hdf5(path, { stallTimeoutMs: 3000 }), (e: unknown) => {
        assert.ok(e instanceof EventFormatError && e.source === path, String(e));
        assert.match(e.message, /did not answer within 3000 ms/);
        return true;
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(concatBatches((await collectDdd17Hdf5(ddd17!)).batches).length, 162771);
});
