import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { newEventId } from '../../lib/events/event-id';
import { helper, nextMessage, sendAndAwait } from '../support/node-red';
import { lfwDir, lfwPeople, nodeFile } from '../support/paths';
import { tempDir } from '../support/temp';

const eventLog = require(nodeFile('event-log'));
const porchlightDb = require(nodeFile('porchlight-db'));
const faceRecognize = require(nodeFile('face-recognize'));
const faceDb = require(nodeFile('face-db'));
const engine = require(nodeFile('porchlight-engine'));

function images(person: string): string[] {
  return fs.readdirSync(path.join(lfwDir, person)).sort().map((f) => path.join(lfwDir, person, f));
}

/** LFW people with at least `n` images, in a stable order from `skip`. */
const peopleWith = (n: number, count: number, skip: number) => lfwPeople().filter((p) => images(p).length >= n).slice(skip, skip + count);

describe('recurring visitors in Node-RED (face-recognize, event-log, face-db actions, admin API)', function () {
  this.timeout(300_000);
  let dir: string;

  before(async () => {
    dir = tempDir('porchlight-visitors-node-');
    await helper.load([engine, porchlightDb, faceRecognize, eventLog, faceDb], [
      { id: 'eng', type: 'porchlight-engine', threads: 1, maxQueue: 16, taskTimeout: 120, maxMegapixels: 40 },
      { id: 'db', type: 'porchlight-db', file: path.join(dir, 'porchlight.db'), snapshotDir: path.join(dir, 'snapshots') },
      // One frame per event: each press is decided on its own frame.
      { id: 'fr', type: 'porchlight-face-recognize', engine: 'eng', db: 'db', tolerance: '', margin: 0.05, burstFrames: 1, burstMs: 20_000, queuePolicy: 'wait', wires: [['verdicts', 'el'], ['verdicts', 'el'], ['verdicts', 'el'], ['verdicts', 'el']] },
      { id: 'el', type: 'porchlight-event-log', db: 'db', wires: [[], ['recorded']] },
      { id: 'fdb', type: 'porchlight-face-db', db: 'db', engine: 'eng', wires: [['out']] },
      { id: 'verdicts', type: 'helper' },
      { id: 'recorded', type: 'helper' },
      { id: 'out', type: 'helper' },
    ]);
  });

  after(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** One doorbell event with one LFW photo; resolves with the verdict message once the event log has recorded it. */
  async function press(file: string): Promise<Record<string, any>> {
    const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: { node: 'test' } };
    helper.getNode('el').receive({ event });
    const verdict = nextMessage<Record<string, any>>(helper.getNode('verdicts'), 120_000);
    const recorded = new Promise<void>((resolve) => {
      const node = helper.getNode('recorded');
      const onRecorded = (msg: Record<string, any>) => {
        if (msg.event?.id !== event.id || !msg.verdict) return;
        node.removeListener('input', onRecorded);
        resolve();
      };
      node.on('input', onRecorded);
    });
    helper.getNode('fr').receive({ event, payload: fs.readFileSync(file), frame: { seq: 0 } });
    const msg = await verdict;
    await recorded;
    return msg;
  }

  /** Sends a message to face-db; resolves with its output or rejects with the error it reported. */
  const run = (msg: Record<string, unknown>) => sendAndAwait('fdb', 'out', msg);

  const [alice, stranger1, stranger2] = peopleWith(5, 3, 40);
  const aliceEvents: string[] = [];
  let visitorId = 0;

  it('a stranger back for a second and third time is "visitor #1, seen 2/3 times" in msg.verdict and the event log', async () => {
    const first = await press(images(alice)[0]);
    assert.equal(first.verdict.status, 'unknown');
    assert.equal(first.verdict.visitor, undefined, 'a first visit is nobody yet');
    aliceEvents.push(first.event.id);
    const second = await press(images(alice)[1]);
    aliceEvents.push(second.event.id);
    assert.equal(second.verdict.status, 'unknown');
    assert.equal(second.verdict.visitor?.label, 'visitor #1');
    assert.equal(second.verdict.visitor.seen, 2);
    assert.equal(second.verdict.visitor.firstSeen, first.event.startedAt);
    const third = await press(images(alice)[2]);
    aliceEvents.push(third.event.id);
    assert.equal(third.verdict.visitor?.label, 'visitor #1');
    assert.equal(third.verdict.visitor.seen, 3);
    visitorId = third.verdict.visitor.id;
    const logged = await helper.request().get(`/porchlight/events/${third.event.id}`).expect(200);
    assert.equal(logged.body.data.visitor.label, 'visitor #1', 'the event log keeps the verdict with its visitor');

    const other = await press(images(stranger1)[0]);
    assert.equal(other.verdict.visitor, undefined, 'another stranger is not visitor #1');
  });

  it('lists visitors with their best faces through face-db and the admin API (crops as JPEG)', async () => {
    const listed = await run({ action: 'visitors' });
    assert.equal(listed.payload.length, 1);
    assert.equal(listed.payload[0].id, visitorId);
    assert.equal(listed.payload[0].seen, 3);
    assert.ok(listed.payload[0].bestFaces.length >= 1);
    const res = await helper.request().get('/porchlight/visitors').expect(200);
    assert.equal(res.body.visitors[0].label, 'visitor #1');
    const face = res.body.visitors[0].bestFaces[0];
    const crop = await helper.request().get(`/porchlight/visitors/${visitorId}/faces/${face.id}/crop`).buffer(true).expect(200);
    assert.equal(crop.headers['content-type'], 'image/jpeg');
    assert.equal(crop.body[0], 0xff);
  });

  it('finds this face: from an event, from an uploaded photo, ranked by distance', async () => {
    const byEvent = await run({ action: 'findFace', eventId: aliceEvents[0] });
    assert.deepEqual(new Set(byEvent.payload.events.map((e: any) => e.eventId)), new Set(aliceEvents.slice(1)));
    const byPhoto = await helper.request().post('/porchlight/visitors/find').send({ image: fs.readFileSync(images(alice)[3]).toString('base64') }).expect(200);
    const found = byPhoto.body.events as Array<{ eventId: string; distance: number }>;
    assert.ok(found.length >= 2, JSON.stringify(found));
    assert.ok(found.slice(0, 2).every((e) => aliceEvents.includes(e.eventId)), 'her events come first');
    for (let i = 1; i < found.length; i++) assert.ok(found[i].distance >= found[i - 1].distance);
    await assert.rejects(run({ action: 'findFace' }), /find a face by an event id, an image, or a person/);
  });

  it('merges and dismisses visitors, and refuses bad ids', async () => {
    const a = await press(images(stranger2)[0]);
    const b = await press(images(stranger1)[1]);
    const ids = (await run({ action: 'visitors', all: true })).payload.map((v: any) => v.id);
    // stranger1's second photo joined their first: visitor #2 now.
    assert.equal(b.verdict.visitor?.label, 'visitor #2');
    const faceOf = async (eventId: string) => (await run({ action: 'findFace', eventId, maxDistance: 100, limit: 50 })).payload.events;
    assert.ok((await faceOf(a.event.id)).length > 0);
    const merged = await helper.request().post(`/porchlight/visitors/${b.verdict.visitor.id}/merge`).send({ into: visitorId }).expect(200);
    assert.equal(merged.body.label, 'visitor #1', 'the merged visitor keeps the older number');
    assert.equal(merged.body.seen, 5);
    const dismissed = await run({ action: 'dismissVisitor', visitorId });
    assert.equal(dismissed.payload.state, 'dismissed');
    assert.deepEqual((await run({ action: 'visitors' })).payload, []);
    assert.ok(ids.includes(visitorId));
    await assert.rejects(run({ action: 'dismissVisitor', visitorId: 'x' }), /visitor id/);
    await helper.request().post('/porchlight/visitors/999999/dismiss').send({}).expect(404);
  });

  it('names a visitor: a few varied faces enrolled, and the next visit is known', async () => {
    const again = await press(images(alice)[3]);
    // A dismissed visitor is never announced again.
    assert.equal(again.verdict.visitor, undefined);
    const named = await run({ action: 'nameVisitor', visitorId, name: 'Alice <b>' });
    assert.equal(named.payload.visitor.state, 'named');
    assert.ok(named.payload.enrolled.faceIds.length >= 2 && named.payload.enrolled.faceIds.length <= 5, `${named.payload.enrolled.faceIds.length} faces`);
    // Find this face from a person: her enrolled faces find her past visits.
    const byPerson = await run({ action: 'findFace', name: 'Alice <b>' });
    const foundIds = byPerson.payload.events.map((e: any) => e.eventId);
    assert.ok(aliceEvents.every((id) => foundIds.includes(id)), JSON.stringify(byPerson.payload));
    const known = await press(images(alice)[4]);
    assert.equal(known.verdict.status, 'known');
    assert.equal(known.verdict.people[0].name, 'Alice <b>');
  });
});
