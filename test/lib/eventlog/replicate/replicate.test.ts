import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { EventLog } from '../../../../lib/eventlog/event-log';
import { EventOutbox, EventReplicator, PgEventLog } from '../../../../lib/eventlog/replicate';
import { newEventId } from '../../../../lib/events/event-id';
import { openSqliteStore } from '../../../../lib/store';
import { openPgPool } from '../../../../lib/store/postgres/connection';
import { runPgMigrations } from '../../../../lib/store/postgres/migrations';
import { lfwImage } from '../../../support/paths';
import { createTestDatabase, requirePostgres, type TestDatabase } from '../../../support/postgres';
import { closeDoor, openDoor, type Door } from '../../../support/door';
import { TcpProxy } from '../../../support/tcp-proxy';
import { tempDir } from '../../../support/temp';
import { waitUntil } from '../../../support/wait';

/** Where the face sits in LFW's deep-funneled 250x250 images. */
const LFW_FACE = { x: 75, y: 70, width: 100, height: 120 };
const people = ['Aaron_Eckhart', 'Aaron_Sorkin', 'Laura_Bush'];

/** A visit with a frame (a real LFW photo: snapshot and crop) and the verdict; returns the event id. */
async function visit(door: Pick<Door, 'log'>, i: number, startedAt = Date.now()): Promise<string> {
  const person = people[i % people.length];
  const event = { id: newEventId(startedAt), trigger: 'doorbell', startedAt, source: { node: 'test' } };
  const known = i % 2 === 0;
  const match = known ? { personId: String(i % 3 + 1), name: person, list: 'known', distance: 0.35, confidence: 0.9 } : null;
  const faces = [{ box: LFW_FACE, score: 0.98, quality: 0.8, match, status: known ? 'known' : 'unknown' }];
  await door.log.record({ event, payload: fs.readFileSync(lfwImage(person, 1)), frame: { seq: 0 }, faces });
  await door.log.record({ event, faces, verdict: { status: known ? 'known' : 'unknown', people: match ? [match] : [], framesSeen: 1, latencyMs: 120 } });
  return event.id;
}

/** Runs `work` with a cuttable loopback proxy in front of the test database. */
async function throughProxy(database: TestDatabase, work: (proxy: TcpProxy) => Promise<void>): Promise<void> {
  const proxy = await new TcpProxy(database.config.host, database.config.port ?? 5432).listen();
  try {
    await work(proxy);
  } finally {
    await proxy.close();
  }
}

const localIds = (door: Door) => (door.store.db.prepare('SELECT id FROM events ORDER BY id').all() as Array<{ id: string }>).map((r) => r.id);

describe('shared event log on PostgreSQL: doors replicate their SQLite logs (real PostgreSQL)', function () {
  this.timeout(120_000);
  requirePostgres();
  let database: TestDatabase;
  let admin: pg.Pool;
  let shared: PgEventLog;
  const doors: Door[] = [];

  before(async () => {
    database = await createTestDatabase('events');
    admin = openPgPool(database.config);
    await runPgMigrations(admin);
    shared = new PgEventLog(admin);
  });
  afterEach(async () => {
    for (const door of doors.splice(0)) await closeDoor(door);
    await admin.query('TRUNCATE events, event_people, event_faces, event_images');
  });
  after(async () => {
    await admin?.end();
    await database?.drop();
  });

  /** Rows per event id in the shared log (every count must be 1) and the faces per event. */
  async function sharedRows(): Promise<{ ids: string[]; duplicates: number; faces: Map<string, number> }> {
    const events = await admin.query<{ id: string; n: number }>('SELECT id, count(*)::int AS n FROM events GROUP BY id ORDER BY id');
    const faces = await admin.query<{ event_id: string; n: number }>('SELECT event_id, count(*)::int AS n FROM event_faces GROUP BY event_id');
    return {
      ids: events.rows.map((r) => r.id),
      duplicates: events.rows.filter((r) => r.n !== 1).length,
      faces: new Map(faces.rows.map((r) => [r.event_id, r.n])),
    };
  }

  it('two doors write into one log: every event, tagged by door, with faces, crops and pictures; filters by door', async () => {
    const front = await openDoor('front', database.config);
    const garage = await openDoor('garage', database.config);
    doors.push(front, garage);
    const base = Date.now() - 60_000;
    const frontIds = [];
    const garageIds = [];
    for (let i = 0; i < 6; i++) {
      frontIds.push(await visit(front, i, base + i * 1000));
      garageIds.push(await visit(garage, i + 1, base + i * 1000 + 500));
    }
    await Promise.all([front.replicator.flush(), garage.replicator.flush()]);

    const all = await shared.query({ limit: 100 });
    assert.equal(all.total, 12);
    assert.deepEqual(await shared.query({ limit: 0 }), { events: [], total: 12 }, 'limit 0: the count alone');
    assert.deepEqual(all.events.map((e) => e.id).sort(), [...frontIds, ...garageIds].sort());
    assert.deepEqual((await shared.query({ door: 'front' })).events.map((e) => e.id).sort(), [...frontIds].sort());
    assert.deepEqual((await shared.query({ door: 'garage', verdict: 'known' })).events.map((e) => e.door), ['garage', 'garage', 'garage']);
    // Aaron Eckhart (i = 0, 3; known when i is even) at the front door: i = 0 only.
    assert.deepEqual((await shared.query({ door: 'front', person: 'aaron_eckhart' })).events.map((e) => e.id), [frontIds[0]]);

    // One event in full, compared with the door's own log.
    const local = front.log.get(frontIds[0])!;
    const remote = (await shared.get(frontIds[0]))!;
    assert.deepEqual({ ...remote, faces: remote.faces.map((f) => ({ ...f, id: 0 })) }, { ...local, faces: local.faces.map((f) => ({ ...f, id: 0 })) });
    assert.equal(remote.door, 'front');
    assert.ok(remote.hasSnapshot);
    assert.deepEqual(await shared.image(frontIds[0], 'snapshot'), await front.log.snapshots.read(frontIds[0], 'snapshot'));
    assert.deepEqual(await shared.image(frontIds[0], 'thumbnail'), await front.log.snapshots.read(frontIds[0], 'thumbnail'));
    assert.deepEqual(await shared.faceCrop(frontIds[0], remote.faces[0].id), front.log.repository.faceCrop(frontIds[0], local.faces[0].id));
    assert.equal(front.replicator.stats().state, 'online');
    assert.equal(front.replicator.stats().backlog, 0);
  });

  it('changes and deletions follow: a later error, a removed snapshot, a deleted event; replaying them duplicates nothing', async () => {
    const front = await openDoor('front', database.config);
    doors.push(front);
    const ids = [];
    for (let i = 0; i < 4; i++) ids.push(await visit(front, i));
    await front.replicator.flush();

    await front.log.record({ event: { id: ids[0], trigger: 'doorbell', startedAt: 0, source: {} }, error: { message: 'notification failed' } });
    front.log.repository.clearSnapshot(ids[1]);
    // A NUL in a face's name: SQLite keeps it, PostgreSQL text cannot hold one (it would block the outbox for good).
    front.store.db.prepare("UPDATE event_faces SET name = 'Al' || char(0) || 'ice' WHERE event_id = ?").run(ids[3]);
    front.log.repository.clearSnapshot(ids[3]);
    await front.log.delete(ids[2]);
    await front.replicator.flush();

    assert.match((await shared.get(ids[0]))!.errorMessage ?? '', /notification failed/);
    assert.equal((await shared.get(ids[0]))!.verdict, 'known', 'an error after the verdict leaves the verdict standing, there as here');
    assert.equal((await shared.get(ids[1]))!.hasSnapshot, false);
    assert.equal(await shared.image(ids[1], 'snapshot'), undefined);
    assert.equal(await shared.get(ids[2]), undefined);
    assert.equal((await shared.get(ids[3]))!.faces[0].name, 'Alice');

    // A person forgotten: their crops and the pictures of their events leave the shared log directly.
    const aaron = (await shared.get(ids[0]))!;
    assert.ok(aaron.hasSnapshot && aaron.faces[0].hasCrop && aaron.faces[0].personId === '1');
    assert.deepEqual(await shared.forgetPerson('1'), { cropsDropped: 1, snapshotsRemoved: 1, namesRedacted: 1 });
    const forgotten = (await shared.get(ids[0]))!;
    assert.deepEqual([forgotten.people.map((p) => p.name), forgotten.faces[0].name], [['(forgotten #1)'], '(forgotten #1)'], 'their name is gone from the shared log');
    assert.equal((await shared.query({ person: 'Aaron Eckhart' })).total, 0);
    assert.equal(forgotten.hasSnapshot, false);
    assert.equal(forgotten.faces[0].hasCrop, false);
    assert.equal(await shared.image(ids[0], 'snapshot'), undefined);
    assert.equal((await shared.get(ids[3]))!.faces[0].hasCrop, true, 'other people keep theirs');

    // Every event queued again (as after a crash between the write and its acknowledgement): the same rows.
    front.store.db.prepare("INSERT OR REPLACE INTO event_outbox (event_id, queued_at) SELECT id, 0 FROM events").run();
    await front.replicator.flush();
    const rows = await sharedRows();
    assert.deepEqual(rows.ids, localIds(front));
    assert.equal(rows.duplicates, 0);
    assert.deepEqual([...rows.faces.values()], [1, 1, 1]);
  });

  it('an event the shared log refuses for itself (a value out of its range) is set aside; the others of its batch and later ones go on', async () => {
    const front = await openDoor('front', database.config);
    doors.push(front);
    const rejected: string[] = [];
    front.replicator.on('rejected', (id: string, err: Error) => rejected.push(`${id}: ${err.message}`));
    await front.replicator.stop(); // fill the outbox first, so the bad event travels in a batch with others
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await visit(front, i));
    front.store.db.prepare('UPDATE events SET frames_seen = 1e12 WHERE id = ?').run(ids[2]); // SQLite holds it; PostgreSQL's integer does not
    const replicator = new EventReplicator(new EventOutbox(front.log.repository, front.log.snapshots), shared);
    replicator.on('rejected', (id: string, err: Error) => rejected.push(`${id}: ${err.message}`));
    await replicator.flush();
    assert.deepEqual((await sharedRows()).ids, ids.filter((id) => id !== ids[2]).sort());
    assert.equal(rejected.length, 1);
    assert.match(rejected[0], new RegExp(`^${ids[2]}: .*out of range`));
    assert.equal(replicator.stats().rejected, 1);
    assert.equal(replicator.stats().backlog, 0);
    await visit(front, 5);
    await replicator.flush();
    assert.equal((await sharedRows()).ids.length, 5);
  });

  it('the database unreachable during events: they are kept on disk, the state says offline, and all arrive once it is back, once each', async () => {
    await throughProxy(database, async (proxy) => {
      const front = await openDoor('front', database.config, { port: proxy.port });
      const garage = await openDoor('garage', database.config);
      doors.push(front, garage);
      for (let i = 0; i < 3; i++) await visit(front, i);
      await front.replicator.flush();

      proxy.cut();
      const states: string[] = [];
      front.replicator.on('state', (s) => states.push(s.state));
      for (let i = 0; i < 20; i++) {
        await visit(front, i);
        await visit(garage, i); // the other door, still connected, carries on
      }
      await waitUntil(() => front.replicator.stats().state === 'offline', { timeout: 20_000, message: 'the front door to go offline' });
      assert.equal(front.replicator.stats().backlog, 20);
      assert.match(front.replicator.stats().lastError ?? '', /./);
      assert.equal(localIds(front).length, 23, 'every event is in the door\'s own log meanwhile');
      await garage.replicator.flush();
      assert.equal((await shared.query({ door: 'front' })).total, 3);
      assert.equal((await shared.query({ door: 'garage' })).total, 20);

      proxy.restore();
      await waitUntil(() => front.replicator.stats().backlog === 0 && front.replicator.stats().state === 'online', { timeout: 20_000, message: 'the backlog to drain' });
      assert.deepEqual(states.slice(-1), ['online']);
      const rows = await sharedRows();
      assert.equal(rows.duplicates, 0);
      assert.deepEqual(rows.ids, [...localIds(front), ...localIds(garage)].sort());
      assert.ok([...rows.faces.values()].every((n) => n === 1));
    });
  });

  it('the link cut in the middle of draining a 300-event backlog: the batch in flight is rolled back and sent again, nothing lost or doubled', async () => {
    await throughProxy(database, async (proxy) => {
      proxy.cut();
      const front = await openDoor('front', database.config, { port: proxy.port, batchSize: 20 });
      doors.push(front);
      for (let i = 0; i < 300; i++) await visit(front, i, Date.now() - 300_000 + i);
      assert.equal(front.replicator.stats().backlog, 300);

      proxy.restore();
      await waitUntil(() => front.replicator.stats().replicated >= 60, { timeout: 20_000, message: 'some batches to go through' });
      proxy.cut();
      await waitUntil(() => front.replicator.stats().state === 'offline', { timeout: 20_000, message: 'the cut to be noticed' });
      const halfway = front.replicator.stats().backlog;
      assert.ok(halfway > 0 && halfway < 300, `some of the backlog is left (${halfway})`);
      proxy.restore();
      await waitUntil(() => front.replicator.stats().backlog === 0 && front.replicator.stats().state === 'online', { timeout: 20_000, message: 'the rest to drain' });
      const rows = await sharedRows();
      assert.equal(rows.duplicates, 0);
      assert.deepEqual(rows.ids, localIds(front));
      assert.equal(rows.faces.size, 300);
      assert.ok([...rows.faces.values()].every((n) => n === 1));
    });
  });

  it('the backlog is bounded: beyond it the oldest events are kept and the newest counted as overflowed (still in the door\'s own log)', async () => {
    await throughProxy(database, async (proxy) => {
      proxy.cut();
      const front = await openDoor('front', database.config, { port: proxy.port, maxBacklog: 10 });
      doors.push(front);
      const ids = [];
      for (let i = 0; i < 15; i++) ids.push(await visit(front, i, Date.now() - 60_000 + i * 100));
      await waitUntil(() => front.replicator.stats().overflowed === 5, { timeout: 20_000, message: 'the overflow to be trimmed' });
      assert.equal(front.replicator.stats().backlog, 10);
      proxy.restore();
      await waitUntil(() => front.replicator.stats().backlog === 0 && front.replicator.stats().state === 'online', { timeout: 20_000, message: 'the backlog to drain' });
      assert.deepEqual((await sharedRows()).ids, ids.slice(0, 10));
      assert.equal(localIds(front).length, 15);
    });
  });

  it('a door that joins later brings its history; a house on SQLite alone keeps no outbox', async () => {
    const dir = tempDir('porchlight-door-history-');
    const store = openSqliteStore(path.join(dir, 'porchlight.db'));
    try {
      const log = new EventLog({ db: store.db, snapshotDir: path.join(dir, 'snapshots'), door: 'back' });
      const ids = [await visit({ log }, 0), await visit({ log }, 1)];
      assert.equal((store.db.prepare('SELECT count(*) AS n FROM event_outbox').get() as { n: number }).n, 0);

      const outbox = new EventOutbox(log.repository, log.snapshots);
      const replicator = new EventReplicator(outbox, shared);
      replicator.start();
      await replicator.flush();
      await replicator.stop();
      assert.deepEqual((await shared.query({ door: 'back' })).events.map((e) => e.id).sort(), ids.sort());
    } finally {
      await store.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
