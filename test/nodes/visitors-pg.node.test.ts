import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { newEventId } from '../../lib/events/event-id';
import { openPostgresStore, type PostgresStore } from '../../lib/store';
import { helper, sendAndAwait } from '../support/node-red';
import { lfwDir, lfwPeople, nodeFile } from '../support/paths';
import { createTestDatabase, requirePostgres, type TestDatabase } from '../support/postgres';
import { tempDir } from '../support/temp';
import { waitUntil } from '../support/wait';

const eventLog = require(nodeFile('event-log'));
const porchlightDb = require(nodeFile('porchlight-db'));
const faceRecognize = require(nodeFile('face-recognize'));
const faceDb = require(nodeFile('face-db'));
const engine = require(nodeFile('porchlight-engine'));

const photos = (person: string): string[] => fs.readdirSync(path.join(lfwDir, person)).sort().map((f) => path.join(lfwDir, person, f));

/** Two LFW people with at least 5 photos each (the pair the SQLite visitors test groups reliably). */
const [guest, gateGuest] = lfwPeople().filter((p) => photos(p).length >= 5).slice(40, 42);

/**
 * Recurring visitors with the face DB on PostgreSQL: one door (a Node-RED
 * runtime) keeps its visitors in its own SQLite file, naming one enrolls into
 * the shared database, and a forget made elsewhere (a second store on the same
 * database, as another door would) reaches the door's visitors.
 */
describe('recurring visitors with the face DB on PostgreSQL (Node-RED runtime)', function () {
  this.timeout(300_000);
  requirePostgres();
  let db: TestDatabase;
  let dir: string;
  /** Another door's store on the same database. */
  let otherDoor: PostgresStore;

  const localFile = () => path.join(dir, 'local.db');

  const load = () =>
    helper.load(
      [engine, porchlightDb, faceRecognize, eventLog, faceDb],
      [
        { id: 'eng', type: 'porchlight-engine', threads: 1, maxQueue: 16, taskTimeout: 120, maxMegapixels: 40 },
        {
          id: 'db', type: 'porchlight-db', name: 'front', backend: 'postgres', pgHost: db.config.host, pgPort: db.config.port, pgDatabase: db.config.database,
          pgUser: db.config.user, pgSsl: 'off', file: localFile(), snapshotDir: path.join(dir, 'snapshots'),
        },
        // One frame per event: each press is decided on its own frame.
        { id: 'fr', type: 'porchlight-face-recognize', engine: 'eng', db: 'db', tolerance: '', margin: 0.05, burstFrames: 1, burstMs: 20_000, queuePolicy: 'wait', wires: [['el'], ['el'], ['el'], ['el']] },
        { id: 'el', type: 'porchlight-event-log', db: 'db', wires: [[], ['recorded']] },
        { id: 'fdb', type: 'porchlight-face-db', db: 'db', engine: 'eng', wires: [['out']] },
        { id: 'recorded', type: 'helper' },
        { id: 'out', type: 'helper' },
      ],
      { db: { password: db.config.password } },
    );

  /** Rows of the door's own SQLite file (opened read-only beside the runtime's connection). */
  function localCount(sql: string, ...params: unknown[]): number {
    const local = new Database(localFile(), { readonly: true, fileMustExist: true });
    try {
      return (local.prepare(sql).get(...params) as { n: number }).n;
    } finally {
      local.close();
    }
  }

  /** One doorbell press with one photo; resolves with the verdict message once the event log has stored it. */
  function press(file: string): Promise<Record<string, any>> {
    const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: { node: 'test', door: 'front' } };
    const recorded = new Promise<Record<string, any>>((resolve) => {
      const node = helper.getNode('recorded');
      const onRecorded = (msg: Record<string, any>) => {
        if (msg.event?.id !== event.id || !msg.verdict) return;
        node.removeListener('input', onRecorded);
        resolve(msg);
      };
      node.on('input', onRecorded);
    });
    helper.getNode('el').receive({ event });
    helper.getNode('fr').receive({ event, payload: fs.readFileSync(file), frame: { seq: 0 } });
    return recorded;
  }

  /** Two presses by one stranger: resolves with the visitor the second verdict names. */
  async function twoVisits(person: string): Promise<{ id: number; label: string; seen: number }> {
    const first = await press(photos(person)[0]);
    assert.equal(first.verdict.status, 'unknown');
    assert.equal(first.verdict.visitor, undefined, 'a first visit is nobody yet');
    const second = await press(photos(person)[1]);
    assert.equal(second.verdict.status, 'unknown');
    assert.ok(second.verdict.visitor, `the second visit names a visitor: ${JSON.stringify(second.verdict)}`);
    return second.verdict.visitor;
  }

  const listAll = async (): Promise<Array<{ id: number; state: string }>> => (await helper.request().get('/porchlight/visitors?all=1').expect(200)).body.visitors;

  before(async () => {
    db = await createTestDatabase('visitorspg');
    dir = tempDir('porchlight-visitors-pg-');
    otherDoor = await openPostgresStore(db.config);
    await load();
  });

  after(async () => {
    await helper.unload();
    await otherDoor?.close();
    await db?.drop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  let visitorId = 0;
  const eventIds: string[] = [];

  it('two presses by the same stranger make visitor #1, seen 2 times, kept in the door\'s SQLite file only', async () => {
    const visitor = await twoVisits(guest);
    assert.equal(visitor.label, 'visitor #1');
    assert.equal(visitor.seen, 2);
    visitorId = visitor.id;
    assert.equal(localCount('SELECT count(*) AS n FROM visitor_faces WHERE visitor_id = ?', visitorId), 2);
    const shared = await otherDoor.pool.query<{ n: string }>('SELECT count(*) AS n FROM visitor_faces');
    assert.equal(Number(shared.rows[0].n), 0, 'unknown faces stay on the door');
  });

  it('the visitors admin routes answer: the list, one visitor, a crop, and find this face', async () => {
    const listed = (await helper.request().get('/porchlight/visitors').expect(200)).body.visitors;
    assert.deepEqual(listed.map((v: { id: number; label: string; seen: number }) => [v.id, v.label, v.seen]), [[visitorId, 'visitor #1', 2]]);
    const one = (await helper.request().get(`/porchlight/visitors/${visitorId}`).expect(200)).body;
    assert.equal(one.bestFaces.length, 2);
    eventIds.push(...one.bestFaces.map((f: { eventId: string }) => f.eventId));
    const crop = await helper.request().get(`/porchlight/visitors/${visitorId}/faces/${one.bestFaces[0].id}/crop`).buffer(true).expect(200);
    assert.equal(crop.headers['content-type'], 'image/jpeg');
    assert.equal(crop.body[0], 0xff);
    const found = (await helper.request().post('/porchlight/visitors/find').send({ eventId: eventIds[0] }).expect(200)).body.events;
    assert.deepEqual(found.map((e: { eventId: string }) => e.eventId), [eventIds[1]]);
    await helper.request().get('/porchlight/visitors/999999').expect(404);
  });

  it('naming the visitor enrolls into PostgreSQL: another door\'s store sees the person, and the next press is known', async () => {
    const named = (await helper.request().post(`/porchlight/visitors/${visitorId}/name`).send({ name: 'Porch Guest' }).expect(200)).body;
    assert.equal(named.visitor.state, 'named');
    const person = await otherDoor.getPerson('Porch Guest');
    assert.ok(person, 'the person is in the shared database');
    const faces = await otherDoor.listFaces(person.id);
    assert.deepEqual(faces.map((f) => f.id).sort(), [...named.enrolled.faceIds].sort());
    assert.ok(faces.every((f) => f.source === `visitor:${visitorId}`));
    assert.equal(localCount('SELECT count(*) AS n FROM people'), 0, 'nobody is enrolled in the door\'s own file');
    const known = await press(photos(guest)[2]);
    assert.equal(known.verdict.status, 'known');
    assert.equal(known.verdict.people[0].name, 'Porch Guest');
  });

  it('forgetting the person at another door drops the visitor here at once (a store change)', async () => {
    await otherDoor.forget('Porch Guest');
    await waitUntil(async () => !(await listAll()).some((v) => v.id === visitorId), { timeout: 5_000, message: 'the named visitor gone' });
    assert.equal(localCount('SELECT count(*) AS n FROM visitor_faces WHERE visitor_id = ?', visitorId), 0, 'with its faces');
  });

  it('a person forgotten while the door was down: the visitor named as them goes when the door is back', async () => {
    const visitor = await twoVisits(gateGuest);
    const named = await sendAndAwait('fdb', 'out', { action: 'nameVisitor', visitorId: visitor.id, name: 'Gate Guest' });
    assert.equal(named.payload.visitor.state, 'named');
    await helper.unload();
    await otherDoor.forget('Gate Guest');
    assert.equal(localCount('SELECT count(*) AS n FROM visitor_faces WHERE visitor_id = ?', visitor.id), 2, 'still there while the door is down');
    await load();
    await waitUntil(async () => !(await listAll()).some((v) => v.id === visitor.id), { timeout: 10_000, message: 'the visitor of the forgotten person gone' });
    assert.equal(localCount('SELECT count(*) AS n FROM visitor_faces WHERE visitor_id = ?', visitor.id), 0);
  });
});
