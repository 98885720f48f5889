import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { EventLog, joinSharedLog, replicationUsers, type SharedLog } from '../../../../lib/eventlog';
import { newEventId } from '../../../../lib/events/event-id';
import { healthReport } from '../../../../lib/metrics';
import { openPostgresStore, openSqliteStore, type PostgresStore, type SqliteStore } from '../../../../lib/store';
import { lfwImage } from '../../../support/paths';
import { createTestDatabase, requirePostgres, type TestDatabase } from '../../../support/postgres';
import { tempDir } from '../../../support/temp';
import { waitUntil } from '../../../support/wait';

/** One finished visit (a real LFW photo and an unknown verdict) recorded in `log`; returns its id. */
async function visit(log: EventLog): Promise<string> {
  const event = { id: newEventId(Date.now()), trigger: 'doorbell', startedAt: Date.now(), source: { node: 'test' } };
  const faces = [{ box: { x: 75, y: 70, width: 100, height: 120 }, score: 0.98, quality: 0.8, match: null, status: 'unknown' }];
  await log.record({ event, payload: fs.readFileSync(lfwImage('Aaron_Eckhart', 1)), frame: { seq: 0 }, faces });
  await log.record({ event, faces, verdict: { status: 'unknown', people: [], framesSeen: 1, latencyMs: 100 } });
  return event.id;
}

async function replicationHealth(file: string): Promise<Record<string, unknown> | undefined> {
  return (await healthReport()).components[`event-replication:${file}`] as Record<string, unknown> | undefined;
}

describe('joinSharedLog: the one replication of a local file into the shared log, use-counted', function () {
  this.timeout(60_000);
  let dir: string;
  let local: SqliteStore;
  let file: string;
  const joined: SharedLog[] = [];

  beforeEach(() => {
    dir = tempDir('porchlight-shared-log-');
    file = path.join(dir, 'porchlight.db');
    local = openSqliteStore(file);
  });
  afterEach(async () => {
    for (const shared of joined.splice(0)) await shared.release();
    await local.close();
  });

  const logOf = (door = 'front') => new EventLog({ db: local.db, snapshotDir: path.join(dir, 'snapshots'), door });

  it('on SQLite alone: this door\'s own log, no replication, nothing left waiting in the outbox', async () => {
    const log = logOf();
    const shared = joinSharedLog(log, local);
    joined.push(shared);
    assert.equal(shared.replicator, undefined);
    assert.equal(replicationUsers(file), 0);
    const id = await visit(log);
    assert.equal((await shared.reader.get(id))?.status, 'completed');
    assert.equal((local.db.prepare('SELECT COUNT(*) AS n FROM event_outbox').get() as { n: number }).n, 0);
    await log.whenIdle();
  });

  describe('with PostgreSQL (real server)', () => {
    requirePostgres();
    let database: TestDatabase;
    let store: PostgresStore;

    before(async () => {
      database = await createTestDatabase('shared_log');
      store = await openPostgresStore(database.config);
    });
    after(async () => {
      await store?.close();
      await database?.drop();
    });

    it('two logs on one file share one replication; the last release stops it and its health entry', async () => {
      const front = logOf();
      const dashboard = logOf();
      const a = joinSharedLog(front, store, { maxBacklog: 500 });
      joined.push(a);
      const b = joinSharedLog(dashboard, store);
      joined.push(b);
      assert.ok(a.replicator);
      assert.equal(b.replicator, a.replicator, 'a second replicator would race on the one outbox');
      assert.equal(b.conflict, undefined, 'a log that leaves maxBacklog unset takes what is in use');
      assert.equal(replicationUsers(file), 2);
      assert.ok(await replicationHealth(file));

      // A verdict recorded by one log is nudged into PostgreSQL and read through the other's reader.
      const id = await visit(front);
      await waitUntil(async () => (await b.reader.get(id))?.status === 'completed', { timeout: 20_000, message: 'the verdict never reached the shared log' });

      await a.release();
      await a.release(); // once only
      assert.equal(replicationUsers(file), 1);
      assert.notEqual(a.replicator.stats().state, 'stopped');
      await b.release();
      assert.equal(replicationUsers(file), 0);
      assert.equal(a.replicator.stats().state, 'stopped');
      assert.equal(await replicationHealth(file), undefined);
      await Promise.all([front.whenIdle(), dashboard.whenIdle()]);
    });

    it('a log asking for another outbox bound shares the running replication and is told so', async () => {
      const first = joinSharedLog(logOf(), store, { maxBacklog: 500 });
      joined.push(first);
      const second = joinSharedLog(logOf(), store, { maxBacklog: 20 });
      joined.push(second);
      assert.equal(second.replicator, first.replicator);
      assert.match(second.conflict ?? '', /maxBacklog 20 \(in use: 500\)/);
    });

    it('a log on another file replicates on its own', async () => {
      const otherDir = tempDir('porchlight-shared-log-other-');
      const other = openSqliteStore(path.join(otherDir, 'porchlight.db'));
      try {
        const mine = joinSharedLog(logOf(), store);
        joined.push(mine);
        const theirs = joinSharedLog(new EventLog({ db: other.db, snapshotDir: path.join(otherDir, 'snapshots'), door: 'garage' }), store);
        assert.notEqual(theirs.replicator, mine.replicator);
        assert.equal(replicationUsers(other.db.name), 1);
        await theirs.release();
        assert.equal(replicationUsers(other.db.name), 0);
        assert.equal(replicationUsers(file), 1);
      } finally {
        await other.close();
      }
    });
  });
});
