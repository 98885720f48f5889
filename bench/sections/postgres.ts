/**
 * The face store on PostgreSQL: how long a door takes to load a
 * 100,000-embedding gallery at start-up (open the store, then the matcher
 * holds every embedding), against the same gallery in SQLite in the same
 * run; and how long a gallery change made by one instance takes to reach
 * another instance's matcher (LISTEN/NOTIFY, the listener reading the rows).
 * Needs PORCHLIGHT_TEST_PG_URL (a role that may create databases, as
 * `.ci/run` sets up); skipped without it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { attachMatcher } from '../../lib/match';
import { embeddingToBlob, openPostgresStore, openSqliteStore, type Store, type StoreChange } from '../../lib/store';
import { createTestDatabase } from '../../test/support/postgres';
import { latency, postgresSection, type Measurement } from '../types';

const MODEL = 'faceapi-resnet128';
const DIM = 128;
const FACES_PER_PERSON = 10;
const PAGE = 5000;

function randomEmbedding(): Float32Array {
  const v = new Float32Array(DIM);
  for (let i = 0; i < DIM; i++) v[i] = Math.random() - 0.5;
  return v;
}

/** Writes `people` people with FACES_PER_PERSON faces each, in pages; `write` inserts one page of each table. */
async function fillGallery(people: number, write: (persons: number[], faces: { personId: number; blob: Buffer }[]) => Promise<void>): Promise<void> {
  for (let first = 1; first <= people; first += PAGE / FACES_PER_PERSON) {
    const persons = Array.from({ length: Math.min(PAGE / FACES_PER_PERSON, people - first + 1) }, (_, i) => first + i);
    const faces = persons.flatMap((personId) => Array.from({ length: FACES_PER_PERSON }, () => ({ personId, blob: embeddingToBlob(randomEmbedding()) })));
    await write(persons, faces);
  }
}

/** Opens a store and waits for its matcher to hold the whole gallery: a door's start-up. */
async function timeLoad(open: () => Promise<Store>, expected: number): Promise<{ ms: number; store: Store; detach: () => void }> {
  const started = performance.now();
  const store = await open();
  const attached = attachMatcher(store);
  await attached.ready;
  const ms = performance.now() - started;
  if (attached.matcher.size() !== expected) throw new Error(`loaded ${attached.matcher.size()} of ${expected} embeddings`);
  return { ms, store, detach: () => attached.detach() };
}

const section = postgresSection('postgres', async ({ quick, log }) => {
  const embeddings = quick ? 10_000 : 100_000;
  const people = embeddings / FACES_PER_PERSON;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porchlight-bench-pg-'));
  const database = await createTestDatabase('bench_store');
  const results: Measurement[] = [];
  const opened: { store: Store; detach: () => void }[] = [];
  try {
    // The same gallery in both backends, written straight into the tables (enrollment speed is not measured here).
    const now = Date.now();
    const pgWriter = await openPostgresStore(database.config);
    await fillGallery(people, async (persons, faces) => {
      await pgWriter.pool.query('INSERT INTO people (id, name, list, notes, created_at, updated_at) SELECT id, \'person \' || id, \'known\', \'\', $2, $2 FROM unnest($1::int[]) AS id', [persons, now]);
      await pgWriter.pool.query(
        `INSERT INTO faces (person_id, model, embedding, dim, metadata, created_at)
         SELECT person_id, $3, embedding, ${DIM}, '{}', $4 FROM unnest($1::int[], $2::bytea[]) AS f(person_id, embedding)`,
        [faces.map((f) => f.personId), faces.map((f) => f.blob), MODEL, now],
      );
    });
    await pgWriter.pool.query("SELECT setval(pg_get_serial_sequence('people', 'id'), (SELECT max(id) FROM people))");
    await pgWriter.close();
    const sqliteFile = path.join(dir, 'gallery.db');
    const sqliteWriter = openSqliteStore(sqliteFile);
    const insertPerson = sqliteWriter.db.prepare("INSERT INTO people (id, name, list, notes, created_at, updated_at) VALUES (?, ?, 'known', '', ?, ?)");
    const insertFace = sqliteWriter.db.prepare(`INSERT INTO faces (person_id, model, embedding, dim, metadata, created_at) VALUES (?, '${MODEL}', ?, ${DIM}, '{}', ?)`);
    await fillGallery(people, async (persons, faces) => {
      sqliteWriter.db.transaction(() => {
        for (const id of persons) insertPerson.run(id, `person ${id}`, now, now);
        for (const f of faces) insertFace.run(f.personId, f.blob, now);
      })();
    });
    await sqliteWriter.close();
    log(`postgres: gallery of ${embeddings} embeddings (${people} people) written to both backends`);

    const sqlite = await timeLoad(async () => openSqliteStore(sqliteFile), embeddings);
    opened.push(sqlite);
    const pgLoad = await timeLoad(() => openPostgresStore(database.config), embeddings);
    opened.push(pgLoad);
    const label = `${embeddings / 1000}k`;
    results.push({ name: `start-up load, ${label} embeddings, PostgreSQL`, kind: 'value', value: Math.round(pgLoad.ms), unit: 'ms', note: 'open + migrations check + LISTEN + matcher loaded, keyset pages of 5,000' });
    results.push({ name: `start-up load, ${label} embeddings, SQLite (same run)`, kind: 'value', value: Math.round(sqlite.ms), unit: 'ms' });
    results.push({ name: 'start-up load PostgreSQL / SQLite', kind: 'value', value: Number((pgLoad.ms / sqlite.ms).toFixed(2)), unit: 'x' });

    // A second instance (this one's matcher already holds the gallery) makes changes; time until the first one's matcher has each.
    const writer = await openPostgresStore(database.config);
    opened.push({ store: writer, detach: () => undefined });
    const samples = { enroll: [] as number[], rename: [] as number[], forget: [] as number[] };
    const rounds = quick ? 20 : 100;
    for (let i = 0; i < rounds; i++) {
      const arrived = (type: StoreChange['type']) =>
        new Promise<number>((resolve) => {
          const off = pgLoad.store.onChange((change) => {
            if (change.type !== type) return;
            off();
            resolve(performance.now());
          });
        });
      let started = performance.now();
      let seen = arrived('faces-added');
      const { person } = await writer.enroll(`visitor ${i}`, [{ model: MODEL, embedding: randomEmbedding() }]);
      samples.enroll.push((await seen) - started);
      started = performance.now();
      seen = arrived('person-updated');
      await writer.updatePerson(person.id, { list: 'blacklist' });
      samples.rename.push((await seen) - started);
      started = performance.now();
      seen = arrived('person-removed');
      await writer.forget(person.id);
      samples.forget.push((await seen) - started);
      await new Promise((resolve) => setTimeout(resolve, 5 + Math.random() * 20));
    }
    const note = 'from the write call on one instance to the change applied in the other\'s matcher';
    results.push(latency('gallery change to the other instance: enroll (1 face)', samples.enroll, note));
    results.push(latency('gallery change to the other instance: move to blacklist', samples.rename, note));
    results.push(latency('gallery change to the other instance: forget', samples.forget, note));
    return results;
  } finally {
    for (const { store, detach } of opened) {
      detach();
      await store.close();
    }
    await database.drop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

export default section;
