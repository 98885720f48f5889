import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, SCHEMA_VERSION, openSqliteStore, runMigrations, type Migration, type SqliteStore } from '../../../lib/store';
import { isPorchlightError } from '../../../lib/errors';
import { acquireSharedStore } from '../../../lib/match/shared-store';
import { describeStoreContract, randomFace } from '../../support/store-contract';
import { tempDir } from '../../support/temp';

describeStoreContract('SQLite', async () => {
  const dir = tempDir('porchlight-store-');
  const file = path.join(dir, 'nested', 'porchlight.db');
  return {
    store: openSqliteStore(file),
    open: async () => openSqliteStore(file),
    openOther: async () => openSqliteStore(path.join(dir, 'other.db')),
    dispose: async () => fs.rmSync(dir, { recursive: true, force: true }),
  };
});

describe('SQLite face store: what only SQLite does', () => {
  let dir: string;
  let file: string;
  let store: SqliteStore;

  beforeEach(() => {
    dir = tempDir('porchlight-store-');
    file = path.join(dir, 'nested', 'porchlight.db');
    store = openSqliteStore(file);
  });

  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the schema from empty with WAL, NORMAL sync, foreign keys and the latest user_version', () => {
    assert.equal(store.db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(store.db.pragma('synchronous', { simple: true }), 1); // NORMAL
    assert.equal(store.db.pragma('foreign_keys', { simple: true }), 1);
    assert.equal(store.db.pragma('busy_timeout', { simple: true }), 5000);
    assert.equal(store.db.pragma('secure_delete', { simple: true }), 1);
    assert.equal(store.db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    const tables = store.db.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') ORDER BY name").pluck().all();
    for (const name of ['faces', 'people', 'face_list']) assert.ok(tables.includes(name), `${name} exists`);
  });

  it('runs only pending migrations, each in its own transaction, and refuses a newer DB', () => {
    const db = new Database(path.join(dir, 'm.db'));
    const ran: string[] = [];
    const step = (version: number, sql: string): Migration => ({ version, name: `step${version}`, up: (d) => { ran.push(`step${version}`); d.exec(sql); }, postgres: sql });
    const steps = [step(1, 'CREATE TABLE a (x integer)'), step(2, 'CREATE TABLE b (x integer)')];
    assert.deepEqual(runMigrations(db, steps.slice(0, 1)), [1]);
    assert.deepEqual(runMigrations(db, steps), [2]);
    assert.deepEqual(ran, ['step1', 'step2']);
    // A failing step leaves neither its tables nor its version behind.
    const failing: Migration = { version: 3, name: 'broken', up: (d) => { d.exec('CREATE TABLE c (x)'); throw new Error('boom'); }, postgres: 'SELECT 1' };
    assert.throws(() => runMigrations(db, [...steps, failing]), /boom/);
    assert.equal(db.pragma('user_version', { simple: true }), 2);
    assert.equal(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'c'").pluck().get(), 0);
    assert.throws(() => runMigrations(db, steps.slice(0, 1)), (err) => isPorchlightError(err, 'DB_TOO_NEW') && /newer than this Porchlight/.test(err.message));
    db.close();
    assert.ok(MIGRATIONS.length >= 1 && MIGRATIONS[0].version === 1);
  });

  it('forget leaves no trace of the person in the file or its write-ahead log', async () => {
    const secret = Buffer.from(`unique-crop-bytes-${Date.now()}-${'q'.repeat(64)}`);
    const { person } = await store.enroll('Dave', [randomFace(128, { crop: secret }), randomFace()]);
    await store.enroll('Erin', [randomFace()]);
    await store.forget('Dave');
    assert.equal(store.db.prepare('SELECT count(*) FROM faces WHERE person_id = ?').pluck().get(person.id), 0);
    // Read while the store is still open: no copy in the file or in its write-ahead log.
    for (const part of [file, `${file}-wal`]) {
      const bytes = fs.existsSync(part) ? fs.readFileSync(part) : Buffer.alloc(0);
      assert.equal(bytes.indexOf(secret), -1, `the crop is overwritten in ${path.basename(part)}, not just unlinked`);
      assert.equal(bytes.indexOf(Buffer.from('Dave')), -1);
    }
  });

  it('writes no files named after people', async () => {
    for (const name of ['../../etc/passwd', 'name/with/slashes']) await store.enroll(name, [randomFace()]);
    assert.deepEqual(fs.readdirSync(path.dirname(file)).sort().filter((f) => !f.startsWith('porchlight.db')), [], 'no files named after people');
  });

  it('shares one store and matcher per file between users and closes it with the last one', async () => {
    const shared = path.join(dir, 'shared.db');
    const [a, b] = await Promise.all([acquireSharedStore({ file: shared }), acquireSharedStore({ file: path.join(dir, '.', 'shared.db') })]);
    assert.equal(a.store, b.store);
    assert.equal(a.matcher, b.matcher);
    await a.matcherReady;
    await a.store.enroll('Ivy', [randomFace()]);
    assert.equal(b.matcher.size(), 1);
    await a.release();
    await a.release(); // twice is harmless
    assert.equal((await b.store.listPeople()).length, 1, 'still open for the other user');
    await b.release();
    await assert.rejects(b.store.listPeople(), /not open/);
    const c = await acquireSharedStore({ file: shared });
    await c.matcherReady;
    assert.notEqual(c.store, a.store, 'a new connection after the last release');
    assert.equal(c.matcher.size(), 1);
    await c.release();
  });
});
