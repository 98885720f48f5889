import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { USAGE_ERROR } from '../../cli/common';
import { main } from '../../cli/porchlight';
import { FrameRing } from '../../lib/camera/frame-ring';
import { ERROR_CODES, httpStatusOf, isPorchlightError, PorchlightError, toWireError } from '../../lib/errors';
import { createEmbedder } from '../../lib/vision/recognizers';
import { yunetFactory } from '../../lib/vision/onnx/yunet';
import { explainReadOnly } from '../../nodes/shared/db';
import { repoRoot } from '../support/paths';

/** Every .ts file below a folder. */
function sourcesIn(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourcesIn(file);
    return entry.name.endsWith('.ts') ? [file] : [];
  });
}

describe('errors: one taxonomy', () => {
  it('lib and cli make no plain Error, RangeError or TypeError: every error they raise is a PorchlightError with a code', () => {
    const plain = /\bnew (Error|RangeError|TypeError)\(/;
    const found = ['lib', 'cli'].flatMap((dir) => sourcesIn(path.join(repoRoot, dir))).flatMap((file) =>
      fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, where: `${path.relative(repoRoot, file)}:${i + 1}` }))
        .filter(({ line }) => plain.test(line) && !/^\s*(\/\/|\*)/.test(line))
        .map(({ line, where }) => `${where}: ${line.trim()}`),
    );
    assert.deepEqual(found, []);
  });

  it('every code has one HTTP status: 4xx for the caller, 5xx for the server; anything else is 500', () => {
    assert.ok(ERROR_CODES.length >= 25, ERROR_CODES.join(', '));
    for (const code of ERROR_CODES) {
      const status = httpStatusOf(code);
      assert.ok(status >= 400 && status <= 599, `${code} -> ${status}`);
    }
    const expected: Record<string, number> = {
      BAD_INPUT: 400, BAD_CONFIG: 400, USAGE: 400, UNKNOWN_DETECTOR: 400, UNKNOWN_RECOGNIZER: 400, IMAGE_TOO_LARGE: 413,
      FORBIDDEN: 403, NOT_FOUND: 404, CONFLICT: 409, DB_UNREACHABLE: 503, DB_TOO_NEW: 503, READ_ONLY: 503, QUEUE_FULL: 503,
      MODEL_UNAVAILABLE: 503, TASK_TIMEOUT: 504, INTERNAL: 500,
    };
    for (const [code, status] of Object.entries(expected)) assert.equal(httpStatusOf(code), status, code);
    assert.equal(httpStatusOf('NO_SUCH_CODE'), 500);
    assert.equal(httpStatusOf('toString'), 500);
    assert.equal(httpStatusOf(undefined), 500);
  });

  it('every code lib, nodes and cli raise is in the table', () => {
    const raised = new Set<string>();
    for (const dir of ['lib', 'nodes', 'cli']) {
      for (const file of sourcesIn(path.join(repoRoot, dir))) {
        // Thrown, or written straight into an answer's `{error: {code, message}}`.
        for (const m of fs.readFileSync(file, 'utf8').matchAll(/new PorchlightError\('([A-Z_]+)'|error: \{ code: '([A-Z_]+)'/g)) raised.add(m[1] ?? m[2]);
      }
    }
    assert.ok(raised.size > 10, [...raised].join(', '));
    assert.deepEqual([...raised].filter((code) => !ERROR_CODES.includes(code as never)), []);
  });

  it('a bad setting is BAD_CONFIG (a 400, no longer a 500)', () => {
    assert.throws(() => yunetFactory.validateConfig({ inputSize: 33 }), (err) => isPorchlightError(err, 'BAD_CONFIG') && /multiple of 32, got 33/.test(err.message));
    assert.throws(() => new FrameRing({ maxFrames: 0, maxBytes: 1 }), (err) => isPorchlightError(err, 'BAD_CONFIG'));
    assert.equal(httpStatusOf(toWireError(new PorchlightError('BAD_CONFIG', 'x')).code), 400);
  });

  it('an unknown recognizer is UNKNOWN_RECOGNIZER, not UNKNOWN_DETECTOR', async () => {
    await assert.rejects(createEmbedder('no-such-recognizer'), (err) => isPorchlightError(err, 'UNKNOWN_RECOGNIZER') && /unknown recognizer "no-such-recognizer"/.test(err.message));
  });

  it("SQLite's refusal to write is READ_ONLY, with the file and the SQLite error as its cause", () => {
    const refusal = Object.assign(new Error('attempt to write a readonly database'), { code: 'SQLITE_READONLY' });
    const explained = explainReadOnly(refusal, '/var/porchlight.db');
    assert.ok(isPorchlightError(explained, 'READ_ONLY'));
    assert.equal(explained.message, 'read-only database: /var/porchlight.db (attempt to write a readonly database): give Node-RED write access to the file');
    assert.equal(explained.cause, refusal);
    const other = Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR' });
    assert.equal(explainReadOnly(other, '/var/porchlight.db'), other);
  });

  it("the CLI's errors are PorchlightErrors: USAGE exits 2, BAD_INPUT exits 1", async () => {
    const said: string[] = [];
    const io = { out: (l: string) => said.push(l), err: (l: string) => said.push(l) };
    assert.equal(await main(['detect', '--threads', 'many'], io), USAGE_ERROR);
    assert.equal(await main(['no-such-command'], io), USAGE_ERROR);
    assert.equal(await main(['enroll', '--db', path.join(repoRoot, 'no-such.db'), path.join(repoRoot, 'no-such-folder')], io), 1);
    assert.match(said.join('\n'), /porchlight: no such folder: .*no-such-folder/);
    assert.match(said.join('\n'), /porchlight: --threads must be a non-negative number, got "many"/);
    assert.match(said.join('\n'), /porchlight: unknown command "no-such-command"/);
  });
});
