import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type pg from 'pg';
import { newEventId } from '../../../lib/events/event-id';
import { openPgPool } from '../../../lib/store/postgres/connection';
import { helper, nextMessage } from '../../support/node-red';
import { lfwImage, nodeFile } from '../../support/paths';
import { createTestDatabase, requirePostgres, type TestDatabase } from '../../support/postgres';
import { TcpProxy } from '../../support/tcp-proxy';
import { tempDir } from '../../support/temp';
import { waitUntil } from '../../support/wait';

const eventLog = require(nodeFile('event-log'));
const porchlightDb = require(nodeFile('porchlight-db'));
const LFW_FACE = { x: 75, y: 70, width: 100, height: 120 };

describe('event-log node with the PostgreSQL database config: two doors, one log (Node-RED runtime, real PostgreSQL)', function () {
  this.timeout(120_000);
  requirePostgres();
  let database: TestDatabase;
  let admin: pg.Pool;
  let dir: string;

  before(async () => {
    database = await createTestDatabase('eventlog_node');
    admin = openPgPool(database.config);
  });
  beforeEach(() => {
    dir = tempDir('porchlight-events-pg-node-');
  });
  afterEach(async () => {
    await helper.unload();
  });
  after(async () => {
    await admin?.end();
    await database?.drop();
  });

  /** A door: its database config (PostgreSQL, its own local file) and its event log. */
  function door(name: string, pgPort = database.config.port) {
    const { host, database: db, user } = database.config;
    return [
      { id: `db_${name}`, type: 'porchlight-db', backend: 'postgres', pgHost: host, pgPort, pgDatabase: db, pgUser: user, pgSsl: 'off',
        file: path.join(dir, `${name}.db`), snapshotDir: path.join(dir, `${name}-snapshots`) },
      { id: `log_${name}`, type: 'porchlight-event-log', db: `db_${name}`, door: name, wires: [[`results_${name}`], [`recorded_${name}`]] },
      { id: `results_${name}`, type: 'helper' },
      { id: `recorded_${name}`, type: 'helper' },
    ];
  }
  const credentials = (names: string[]) => Object.fromEntries(names.map((name) => [`db_${name}`, { password: database.config.password }]));

  async function ring(name: string, known: boolean): Promise<string> {
    const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: { node: 'bell' } };
    const log = helper.getNode(`log_${name}`);
    const recorded = nextMessage<Record<string, any>>(helper.getNode(`recorded_${name}`));
    const match = known ? { personId: '1', name: 'Aaron', list: 'known', distance: 0.3, confidence: 0.9 } : null;
    log.receive({ event });
    log.receive({ event, payload: fs.readFileSync(lfwImage('Aaron_Eckhart', 1)), frame: { seq: 0 }, faces: [{ box: LFW_FACE, score: 0.99 }] });
    log.receive({ event, faces: [{ box: LFW_FACE, score: 0.99, match }], verdict: { status: known ? 'known' : 'unknown', people: match ? [match] : [], latencyMs: 300 } });
    assert.equal((await recorded).eventLog.status, 'completed');
    return event.id;
  }

  async function sharedCount(): Promise<number> {
    return (await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM events')).rows[0].n;
  }

  it('both doors\' events reach the shared log, tagged by door, and each door\'s API and query read all of them', async () => {
    await helper.load([porchlightDb, eventLog], [...door('front'), ...door('garage')], credentials(['front', 'garage']));
    const ids = { front: [] as string[], garage: [] as string[] };
    for (let i = 0; i < 3; i++) {
      ids.front.push(await ring('front', i % 2 === 0));
      ids.garage.push(await ring('garage', false));
    }
    await waitUntil(async () => (await sharedCount()) >= 6, { timeout: 15_000, interval: 50, message: 'the events to reach the shared log' });

    // The API reads the shared log through either door's node.
    for (const log of ['log_front', 'log_garage']) {
      const all = await helper.request().get(`/porchlight/events?log=${log}&limit=100`).expect(200);
      assert.equal(all.body.total, 6);
      assert.deepEqual(all.body.events.map((e: { id: string }) => e.id).sort(), [...ids.front, ...ids.garage].sort());
    }
    const garage = await helper.request().get('/porchlight/events?door=garage').expect(200);
    assert.deepEqual(garage.body.events.map((e: { door: string }) => e.door), ['garage', 'garage', 'garage']);
    const detail = await helper.request().get(`/porchlight/events/${ids.front[0]}?log=log_garage`).expect(200);
    assert.equal(detail.body.door, 'front');
    assert.equal(detail.body.faces[0].name, 'Aaron');
    // The front door's snapshot and crop, served by the garage's node from the shared log.
    await helper.request().get(`/porchlight/events/${ids.front[0]}/snapshot.jpg?log=log_garage`).expect(200).expect('Content-Type', 'image/jpeg');
    await helper.request().get(`/porchlight/events/${ids.front[0]}/faces/${detail.body.faces[0].id}/crop.jpg?log=log_garage`).expect(200);
    const csv = await helper.request().get('/porchlight/events.csv?log=log_garage&door=front').expect(200);
    assert.equal(csv.text.trimEnd().split('\r\n').length, 4, 'a header and the front door\'s three events');

    // msg.action query on the garage's node: the front door's known visitor.
    const answer = nextMessage<Record<string, any>>(helper.getNode('results_garage'));
    helper.getNode('log_garage').receive({ action: 'query', payload: { person: 'aaron' } });
    assert.deepEqual((await answer).payload.events.map((e: { id: string }) => e.id).sort(), [ids.front[0], ids.front[2]].sort());

    // Deleting through the API removes it from the shared log (and from the door that owns it).
    await helper.request().delete(`/porchlight/events/${ids.front[1]}?log=log_front`).expect(204);
    assert.equal(await sharedCount(), 5);
    await helper.request().get(`/porchlight/events/${ids.front[1]}`).expect(404);

    // The front door's own copy went too: its outbox carries the deletion to the shared log (idempotent) within a poll.
    const frontFile = path.join(dir, 'front.db');
    let health = await helper.request().get('/porchlight/health').expect(200);
    await waitUntil(
      async () => {
        health = await helper.request().get('/porchlight/health').expect(200);
        return !(health.body.components[`event-replication:${frontFile}`].backlog > 0);
      },
      { timeout: 5_000, interval: 100, message: "the front door's outbox emptied" },
    );
    assert.equal(health.body.components[`event-replication:${frontFile}`].state, 'online');
    assert.equal(await sharedCount(), 5);
    const metrics = await helper.request().get('/porchlight/metrics').expect(200);
    assert.ok(metrics.text.includes(`porchlight_event_backlog{file="${frontFile}"} 0`));
    assert.ok(metrics.text.includes(`porchlight_events_replicated_total{file="${path.join(dir, 'garage.db')}"} 3`));
  });

  it('the database unreachable during events: the status says so with the count buffered, and every event arrives once it is back', async () => {
    const proxy = await new TcpProxy(database.config.host, database.config.port ?? 5432).listen();
    try {
      await admin.query('TRUNCATE events, event_people, event_faces, event_images');
      await helper.load([porchlightDb, eventLog], door('porch', proxy.port), credentials(['porch']));
      const node = helper.getNode('log_porch');
      const statuses: Array<{ fill?: string; text?: string }> = [];
      node.on('call:status', (call: { args: [{ fill?: string; text?: string }] }) => statuses.push(call.args[0]));
      const before = await ring('porch', true);
      let has = 0;
      const sharedHas = (n: number) =>
        waitUntil(async () => (has = await sharedCount()) === n, { timeout: 20_000, interval: 50, message: () => `the shared log to reach ${n} events (has ${has})` });
      await sharedHas(1);

      proxy.cut();
      const during = [];
      for (let i = 0; i < 5; i++) during.push(await ring('porch', i % 2 === 0));
      await waitUntil(() => statuses.some((st) => /^shared log (offline|paused) · 5 waiting$/.test(st.text ?? '')), {
        timeout: 20_000,
        interval: 50,
        message: () => `a 'shared log offline' status; saw ${statuses.map((st) => st.text).join(' | ')}`,
      });
      assert.equal(statuses.find((st) => /^shared log (offline|paused)/.test(st.text ?? ''))!.fill, 'yellow');
      assert.equal(await sharedCount(), 1);

      proxy.restore();
      await sharedHas(6);
      const { rows } = await admin.query<{ id: string; n: number }>('SELECT id, count(*)::int AS n FROM events GROUP BY id ORDER BY id');
      assert.deepEqual(rows.map((r) => r.id), [before, ...during].sort());
      assert.ok(rows.every((r) => r.n === 1));
      const faces = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM event_faces');
      assert.equal(faces.rows[0].n, 6, 'one face per event, none doubled');
      await waitUntil(() => /reachable again/.test(statuses.at(-1)?.text ?? ''), {
        timeout: 5_000,
        interval: 50,
        message: () => `a 'reachable again' status; last: ${statuses.at(-1)?.text}`,
      });
    } finally {
      await helper.unload();
      await proxy.close();
    }
  });

  it('events past the outbox bound while the database is away: the sidebar is told how many will not reach the shared log', async () => {
    const proxy = await new TcpProxy(database.config.host, database.config.port ?? 5432).listen();
    try {
      const flow = door('bound', proxy.port);
      Object.assign(flow[1], { maxBacklog: 2 });
      await helper.load([porchlightDb, eventLog], flow, credentials(['bound']));
      const warnings: string[] = [];
      helper.getNode('log_bound').on('call:warn', (call: { args: [unknown] }) => warnings.push(String(call.args[0])));
      proxy.cut();
      for (let i = 0; i < 5; i++) await ring('bound', false);
      await waitUntil(() => warnings.some((w) => /^3 events over the outbox bound will not reach the shared event log; they stay in this door's log$/.test(w)), {
        timeout: 30_000,
        message: `a warning for the 3 events over the bound; saw ${warnings.join(' | ')}`,
      });
    } finally {
      proxy.restore();
      await helper.unload();
      await proxy.close();
    }
  });

  it('two event-log nodes on one database config (the doorbell and the dashboard flows) share one replication: nothing written twice', async () => {
    await admin.query('TRUNCATE events, event_people, event_faces, event_images');
    await helper.load([porchlightDb, eventLog], [
      ...door('front'),
      { id: 'log_dashboard', type: 'porchlight-event-log', db: 'db_front', wires: [['results_dashboard'], []] },
      { id: 'results_dashboard', type: 'helper' },
    ], credentials(['front']));
    const ids = [];
    for (let i = 0; i < 8; i++) ids.push(await ring('front', i % 2 === 0));
    await waitUntil(async () => (await sharedCount()) >= 8, { timeout: 15_000, interval: 50, message: 'the events to reach the shared log' });
    await new Promise((resolve) => setTimeout(resolve, 1_500)); // a second poll of each node's timer, had there been two replicators
    const faces = await admin.query<{ event_id: string; n: number }>('SELECT event_id, count(*)::int AS n FROM event_faces GROUP BY event_id');
    assert.equal(faces.rows.length, 8);
    assert.ok(faces.rows.every((r) => r.n === 1), 'one face row per event');
    const health = await helper.request().get('/porchlight/health').expect(200);
    assert.equal(Object.keys(health.body.components).filter((key) => key.startsWith('event-replication:')).length, 1);
    const answer = nextMessage<Record<string, any>>(helper.getNode('results_dashboard'));
    helper.getNode('log_dashboard').receive({ action: 'query', payload: { door: 'front' } });
    assert.equal((await answer).payload.total, 8);
  });

  it('Node-RED starting while the database is down: events are buffered, and written once a fresh database comes up and is migrated', async () => {
    const fresh = await createTestDatabase('eventlog_node_late');
    const proxy = await new TcpProxy(fresh.config.host, fresh.config.port ?? 5432).listen();
    const check = openPgPool(fresh.config);
    try {
      proxy.cut();
      const { host, database: db, user, password } = fresh.config;
      await helper.load([porchlightDb, eventLog], [
        { id: 'db_late', type: 'porchlight-db', backend: 'postgres', pgHost: host, pgPort: proxy.port, pgDatabase: db, pgUser: user, pgSsl: 'off', file: path.join(dir, 'late.db'), snapshotDir: path.join(dir, 'late-snapshots') },
        { id: 'log_late', type: 'porchlight-event-log', db: 'db_late', door: 'late', wires: [['results_late'], ['recorded_late']] },
        { id: 'results_late', type: 'helper' },
        { id: 'recorded_late', type: 'helper' },
      ], { db_late: { password } });
      const ids = [await ring('late', true), await ring('late', false)];
      proxy.restore();
      let rows: Array<{ id: string }> = [];
      await waitUntil(
        async () => {
          rows = await check.query<{ id: string }>('SELECT id FROM events ORDER BY id').then((r) => r.rows, () => []);
          return rows.length === 2;
        },
        { timeout: 60_000, interval: 100, message: () => `the shared log to hold 2 events (holds ${rows.length})` },
      );
      assert.deepEqual(rows.map((r) => r.id), ids.sort());
    } finally {
      await helper.unload();
      await check.end();
      await proxy.close();
      await fresh.drop();
    }
  });

  it('a door on SQLite alone keeps no outbox and answers from its own log', async () => {
    await helper.load([porchlightDb, eventLog], [
      { id: 'db_local', type: 'porchlight-db', file: path.join(dir, 'local.db'), snapshotDir: path.join(dir, 'snapshots') },
      { id: 'log_local', type: 'porchlight-event-log', db: 'db_local', door: 'shed', wires: [['results_local'], ['recorded_local']] },
      { id: 'results_local', type: 'helper' },
      { id: 'recorded_local', type: 'helper' },
    ]);
    const id = await ring('local', true);
    const res = await helper.request().get('/porchlight/events?door=shed').expect(200);
    assert.deepEqual(res.body.events.map((e: { id: string }) => e.id), [id]);
    assert.equal(res.body.events[0].door, 'shed', 'the node\'s door names events that carry none');
    await helper.unload();
    const Database = require('better-sqlite3');
    const file = new Database(path.join(dir, 'local.db'), { readonly: true });
    try {
      assert.equal(file.prepare('SELECT count(*) AS n FROM event_outbox').get().n, 0);
    } finally {
      file.close();
    }
  });
});
