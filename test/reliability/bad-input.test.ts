import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { isEventId } from '../../lib/events/event-id';
import { animatedGif, corruptJpeg, htmlPage, jpegDeclaring, palettePng, zipArchive } from '../support/bad-input';
import { cmykJpeg, onePixelPng, png16, pngClaimingSize, pngWithAlpha, textFile, truncatedJpeg } from '../support/images';
import { helper } from '../support/node-red';
import { lfwDir, nodeFile } from '../support/paths';
import { tempDir } from '../support/temp';
import { waitUntil } from '../support/wait';

const NODE_MODULES = ['porchlight-engine', 'porchlight-db', 'gpio-doorbell', 'frame-buffer', 'face-detect', 'face-recognize', 'face-db', 'event-log'].map((name) =>
  require(nodeFile(name)),
);
const catchNode = require('@node-red/nodes/core/common/25-catch.js');

/** Where each node's outputs end up (besides the wiring between the nodes). */
const OUTPUT_HELPERS = ['bellOut', 'fbOut', 'fdFaces', 'fdNone', 'verdict', 'elOut', 'elRecorded', 'fdbOut', 'caught'];

/** A message of the corpus, the node it goes to, and either the error it must cause or the outputs it may leave by. */
interface BadInput {
  label: string;
  node: string;
  msg: Record<string, unknown>;
  expect: RegExp | string[];
}

/** A message that reached a helper node. */
interface Arrival {
  at: string;
  msg: Record<string, any>;
}

/** The `n`-th image (from 1) an LFW person has in this copy (which does not hold every numbered one). */
function face(person: string, n = 1): Buffer {
  const files = fs.readdirSync(path.join(lfwDir, person)).filter((f) => f.endsWith('.jpg')).sort();
  return fs.readFileSync(path.join(lfwDir, person, files[n - 1]));
}
const ESCAPING_ID = '../../../../tmp/porchlight-escape';
const HOSTILE_NAME = `<img src=x onerror=alert(1)> Robert'); DROP TABLE people;-- ../../etc/passwd %00`;

describe('reliability: a corpus of bad input through one Node-RED runtime', function () {
  this.timeout(300_000);
  let dir: string;
  let dbFile: string;
  const arrivals: Arrival[] = [];
  let sent = 0;

  const flow = () => [
    { id: 'tab', type: 'tab', label: 'bad input' },
    { id: 'eng', type: 'porchlight-engine', threads: 1, maxQueue: 16, taskTimeout: 120, maxMegapixels: 40, backend: 'tfjs' },
    { id: 'db', type: 'porchlight-db', file: dbFile, snapshotDir: path.join(dir, 'snapshots') },
    { id: 'bell', type: 'porchlight-gpio-doorbell', z: 'tab', backend: 'simulated', debounce: 0, minPress: 0, longPress: 0, cooldown: 0, wires: [['bellOut'], []] },
    { id: 'fb', type: 'porchlight-frame-buffer', z: 'tab', source: 'msg', preRoll: 1, burstCount: 0, output: 'single', wires: [['fbOut']] },
    { id: 'fd', type: 'porchlight-face-detect', z: 'tab', engine: 'eng', detector: 'ssd-mobilenetv1', minConfidence: 0.5, minFaceSize: 20, maxFaces: 10, queuePolicy: 'wait', wires: [['fdFaces', 'fr'], ['fdNone', 'fr']] },
    {
      id: 'fr', type: 'porchlight-face-recognize', z: 'tab', engine: 'eng', db: 'db', tolerance: '', margin: 0.05, burstFrames: 1, burstMs: 5_000,
      certainty: 0.9, minQuality: 0.3, queuePolicy: 'wait', wires: [['verdict', 'el'], ['verdict', 'el'], ['verdict', 'el'], ['verdict', 'el']],
    },
    { id: 'el', type: 'porchlight-event-log', z: 'tab', db: 'db', wires: [['elOut'], ['elRecorded']] },
    { id: 'fdb', type: 'porchlight-face-db', z: 'tab', db: 'db', engine: 'eng', action: 'list', minQuality: 0.3, wires: [['fdbOut']] },
    { id: 'catchAll', type: 'catch', z: 'tab', scope: null, uncaught: false, wires: [['caught']] },
    ...OUTPUT_HELPERS.map((id) => ({ id, type: 'helper', z: 'tab' })),
  ];

  /**
   * Sends `msg` into `node` tagged with a fresh case number and resolves with
   * where it came out: one of `ports`, or the Catch node with an error raised by `node` itself.
   */
  async function deliver(node: string, msg: Record<string, unknown>, ports: string[]): Promise<Arrival> {
    const tag = ++sent;
    const from = arrivals.length;
    helper.getNode(node).receive({ ...msg, _case: tag });
    // A node that starts a new message (the doorbell's press) sends it untagged.
    const ours = (a: Arrival) => a.msg._case === tag || (a.msg._case === undefined && ports.includes(a.at));
    const mine = (a: Arrival) => ours(a) && (ports.includes(a.at) || (a.at === 'caught' && a.msg.error?.source?.id === node));
    const found = () => arrivals.slice(from).find(mine);
    await waitUntil(() => found() !== undefined, { timeout: 90_000, interval: 50, message: () => `message ${tag} to ${node} came out nowhere` });
    return found()!;
  }

  async function runFaceDb(msg: Record<string, unknown>): Promise<Arrival> {
    return deliver('fdb', msg, ['fdbOut']);
  }

  let baselineEventId: string;

  before(async () => {
    dir = tempDir('porchlight-badinput-');
    dbFile = path.join(dir, 'porchlight.db');
    await helper.load([...NODE_MODULES, catchNode], flow());
    for (const id of OUTPUT_HELPERS) helper.getNode(id).on('input', (msg: Record<string, any>) => arrivals.push({ at: id, msg }));
    // What must survive the corpus: one enrolled person and one recorded event.
    const enrolled = await runFaceDb({ action: 'enroll', name: 'Alice Baseline', payload: [face('Colin_Powell', 1), face('Colin_Powell', 2)] });
    assert.equal(enrolled.at, 'fdbOut', enrolled.msg.error?.message);
    const recorded = await deliver('fd', { payload: face('Colin_Powell', 3) }, ['verdict']);
    assert.equal(recorded.msg.verdict.status, 'known');
    baselineEventId = recorded.msg.event.id;
  });

  after(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('answers every bad message with a clear error through done(err), or handles the odd-but-valid ones', async () => {
    const notAnImage = /msg\.payload must be an image Buffer/;
    const good = face('Colin_Powell', 4);
    const corpus: BadInput[] = [
      // face-detect: images that are not images, or are odd
      { label: 'an empty Buffer', node: 'fd', msg: { payload: Buffer.alloc(0) }, expect: /not an image: the buffer is empty/ },
      { label: 'a truncated JPEG', node: 'fd', msg: { payload: truncatedJpeg() }, expect: /premature end of JPEG/ },
      { label: 'a JPEG with noise in its data', node: 'fd', msg: { payload: corruptJpeg() }, expect: ['fdFaces', 'fdNone'] },
      { label: 'a text file', node: 'fd', msg: { payload: textFile() }, expect: /not an image: \d+ bytes in no known image format/ },
      { label: 'an HTML page', node: 'fd', msg: { payload: htmlPage() }, expect: /not an image/ },
      { label: 'a zip archive', node: 'fd', msg: { payload: zipArchive() }, expect: /not an image/ },
      { label: 'a PNG declaring 30000x30000', node: 'fd', msg: { payload: pngClaimingSize(30000, 30000) }, expect: /30000x30000, over the 40 MP limit/ },
      { label: 'a JPEG declaring 65000x65000', node: 'fd', msg: { payload: jpegDeclaring(65000, 65000) }, expect: /over the 40 MP limit/ },
      { label: 'a 1x1 PNG', node: 'fd', msg: { payload: await onePixelPng() }, expect: ['fdNone'] },
      { label: 'a 16-bit PNG', node: 'fd', msg: { payload: await png16() }, expect: ['fdFaces'] },
      { label: 'a CMYK JPEG', node: 'fd', msg: { payload: await cmykJpeg() }, expect: ['fdFaces'] },
      { label: 'a palette PNG', node: 'fd', msg: { payload: await palettePng() }, expect: ['fdFaces'] },
      { label: 'a PNG with alpha', node: 'fd', msg: { payload: await pngWithAlpha() }, expect: ['fdFaces'] },
      { label: 'an animated GIF', node: 'fd', msg: { payload: animatedGif() }, expect: ['fdFaces', 'fdNone'] },
      { label: 'a string payload', node: 'fd', msg: { payload: 'http://camera/snapshot.jpg' }, expect: notAnImage },
      { label: 'a number payload', node: 'fd', msg: { payload: 42 }, expect: notAnImage },
      { label: 'an object payload', node: 'fd', msg: { payload: { jpeg: true } }, expect: notAnImage },
      { label: 'an array payload', node: 'fd', msg: { payload: [1, 2, 3] }, expect: notAnImage },
      { label: 'a null payload', node: 'fd', msg: { payload: null }, expect: notAnImage },
      { label: 'msg.event a string', node: 'fd', msg: { payload: good, event: 'press' }, expect: ['fdFaces'] },
      { label: 'msg.event without a usable id', node: 'fd', msg: { payload: good, event: { id: 42, startedAt: 'yesterday' } }, expect: ['fdFaces'] },
      // face-recognize
      { label: 'face-recognize: a string payload', node: 'fr', msg: { payload: 'hello' }, expect: notAnImage },
      { label: 'face-recognize: an empty Buffer', node: 'fr', msg: { payload: Buffer.alloc(0) }, expect: /the buffer is empty/ },
      { label: 'face-recognize: a zip archive', node: 'fr', msg: { payload: zipArchive() }, expect: /not an image/ },
      { label: 'face-recognize: msg.faces not an array', node: 'fr', msg: { payload: good, faces: 'lots' }, expect: ['verdict'] },
      // frame-buffer
      { label: 'frame-buffer: a text frame', node: 'fb', msg: { payload: textFile() }, expect: /not a JPEG; frames must be JPEG Buffers/ },
      { label: 'frame-buffer: an HTML frame', node: 'fb', msg: { payload: htmlPage() }, expect: /not a JPEG/ },
      // event-log
      { label: 'event-log: an unknown action', node: 'el', msg: { action: 'DROP TABLE events' }, expect: /unknown msg\.action/ },
      { label: 'event-log: a query with SQL in its filter', node: 'el', msg: { action: 'query', filter: { verdict: "known'; DROP TABLE events;--" } }, expect: /verdict/ },
      { label: 'event-log: a path-traversal event id', node: 'el', msg: { event: { id: ESCAPING_ID, startedAt: Date.now() }, payload: good, verdict: { status: 'unknown', people: [], framesSeen: 1, decidedAt: Date.now() } }, expect: ['elRecorded'] },
      // face-db
      { label: 'face-db: an empty name', node: 'fdb', msg: { action: 'enroll', name: '   ', payload: good }, expect: /msg\.name must give the person's name/ },
      { label: 'face-db: a 10,000-character name', node: 'fdb', msg: { action: 'enroll', name: 'A'.repeat(10_000), payload: good }, expect: /at most 100 characters, got 10000/ },
      { label: 'face-db: a name that is not text', node: 'fdb', msg: { action: 'enroll', name: { first: 'Eve' }, payload: good }, expect: /msg\.name must give/ },
      { label: 'face-db: a text file to enroll', node: 'fdb', msg: { action: 'enroll', name: 'Mallory', payload: textFile() }, expect: /not an image/ },
      { label: 'face-db: a string to enroll', node: 'fdb', msg: { action: 'enroll', name: 'Mallory', payload: 'face.jpg' }, expect: /image Buffer/ },
      { label: 'face-db: a prototype action', node: 'fdb', msg: { action: '__proto__' }, expect: /unknown msg\.action "__proto__"/ },
      { label: 'face-db: rename to nothing', node: 'fdb', msg: { action: 'rename', name: 'Alice Baseline', newName: '' }, expect: /msg\.newName must give/ },
      { label: 'face-db: removeFace with a text id', node: 'fdb', msg: { action: 'removeFace', faceId: '1 OR 1=1' }, expect: /msg\.faceId must be a positive whole number/ },
      { label: 'face-db: move to an unknown list', node: 'fdb', msg: { action: 'move', name: 'Alice Baseline', list: 'admins' }, expect: /list must be "known" or "blacklist"/ },
      { label: 'face-db: forget someone unknown', node: 'fdb', msg: { action: 'forget', name: "' OR ''='" }, expect: /no person/ },
      { label: 'face-db: a person named by an object', node: 'fdb', msg: { action: 'get', personId: { $gt: 0 } }, expect: /personId must be a positive whole number/ },
      { label: 'face-db: import of text that is not JSON', node: 'fdb', msg: { action: 'import', payload: '<html>' }, expect: /not a JSON face export/ },
      { label: 'face-db: import of a malformed export', node: 'fdb', msg: { action: 'import', payload: { people: 'everyone' } }, expect: /not a Porchlight face export/ },
      { label: 'face-db: HTML, SQL and path characters in a name', node: 'fdb', msg: { action: 'enroll', name: HOSTILE_NAME, payload: face('George_W_Bush', 1) }, expect: ['fdbOut'] },
      // gpio-doorbell: any message is a press; a nonsense hold time is no crash
      { label: 'gpio-doorbell: a nonsense holdMs', node: 'bell', msg: { holdMs: 'forever' }, expect: ['bellOut'] },
    ];
    assert.ok(corpus.length >= 30);

    for (const { label, node, msg, expect } of corpus) {
      const ports = Array.isArray(expect) ? expect : [];
      const { at, msg: out } = await deliver(node, msg, ports);
      if (expect instanceof RegExp) {
        assert.equal(at, 'caught', `${label}: should be an error, came out on ${at}`);
        assert.match(out.error.message, expect, `${label}: "${out.error.message}"`);
      } else {
        assert.ok(expect.includes(at), `${label}: came out on ${at}${at === 'caught' ? ` (${out.error.message})` : ''}`);
      }
      if (label === 'event-log: a path-traversal event id') {
        assert.equal(out.eventLog.id, ESCAPING_ID, 'the event is recorded under its own id, as data');
        assert.equal(out.eventLog.hasSnapshot, false, 'but no snapshot file is named after it');
      }
      if (label.startsWith('msg.event')) assert.ok(isEventId(out.event.id), `${label}: a fresh event replaces the malformed one`);
    }

    const hostile = arrivals.find((a) => a.at === 'fdbOut' && a.msg.payload?.person?.name === HOSTILE_NAME.trim());
    assert.ok(hostile, 'the hostile name is stored verbatim, as data');
    assert.ok(!fs.existsSync('/tmp/porchlight-escape.jpg'), 'no snapshot outside the snapshot folder');
  });

  it('answers malformed admin API requests with a 4xx and a message', async () => {
    const cases: Array<[string, string, string | object | undefined, number]> = [
      ['POST', '/porchlight/faces', '{"name": "Eve", "image": ', 400],
      ['POST', '/porchlight/faces', { name: 5, image: 'aGVsbG8=' }, 400],
      ['POST', '/porchlight/faces', { name: 'Eve', images: 'not-a-list' }, 400],
      ['POST', '/porchlight/faces', { name: 'Eve', image: textFile().toString('base64') }, 400],
      ['POST', '/porchlight/faces', { name: 'Eve', image: '' }, 400],
      ['POST', '/porchlight/faces', { name: 'Eve', list: 'root', image: face('George_W_Bush', 2).toString('base64') }, 400],
      ['GET', '/porchlight/faces/999999', undefined, 404],
      ['GET', '/porchlight/faces/..%2f..%2fetc%2fpasswd', undefined, 400],
      ['GET', '/porchlight/faces/by-name/..%2f..%2fetc%2fpasswd', undefined, 404],
      ['GET', '/porchlight/faces/1/crops/..%2f1', undefined, 400],
      ['DELETE', '/porchlight/faces/by-name/Nobody%20At%20All', undefined, 404],
      ['DELETE', '/porchlight/faces/Nobody%20At%20All', undefined, 400],
      ['GET', '/porchlight/events/..%2f..%2fetc%2fpasswd', undefined, 400],
      ['GET', '/porchlight/events/..%2f..%2fetc%2fpasswd/snapshot.jpg', undefined, 400],
      ['GET', '/porchlight/events/01JZ0000000000000000000000/faces/-1/crop.jpg', undefined, 400],
      ['DELETE', '/porchlight/events/%00', undefined, 400],
      ['GET', '/porchlight/events/01JZ0000000000000000000000', undefined, 404],
      ['GET', '/porchlight/events?limit=lots', undefined, 400],
      ['POST', '/porchlight/doorbell/no-such-node/press', {}, 404],
      ['GET', '/porchlight/camera/..%2f..%2fetc/latest.jpg', undefined, 404],
      ['POST', '/porchlight/models/install', { pack: 42 }, 400],
    ];
    for (const [method, url, body, status] of cases) {
      let request = helper.request()[method.toLowerCase() as 'get'](url);
      if (typeof body === 'string') request = request.set('Content-Type', 'application/json').send(body);
      else if (body) request = request.send(body);
      const res = await request;
      assert.equal(res.status, status, `${method} ${url}: ${res.status} ${res.text.slice(0, 200)}`);
      assert.ok(res.text.length > 0, `${method} ${url}: a message says why`);
      assert.match(String(res.headers['content-type']), /^application\/json/, `${method} ${url}: a JSON answer, never an HTML page`);
    }
  });

  it('refuses an oversized upload with 413', async () => {
    const huge = Buffer.alloc(11 * 1024 * 1024, 0xff);
    const res = await helper.request().post('/porchlight/faces').field('name', 'Big').attach('image', huge, 'big.jpg');
    assert.equal(res.status, 413, res.text.slice(0, 200));
    assert.match(res.body.error.message, /upload over 10 MB/);
  });

  it('keeps running and keeps what was stored: a good frame is still recognized, people and events intact, the DB file sound', async () => {
    const still = await deliver('fd', { payload: face('Colin_Powell', 5) }, ['verdict']);
    assert.equal(still.msg.verdict.status, 'known');
    assert.equal(still.msg.verdict.people[0].name, 'Alice Baseline');

    const people = (await runFaceDb({ action: 'list' })).msg.payload as Array<{ name: string; faceCount: number }>;
    assert.deepEqual(
      people.map((p) => [p.name, p.faceCount]).sort(),
      [['Alice Baseline', 2], [HOSTILE_NAME.trim(), 1]].sort(),
      'only the hostile-but-valid name was added; nothing refused was half-stored',
    );
    const baseline = await helper.request().get(`/porchlight/events/${baselineEventId}`).expect(200);
    assert.deepEqual([baseline.body.status, baseline.body.verdict], ['completed', 'known']);
    await helper.request().get(`/porchlight/events/${baselineEventId}/snapshot.jpg`).expect(200);

    const check = new Database(dbFile, { readonly: true });
    try {
      assert.equal(check.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      check.close();
    }
  });
});
