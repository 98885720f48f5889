import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, SCHEMA_VERSION, openSqliteStore, runMigrations, type Migration, type NewFace, type SqliteFaceStore, type StoreChange } from '../lib/store';
import { isPorchlightError } from '../lib/errors';
import { acquireSharedStore } from '../lib/store/shared';
import { exportFaces, exportFacesToFolder, importFaces, readExportFolder } from '../lib/store/transfer';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'porchlight-store-'));
}

function randomFace(dim = 128, extra: Partial<NewFace> = {}): NewFace {
  const embedding = new Float32Array(dim);
  for (let i = 0; i < dim; i++) embedding[i] = Math.random() - 0.5;
  return { model: 'faceapi-resnet128', embedding, quality: 0.8, crop: Buffer.from([0xff, 0xd8, ...Buffer.from(`crop-${Math.random()}`), 0xff, 0xd9]), source: 'test', ...extra };
}

async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err) => isPorchlightError(err) && err.code === code);
}

describe('SQLite face store', () => {
  let dir: string;
  let file: string;
  let store: SqliteFaceStore;

  beforeEach(() => {
    dir = tempDir();
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
    assert.throws(() => runMigrations(db, steps.slice(0, 1)), /newer than this Porchlight/);
    db.close();
    assert.ok(MIGRATIONS.length >= 1 && MIGRATIONS[0].version === 1);
  });

  it('enrolls, lists and reads people and faces, and keeps everything across a reopen', async () => {
    const face = randomFace();
    const result = await store.enroll('  Alice  ', [face, randomFace()], { list: 'known', notes: 'neighbour' });
    assert.equal(result.created, true);
    assert.equal(result.person.name, 'Alice');
    assert.equal(result.person.faceCount, 2);
    const again = await store.enroll('alice', [randomFace()]);
    assert.equal(again.created, false, 'names match case-insensitively');
    assert.equal(again.person.faceCount, 3);
    await store.enroll('Mallory', [randomFace()], { list: 'blacklist' });
    await store.close();

    store = openSqliteStore(file);
    const people = await store.listPeople();
    assert.deepEqual(people.map((p) => [p.name, p.list, p.faceCount]), [['Alice', 'known', 3], ['Mallory', 'blacklist', 1]]);
    assert.equal(people[0].notes, 'neighbour');
    const stored = await store.getFace(result.faceIds[0]);
    assert.ok(stored);
    assert.deepEqual(stored.embedding, face.embedding);
    assert.deepEqual(stored.crop, Buffer.from(face.crop!));
    assert.equal(stored.dim, 128);
    assert.equal(stored.model, 'faceapi-resnet128');
    assert.deepEqual(await store.models(), [{ model: 'faceapi-resnet128', dim: 128, faces: 4 }]);
  });

  it('renames, moves and refuses conflicts, emitting a change for each', async () => {
    const changes: StoreChange[] = [];
    store.onChange((c) => changes.push(c));
    const { person } = await store.enroll('Bob', [randomFace()]);
    await store.enroll('Carol', [randomFace()]);
    const renamed = await store.updatePerson(person.id, { name: 'Robert' });
    assert.equal(renamed.name, 'Robert');
    const moved = await store.updatePerson('robert', { list: 'blacklist' });
    assert.equal(moved.list, 'blacklist');
    await rejectsWith(store.updatePerson('Robert', { name: 'carol' }), 'CONFLICT');
    await rejectsWith(store.updatePerson('Nobody', { name: 'x' }), 'NOT_FOUND');
    await rejectsWith(store.enroll('Robert', [randomFace()], { list: 'known' }), 'CONFLICT');
    await rejectsWith(store.updatePerson('Robert', { list: 'friends' as never }), 'BAD_INPUT');
    assert.deepEqual(changes.map((c) => c.type), ['faces-added', 'faces-added', 'person-updated', 'person-updated']);
  });

  it('validates names: trimmed, 1..100 characters, and an embedding of finite numbers', async () => {
    await rejectsWith(store.enroll('   ', [randomFace()]), 'BAD_INPUT');
    await rejectsWith(store.enroll('x'.repeat(101), [randomFace()]), 'BAD_INPUT');
    await rejectsWith(store.enroll('ok', []), 'BAD_INPUT');
    await rejectsWith(store.enroll('ok', [{ model: 'm', embedding: [1, NaN] }]), 'BAD_INPUT');
    await store.enroll('dims', [{ model: 'm', embedding: [1, 2] }]);
    await rejectsWith(store.enroll('dims', [{ model: 'm', embedding: [1, 2, 3] }]), 'BAD_INPUT');
    await rejectsWith(store.enroll('mixed', [{ model: 'n', embedding: [1, 2] }, { model: 'n', embedding: [1, 2, 3] }]), 'BAD_INPUT');
    assert.equal(await store.getPerson('mixed'), undefined, 'the whole enrollment rolled back');
    await store.forget('dims');
    const longest = '🙂'.repeat(100);
    assert.equal((await store.enroll(longest, [randomFace()])).person.name, longest);
    assert.deepEqual(await store.listPeople().then((p) => p.length), 1);
  });

  it('stores path-, SQL- and HTML-looking names as plain data', async () => {
    const names = ['../../etc/passwd', "Robert'); DROP TABLE people;--", '<img src=x onerror=alert(1)>', 'C:\\Windows\\system32', 'name/with/slashes', '%s %n ${x}'];
    for (const name of names) await store.enroll(name, [randomFace()]);
    const stored = (await store.listPeople()).map((p) => p.name).sort();
    assert.deepEqual(stored, [...names].sort());
    for (const name of names) assert.equal((await store.getPerson(name))?.name, name);
    assert.deepEqual(fs.readdirSync(path.dirname(file)).sort().filter((f) => !f.startsWith('porchlight.db')), [], 'no files named after people');
  });

  it('forget removes the person, every face and crop, and leaves no trace of them in the file', async () => {
    const secret = Buffer.from(`unique-crop-bytes-${Date.now()}-${'q'.repeat(64)}`);
    const { person, faceIds } = await store.enroll('Dave', [randomFace(128, { crop: secret }), randomFace()]);
    await store.enroll('Erin', [randomFace()]);
    const changes: StoreChange[] = [];
    store.onChange((c) => changes.push(c));
    const { facesRemoved } = await store.forget('Dave');
    assert.equal(facesRemoved, 2);
    assert.equal(await store.getPerson(person.id), undefined);
    for (const id of faceIds) assert.equal(await store.getFace(id), undefined);
    assert.equal(store.db.prepare('SELECT count(*) FROM faces WHERE person_id = ?').pluck().get(person.id), 0);
    assert.deepEqual(changes, [{ type: 'person-removed', personId: person.id, faceIds }]);
    // Read while the store is still open: no copy in the file or in its write-ahead log.
    for (const part of [file, `${file}-wal`]) {
      const bytes = fs.existsSync(part) ? fs.readFileSync(part) : Buffer.alloc(0);
      assert.equal(bytes.indexOf(secret), -1, `the crop is overwritten in ${path.basename(part)}, not just unlinked`);
      assert.equal(bytes.indexOf(Buffer.from('Dave')), -1);
    }
    await store.close();
    store = openSqliteStore(file);
    assert.deepEqual((await store.listPeople()).map((p) => p.name), ['Erin']);
  });

  it('removes a single face and pages through embeddings', async () => {
    const { faceIds } = await store.enroll('Frank', [randomFace(), randomFace(), randomFace()]);
    await store.enroll('Gina', [randomFace(512, { model: 'arcface-512' })]);
    await store.removeFace(faceIds[1]);
    await rejectsWith(store.removeFace(faceIds[1]), 'NOT_FOUND');
    const pages: number[][] = [];
    for await (const page of store.embeddings(undefined, 2)) pages.push(page.map((r) => r.faceId));
    assert.deepEqual(pages.flat().length, 3);
    assert.deepEqual(pages.map((p) => p.length), [2, 1]);
    const arcface: number[] = [];
    for await (const page of store.embeddings('arcface-512')) arcface.push(...page.map((r) => r.embedding.length));
    assert.deepEqual(arcface, [512]);
  });

  it('backs up online to a file that opens with the same content', async () => {
    await store.enroll('Hank', [randomFace(), randomFace()]);
    const copy = path.join(dir, 'backups', 'copy.db');
    await store.backup(copy);
    const restored = openSqliteStore(copy);
    try {
      assert.deepEqual((await restored.listPeople()).map((p) => [p.name, p.faceCount]), [['Hank', 2]]);
    } finally {
      await restored.close();
    }
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

  it('exports and imports inline and through a folder, and refuses crop paths outside the export folder', async () => {
    await store.enroll('Judy', [randomFace(), randomFace(512, { model: 'arcface-512', crop: null })], { notes: 'n' });
    await store.enroll('Karl', [randomFace()], { list: 'blacklist' });
    const { data, report } = await exportFaces(store);
    assert.deepEqual(report, { people: 2, faces: 3 });
    const other = openSqliteStore(path.join(dir, 'other.db'));
    try {
      assert.deepEqual(await importFaces(other, JSON.parse(JSON.stringify(data))), { people: 2, faces: 3, skipped: 0 });
      assert.deepEqual(await importFaces(other, data), { people: 0, faces: 0, skipped: 3 });
      assert.deepEqual((await other.listPeople()).map((p) => [p.name, p.list, p.notes, p.faceCount]), [['Judy', 'known', 'n', 2], ['Karl', 'blacklist', '', 1]]);
      await rejectsWith(importFaces(other, { format: 'something-else', people: [] }), 'BAD_INPUT');
      await rejectsWith(importFaces(other, { ...data, version: 99 }), 'BAD_INPUT');
    } finally {
      await other.close();
    }

    const folder = path.join(dir, 'export');
    assert.deepEqual(await exportFacesToFolder(store, folder), { people: 2, faces: 3 });
    assert.ok(!fs.existsSync(path.join(folder, 'faces.json.partial')));
    const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'faces.json'), 'utf8'));
    assert.deepEqual(fs.readdirSync(path.join(folder, 'crops')).sort(), ['1.jpg', '3.jpg']);
    const fromFolder = await readExportFolder(folder);
    assert.equal(fromFolder.people[0].faces[0].crop, data.people[0].faces[0].crop);
    assert.equal(fromFolder.people[1].faces[0].embedding, data.people[1].faces[0].embedding);
    manifest.people[0].faces[0].cropFile = '../../../etc/passwd';
    fs.writeFileSync(path.join(folder, 'faces.json'), JSON.stringify(manifest));
    await rejectsWith(readExportFolder(folder), 'BAD_INPUT');
  });
});
