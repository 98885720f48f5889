import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/paths';

/** Every text file under `dir` (recursively), as a path relative to the repository root. */
function textFiles(dir: string, extensions: RegExp): string[] {
  const absolute = path.join(repoRoot, dir);
  if (!fs.existsSync(absolute)) return [];
  if (fs.statSync(absolute).isFile()) return [dir];
  return fs.readdirSync(absolute, { withFileTypes: true }).flatMap((entry) => {
    const relative = path.join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : textFiles(relative, extensions);
    return extensions.test(entry.name) ? [relative] : [];
  });
}

const read = (file: string) => fs.readFileSync(path.join(repoRoot, file), 'utf8');

/**
 * The repository speaks for itself: a reader has neither the issue tracker nor the design notes kept
 * beside the checkout, so no prose or comment points at them. Tests may still read `../shared`'s
 * datasets and models by path; this file is left out because it spells the patterns it looks for.
 */
describe('docs and comments refer to nothing a reader of the repository lacks', () => {
  const folders = ['README.md', 'docs', 'lib', 'nodes', 'cli', 'scripts', 'bench', 'test', 'flows'];
  const self = path.relative(path.join(repoRoot, 'dist'), __filename).replace(/\.js$/, '.ts');
  const files = folders.flatMap((folder) => textFiles(folder, /\.(ts|js|mjs|md|json|ya?ml|html|vue|txt|csv)$/)).filter((f) => f !== self);
  const everywhere = [
    { what: 'an issue number', pattern: /\bissues? ?#?\d+/i },
    { what: 'an issue number in parentheses', pattern: /\(#\d+\)/ },
    { what: 'the design notes outside the repository', pattern: /DESIGN\.md/ },
    { what: 'the seed (the design notes)', pattern: /\bthe seed\b|\bseed's/i },
  ];
  // In the documentation, `../shared` may name a dataset or a model file to run a command on, not a document to read.
  const inDocs = [{ what: 'a document outside the repository', pattern: /\.\.\/shared\/\S*\.md\b/ }];

  it('finds the files', () => {
    assert.ok(files.includes('README.md'), 'README.md');
    assert.ok(files.filter((f) => f.startsWith('lib')).length > 50, 'lib/');
  });

  it('no issue numbers, design notes or "the seed" in README, docs/, lib/, nodes/, cli/, scripts/, bench/, test/, flows/', () => {
    const found: string[] = [];
    for (const file of files) {
      const checks = file === 'README.md' || file.startsWith('docs') ? [...everywhere, ...inDocs] : everywhere;
      read(file)
        .split('\n')
        .forEach((line, i) => {
          for (const { what, pattern } of checks) {
            const match = pattern.exec(line);
            if (match) found.push(`${file}:${i + 1}: ${what} ("${match[0]}")`);
          }
        });
    }
    assert.deepEqual(found, []);
  });
});

/** `:id`, `<node id>`, `<face id>` all name one path segment; a query string is not part of the route. */
function normalize(route: string): string {
  return route
    .replace(/\?.*$/, '')
    .replace(/<[^>]+>/g, ':')
    .replace(/:[A-Za-z_]\w*/g, ':')
    .replace(/\/$/, '');
}

/** Code without its comments (so a route named in a comment is not taken for a registered one). */
function withoutComments(source: string): string {
  return source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

interface Registered {
  path: string;
  /** The methods it is registered for, or null when the path is handed to the registration through a variable. */
  methods: Set<string> | null;
}

/**
 * The admin routes the code registers, found by their path text in nodes/**\/*.ts (wherever they live):
 * `<router>.get('/porchlight/...', ...)` and the like give the method; any other string literal holding a
 * `/porchlight/` route pattern (with a `:param`) is a path registered through a variable.
 */
function registeredRoutes(): Map<string, Registered> {
  const routes = new Map<string, Registered>();
  const add = (raw: string, method: string | null) => {
    const key = normalize(raw);
    const known = routes.get(key) ?? { path: raw, methods: new Set<string>() };
    if (method === null) known.methods = null;
    else known.methods?.add(method);
    routes.set(key, known);
  };
  for (const file of textFiles('nodes', /\.ts$/)) {
    const code = withoutComments(read(file));
    const direct = /\.(get|post|put|delete|patch|head)\(\s*(['"`])(\/porchlight\/[^'"`$]+)\2/g;
    for (const m of code.matchAll(direct)) add(m[3], m[1].toUpperCase());
    const patterns = /(['"`])(\/porchlight\/[^'"`$\s]*\/:[^'"`$\s]*)\1/g;
    for (const m of code.matchAll(patterns)) {
      const registeredDirectly = routes.get(normalize(m[2]))?.methods?.size;
      if (!registeredDirectly) add(m[2], null);
    }
  }
  return routes;
}

interface Documented {
  method: string;
  path: string;
  line: number;
}

/** The routes in docs/API.md's tables: the first cell's `METHOD /porchlight/...` spans (`/...` alone keeps the method before it, `.../x` its folder). */
function documentedInTables(api: string): Documented[] {
  const rows: Documented[] = [];
  api.split('\n').forEach((line, i) => {
    if (!line.startsWith('|')) return;
    const first = line.split(/(?<!\\)\|/)[1] ?? '';
    let method = '';
    let previous = '';
    for (const [, span] of first.matchAll(/`([^`]+)`/g)) {
      const m = /^(?:(GET|POST|PUT|DELETE|PATCH|HEAD)\s+)?((?:\/porchlight\/|\.\.\.\/)(?:[^\s<]|<[^>]*>)*)$/.exec(span.trim());
      if (!m) continue;
      let route = m[2];
      if (route.startsWith('.../')) route = previous.replace(/\/[^/]*$/, '') + route.slice(3);
      if (!route.startsWith('/porchlight/')) continue;
      method = m[1] ?? method;
      previous = route.replace(/\?.*$/, '');
      rows.push({ method, path: route, line: i + 1 });
    }
  });
  return rows;
}

describe('docs/API.md and the registered admin routes agree', () => {
  const api = read(path.join('docs', 'API.md'));
  const registered = registeredRoutes();
  const tables = documentedInTables(api);

  it('finds the routes on both sides', () => {
    assert.ok(registered.size >= 30, `registered: ${[...registered.keys()].join(', ')}`);
    assert.ok(tables.length >= 30, `documented: ${tables.map((r) => r.path).join(', ')}`);
  });

  it("every route in docs/API.md's tables is registered in nodes/, with that method", () => {
    const missing = tables.filter(({ method, path: route }) => {
      const found = registered.get(normalize(route));
      return !found || (found.methods !== null && !found.methods.has(method));
    });
    assert.deepEqual(
      missing.map((r) => `docs/API.md:${r.line}: ${r.method} ${r.path}`),
      [],
    );
  });

  it('every registered route is documented in docs/API.md (in a table with its method, or in the prose)', () => {
    const inTables = new Set(tables.map((r) => `${r.method} ${normalize(r.path)}`));
    const tablePaths = new Set(tables.map((r) => normalize(r.path)));
    const prose = api
      .split('\n')
      .filter((line) => !line.startsWith('|'))
      .join('\n');
    const inProse = new Set([...prose.matchAll(/\/porchlight\/[^\s`),]*/g)].map((m) => normalize(m[0])));
    const undocumented: string[] = [];
    for (const [key, { path: route, methods }] of registered) {
      if (inProse.has(key)) continue;
      if (methods === null) {
        if (!tablePaths.has(key)) undocumented.push(route);
        continue;
      }
      for (const method of methods) if (!inTables.has(`${method} ${key}`)) undocumented.push(`${method} ${route}`);
    }
    assert.deepEqual(undocumented, []);
  });
});

describe('docs/CLI.md and the porchlight command agree', () => {
  const cliDoc = read(path.join('docs', 'CLI.md'));
  let help = '';

  before(async () => {
    const { main } = await import('../../cli/porchlight');
    const lines: string[] = [];
    assert.equal(await main(['--help'], { out: (l) => lines.push(l), err: (l) => lines.push(l) }), 0);
    help = lines.join('\n');
  });

  /** `eval lfw`, `models list`, `detect`: a command and its sub-command (a bare lower-case word after it). */
  const commandsIn = (text: string, line: RegExp) => new Set([...text.matchAll(line)].map((m) => (m[2] ? `${m[1]} ${m[2]}` : m[1])));

  it('every command docs/CLI.md shows is one the command knows, and every command it knows is shown', () => {
    const documented = commandsIn(cliDoc, /^npx porchlight ([a-z]+)(?: ([a-z]+)(?=\s|$))?/gm);
    const known = commandsIn(help, /^ {2}([a-z]+)(?: ([a-z]+)(?=\s|$))?/gm);
    assert.ok(known.size >= 10 && known.has('eval openset') && known.has('restore'), [...known].join(', '));
    assert.deepEqual([...documented].filter((c) => !known.has(c)), [], 'documented but unknown');
    assert.deepEqual([...known].filter((c) => !documented.has(c)), [], 'known but not documented');
  });

  it('every option docs/CLI.md names is in the command\'s --help', () => {
    const options = new Set([...cliDoc.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((m) => m[0]));
    assert.ok(options.size >= 15, [...options].join(' '));
    assert.deepEqual([...options].filter((o) => o !== '--help' && !new RegExp(`(?<![\\w-])${o}(?![\\w-])`).test(help)), []);
  });
});
