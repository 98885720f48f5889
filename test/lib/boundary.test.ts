import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { repoRoot } from '../support/paths';

/**
 * The lib boundary: lib/ has no Node-RED import, and its top-level folders
 * import each other without a cycle (errors <- image <- vision <- workers <-
 * engine, models <- engine, ...). Read from the sources' import lines (static
 * imports, `export ... from`, `import()` and `require()`), type-only ones too:
 * a type import ties two folders together just as much for a reader.
 */

const libDir = path.join(repoRoot, 'lib');

function sourcesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourcesUnder(file);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [file] : [];
  });
}

/** The lib folder a file under lib/ belongs to: `vision` for lib/vision/onnx/yunet.ts, `errors` for lib/errors.ts, `(main)` for lib/index.ts. */
function folderOf(file: string): string {
  const [first, ...rest] = path.relative(libDir, file).split(path.sep);
  if (rest.length > 0) return first;
  const name = first.replace(/\.(ts|js)$/, '');
  return name === 'index' ? '(main)' : name;
}

interface ImportLine {
  file: string;
  specifier: string;
}

function importsOf(file: string): ImportLine[] {
  const info = ts.preProcessFile(fs.readFileSync(file, 'utf8'), true, true);
  return info.importedFiles.map((imported) => ({ file: path.relative(repoRoot, file), specifier: imported.fileName }));
}

const files = sourcesUnder(libDir);

/** folder -> the folders it imports -> one import line that shows it. */
function folderGraph(): Map<string, Map<string, ImportLine>> {
  const graph = new Map<string, Map<string, ImportLine>>();
  for (const file of files) {
    const from = folderOf(file);
    if (!graph.has(from)) graph.set(from, new Map());
    for (const line of importsOf(file)) {
      if (!line.specifier.startsWith('.')) continue;
      const target = path.resolve(path.dirname(file), line.specifier);
      if (path.relative(libDir, target).startsWith('..')) continue;
      const to = folderOf(target);
      if (to !== from && !graph.get(from)!.has(to)) graph.get(from)!.set(to, line);
    }
  }
  return graph;
}

/** Every cycle's folders in order (one per strongly connected component of more than one folder), found by Tarjan's algorithm. */
function cyclesOf(graph: Map<string, Map<string, ImportLine>>): string[][] {
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const components: string[][] = [];
  let next = 0;
  const visit = (folder: string): void => {
    index.set(folder, next);
    low.set(folder, next);
    next++;
    stack.push(folder);
    onStack.add(folder);
    for (const to of graph.get(folder)?.keys() ?? []) {
      if (!index.has(to)) {
        visit(to);
        low.set(folder, Math.min(low.get(folder)!, low.get(to)!));
      } else if (onStack.has(to)) {
        low.set(folder, Math.min(low.get(folder)!, index.get(to)!));
      }
    }
    if (low.get(folder) === index.get(folder)) {
      const component: string[] = [];
      let member: string;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== folder);
      if (component.length > 1) components.push(component.sort());
    }
  };
  for (const folder of [...graph.keys()].sort()) if (!index.has(folder)) visit(folder);
  return components;
}

describe('lib boundary (folder imports)', () => {
  it('reads every lib source and finds the folders it expects', () => {
    const graph = folderGraph();
    for (const folder of ['engine', 'store', 'eventlog', 'vision', 'workers', 'models', 'errors', '(main)']) {
      assert.ok(graph.has(folder), `lib/${folder} is read`);
    }
    // The engine sits on top of the vision pipeline and the worker pool.
    assert.ok(graph.get('engine')!.has('workers') && graph.get('engine')!.has('vision'));
  });

  it('no folder of lib/ imports, directly or through others, a folder that imports it', () => {
    const graph = folderGraph();
    const cycles = cyclesOf(graph);
    const explain = cycles.map((members) => {
      const inCycle = new Set(members);
      const edges = members.flatMap((from) =>
        [...graph.get(from)!].filter(([to]) => inCycle.has(to)).map(([to, line]) => `  ${from} -> ${to} (${line.file}: '${line.specifier}')`),
      );
      return `cycle among ${members.join(', ')}:\n${edges.join('\n')}`;
    });
    assert.deepEqual(explain, [], explain.join('\n'));
  });

  it('the cycle finder itself finds a cycle of three and ignores a chain', () => {
    const line: ImportLine = { file: 'x.ts', specifier: './y' };
    const of = (edges: Array<[string, string]>) => {
      const graph = new Map<string, Map<string, ImportLine>>();
      for (const [from, to] of edges) {
        if (!graph.has(from)) graph.set(from, new Map());
        if (!graph.has(to)) graph.set(to, new Map());
        graph.get(from)!.set(to, line);
      }
      return cyclesOf(graph);
    };
    assert.deepEqual(of([['a', 'b'], ['b', 'c'], ['c', 'a'], ['c', 'd']]), [['a', 'b', 'c']]);
    assert.deepEqual(of([['a', 'b'], ['b', 'c'], ['a', 'c']]), []);
  });

  it("docs/ARCHITECTURE.md's table of what each area imports is the import graph as it is", () => {
    const doc = fs.readFileSync(path.join(repoRoot, 'docs', 'ARCHITECTURE.md'), 'utf8');
    const table = new Map<string, string>();
    for (const [, area, imports] of doc.matchAll(/^\| (\w+) \| ([\w, ()]+) \|$/gm)) table.set(area, imports);
    const graph = folderGraph();
    const actual = new Map([...graph].filter(([folder]) => folder !== '(main)').map(([folder, to]) => [folder, [...to.keys()].filter((t) => t !== '(main)').sort().join(', ') || '(nothing)']));
    const stale = [...actual].filter(([folder, imports]) => table.get(folder) !== imports).map(([folder, imports]) => `${folder}: the table says "${table.get(folder) ?? '(missing)'}", the code imports "${imports}"`);
    assert.deepEqual(stale, [], stale.join('\n'));
  });

  it('lib/ never imports Node-RED', () => {
    const offending = files
      .flatMap(importsOf)
      .filter((line) => /^(node-red|@node-red\/)/.test(line.specifier) || line.specifier === 'node-red')
      .map((line) => `${line.file}: '${line.specifier}'`);
    assert.deepEqual(offending, []);
  });

  it('the package main ships its types: package.json types is the compiled lib/index.d.ts', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { main: string; types: string; files: string[] };
    assert.equal(pkg.main, 'dist/lib/index.js');
    assert.equal(pkg.types, 'dist/lib/index.d.ts');
    assert.ok(pkg.files.includes('dist/lib'));
    assert.ok(fs.existsSync(path.join(repoRoot, pkg.types)), `${pkg.types} is built (tsconfig declaration: true)`);
  });
});
