'use strict';
/**
 * Mocha's configuration for `npm test`. The tests that read `../shared` (the
 * datasets and reference models beside the repo, never copied into it) are
 * left out, with one line saying so, when it is not there; under CI=true a
 * missing `../shared` fails the run instead.
 */
const fs = require('node:fs');
const path = require('node:path');

const shared = path.resolve(__dirname, '..', 'shared');
const testDir = path.join(__dirname, 'dist', 'test');
const config = { spec: ['dist/test/**/*.test.js'], timeout: 60000, exit: true, reporter: 'spec' };

/** Compiled test files under dist/test (any depth, support/ excepted), relative to dist/test. */
function compiledTests() {
  const walk = (dir) =>
    fs.readdirSync(path.join(testDir, dir), { withFileTypes: true }).flatMap((entry) => {
      const relative = path.posix.join(dir, entry.name);
      if (entry.isDirectory()) return relative === 'support' ? [] : walk(relative);
      return entry.name.endsWith('.test.js') ? [relative] : [];
    });
  return fs.existsSync(testDir) ? walk('') : [];
}

/** Compiled test files whose TypeScript source is gone (moved or deleted: tsc leaves the old output in dist/). */
function stale() {
  return compiledTests().filter((f) => !fs.existsSync(path.join(__dirname, 'test', f.replace(/\.js$/, '.ts'))));
}

/** Compiled test files that read ../shared: through test/support/paths.ts's data folders, or a support module that does. */
function needingShared() {
  const uses = /paths_1\.(sharedDir|lfwDir|videosDir|modelsDir|lfwPeople|lfwImage)\b/;
  const supportDir = path.join(testDir, 'support');
  const read = (file) => fs.readFileSync(file, 'utf8');
  const support = fs.existsSync(supportDir) ? fs.readdirSync(supportDir).filter((f) => f.endsWith('.js')) : [];
  const marked = new Set(support.filter((f) => uses.test(read(path.join(supportDir, f)))).map((f) => f.replace(/\.js$/, '')));
  for (let grew = true; grew; ) {
    grew = false;
    for (const f of support) {
      const name = f.replace(/\.js$/, '');
      if (marked.has(name)) continue;
      const text = read(path.join(supportDir, f));
      if ([...marked].some((m) => text.includes(`require("./${m}")`))) {
        marked.add(name);
        grew = true;
      }
    }
  }
  // A test at any depth requires "../../support/<name>" (or "./support/<name>" at the top).
  const requires = (text, m) => new RegExp(`require\\("(\\./|(\\.\\./)+)support/${m}"\\)`).test(text);
  return compiledTests().filter((f) => {
    const text = read(path.join(testDir, f));
    return uses.test(text) || [...marked].some((m) => requires(text, m));
  });
}

const gone = stale();
if (gone.length > 0) config.ignore = gone.map((f) => `dist/test/${f}`);

if (!fs.existsSync(shared)) {
  const skipped = needingShared();
  const what = `${shared} is missing (the LFW and Intel sample-video datasets and the reference ONNX models the tests use; see README, "Tests")`;
  if (process.env.CI === 'true') throw new Error(`${what}: under CI=true every test must run`);
  process.stderr.write(`Skipping ${skipped.length} test files that need it: ${what}: ${skipped.join(', ')}\n`);
  config.ignore = [...(config.ignore ?? []), ...skipped.map((f) => `dist/test/${f}`)];
}

module.exports = config;
