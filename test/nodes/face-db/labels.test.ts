import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { EventRepository } from '../../../lib/eventlog/repository';
import { newEventId } from '../../../lib/events/event-id';
import { acquireSharedPool, type PoolLease } from '../../../lib/workers/pool';
import { openFaceDb } from '../../../nodes/shared/db';
import { helper, sendAndAwait } from '../../support/node-red';
import { lfwDir, nodeFile } from '../../support/paths';
import { tempDir } from '../../support/temp';

const faceDb = require(nodeFile('face-db'));
const porchlightDb = require(nodeFile('porchlight-db'));
const engine = require(nodeFile('porchlight-engine'));
const faceRecognize = require(nodeFile('face-recognize'));

const photos = (person: string) => fs.readdirSync(path.join(lfwDir, person)).sort().map((f) => fs.readFileSync(path.join(lfwDir, person, f)));

/**
 * The face-db actions the dashboard uses for corrections and calibration, in a
 * Node-RED runtime on a real SQLite file: an event face wrongly taken for A is
 * corrected "not A, it is S", confirmed faces are labelled, and the
 * calibration is suggested, applied and recorded.
 */
describe('face-db label and calibration actions (Node-RED runtime, real SQLite file, LFW faces)', function () {
  this.timeout(300_000);
  let dir: string;
  let poolLease: PoolLease;
  /** face-recognize's status lines. */
  const statuses: string[] = [];
  const settings = () => ({ file: path.join(dir, 'porchlight.db'), snapshotDir: path.join(dir, 'snapshots') });
  const run = (msg: Record<string, unknown>): Promise<any> => sendAndAwait('fdb', 'out', msg);

  before(async () => {
    poolLease = acquireSharedPool({ threads: 1 });
    dir = tempDir('porchlight-labels-');
    await helper.load([engine, porchlightDb, faceDb, faceRecognize], [
      // face-api's networks on ONNX: the tolerance range asserted below is on their scale.
      { id: 'eng', type: 'porchlight-engine', detectorKind: 'faceapi', threads: 1, maxQueue: 16, taskTimeout: 120, maxMegapixels: 40 },
      { id: 'pdb', type: 'porchlight-db', file: settings().file, snapshotDir: settings().snapshotDir },
      { id: 'fdb', type: 'porchlight-face-db', db: 'pdb', engine: 'eng', action: 'list', minQuality: 0.35, wires: [['out']] },
      { id: 'out', type: 'helper' },
      { id: 'rec', type: 'porchlight-face-recognize', db: 'pdb', engine: 'eng', tolerance: '', wires: [[], [], [], []] },
    ]);
    helper.getNode('rec').on('call:status', (call: { args: [{ text?: string }] }) => statuses.push(call.args[0].text ?? ''));
  });
  after(async () => {
    await helper.unload();
    await poolLease.release();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('"not A, it is S" on an event face: a negative of A, S enrolled; confirmations; calibrate, apply, history', async () => {
    const a = await run({ action: 'enroll', name: 'Antonio Palocci', payload: photos('Antonio_Palocci').slice(0, 3) });
    await run({ action: 'enroll', name: 'Michael Jackson', payload: photos('Michael_Jackson').slice(0, 3) });
    const strangerPhotos = photos('Fujio_Cho');

    // Two events as face-recognize and event-log would leave them: a face taken for A (really S), and A himself.
    const db = await openFaceDb(settings());
    let wrong: { eventId: string; faceId: number };
    let right: { eventId: string; faceId: number };
    try {
      const events = new EventRepository(db.local);
      const record = (crop: Buffer, distance: number) => {
        const event = { id: newEventId(), trigger: 'test', startedAt: Date.now(), source: {} };
        const person = { personId: a.payload.person.id, name: 'Antonio Palocci', list: 'known', distance };
        events.recordVerdict(event, { status: 'known', people: [person] }, [person], [{ box: { x: 0, y: 0, width: 250, height: 250 }, ...person, crop }], Date.now());
        return { eventId: event.id, faceId: events.get(event.id)!.faces[0].id };
      };
      wrong = record(strangerPhotos[0], 0.58);
      right = record(photos('Antonio_Palocci')[3], 0.4);
    } finally {
      await db.release();
    }

    const corrected = await run({ action: 'label', eventId: wrong.eventId, eventFaceId: wrong.faceId, verdict: 'reject', correctName: 'Fujio Cho' });
    assert.equal(corrected.payload.label.verdict, 'reject');
    assert.equal(corrected.payload.corrected.person.name, 'Fujio Cho');
    assert.equal(corrected.payload.corrected.created, true);
    const aFaces = (await run({ action: 'get', name: 'Antonio Palocci' })).payload.faces as Array<{ id: number; kind: string; source: string }>;
    assert.deepEqual(aFaces.filter((f) => f.kind === 'negative').map((f) => f.id), [corrected.payload.negativeFaceId]);
    assert.equal(aFaces.find((f) => f.kind === 'negative')!.source, `event:${wrong.eventId}`);
    const people = (await run({ action: 'list' })).payload as Array<{ name: string; faceCount: number }>;
    assert.equal(people.find((p) => p.name === 'Antonio Palocci')!.faceCount, 3, 'the negative is not one of his faces');

    const confirmed = await run({ action: 'label', eventId: right.eventId, eventFaceId: right.faceId, verdict: 'confirm' });
    assert.equal(confirmed.payload.negativeFaceId, null);
    await assert.rejects(run({ action: 'label', eventId: right.eventId, eventFaceId: right.faceId, verdict: 'maybe' }), /confirm/);
    await assert.rejects(run({ action: 'label', eventId: right.eventId, eventFaceId: 999, verdict: 'confirm' }), /no such face/);

    // S's other photo now goes to S, and not to A.
    const check = await openFaceDb(settings());
    try {
      await check.matcherReady;
      const labels = await check.store.labels();
      assert.deepEqual(labels.map((l) => l.verdict), ['reject', 'confirm']);
      assert.ok(labels.every((l) => l.embedding.length === 128 && l.actor === 'face-db'));
      const embedding = (await check.store.getFace(corrected.payload.corrected.faceIds[0]))!.embedding;
      assert.equal(check.matcher.nearest(embedding, labels[0].model, 1)[0].name, 'Fujio Cho');
    } finally {
      await check.release();
    }

    // Antonio: 3 photos and the visit confirmed above; Michael: 3 photos. Too little to calibrate from, said in faces and visits.
    await assert.rejects(run({ action: 'calibrate', far: 0.05 }), /Not enough to suggest a tolerance yet: it needs 1 more face or labelled visit of Michael Jackson /);
    await assert.rejects(run({ action: 'applyCalibration', far: 0.05 }), /it needs 1 more face or labelled visit of Michael Jackson /);
    assert.equal((await run({ action: 'calibrationHistory' })).payload.changes.length, 0, 'nothing applied from too little');
    await run({ action: 'enroll', name: 'Michael Jackson', payload: photos('Michael_Jackson').slice(3, 4) });

    const suggestion = (await run({ action: 'calibrate', far: 0.05 })).payload;
    assert.equal(suggestion.readiness.ready, true);
    assert.match(suggestion.expected.words, /^Strangers let through: about (1 in [\d,]+ visits \(\d+\.\d %\)|\d+ % of visits)\. Genuine visits missed: /);
    const perVisit = (await run({ action: 'calibrate', strangers: 100 })).payload;
    assert.equal(perVisit.strangersOneIn, 100);
    assert.ok(perVisit.targetFar < 0.01 && perVisit.global.tolerance < suggestion.global.tolerance, 'about 1 in 100 strangers\' visits: stricter than 5 % of single comparisons');
    assert.deepEqual(suggestion.people.map((p: { name: string }) => p.name).sort(), ['Antonio Palocci', 'Fujio Cho', 'Michael Jackson']);
    assert.ok(suggestion.global.tolerance > 0.3 && suggestion.global.tolerance < 1, `global ${suggestion.global.tolerance}`);
    const applied = (await run({ action: 'applyCalibration', far: 0.05 })).payload;
    assert.equal(applied.changes.length, 4);
    const history = (await run({ action: 'calibrationHistory' })).payload;
    assert.equal(history.changes.length, 4);
    assert.equal(history.tolerances.length, 4);
    assert.ok(statuses.some((text) => text === 'ready · calibrated tolerance'), `face-recognize says a calibrated tolerance is in force (${JSON.stringify(statuses)})`);
    const cleared = (await run({ action: 'clearCalibration' })).payload;
    assert.equal(cleared.changes.length, 4);
    assert.equal((await run({ action: 'calibrationHistory' })).payload.tolerances.length, 0);
    assert.ok(!statuses[statuses.length - 1].includes('calibrated'), `and says so no more once cleared (${statuses[statuses.length - 1]})`);
  });
});
