import assert from 'node:assert/strict';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import type pg from 'pg';
import sinon from 'sinon';
import { EventLog } from '../../../../lib/eventlog/event-log';
import { EventOutbox, EventReplicator, PgEventLog, REPLICATION_BREAKER } from '../../../../lib/eventlog/replicate';
import { newEventId } from '../../../../lib/events/event-id';
import { metricsText } from '../../../../lib/metrics';
import { healthReport } from '../../../../lib/metrics/health';
import { Backoff } from '../../../../lib/process/backoff';
import { trackedBreakers } from '../../../../lib/process/circuit-breaker';
import type { SqliteStore } from '../../../../lib/store';
import { openPgPool } from '../../../../lib/store/postgres/connection';
import { runPgMigrations } from '../../../../lib/store/postgres/migrations';
import { createTestDatabase, requirePostgres, type TestDatabase } from '../../../support/postgres';
import { TcpProxy } from '../../../support/tcp-proxy';
import { waitUntil } from '../../../support/wait';
import { scratchStore } from '../../../support/scratch-store';

/** Real turns for I/O in flight (a connection attempt) to show up if there is one. */
async function settle(ms = 300): Promise<void> {
  const end = performance.now() + ms;
  while (performance.now() < end) await new Promise((resolve) => setImmediate(resolve));
}

describe('circuit breaker around the shared PostgreSQL log (real PostgreSQL behind a cuttable proxy, fake clock)', function () {
  this.timeout(120_000);
  requirePostgres();
  let database: TestDatabase;
  let admin: pg.Pool;
  let dir: string;
  let store: SqliteStore;
  let proxy: TcpProxy;
  let pool: pg.Pool;
  let replicator: EventReplicator | undefined;

  before(async () => {
    database = await createTestDatabase('breaker');
    admin = openPgPool(database.config);
    await runPgMigrations(admin);
  });
  beforeEach(async () => {
    ({ dir, store } = scratchStore('porchlight-breaker-'));
    proxy = await new TcpProxy(database.config.host, database.config.port ?? 5432).listen();
    pool = openPgPool({ ...database.config, port: proxy.port, connectTimeoutMs: 1_000 });
  });
  afterEach(async () => {
    sinon.restore();
    await replicator?.stop();
    replicator = undefined;
    await pool.end();
    await proxy.close();
    await store.close();
    await admin.query('TRUNCATE events, event_people, event_faces, event_images');
  });
  after(async () => {
    await admin?.end();
    await database?.drop();
  });

  it('defaults: 5 failures within 60 s open it for 60 s', () => {
    assert.deepEqual(REPLICATION_BREAKER, { failures: 5, windowMs: 60_000, coolOffMs: 60_000 });
  });

  it('opens after 3 failed writes, tries nothing during the cool-off (events wait in the outbox), reopens on a failed trial, closes on a good one: every event arrives once', async () => {
    const clock = sinon.useFakeTimers({ now: 20_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'], shouldClearNativeTimers: true });
    const log = new EventLog({ db: store.db, snapshotDir: path.join(dir, 'snapshots'), door: 'front' });
    const outbox = new EventOutbox(log.repository, log.snapshots);
    replicator = new EventReplicator(outbox, new PgEventLog(pool), {
      pollMs: 100,
      backoff: new Backoff(100, 100),
      breaker: { failures: 3, windowMs: 10_000, coolOffMs: 30_000 },
      name: 'shared log test',
    });
    const r = replicator;
    log.on('recorded', () => r.nudge());
    const ids: string[] = [];
    const press = async () => {
      const event = { id: newEventId(Date.now() + ids.length), trigger: 'doorbell', startedAt: Date.now(), source: { node: 'test' } };
      ids.push(event.id);
      await log.record({ event, verdict: { status: 'unknown', people: [], framesSeen: 1, latencyMs: 100 } });
    };
    const failures = () => r.stats().circuit!.recentFailures;

    r.start();
    await press();
    await waitUntil(() => r.stats().state === 'online' && r.stats().backlog === 0, { timeout: 20_000, interval: 0, message: 'the first event replicated' });
    assert.equal(r.breaker!.state, 'closed');
    assert.equal(r.stats().paused, null);

    proxy.cut();
    await press();
    await press();
    await waitUntil(() => failures() === 1, { timeout: 20_000, interval: 0, message: 'the first failed write' });
    assert.equal(r.stats().state, 'offline');
    await clock.tickAsync(100);
    await waitUntil(() => failures() === 2, { timeout: 20_000, interval: 0, message: 'the second' });
    await clock.tickAsync(100);
    await waitUntil(() => r.breaker!.state === 'open', { timeout: 20_000, interval: 0, message: 'the breaker to open at the third' });
    const opened = r.stats();
    assert.equal(opened.state, 'offline');
    assert.equal(opened.paused, 'shared log test paused after 3 failures; next try in 30 s');
    assert.equal(opened.backlog, 2, 'the events wait in the outbox');
    assert.match(opened.lastError ?? '', /./);
    const health = (await healthReport()).components['circuit:shared log test'];
    assert.equal(health.ok, false);
    assert.match(String(health.detail), /^open after 3 failures within 10 s: next try in 30 s/);
    assert.match(await metricsText(), /^porchlight_circuit_state\{breaker="shared log test"\} 2$/m);

    // The cool-off: events keep coming (kept locally), no connection is attempted.
    const attempts = proxy.attempts;
    for (let s = 0; s < 29; s++) {
      if (s % 10 === 0) await press();
      await clock.tickAsync(1_000);
    }
    await settle();
    assert.equal(proxy.attempts, attempts, 'a connection was attempted during the cool-off');
    assert.equal(r.stats().backlog, 5);
    assert.equal((store.db.prepare('SELECT count(*) AS n FROM events').get() as { n: number }).n, 6, 'every event is in the door\'s own log');
    assert.match(r.stats().paused ?? '', /^shared log test paused after 3 failures; next try in 1 s$/);

    // The trial, still down: one attempt, opened again for a full cool-off.
    await clock.tickAsync(1_000);
    await waitUntil(() => r.stats().circuit!.opened === 2, { timeout: 20_000, interval: 0, message: 'the failed trial to reopen it' });
    await settle();
    assert.ok(proxy.attempts > attempts, 'no trial');
    assert.equal(r.breaker!.state, 'open');
    assert.equal(r.stats().paused, 'shared log test paused after 3 failures; next try in 30 s');
    const afterTrial = proxy.attempts;
    await clock.tickAsync(29_000);
    await settle();
    assert.equal(proxy.attempts, afterTrial, 'tried again before the cool-off ended');

    // The database is back: the next trial closes it and the backlog drains.
    proxy.restore();
    await clock.tickAsync(1_000);
    await waitUntil(() => r.stats().state === 'online' && r.stats().backlog === 0, { timeout: 20_000, interval: 0, message: 'the backlog to drain after the trial' });
    assert.equal(r.breaker!.state, 'closed');
    assert.equal(r.stats().paused, null);
    assert.match(await metricsText(), /^porchlight_circuit_state\{breaker="shared log test"\} 0$/m);
    assert.match(await metricsText(), /^porchlight_circuit_opened_total\{breaker="shared log test"\} 2$/m);
    const rows = await admin.query<{ id: string; n: number }>('SELECT id, count(*)::int AS n FROM events GROUP BY id ORDER BY id');
    assert.deepEqual(rows.rows.map((row) => row.id), [...ids].sort());
    assert.ok(rows.rows.every((row) => row.n === 1), 'an event written twice');

    await r.stop();
    assert.ok(!trackedBreakers().includes(r.breaker!), 'a stopped replicator\'s breaker is still listed');
  });

  it('a flush while the breaker is open is refused at once (CIRCUIT_OPEN), without connecting', async () => {
    sinon.useFakeTimers({ now: 30_000_000, toFake: ['setTimeout', 'clearTimeout', 'Date'], shouldClearNativeTimers: true });
    const log = new EventLog({ db: store.db, snapshotDir: path.join(dir, 'snapshots'), door: 'front' });
    replicator = new EventReplicator(new EventOutbox(log.repository, log.snapshots), new PgEventLog(pool), {
      backoff: new Backoff(60_000, 60_000),
      breaker: { failures: 1, coolOffMs: 30_000 },
      name: 'shared log flush test',
    });
    proxy.cut();
    const event = { id: newEventId(Date.now()), trigger: 'doorbell', startedAt: Date.now(), source: { node: 'test' } };
    await log.record({ event, verdict: { status: 'unknown', people: [], framesSeen: 1, latencyMs: 100 } });
    replicator.start();
    const r = replicator;
    await waitUntil(() => r.breaker!.state === 'open', { timeout: 20_000, interval: 0, message: 'the first failure to open it' });
    const attempts = proxy.attempts;
    await assert.rejects(r.flush(), (err: Error & { code?: string }) => err.code === 'CIRCUIT_OPEN' && /^shared log flush test paused after 1 failure; next try in 30 s \(last: .+\)$/.test(err.message));
    await settle();
    assert.equal(proxy.attempts, attempts);
    assert.equal(r.stats().backlog, 1);
  });
});
