import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * The one way a test makes a scratch folder. A folder made during a test (in
 * `it` or a `beforeEach`) is removed after that test; one made in a `before`
 * or while the files load is removed when the run ends.
 */
const inTest: string[] = [];
const forTheRun: string[] = [];
let testRunning = false;

const remove = (dirs: string[]) => {
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
};

// Mocha's hooks, at the root: for every test of the run. A child process a test starts from
// its own file (no mocha there) makes no hooks; its folders are the test's to remove.
if (typeof beforeEach === 'function') {
  beforeEach(() => {
    testRunning = true;
  });
  afterEach(() => {
    testRunning = false;
    remove(inTest);
  });
  after(() => remove(forTheRun));
}

/** A new empty folder under the OS temp folder, named `<prefix><random>`; `parent` puts it elsewhere. */
export function tempDir(prefix: string, parent = os.tmpdir()): string {
  const dir = fs.mkdtempSync(path.join(parent, prefix));
  (testRunning ? inTest : forTheRun).push(dir);
  return dir;
}
