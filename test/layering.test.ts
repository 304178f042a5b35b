/**
 * The import direction of src/, enforced: a folder imports only folders below it, and no file cycles.
 *
 *   util, labels  <-  events  <-  filters  <-  { sources, framing, sim }  <-  snn  <-  { pipeline, train }  <-  { server, web }  <-  cli
 *
 * web (the in-browser pipeline, bundled into dist/web) sits beside server: neither imports the other.
 *
 * Folders on one floor do not import each other. Only literal specifiers count as imports; a computed
 * `import()` hides an edge from every static tool, so it is an error in itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';

const FLOORS: Record<string, number> = {
  util: 0,
  labels: 0,
  events: 1,
  // denoising operators (issue 16): batches in, batches out; framing and the pipeline apply them
  filters: 1.5,
  sources: 2,
  framing: 2,
  sim: 2,
  snn: 3,
  pipeline: 4,
  train: 4,
  server: 5,
  web: 5,
  cli: 6,
  // src/index.ts, the package's common entry (`evstream`): re-exports lower floors, imported by nothing.
  'index.ts': 7,
};

/** Computed imports allowed, by file, with the reason (packages that may be absent cannot be named statically). */
const COMPUTED_IMPORT_ALLOWED: Record<string, string> = {
  'src/snn/backend.ts': 'optional tfjs-node / tfjs-node-gpu, loaded by package name only when installed',
};

const srcDir = resolve(process.cwd(), 'src');

function listTs(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...listTs(p));
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Folder under src/ of a file (its floor's name). */
function folderOf(file: string): string {
  return relative(srcDir, file).split(sep)[0]!;
}

interface Imports {
  /** Resolved .ts paths of the relative imports. */
  edges: string[];
  /** Dynamic imports whose argument is not a string literal. */
  computed: string[];
}

function importsOf(file: string): Imports {
  // Comments may mention imports; strip them (string contents are kept, which is all we read).
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`])\/\/.*$/gm, '$1');
  const edges: string[] = [];
  const specs: string[] = [];
  for (const m of text.matchAll(/(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"]([^'"]+)['"]/g)) specs.push(m[1]!);
  for (const m of text.matchAll(/(?:^|[\s;])import\s*['"]([^'"]+)['"]/g)) specs.push(m[1]!);
  const computed: string[] = [];
  for (const m of text.matchAll(/\bimport\s*\(\s*([^)]*)\)/g)) {
    const arg = m[1]!.trim();
    const literal = /^(['"])([^'"]+)\1$/.exec(arg);
    if (literal) specs.push(literal[2]!);
    else computed.push(arg);
  }
  for (const s of specs) {
    if (!s.startsWith('.')) continue;
    edges.push(resolve(dirname(file), s.replace(/\.js$/, '.ts')));
  }
  return { edges, computed };
}

type Graph = Map<string, string[]>;

function upwardImports(graph: Graph): string[] {
  const bad: string[] = [];
  for (const [file, edges] of graph) {
    const from = folderOf(file);
    for (const target of edges) {
      const to = folderOf(target);
      if (to === from) continue;
      if (!(FLOORS[to]! < FLOORS[from]!)) bad.push(`${rel(file)} -> ${rel(target)} (${from} may not import ${to})`);
    }
  }
  return bad;
}

function findCycles(graph: Graph): string[] {
  const cycles: string[] = [];
  const state = new Map<string, 1 | 2>(); // 1 = on the stack, 2 = done
  const stack: string[] = [];
  const visit = (f: string): void => {
    state.set(f, 1);
    stack.push(f);
    for (const g of graph.get(f) ?? []) {
      if (!graph.has(g)) continue;
      const s = state.get(g);
      if (s === 1) cycles.push(stack.slice(stack.indexOf(g)).concat(g).map(rel).join(' -> '));
      else if (s === undefined) visit(g);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  return cycles;
}

const rel = (f: string): string => relative(process.cwd(), f);
const files = listTs(srcDir);
const parsed = new Map(files.map((f) => [f, importsOf(f)] as const));
const graph: Graph = new Map([...parsed].map(([f, i]) => [f, i.edges]));

test('every folder of src/ has a floor', () => {
  const folders = new Set(files.map(folderOf).filter((f) => !f.endsWith('.ts')));
  assert.ok(folders.size >= 8, `found only ${folders.size} folders under ${srcDir}`);
  const unknown = [...folders].filter((f) => !(f in FLOORS));
  assert.deepEqual(unknown, [], `folders without a floor in FLOORS: ${unknown.join(', ')}`);
});

test('imports run one way: no folder imports a folder on its own floor or above', () => {
  assert.ok(graph.size > 50, `read only ${graph.size} files`);
  assert.deepEqual(upwardImports(graph), []);
});

test('no computed import() in src/', () => {
  const bad = [...parsed]
    .filter(([file]) => !(rel(file).split(sep).join('/') in COMPUTED_IMPORT_ALLOWED))
    .flatMap(([file, { computed }]) => computed.map((c) => `${rel(file)}: import(${c})`));
  assert.deepEqual(bad, []);
});

test('no import cycles between files', () => {
  assert.deepEqual(findCycles(graph), []);
});

test('the checks flag a planted upward import and a planted cycle', () => {
  const a = join(srcDir, 'events', '__a.ts');
  const b = join(srcDir, 'events', '__b.ts');
  const c = join(srcDir, 'framing', '__c.ts');
  const planted: Graph = new Map([
    [a, [b, join(srcDir, 'snn', 'model.ts')]],
    [b, [a]],
    [c, [join(srcDir, 'sim', 'scene.ts')]],
  ]);
  assert.equal(upwardImports(planted).length, 2); // events -> snn, framing -> sim (same floor)
  assert.equal(findCycles(planted).length, 1);
  const main = importsOf(join(srcDir, 'cli', 'main.ts'));
  assert.ok(main.edges.some((e) => e.endsWith(join('commands', 'info.ts'))), 'the parser finds main.ts importing commands/info.ts');
});
