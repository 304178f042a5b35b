/**
 * node:test reporter (node 20+ `--test-reporter=`): writes one JSON line per skipped or todo test
 * (name, file, line, reason) and a final count line, for scripts/run-tests.mjs to list and judge.
 * The human-readable output stays the spec reporter's; this one goes to a file.
 */
export default async function* skipReporter(source) {
  let passed = 0;
  let failed = 0;
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const d = event.data;
    // A file-level entry (node's process isolation) wraps the file's tests: count only the tests.
    if (d.details?.type === 'suite') continue;
    if (d.skip !== undefined || d.todo !== undefined) {
      const kind = d.skip !== undefined ? 'skip' : 'todo';
      const why = kind === 'skip' ? d.skip : d.todo;
      yield JSON.stringify({ kind, name: d.name, file: d.file, line: d.line, reason: typeof why === 'string' ? why : '' }) + '\n';
    } else if (event.type === 'test:pass') passed++;
    else failed++;
  }
  yield JSON.stringify({ kind: 'total', passed, failed }) + '\n';
}
