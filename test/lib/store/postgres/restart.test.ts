import assert from 'node:assert/strict';
import fs from 'node:fs';
import type pg from 'pg';
import { isPorchlightError } from '../../../../lib/errors';
import { PgEventLog } from '../../../../lib/eventlog/replicate';
import { newEventId } from '../../../../lib/events/event-id';
import { attachMatcher } from '../../../../lib/match';
import { openPostgresStore, type StoreHealth } from '../../../../lib/store';
import { openPgPool } from '../../../../lib/store/postgres/connection';
import { runPgMigrations } from '../../../../lib/store/postgres/migrations';
import { closeDoor, openDoor } from '../../../support/door';
import { PgServer, requirePgServerBinaries } from '../../../support/pg-server';
import { lfwImage } from '../../../support/paths';
import { randomFace } from '../../../support/store-contract';
import { waitUntil } from '../../../support/wait';

/**
 * A "database stopped during events", for real: a private PostgreSQL
 * server (not the shared test cluster) is shut down with `pg_ctl stop -m fast`
 * and started again on the same port and data, while a door writes events
 * and two face stores follow one gallery.
 */

describe('PostgreSQL stopped and restarted for real (a private server, pg_ctl stop -m fast)', function () {
  this.timeout(60_000);
  requirePgServerBinaries();
  let server: PgServer;

  before(async () => {
    server = await PgServer.create();
  });
  after(async () => {
    await server?.destroy();
  });
  afterEach(async function () {
    // A test that failed with the server down leaves it down: the next one needs it.
    if (this.currentTest?.state === 'failed') console.log(server.log().split('\n').slice(-15).join('\n'));
    await server.start().catch(() => undefined);
  });

  it('events recorded while the server is down wait in the door\'s outbox and reach the shared log once after the restart', async () => {
    const admin: pg.Pool = openPgPool(server.config);
    await runPgMigrations(admin);
    const shared = new PgEventLog(admin);
    const door = openDoor('front', server.config);
    const { log, replicator } = door;
    const photo = fs.readFileSync(lfwImage('Laura_Bush', 1));
    let sequence = 0;
    /** One press: a frame with a face (snapshot and crop), then the verdict. */
    const press = async (): Promise<string> => {
      const event = { id: newEventId(Date.now()), trigger: 'doorbell', startedAt: Date.now(), source: { node: 'test' } };
      const faces = [{ box: { x: 75, y: 70, width: 100, height: 120 }, score: 0.98, quality: 0.8, match: null, status: 'unknown' }];
      await log.record({ event, payload: photo, frame: { seq: sequence++ }, faces });
      await log.record({ event, faces, verdict: { status: 'unknown', people: [], framesSeen: 1, latencyMs: 100 } });
      return event.id;
    };
    try {
      const before = [];
      for (let i = 0; i < 5; i++) before.push(await press());
      await replicator.flush();
      assert.equal((await shared.query({ limit: 100 })).total, 5);

      // Presses go on while the server shuts down (a batch may be in flight as it goes)...
      const during: string[] = [];
      let stopped = false;
      const stopping = server.stop().finally(() => (stopped = true));
      while (!stopped) during.push(await press());
      await stopping;
      await waitUntil(() => replicator.stats().state === 'offline', { timeout: 10_000, message: 'the replicator notices the server is gone' });
      const pressedWhileStopping = during.length;
      const straddling = replicator.stats().backlog;
      // ...and after it is gone: each is buffered on disk, counted in the backlog.
      for (let i = 0; i < 40; i++) during.push(await press());
      const down = replicator.stats();
      assert.equal(down.state, 'offline');
      assert.equal(down.backlog, straddling + 40, 'every event recorded during the outage is buffered');
      assert.ok(down.lastError, 'the reason is shown');
      assert.equal(log.repository.query({ limit: 1 }).total, 5 + during.length, 'the door\'s own log is complete meanwhile');

      await server.start();
      const flushFrom = performance.now();
      await waitUntil(() => replicator.stats().backlog === 0 && replicator.stats().state === 'online', { timeout: 20_000, message: 'the backlog drains after the restart' });
      const flushMs = performance.now() - flushFrom;
      console.log(`      ${during.length} presses during the stop and the outage (${pressedWhileStopping} while pg_ctl stop ran, ${straddling} of them buffered), backlog ${down.backlog}, flushed ${Math.round(flushMs)} ms after pg_ctl start returned`);

      const { rows } = await admin.query<{ id: string; n: number }>('SELECT id, count(*)::int AS n FROM events GROUP BY id ORDER BY id');
      assert.deepEqual(rows.map((r) => r.id), [...before, ...during].sort(), 'every event, nothing lost');
      assert.deepEqual(rows.filter((r) => r.n !== 1), [], 'nothing duplicated');
      const faces = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM event_faces');
      assert.equal(faces.rows[0].n, 5 + during.length, 'one face per event, none doubled');
      const last = (await shared.get(during.at(-1)!))!;
      assert.equal(last.verdict, 'unknown');
      assert.ok(last.hasSnapshot);
      assert.equal(replicator.stats().overflowed, 0);
    } finally {
      await closeDoor(door);
      await admin.end();
    }
  });

  it('two face stores come back by themselves after the restart and follow each other again within a second; writes meanwhile fail as DB_UNREACHABLE', async () => {
    const here = await openPostgresStore({ ...server.config, applicationName: 'porchlight-here' });
    const there = await openPostgresStore({ ...server.config, applicationName: 'porchlight-there' });
    const hereMatcher = attachMatcher(here);
    const thereMatcher = attachMatcher(there);
    const health = { here: [] as StoreHealth[], there: [] as StoreHealth[] };
    here.onHealth((h) => health.here.push(h));
    there.onHealth((h) => health.there.push(h));
    try {
      await Promise.all([hereMatcher.ready, thereMatcher.ready]);
      const ann = randomFace();
      await here.enroll('Ann', [ann]);
      await waitUntil(() => thereMatcher.matcher.size() === 1, { timeout: 1000, message: 'the enrollment reaches the other store' });

      await server.stop();
      await waitUntil(() => !here.health.reachable && !there.health.reachable, { timeout: 5000, message: 'both stores notice the server is gone' });
      await assert.rejects(here.enroll('Ben', [randomFace()]), (err) => {
        assert.ok(isPorchlightError(err, 'DB_UNREACHABLE'), String(err));
        assert.match((err as Error).message, new RegExp(`database unreachable: postgres://postgres@127.0.0.1:${server.port}/porchlight`));
        return true;
      });
      await assert.rejects(there.forget('Ann'), (err) => isPorchlightError(err, 'DB_UNREACHABLE'));
      assert.equal(thereMatcher.matcher.nearest(ann.embedding, ann.model)[0].name, 'Ann', 'matching goes on from memory');

      await server.start();
      const backFrom = performance.now();
      await waitUntil(() => here.health.reachable && there.health.reachable, { timeout: 20_000, message: 'both stores reconnect without help' });
      const backMs = performance.now() - backFrom;
      console.log(`      both stores reconnected ${Math.round(backMs)} ms after pg_ctl start returned`);
      assert.equal(health.here.at(-1)?.reachable, true);
      assert.equal(health.there.at(-1)?.reachable, true);

      const cid = randomFace();
      await here.enroll('Cid', [cid]);
      const reachedFrom = performance.now();
      await waitUntil(() => thereMatcher.matcher.nearest(cid.embedding, cid.model)[0]?.name === 'Cid', { timeout: 1000, message: 'an enrollment after the restart reaches the other matcher' });
      const reachedMs = performance.now() - reachedFrom;
      await there.forget('Ann');
      const forgotFrom = performance.now();
      await waitUntil(() => hereMatcher.matcher.size() === 1, { timeout: 1000, message: 'a forget after the restart reaches the first matcher' });
      const forgotMs = performance.now() - forgotFrom;
      console.log(`      after the restart: enrollment seen by the other store in ${Math.round(reachedMs)} ms, forget in ${Math.round(forgotMs)} ms`);
      assert.equal(await here.getPerson('Ben'), undefined, 'the refused write left nothing behind');
    } finally {
      hereMatcher.detach();
      thereMatcher.detach();
      await here.close();
      await there.close();
    }
  });
});
