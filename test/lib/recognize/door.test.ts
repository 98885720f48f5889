import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { type EngineSelection, type PoolLease, TFJS_SELECTION } from '../../../lib/engine';
import { PorchlightError } from '../../../lib/errors';
import { attachMatcher, type AttachedMatcher } from '../../../lib/match';
import { healthReport } from '../../../lib/metrics';
import { DEFAULT_BURST, DoorRecognizer, type FrameMessage, type Gallery, type MessageVerdict, type RecognizeSettings } from '../../../lib/recognize';
import { openSqliteStore, type SqliteStore } from '../../../lib/store';
import { fileVisitors, type VerdictVisitor, visitorsOf } from '../../../lib/visitors';
import { lfwFaces, enrolledDb } from '../../support/enrolled-db';
import { lfwDir, lfwPeople } from '../../support/paths';
import { waitUntil } from '../../support/wait';

/**
 * lib/recognize DoorRecognizer: face-recognize without Node-RED. Real LFW
 * photos through a real worker pool (face-api on tfjs), a real SQLite
 * database and matcher, real visitor filing; only the node's outputs and
 * status are recorded here instead of sent.
 */

const imagesOf = (person: string) => fs.readdirSync(path.join(lfwDir, person)).sort().map((f) => path.join(lfwDir, person, f));
const photo = (person: string, n: number) => fs.readFileSync(imagesOf(person)[n]);

const SELECTION: EngineSelection = { ...TFJS_SELECTION, reason: 'tfjs for the test', label: 'face-api (tfjs)', tolerance: 0.6 };

describe('DoorRecognizer (lib/recognize: real LFW faces, real pool, real SQLite)', function () {
  this.timeout(600_000);
  const withThree = lfwPeople().filter((p) => imagesOf(p).length >= 3);
  const known = withThree.slice(0, 3);
  const blacklisted = withThree[3];
  const newcomer = withThree[4];
  const stranger = lfwPeople().slice(-300).find((p) => !withThree.slice(0, 5).includes(p))!;
  let lease: PoolLease;
  let store: SqliteStore;
  let attached: AttachedMatcher;
  let gallery: Gallery & { store: SqliteStore };
  const open: Array<DoorRecognizer<Gallery>> = [];
  let nextId = 0;

  before(async () => {
    let dbFile = '';
    ({ lease, dbFile } = await enrolledDb('porchlight-door-', async (faces, pool) => {
      for (const person of known) await faces.enroll(person, await lfwFaces(pool, person), { list: 'known' });
      await faces.enroll(blacklisted, await lfwFaces(pool, blacklisted), { list: 'blacklist' });
    }));
    store = openSqliteStore(dbFile);
    attached = attachMatcher(store);
    gallery = { store, matcher: attached.matcher, get matcherReady() { return attached.ready; } };
    await attached.ready;
  });

  after(async () => {
    attached.detach();
    await store.close();
    await lease.release();
  });

  afterEach(() => {
    for (const recognizer of open.splice(0)) recognizer.close();
  });

  /** What the node would send and show, recorded. */
  function recorder() {
    return {
      sent: [] as Array<Array<FrameMessage | null>>,
      decided: [] as MessageVerdict[],
      ready: [] as string[],
      warnings: [] as string[],
      failed: [] as Error[],
      models: [] as string[],
    };
  }

  function recognizerFor(settings: Partial<RecognizeSettings> = {}, wiring: { gallery?: Promise<Gallery>; selection?: Promise<EngineSelection> } = {}) {
    const seen = recorder();
    const recognizer = new DoorRecognizer<Gallery>(
      { tolerance: { strangersOneIn: 1000, rawTolerance: 0.6 }, margin: 0.05, burst: { ...DEFAULT_BURST, windowMs: 60_000 }, perFrame: false, flip: true, policy: 'wait', ...settings },
      {
        id: `door-test-${++nextId}`,
        pool: lease.pool,
        selection: wiring.selection ?? Promise.resolve(SELECTION),
        gallery: wiring.gallery ?? Promise.resolve(gallery),
        models: { loaded: () => seen.models.push('loaded'), failed: () => seen.models.push('failed') },
        visitors: { bookOf: (g: Gallery) => visitorsOf(g.store as SqliteStore)!, file: fileVisitors },
        clone: (msg) => ({ ...msg }),
        send: (ports) => seen.sent.push(ports),
        warn: (text) => seen.warnings.push(text),
        ready: ({ text }) => seen.ready.push(text),
        failedToLoad: (err) => seen.failed.push(err),
        decided: (verdict) => seen.decided.push(verdict),
      },
    );
    open.push(recognizer);
    return { recognizer, seen };
  }

  const verdictOf = async (seen: ReturnType<typeof recorder>, count = 1) => {
    await waitUntil(() => seen.sent.length >= count, { timeout: 120_000, interval: 50, message: `verdict ${count}` });
    const ports = seen.sent[count - 1];
    const port = ports.findIndex((m) => m !== null);
    return { port, ports, msg: ports[port]! as FrameMessage & { verdict: MessageVerdict; faces: any[] } };
  };

  it('decides a frame without an event on its own, on the known output, with the faces and the verdict filled in', async () => {
    const { recognizer, seen } = recognizerFor();
    await recognizer.frame({ payload: photo(known[0], 2) }, () => assert.fail('no per-frame output'));
    const { port, ports, msg } = await verdictOf(seen);
    assert.equal(ports.length, 4);
    assert.equal(port, 0, 'known');
    assert.equal(msg.verdict.status, 'known');
    assert.deepEqual(Object.keys(msg.verdict.people[0]).sort(), ['confidence', 'distance', 'list', 'name', 'personId']);
    assert.equal(msg.verdict.people[0].name, known[0]);
    assert.equal(msg.verdict.framesSeen, 1);
    assert.equal(msg.verdict.reason, 'clear');
    assert.ok(msg.verdict.latencyMs >= 0);
    assert.equal(typeof (msg.event as { id: unknown }).id, 'string', 'the frame got an event of its own');
    const [face] = msg.faces;
    assert.equal(face.status, 'known');
    assert.equal(face.match.name, known[0]);
    assert.ok(Buffer.isBuffer(face.crop) && face.crop[0] === 0xff && face.crop[1] === 0xd8, 'a JPEG crop');
    assert.ok(Array.isArray(face.embedding) && face.embedding.length === 128);
    assert.deepEqual(seen.decided, [msg.verdict], 'the status is told the verdict that leaves');
    assert.deepEqual(seen.models, ['loaded']);
    const health = recognizer.health();
    assert.equal(health.distance, 0.6);
    assert.equal(health.strangersOneIn, null, 'a distance set by hand, not the stranger rate');
    assert.equal(health.model, 'faceapi-resnet128');
    assert.deepEqual((await healthReport()).components[`recognize:door-test-${nextId}`], health);
  });

  it('collects the frames of one event into one verdict; a frame of an event already decided is not recognised', async () => {
    const { recognizer, seen } = recognizerFor({ burst: { ...DEFAULT_BURST, maxFrames: 3, windowMs: 60_000, atOnce: false } });
    const event = { id: 'door-burst-1', trigger: 'test', startedAt: Date.now(), source: {} };
    for (let seq = 0; seq < 3; seq++) {
      assert.equal(seen.sent.length, 0, `no verdict before frame ${seq + 1} of 3`);
      await recognizer.frame({ payload: photo(known[1], 2), event, frame: { seq } }, () => undefined);
    }
    const { port, msg } = await verdictOf(seen);
    assert.equal(port, 0);
    assert.equal(msg.verdict.framesSeen, 3);
    assert.ok(['certain', 'frames'].includes(msg.verdict.reason), msg.verdict.reason);
    const late: FrameMessage = { payload: photo(known[1], 2), event, frame: { seq: 3 } };
    await recognizer.frame(late, () => undefined);
    assert.equal(late.faces, undefined, 'the late frame was not recognised');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(seen.sent.length, 1, 'one verdict for the event');
  });

  it('decides at once on a blacklisted face, on the third output, without waiting for the burst', async () => {
    const { recognizer, seen } = recognizerFor({ burst: { ...DEFAULT_BURST, maxFrames: 5, windowMs: 60_000 } });
    const event = { id: 'door-blacklist-1', trigger: 'test', startedAt: Date.now(), source: {} };
    await recognizer.frame({ payload: photo(blacklisted, 2), event }, () => undefined);
    const { port, msg } = await verdictOf(seen);
    assert.equal(port, 2);
    assert.equal(msg.verdict.status, 'blacklisted');
    assert.equal(msg.verdict.people[0].list, 'blacklist');
    assert.equal(msg.verdict.reason, 'clear');
    assert.equal(msg.verdict.framesSeen, 1);
  });

  it('files a stranger with the recurring visitors before the unknown verdict leaves: the second visit names the visitor', async () => {
    const { recognizer, seen } = recognizerFor();
    await recognizer.frame({ payload: photo(stranger, 0) }, () => undefined);
    const first = await verdictOf(seen);
    assert.equal(first.port, 1, 'unknown');
    assert.equal(first.msg.faces[0].match, null);
    assert.equal(first.msg.verdict.visitor, undefined, 'one visit: no recurring visitor yet');
    await recognizer.frame({ payload: photo(stranger, 0) }, () => undefined);
    const second = await verdictOf(seen, 2);
    assert.equal(second.port, 1);
    const visitor = second.msg.verdict.visitor as VerdictVisitor;
    assert.ok(visitor, 'the verdict names its visitor');
    assert.equal(visitor.seen, 2);
    assert.match(visitor.label, /^visitor #\d+$/);
    assert.equal(visitorsOf(store)!.summary(visitor.id)?.seen, 2, 'the visitor is in the book');
    assert.deepEqual(seen.warnings, []);
  });

  it('decides a frame face-detect found no face in as no_face, without the database or the pool', async () => {
    const { recognizer, seen } = recognizerFor({}, { gallery: new Promise<Gallery>(() => undefined) });
    const msg: FrameMessage = { payload: photo(known[0], 2), faces: [] };
    await recognizer.frame(msg, () => undefined);
    const { port, msg: out } = await verdictOf(seen);
    assert.equal(port, 3);
    assert.equal(out, msg);
    assert.equal(out.verdict.status, 'no_face');
    assert.deepEqual(out.faces, []);
    assert.deepEqual(seen.models, [], 'nothing embedded');
  });

  it('with every frame wanted, sends each frame on the fifth output and the verdict as a copy', async () => {
    const { recognizer, seen } = recognizerFor({ perFrame: true, burst: { ...DEFAULT_BURST, maxFrames: 2, windowMs: 60_000, atOnce: false } });
    const event = { id: 'door-every-1', trigger: 'test', startedAt: Date.now(), source: {} };
    const frames: Array<Array<FrameMessage | null>> = [];
    const first: FrameMessage = { payload: photo(known[2], 2), event, frame: { seq: 0 } };
    await recognizer.frame(first, (ports) => frames.push(ports));
    await recognizer.frame({ payload: photo(known[2], 2), event, frame: { seq: 1 } }, (ports) => frames.push(ports));
    assert.equal(frames.length, 2);
    assert.deepEqual(frames[0].slice(0, 4), [null, null, null, null]);
    const frame = frames[0][4] as FrameMessage & { frameResult: { status: string; latencyMs: number } };
    assert.equal(frame.frameResult.status, 'known');
    assert.ok(frame.frameResult.latencyMs >= 0);
    assert.equal(frame.verdict, undefined);
    const { port, ports, msg } = await verdictOf(seen);
    assert.equal(ports.length, 5);
    assert.equal(port, 0);
    assert.notEqual(msg, first, 'the verdict is a copy: the frame message already left');
    assert.equal(first.verdict, undefined);
  });

  it('reports ready with the distance in force after the warm-up, and again when an enrolment changes the gallery', async () => {
    const { recognizer, seen } = recognizerFor({ tolerance: { strangersOneIn: 1000, rawTolerance: NaN } });
    await recognizer.warmUp();
    assert.deepEqual(seen.ready, ['ready · 1 in 1,000 · 4 people']);
    assert.deepEqual(recognizer.readiness().detail?.startsWith('ready: distance '), true);
    const before = recognizer.inForce()!.tolerance;
    assert.ok(before > 0.3 && before < 0.6, `the distance for 1 in 1,000 strangers: ${before}`);
    await store.enroll(newcomer, await lfwFaces(lease, newcomer), { list: 'known' });
    try {
      await waitUntil(() => seen.ready.length === 2, { timeout: 30_000, message: 'a second ready status' });
      assert.equal(seen.ready[1], 'ready · 1 in 1,000 · 5 people');
      assert.ok(recognizer.inForce()!.tolerance < before, 'a larger gallery, a smaller distance');
    } finally {
      await store.forget(newcomer);
    }
  });

  it('a warm-up that fails says so and marks the models failed', async () => {
    const selection = Promise.reject(new PorchlightError('MODEL_UNAVAILABLE', 'no models here'));
    const { recognizer, seen } = recognizerFor({}, { selection });
    await recognizer.warmUp();
    assert.deepEqual(seen.failed.map((e) => e.message), ['no models here']);
    assert.deepEqual(seen.models, ['failed']);
    assert.deepEqual(seen.ready, []);
    assert.deepEqual(recognizer.health(), { ok: true, state: 'loading' });
  });

  it('drain waits for the frames being recognised; close drops an open burst without a verdict and ends the health check', async () => {
    const { recognizer, seen } = recognizerFor({ burst: { ...DEFAULT_BURST, maxFrames: 5, windowMs: 300, atOnce: false } });
    const order: string[] = [];
    const event = { id: 'door-close-1', trigger: 'test', startedAt: Date.now(), source: {} };
    const frame = recognizer.frame({ payload: photo(known[0], 2), event }, () => undefined).then(() => order.push('frame'));
    const drained = recognizer.drain().then(() => order.push(seen.models.includes('loaded') ? 'drained after embedding' : 'drained early'));
    await Promise.all([frame, drained]);
    assert.deepEqual(order, ['drained after embedding', 'frame']);
    recognizer.close();
    assert.equal(recognizer.closed, true);
    await new Promise((resolve) => setTimeout(resolve, 600));
    assert.equal(seen.sent.length, 0, 'no verdict after close, not even when the window would have closed');
    assert.equal((await healthReport()).components[`recognize:door-test-${nextId}`], undefined);
  });
});
