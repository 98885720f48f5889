import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import sharp from 'sharp';
import { newEventId } from '../../../lib/events/event-id';
import { registerHealthCheck } from '../../../lib/metrics/health';
import { openStore, type SqliteStore } from '../../../lib/store';
import { acquireSharedStore, sharedStoreUsers } from '../../../lib/match/shared-store';
import type { DbConfigNode } from '../../../nodes/shared/db';
import { embedFaces } from '../../../lib/engine/client';
import { acquireSharedPool } from '../../../lib/workers/pool';
import { truncatedJpeg } from '../../support/images';
import { helper, nextMessage } from '../../support/node-red';
import { lfwImage, nodeFile, repoRoot } from '../../support/paths';
import { tempDir } from '../../support/temp';
import { waitUntil } from '../../support/wait';

const eventLog = require(nodeFile('event-log'));
const porchlightDb = require(nodeFile('porchlight-db'));
const faceDetect = require(nodeFile('face-detect'));
const faceRecognize = require(nodeFile('face-recognize'));
const engine = require(nodeFile('porchlight-engine'));

/** Sample lines of Prometheus text exposition format, checked strictly enough to fail on anything malformed. */
function parsePrometheus(text: string): Map<string, number> {
  const types = new Map<string, string>();
  const samples = new Map<string, number>();
  const familyOf = (name: string) => name.replace(/_(bucket|sum|count)$/, '');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+$/.exec(line);
    if (m) continue;
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      types.set(m[1], m[2]);
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*\})? (-?[0-9.]+(?:e[+-]?\d+)?|NaN|[+-]Inf)$/i.exec(line); // Prometheus reads NaN in any case; prom-client writes "Nan" (an event-loop lag mean before any sample)
    assert.ok(m, `not a valid exposition line: ${JSON.stringify(line)}`);
    const family = types.has(m[1]) ? m[1] : familyOf(m[1]);
    assert.ok(types.has(family), `sample ${m[1]} has no # TYPE`);
    samples.set(m[1] + (m[2] ?? ''), Number(m[3]));
  }
  return samples;
}

describe('event-log node (Node-RED runtime)', function () {
  this.timeout(120_000);
  let dir: string;

  beforeEach(() => {
    dir = tempDir('porchlight-event-log-node-');
  });

  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  function dbNode() {
    return { id: 'db', type: 'porchlight-db', file: path.join(dir, 'porchlight.db'), snapshotDir: path.join(dir, 'snapshots') };
  }

  function logNode(extra: Record<string, unknown> = {}) {
    return { id: 'el', type: 'porchlight-event-log', db: 'db', wires: [['results'], ['recorded']], ...extra };
  }

  const helpers = [{ id: 'results', type: 'helper' }, { id: 'recorded', type: 'helper' }];

  it('records press, frames through real face detection, and the verdict, with a snapshot served by the API', async () => {
    await helper.load([engine, faceDetect, porchlightDb, eventLog], [
      dbNode(),
      logNode(),
      ...helpers,
      { id: 'eng', type: 'porchlight-engine', threads: 1, maxQueue: 8, taskTimeout: 60, maxMegapixels: 40 },
      { id: 'fd', type: 'porchlight-face-detect', engine: 'eng', detector: 'ssd-mobilenetv1', minConfidence: 0.5, minFaceSize: 20, maxFaces: 5, crops: true, cropSize: 128, queuePolicy: 'wait', wires: [['el', 'faces'], ['el']] },
      { id: 'faces', type: 'helper' },
    ]);
    const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: { node: 'test' } };
    const el = helper.getNode('el');
    el.receive({ event });

    // Two frames of a burst, close-ups padded to a doorstep-like frame so the detector sees the whole face.
    const frames = await Promise.all([1, 3].map((n) =>
      sharp(fs.readFileSync(lfwImage('Aaron_Peirsol', n))).extend({ top: 115, bottom: 115, left: 195, right: 195, background: '#404040' }).jpeg().toBuffer(),
    ));
    const detected = [];
    for (const [seq, frame] of frames.entries()) {
      const got = nextMessage<Record<string, any>>(helper.getNode('faces'), 90_000);
      helper.getNode('fd').receive({ event, payload: frame, frame: { seq, capturedAt: Date.now(), width: 640, height: 480, preRoll: seq === 0 } });
      detected.push(await got);
    }
    assert.equal(detected[0].faces.length, 1, 'the detector finds the one face');

    let res = await helper.request().get(`/porchlight/events/${event.id}`).expect(200);
    assert.equal(res.body.status, 'processing');
    assert.equal(res.body.framesSeen, 2);

    const recorded = nextMessage<Record<string, any>>(helper.getNode('recorded'));
    const verdictFaces = detected[1].faces.map((f: Record<string, unknown>) => ({ ...f, match: { personId: 1, name: 'Aaron', list: 'known', distance: 0.38, confidence: 0.8 } }));
    el.receive({ event, verdict: { status: 'known', people: [{ personId: 1, name: 'Aaron', list: 'known', distance: 0.38 }], framesSeen: 2, decidedAt: Date.now(), latencyMs: 650 }, faces: verdictFaces, frame: { seq: 1 } });
    const out = await recorded;
    assert.deepEqual(out.eventLog, { id: event.id, status: 'completed', verdict: 'known', hasSnapshot: true, snapshotUrl: `porchlight/events/${event.id}/snapshot.jpg` });

    res = await helper.request().get(`/porchlight/events/${event.id}`).expect(200);
    assert.equal(res.body.status, 'completed');
    assert.equal(res.body.verdict, 'known');
    assert.equal(res.body.processingMs, 650);
    assert.equal(res.body.faces.length, 1);
    assert.equal(res.body.faces[0].name, 'Aaron');
    assert.equal(res.body.faces[0].hasCrop, true);

    const snapshot = await helper.request().get(`/porchlight/events/${event.id}/snapshot.jpg`).buffer(true).expect('Content-Type', 'image/jpeg').expect(200);
    assert.deepEqual(await sharp(snapshot.body).metadata().then((m) => [m.format, m.width, m.height]), ['jpeg', 640, 480]);
    const thumbnail = await helper.request().get(`/porchlight/events/${event.id}/thumbnail.jpg`).buffer(true).expect(200);
    assert.equal((await sharp(thumbnail.body).metadata()).width, 320);
    const crop = await helper.request().get(`/porchlight/events/${event.id}/faces/${res.body.faces[0].id}/crop.jpg`).buffer(true).expect(200);
    assert.equal((await sharp(crop.body).metadata()).format, 'jpeg');
  });

  it('records the real pipeline: detect -> recognize (an enrolled person) -> event log, snapshot named', async () => {
    // Enroll one LFW person with the same engine the pipeline uses.
    const lease = acquireSharedPool({ threads: 1, maxQueue: 8, taskTimeoutMs: 120_000 });
    try {
      const store = await openStore({ file: dbNode().file });
      const enrolled = await embedFaces(lease.pool, fs.readFileSync(lfwImage('Aaron_Peirsol', 1)), { policy: 'wait' });
      const face = enrolled.faces[0];
      await store.enroll('Aaron Peirsol', [{ model: face.model!, embedding: face.embedding!, quality: face.quality.score, source: 'lfw' }], { list: 'known' });
      await store.close();

      await helper.load([engine, faceDetect, faceRecognize, porchlightDb, eventLog], [
        dbNode(),
        logNode(),
        ...helpers,
        { id: 'eng', type: 'porchlight-engine', threads: 1, maxQueue: 8, taskTimeout: 120, maxMegapixels: 40, backend: 'tfjs' },
        { id: 'fd', type: 'porchlight-face-detect', engine: 'eng', detector: 'ssd-mobilenetv1', minConfidence: 0.5, minFaceSize: 20, maxFaces: 5, crops: true, cropSize: 160, queuePolicy: 'wait', wires: [['fr', 'el'], ['fr', 'el']] },
        { id: 'fr', type: 'porchlight-face-recognize', engine: 'eng', db: 'db', tolerance: 0.6, margin: 0.05, burstFrames: 2, burstMs: 20_000, queuePolicy: 'wait', wires: [['el'], ['el'], ['el'], ['el']] },
      ]);
      const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: { node: 'test' } };
      helper.getNode('el').receive({ event });
      const recorded = nextMessage<Record<string, any>>(helper.getNode('recorded'), 180_000);
      for (const [seq, n] of [3, 4].entries()) {
        const frame = await sharp(fs.readFileSync(lfwImage('Aaron_Peirsol', n))).extend({ top: 115, bottom: 115, left: 195, right: 195, background: '#404040' }).jpeg().toBuffer();
        helper.getNode('fd').receive({ event, payload: frame, frame: { seq, capturedAt: Date.now(), width: 640, height: 480, preRoll: false } });
      }
      const out = await recorded;
      assert.equal(out.eventLog.status, 'completed');
      assert.equal(out.eventLog.verdict, 'known');
      assert.equal(out.eventLog.hasSnapshot, true);
      const res = await helper.request().get(`/porchlight/events/${event.id}`).expect(200);
      assert.equal(res.body.people[0].name, 'Aaron Peirsol');
      assert.equal(res.body.framesSeen, 2);
      assert.equal(res.body.faces[0].name, 'Aaron Peirsol');
      assert.ok(res.body.faces[0].distance < 0.6);
      assert.equal(res.body.faces[0].hasCrop, true);
      // The "known" green box is drawn around the face.
      const snapshot = await helper.request().get(`/porchlight/events/${event.id}/snapshot.jpg`).buffer(true).expect(200);
      const { x, y, height } = res.body.faces[0].box;
      const { data, info } = await sharp(snapshot.body).raw().toBuffer({ resolveWithObject: true });
      const at = (Math.round(y + height / 2) * info.width + Math.round(x)) * info.channels;
      assert.ok(data[at + 1] > data[at] + 40 && data[at + 1] > data[at + 2] + 40, `green box edge, got ${[data[at], data[at + 1], data[at + 2]]}`);
    } finally {
      await helper.unload();
      await lease.release();
    }
  });

  it('marks the event failed when a Catch node reports a node\'s error for it', async () => {
    // A Catch node only sees nodes on its own tab.
    const onTab = (n: Record<string, unknown>) => ({ ...n, z: 'tab' });
    await helper.load([engine, faceDetect, porchlightDb, eventLog], [
      { id: 'tab', type: 'tab', label: 'doorbell' },
      dbNode(),
      onTab(logNode()),
      ...helpers.map(onTab),
      { id: 'eng', type: 'porchlight-engine', threads: 1, maxQueue: 8, taskTimeout: 60, maxMegapixels: 40 },
      onTab({ id: 'fd', type: 'porchlight-face-detect', name: 'detect', engine: 'eng', detector: 'ssd-mobilenetv1', minConfidence: 0.5, queuePolicy: 'wait', wires: [['el'], ['el']] }),
      onTab({ id: 'catcher', type: 'catch', scope: null, uncaught: false, wires: [['el']] }),
    ]);
    const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
    helper.getNode('el').receive({ event });
    const recorded = nextMessage<Record<string, any>>(helper.getNode('recorded'), 90_000);
    helper.getNode('fd').receive({ event, payload: truncatedJpeg(), frame: { seq: 0 } });
    const out = await recorded;
    assert.equal(out.eventLog.status, 'failed');
    const res = await helper.request().get(`/porchlight/events/${event.id}`).expect(200);
    assert.equal(res.body.status, 'failed');
    assert.match(res.body.errorMessage, /corrupt|truncat|premature/i);
    assert.match(res.body.errorMessage, /\(from detect\)$/);
    assert.equal(res.body.problem, "The camera's picture could not be read.", 'the household reads a sentence; the message stays one click away');
    const listed = await helper.request().get('/porchlight/events').query({ status: 'failed' }).expect(200);
    assert.equal(listed.body.events[0].problem, res.body.problem);
  });

  describe('admin API and msg.action', () => {
    const base = Date.UTC(2026, 2, 1);
    const ids: string[] = [];

    beforeEach(async () => {
      await helper.load([porchlightDb, eventLog], [dbNode(), logNode({ keepUnknownDays: 0, keepKnownDays: 0, keepBlacklistedDays: 0, keepNoFaceDays: 0, keepOtherDays: 0 }), ...helpers]);
      const el = helper.getNode('el');
      ids.length = 0;
      for (let i = 0; i < 25; i++) {
        const event = { id: newEventId(base + i * 60_000), trigger: 'doorbell', startedAt: base + i * 60_000, source: {} };
        ids.push(event.id);
        const recorded = nextMessage(helper.getNode('recorded'));
        const who = i % 4 === 0 ? { name: 'Alice', list: 'known', distance: 0.3, personId: 1 } : null;
        el.receive({ event, verdict: { status: who ? 'known' : 'unknown', people: who ? [who] : [], framesSeen: 3, latencyMs: 300 } });
        await recorded;
      }
    });

    it('filters and pages GET /porchlight/events', async () => {
      let res = await helper.request().get('/porchlight/events').expect(200);
      assert.equal(res.body.total, 25);
      assert.equal(res.body.events.length, 25);
      assert.deepEqual(Object.keys(res.body.events[0]).sort(), ['completedAt', 'door', 'errorMessage', 'framesSeen', 'hasSnapshot', 'id', 'people', 'problem', 'processingMs', 'startedAt', 'status', 'trigger', 'verdict'].sort());

      res = await helper.request().get('/porchlight/events').query({ limit: 10, offset: 10 }).expect(200);
      assert.equal(res.body.total, 25);
      assert.deepEqual(res.body.events.map((e: { id: string }) => e.id), ids.slice(5, 15).reverse());

      res = await helper.request().get('/porchlight/events').query({ person: 'ALICE' }).expect(200);
      assert.equal(res.body.total, 7);
      res = await helper.request().get('/porchlight/events').query({ verdict: 'unknown', since: new Date(base + 20 * 60_000).toISOString(), until: base + 24 * 60_000 }).expect(200);
      assert.equal(res.body.total, 3); // minutes 21, 22 and 23 (20 and 24 are Alice's)
      assert.ok(res.body.events.every((e: { verdict: string }) => e.verdict === 'unknown'));
      res = await helper.request().get('/porchlight/events').query({ status: 'failed' }).expect(200);
      assert.equal(res.body.total, 0);
    });

    it('keeps SQL-looking filter text harmless and refuses malformed filters with 400', async () => {
      let res = await helper.request().get('/porchlight/events').query({ person: "x' OR '1'='1" }).expect(200);
      assert.equal(res.body.total, 0);
      res = await helper.request().get('/porchlight/events').query({ person: "'; DROP TABLE events; --" }).expect(200);
      assert.equal(res.body.total, 0);
      res = await helper.request().get('/porchlight/events').query({ status: "completed' OR '1'='1" }).expect(400);
      assert.match(res.body.error.message, /status must be one of/);
      await helper.request().get('/porchlight/events').query({ limit: 'all' }).expect(400);
      await helper.request().get('/porchlight/events').query({ since: 'last tuesday' }).expect(400);
      res = await helper.request().get('/porchlight/events').expect(200);
      assert.equal(res.body.total, 25, 'nothing was dropped or changed');
    });

    it('refuses ids that try to leave the snapshot folder', async () => {
      for (const bad of ['..%2f..%2fetc%2fpasswd', '..%2F..%2Fporchlight.db', '%2Fetc%2Fpasswd', '..', 'a.b', '%00']) {
        for (const suffix of ['', '/snapshot.jpg', '/thumbnail.jpg']) {
          const res = await helper.request().get(`/porchlight/events/${bad}${suffix}`);
          assert.ok(res.status === 400 || res.status === 404, `${bad}${suffix}: ${res.status}`);
          assert.ok(!String(res.text).includes('root:'), 'no file content leaks');
          if (bad !== '..') assert.equal(res.status, 400, `${bad}${suffix}`);
        }
        await helper.request().delete(`/porchlight/events/${bad}`).expect((res: { status: number }) => assert.ok(res.status === 400 || res.status === 404));
      }
      await helper.request().get(`/porchlight/events/${ids[0]}/snapshot.jpg`).expect(404); // no frame reached the log
      const res = await helper.request().get('/porchlight/events').expect(200);
      assert.equal(res.body.total, 25);
    });

    it('deletes an event', async () => {
      await helper.request().delete(`/porchlight/events/${ids[3]}`).expect(204);
      await helper.request().get(`/porchlight/events/${ids[3]}`).expect(404);
      await helper.request().delete(`/porchlight/events/${ids[3]}`).expect(404);
      const res = await helper.request().get('/porchlight/events').expect(200);
      assert.equal(res.body.total, 24);
    });

    it('exports CSV over HTTP and answers msg.action query and export', async () => {
      const csv = await helper.request().get('/porchlight/events.csv').query({ person: 'Alice' }).expect('Content-Type', /text\/csv/).expect(200);
      const lines = csv.text.trimEnd().split('\r\n');
      assert.equal(lines.length, 8);
      assert.ok(lines.slice(1).every((l: string) => l.includes(',known,Alice,known,0.3000,')));

      const el = helper.getNode('el');
      let got = nextMessage<Record<string, any>>(helper.getNode('results'));
      el.receive({ action: 'query', payload: { verdict: 'known', limit: 2 } });
      let msg = await got;
      assert.equal(msg.payload.total, 7);
      assert.deepEqual(msg.payload.events.map((e: { id: string }) => e.id), [ids[24], ids[20]]);

      got = nextMessage<Record<string, any>>(helper.getNode('results'));
      el.receive({ action: 'export', format: 'json', filter: { personId: '1' } });
      msg = await got;
      assert.equal(JSON.parse(msg.payload).length, 7);
    });

    it('reports a malformed query through done(err) so Catch nodes see it', async () => {
      const el = helper.getNode('el');
      const errored = new Promise<Error>((resolve) => el.on('call:error', (call: { args: [Error] }) => resolve(call.args[0])));
      el.receive({ action: 'query', payload: { verdict: 'maybe' } });
      assert.match(String(await errored), /verdict must be one of/);
    });

    it('serves Prometheus metrics that parse as exposition format', async () => {
      const before = parsePrometheus((await helper.request().get('/porchlight/metrics').expect(200)).text);
      const el = helper.getNode('el');
      const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now() - 400, source: {} };
      el.receive({ event });
      // face-detect's report: 120 ms from input to result, of which 45 ms ran on the worker and 75 ms waited for it.
      el.receive({ event, faces: [], detection: { latencyMs: 120, timings: { decodeMs: 5, detectMs: 38, totalMs: 45 }, waitMs: 75 }, frame: { seq: 0 } });
      const recorded = nextMessage(helper.getNode('recorded'));
      el.receive({ event, verdict: { status: 'blacklisted', people: [{ name: 'Mallory', list: 'blacklist' }], decidedAt: event.startedAt + 420, latencyMs: 380 } });
      await recorded;
      const res = await helper.request().get('/porchlight/metrics').expect('Content-Type', /text\/plain/).expect(200);
      const after = parsePrometheus(res.text);
      const delta = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0);
      assert.equal(delta('porchlight_presses_total'), 1);
      assert.equal(delta('porchlight_events_total{verdict="blacklisted"}'), 1);
      assert.equal(delta('porchlight_frames_processed_total'), 1);
      assert.equal(delta('porchlight_trigger_to_verdict_seconds_count'), 1);
      assert.equal(delta('porchlight_trigger_to_verdict_seconds_bucket{le="0.5"}'), 1);
      assert.equal(delta('porchlight_trigger_to_verdict_seconds_bucket{le="0.3"}'), 0);
      // Detection is the worker's run only (45 ms), not the 120 ms that include the queue; the wait has its own histogram.
      assert.equal(delta('porchlight_detection_seconds_count'), 1);
      assert.equal(delta('porchlight_detection_seconds_bucket{le="0.05"}'), 1);
      assert.equal(delta('porchlight_detection_seconds_bucket{le="0.025"}'), 0);
      assert.equal(delta('porchlight_detection_wait_seconds_count'), 1);
      assert.equal(delta('porchlight_detection_wait_seconds_bucket{le="0.1"}'), 1);
      assert.equal(delta('porchlight_detection_wait_seconds_bucket{le="0.05"}'), 0);
      const dbKey = [...after.keys()].find((k) => k.startsWith('porchlight_db_size_bytes{file='));
      assert.ok(dbKey && after.get(dbKey)! > 4096, 'the database size is reported');
      assert.ok(after.has('porchlight_queue_depth'));
    });

    it('answers /porchlight/health, with 503 when a component is down', async () => {
      let res = await helper.request().get('/porchlight/health');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const db = Object.entries(res.body.components).find(([key]) => key.startsWith('database:'));
      assert.ok(db, 'the database is checked');
      assert.deepEqual([(db[1] as any).ok, (db[1] as any).events], [true, 25]);
      assert.ok(res.body.components.engine);
      const unregister = registerHealthCheck('camera:test', () => ({ ok: false, error: 'no frame for 30 s' }));
      try {
        res = await helper.request().get('/porchlight/health').expect(503);
        assert.equal(res.body.ok, false);
        assert.equal(res.body.components['camera:test'].error, 'no frame for 30 s');
      } finally {
        unregister();
      }
    });
  });

  it('keeps no snapshot of a known person with the privacy option, through the node', async () => {
    await helper.load([porchlightDb, eventLog], [dbNode(), logNode({ privacy: true }), ...helpers]);
    const el = helper.getNode('el');
    const frame = fs.readFileSync(lfwImage('Aaron_Eckhart', 1));
    const face = { box: { x: 75, y: 70, width: 100, height: 120 }, score: 0.9 };
    const known = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
    const stranger = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
    let recorded = nextMessage<Record<string, any>>(helper.getNode('recorded'));
    el.receive({ event: known, payload: frame, faces: [{ ...face, match: { name: 'Aaron', list: 'known', distance: 0.3 } }], verdict: { status: 'known', people: [{ name: 'Aaron', list: 'known' }] } });
    assert.equal((await recorded).eventLog.hasSnapshot, false);
    recorded = nextMessage<Record<string, any>>(helper.getNode('recorded'));
    el.receive({ event: stranger, payload: frame, faces: [{ ...face, match: { name: null, list: null, distance: 0.8 } }], verdict: { status: 'unknown', people: [] } });
    assert.equal((await recorded).eventLog.hasSnapshot, true);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'snapshots')).sort(), [`${stranger.id}.jpg`, `${stranger.id}.thumb.jpg`]);
  });

  it('drops the crops and snapshots of a person forgotten in the face DB', async () => {
    await helper.load([porchlightDb, eventLog], [dbNode(), logNode(), ...helpers]);
    const lease = await acquireSharedStore({ file: dbNode().file }); // the node's own store: same file, same object
    try {
      const embedding = Float32Array.from({ length: 128 }, (_, i) => Math.sin(i));
      const zoe = (await lease.store.enroll('Zoe', [{ model: 'test-model', embedding }])).person;
      const frame = fs.readFileSync(lfwImage('Aaron_Eckhart', 1));
      const box = { x: 75, y: 70, width: 100, height: 120 };
      const record = async (personId: number, name: string) => {
        const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
        const recorded = nextMessage(helper.getNode('recorded'));
        helper.getNode('el').receive({ event, payload: frame, faces: [{ box, score: 0.9, match: { personId, name, list: 'known', distance: 0.3 } }], verdict: { status: 'known', people: [{ personId, name, list: 'known', distance: 0.3 }] } });
        await recorded;
        return event.id;
      };
      const zoesVisit = await record(zoe.id, 'Zoe');
      const othersVisit = await record(zoe.id + 1000, 'Yves');
      await lease.store.forget(zoe.id);
      let detail: any;
      for (let i = 0; i < 100; i++) {
        detail = (await helper.request().get(`/porchlight/events/${zoesVisit}`).expect(200)).body;
        if (!detail.hasSnapshot) break;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.equal(detail.hasSnapshot, false);
      assert.equal(detail.faces[0].hasCrop, false);
      // The visit stays on record, but not her name: not in the event, its faces, the search or the CSV export.
      for (let i = 0; i < 100 && detail.people[0].name === 'Zoe'; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        detail = (await helper.request().get(`/porchlight/events/${zoesVisit}`).expect(200)).body;
      }
      assert.deepEqual([detail.verdict, detail.people[0].name, detail.faces[0].name], ['known', `(forgotten #${zoe.id})`, `(forgotten #${zoe.id})`]);
      assert.equal((await helper.request().get('/porchlight/events').query({ person: 'Zoe' }).expect(200)).body.total, 0);
      const csv = (await helper.request().get('/porchlight/events.csv').expect(200)).text;
      assert.ok(!csv.includes('Zoe') && csv.includes(`(forgotten #${zoe.id})`) && csv.includes('Yves'), csv);
      const json = (await helper.request().get('/porchlight/events.json').expect(200)).text;
      assert.ok(!json.includes('Zoe'), 'the JSON export names her nowhere');
      // Pictures are never kept by the browser, so none outlives a forget there.
      const snapshot = await helper.request().get(`/porchlight/events/${othersVisit}/snapshot.jpg`).expect(200);
      assert.equal(snapshot.headers['cache-control'], 'private, no-store');
      await helper.request().get(`/porchlight/events/${zoesVisit}/snapshot.jpg`).expect(404);
      const other = (await helper.request().get(`/porchlight/events/${othersVisit}`).expect(200)).body;
      assert.deepEqual([other.hasSnapshot, other.faces[0].hasCrop], [true, true], 'other people keep theirs');
    } finally {
      await lease.release();
    }
  });

  it('deploys the event-log example: its press creates an event, its query answers', async () => {
    const inject = require(require.resolve('@node-red/nodes/core/common/20-inject.js'));
    const debug = require(require.resolve('@node-red/nodes/core/common/21-debug.js'));
    const comment = require(require.resolve('@node-red/nodes/core/common/90-comment.js'));
    const example = JSON.parse(fs.readFileSync(path.join(repoRoot, 'examples', 'event-log.json'), 'utf8')).map((n: Record<string, unknown>) =>
      n.type === 'porchlight-db' ? { ...n, ...dbNode(), id: n.id } : n.id === 'pl-ex-el-log' ? { ...n, wires: [['results'], ['recorded']] } : n,
    );
    await helper.load([inject, debug, comment, porchlightDb, eventLog], [...example, ...helpers.map((h) => ({ ...h, z: 'pl-ex-el-tab' }))]);
    helper.getNode('pl-ex-el-press').receive({});
    const results = nextMessage<Record<string, any>>(helper.getNode('results'));
    setTimeout(() => helper.getNode('pl-ex-el-query').receive({}), 50);
    const page = (await results).payload;
    assert.equal(page.total, 0, 'a bare press has no verdict yet');
    const res = await helper.request().get('/porchlight/events').expect(200);
    assert.equal(res.body.total, 1);
    assert.equal(res.body.events[0].trigger, 'inject');
    assert.equal(res.body.events[0].status, 'created');
    assert.match(res.body.events[0].id, /^evt-\d+$/);
  });

  it('gives the database back when the log fails to open after registering with it', async () => {
    // A file that once replicated to PostgreSQL (its outbox to clear, now on SQLite alone), written by another process when the log opens.
    const file = path.join(dir, 'porchlight.db');
    const store = (await openStore({ file })) as SqliteStore;
    store.db.prepare('INSERT INTO event_replication (id, enabled_at) VALUES (1, ?)').run(Date.now());
    await store.close();
    const other = new Database(file);
    other.exec('BEGIN IMMEDIATE');
    try {
      await helper.load([porchlightDb, eventLog], [dbNode(), logNode(), ...helpers]);
      const el = helper.getNode('el');
      const errored = new Promise<string>((resolve) => el.on('call:error', (call: { args: [string] }) => resolve(String(call.args[0]))));
      // The database opened for the log (the other process only writes), then clearing the outbox found it busy.
      assert.match(await errored, /event log unavailable: .*locked/);
      const config = helper.getNode('db') as unknown as DbConfigNode;
      await waitUntil(() => config.database.userCount === 0, { message: () => `the event log deregistered (${config.database.userCount} users)` });
      await helper.unload();
      assert.equal(sharedStoreUsers({ file }), 0, 'the database is closed after the flow is unloaded');
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
  });

  it('closes within 15 s while an event is being written', async () => {
    await helper.load([porchlightDb, eventLog], [dbNode(), logNode(), ...helpers]);
    const event = { id: newEventId(), trigger: 'doorbell', startedAt: Date.now(), source: {} };
    helper.getNode('el').receive({ event, payload: fs.readFileSync(lfwImage('Aaron_Eckhart', 1)), verdict: { status: 'unknown', people: [] } });
    const started = Date.now();
    await helper.unload();
    assert.ok(Date.now() - started < 15_000);
  });
});
