import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { openSqliteStore } from '../../../lib/store';
import { embedFaces } from '../../../lib/engine/client';
import { acquireSharedPool, type PoolLease } from '../../../lib/workers/pool';
import { openFaceDb } from '../../../nodes/shared/db';
import { helper, nextMessage, sendAndAwait } from '../../support/node-red';
import { faceApiDemoDir, lfwDir, lfwPeople, nodeFile, repoRoot } from '../../support/paths';
import { tempDir } from '../../support/temp';

const faceDb = require(nodeFile('face-db'));
const porchlightDb = require(nodeFile('porchlight-db'));
const engine = require(nodeFile('porchlight-engine'));
const injectNode = require('@node-red/nodes/core/common/20-inject.js');
const catchNode = require('@node-red/nodes/core/common/25-catch.js');
const fileNodes = require('@node-red/nodes/core/storage/10-file.js');

/** The image files of an LFW person, sorted (this copy does not hold every numbered image). */
function lfwImages(person: string): string[] {
  return fs.readdirSync(path.join(lfwDir, person)).filter((f) => f.endsWith('.jpg')).sort().map((f) => path.join(lfwDir, person, f));
}

/** LFW people with at least `n` images, in a stable order. */
function peopleWithImages(n: number, count: number, skip = 0): string[] {
  return lfwPeople()
    .filter((p) => lfwImages(p).length >= n)
    .slice(skip, skip + count);
}

/** The `i`-th image (from 1) of an LFW person. */
function lfwImage(person: string, i: number): string {
  return lfwImages(person)[i - 1];
}

describe('face-db node and its porchlight-db config node (Node-RED runtime, real SQLite file)', function () {
  this.timeout(300_000);
  let dir: string;
  let dbFile: string;
  let poolLease: PoolLease;

  // face-api's networks on ONNX (the default engine before YuNet + MobileFaceNet were bundled): the face
  // counts below are theirs, and the last tests switch such a DB to the default engine.
  const flow = (file: string, extra: Record<string, unknown> = {}) => [
    { id: 'eng', type: 'porchlight-engine', detectorKind: 'faceapi', threads: 1, maxQueue: 16, taskTimeout: 120, maxMegapixels: 40 },
    { id: 'pdb', type: 'porchlight-db', file, snapshotDir: path.join(dir, 'snapshots') },
    { id: 'fdb', type: 'porchlight-face-db', db: 'pdb', engine: 'eng', action: 'list', minQuality: 0.35, wires: [['out']], ...extra },
    { id: 'out', type: 'helper' },
  ];

  /** Sends a message to the face-db node; resolves with its output or rejects with the error it reported. */
  const run = (msg: Record<string, unknown>): Promise<any> => sendAndAwait('fdb', 'out', msg);

  const settings = () => ({ file: dbFile, snapshotDir: path.join(dir, 'snapshots') });

  before(() => {
    poolLease = acquireSharedPool({ threads: 1 });
  });
  after(async () => {
    await poolLease.release();
  });

  beforeEach(async () => {
    dir = tempDir('porchlight-facedb-');
    dbFile = path.join(dir, 'porchlight.db');
    await helper.load([engine, porchlightDb, faceDb], flow(dbFile));
  });
  afterEach(async () => {
    await helper.unload();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('enrolls LFW people from two images each; they are matchable at once, other images of them match', async () => {
    const people = peopleWithImages(3, 3);
    const db = await openFaceDb(settings());
    try {
      await db.matcherReady;
      for (const person of people) {
        const msg = await run({ action: 'enroll', name: person.replace(/_/g, ' '), payload: [1, 2].map((n) => fs.readFileSync(lfwImage(person, n))) });
        assert.equal(msg.action, 'enroll');
        assert.equal(msg.payload.person.name, person.replace(/_/g, ' '));
        assert.equal(msg.payload.faceIds.length, 2, JSON.stringify(msg.payload.refused));
        assert.equal(msg.payload.person.list, 'known');
      }
      assert.equal(db.matcher.size('faceapi-resnet128'), 6, 'the shared matcher follows without a redeploy');
      for (const person of people) {
        const probe = await embedFaces(poolLease.pool, fs.readFileSync(lfwImage(person, 3)), { policy: 'wait' });
        const [best] = db.matcher.nearest(probe.faces[0].embedding!, probe.faces[0].model!, 3);
        assert.equal(best.name, person.replace(/_/g, ' '));
        assert.ok(best.distance < 0.6, `distance ${best.distance}`);
      }
      const list = await run({ action: 'list' });
      assert.deepEqual(list.payload.map((p: any) => p.faceCount), [2, 2, 2]);
      const stored = openSqliteStore(dbFile);
      const face = await stored.getFace(1);
      await stored.close();
      assert.ok(face?.crop && face.crop[0] === 0xff && face.crop[1] === 0xd8, 'a JPEG crop is kept');
      assert.equal(face?.model, 'faceapi-resnet128');
      assert.ok(face!.quality! >= 0.35);
    } finally {
      await db.release();
    }
  });

  it('refuses several faces unless msg.box picks one, no face, and faces under the quality bar, with reasons', async () => {
    const group = fs.readFileSync(path.join(faceApiDemoDir, 'sample1.jpg'));
    await assert.rejects(run({ action: 'enroll', name: 'Group', payload: group }), /3 faces found; give msg\.box/);
    const detected = await embedFaces(poolLease.pool, group, { policy: 'wait' });
    const target = detected.faces[0].box;
    const picked = await run({ action: 'enroll', name: 'Picked', payload: group, box: target });
    assert.equal(picked.payload.faceIds.length, 1);
    const reader = openSqliteStore(dbFile);
    const storedBox = (await reader.getFace(picked.payload.faceIds[0]))?.metadata.box as Record<string, number>;
    for (const key of ['x', 'y', 'width', 'height'] as const) assert.ok(Math.abs(storedBox[key] - target[key]) < 1, `the picked face is the boxed one (${key})`);
    await reader.close();

    const blank = await sharp({ create: { width: 200, height: 200, channels: 3, background: '#808080' } }).jpeg().toBuffer();
    await assert.rejects(run({ action: 'enroll', name: 'Nobody', payload: blank }), /nothing enrolled for Nobody: msg: no face found/);
    await assert.rejects(run({ action: 'enroll', name: 'Text', payload: Buffer.from('not an image') }), /nothing enrolled/);

    // One good and one faceless image: the good one is kept, the other reported.
    const mixed = await run({ action: 'enroll', name: 'Mixed', payload: [fs.readFileSync(lfwImage(peopleWithImages(2, 1)[0], 1)), blank] });
    assert.equal(mixed.payload.faceIds.length, 1);
    assert.deepEqual(mixed.payload.refused, [{ source: 'msg:1', reason: 'no face found' }]);

    await helper.unload();
    await helper.load([engine, porchlightDb, faceDb], flow(dbFile, { minQuality: 0.99 }));
    await assert.rejects(
      run({ action: 'enroll', name: 'Strict', payload: fs.readFileSync(lfwImage(peopleWithImages(2, 1)[0], 2)) }),
      /face too poor to enroll: quality 0\.\d+ \(size \d+ px, sharpness .*under 0\.99/,
    );
    const people = (await run({ action: 'list' })).payload.map((p: any) => p.name);
    assert.deepEqual(people, ['Mixed', 'Picked']);
  });

  it('gets, renames, moves, removes a face and forgets a person, keeping the matcher in step', async () => {
    const [person] = peopleWithImages(3, 1, 5);
    const images = [1, 2, 3].map((n) => fs.readFileSync(lfwImage(person, n)));
    const enrolled = (await run({ action: 'enroll', name: 'Alice', payload: images })).payload;
    assert.equal(enrolled.faceIds.length, 3);
    const db = await openFaceDb(settings());
    try {
      await db.matcherReady;
      const got = await run({ action: 'get', name: 'alice', crops: true });
      assert.equal(got.payload.faces.length, 3);
      assert.ok(Buffer.isBuffer(got.payload.faces[0].crop));
      assert.equal(got.payload.faces[0].embedding, undefined, 'embeddings stay inside');

      const renamed = await run({ action: 'rename', name: 'Alice', newName: 'Alicia' });
      assert.equal(renamed.payload.name, 'Alicia');
      const moved = await run({ action: 'move', personId: enrolled.person.id, list: 'blacklist' });
      assert.equal(moved.payload.list, 'blacklist');
      const face = await db.store.getFace(enrolled.faceIds[0]);
      const [match] = db.matcher.nearest(face!.embedding, face!.model, 1);
      assert.deepEqual([match.name, match.list], ['Alicia', 'blacklist']);

      await assert.rejects(run({ action: 'removeFace', faceId: enrolled.faceIds[0] }), /needs whose face it is/);
      await run({ action: 'removeFace', personId: enrolled.person.id, faceId: enrolled.faceIds[0] });
      assert.equal(db.matcher.size(), 2);
      await assert.rejects(run({ action: 'removeFace', name: 'Alicia', faceId: enrolled.faceIds[0] }), /no face with id/);
      await assert.rejects(run({ action: 'move', name: 'Alicia', list: 'friends' }), /list must be "known" or "blacklist"/);
      await assert.rejects(run({ action: 'fly' }), /unknown msg\.action "fly"/);

      const forgotten = await run({ action: 'forget', name: 'Alicia' });
      assert.equal(forgotten.payload.facesRemoved, 2);
      assert.equal(db.matcher.size(), 0);
      assert.deepEqual(db.matcher.nearest(face!.embedding, face!.model, 5), []);
      for (const id of enrolled.faceIds) assert.equal(await db.store.getFace(id), undefined);
      await assert.rejects(run({ action: 'get', name: 'Alicia' }), /no person named "Alicia"/);
    } finally {
      await db.release();
    }
  });

  it('imports a folder-per-person tree, names stored as data, and keeps everything across a redeploy', async () => {
    const tree = path.join(dir, 'people');
    const odd = ["<img src=x onerror=alert(1)> O'Brien; DROP TABLE people;--", '..', 'Plain'];
    const sources = peopleWithImages(2, 3, 10);
    odd.forEach((name, i) => {
      const folder = path.join(tree, name === '..' ? 'dot dot' : name);
      fs.mkdirSync(folder, { recursive: true });
      for (const n of [1, 2]) fs.copyFileSync(lfwImage(sources[i], n), path.join(folder, `${n}.jpg`));
    });
    fs.writeFileSync(path.join(tree, 'Plain', 'notes.txt'), 'ignored');
    const result = await run({ action: 'importFolder', path: tree });
    assert.equal(result.payload.enrolled, 6, JSON.stringify(result.payload));
    const names = result.payload.people.map((p: any) => p.name).sort();
    assert.deepEqual(names, ["<img src=x onerror=alert(1)> O'Brien; DROP TABLE people;--", 'Plain', 'dot dot']);

    await helper.unload();
    await helper.load([engine, porchlightDb, faceDb], flow(dbFile));
    const list = await run({ action: 'list' });
    assert.deepEqual(list.payload.map((p: any) => [p.name, p.faceCount]).sort(), [["<img src=x onerror=alert(1)> O'Brien; DROP TABLE people;--", 2], ['Plain', 2], ['dot dot', 2]]);
    await assert.rejects(run({ action: 'importFolder', path: path.join(dir, 'missing') }), /cannot read the folder/);
  });

  it('exports, imports into another DB (twice: no duplicates) and backs up online', async () => {
    for (const [i, person] of peopleWithImages(2, 2, 20).entries()) {
      await run({ action: 'enroll', name: `P${i}`, list: i === 1 ? 'blacklist' : 'known', payload: [1, 2].map((n) => fs.readFileSync(lfwImage(person, n))) });
    }
    const exportDir = path.join(dir, 'export');
    const exported = await run({ action: 'export', path: exportDir });
    assert.deepEqual([exported.payload.people, exported.payload.faces], [2, 4]);
    assert.equal(fs.readdirSync(path.join(exportDir, 'crops')).length, 4);
    const inline = await run({ action: 'export' });
    assert.equal(inline.payload.format, 'porchlight-faces');
    assert.ok(typeof inline.payload.people[0].faces[0].crop === 'string');

    const backup = await run({ action: 'backup', path: path.join(dir, 'backup.db') });
    const restored = openSqliteStore(backup.payload.file);
    assert.deepEqual((await restored.listPeople()).map((p) => [p.name, p.list, p.faceCount]), [['P0', 'known', 2], ['P1', 'blacklist', 2]]);
    await restored.close();
    // Restore: a person forgotten after the backup comes back; what was replaced is saved first.
    await run({ action: 'forget', name: 'P0' });
    const back = await run({ action: 'restore', path: backup.payload.file });
    assert.equal(back.payload.counts.people, 2);
    assert.match(back.payload.previous, /backups[\\/]porchlight-\d{8}-\d{6}\.db$/);
    assert.deepEqual((await run({ action: 'list' })).payload.map((p: any) => [p.name, p.faceCount]), [['P0', 2], ['P1', 2]]);
    await assert.rejects(run({ action: 'restore', path: path.join(dir, 'missing.db') }), /not a sound database/);
    const defaultBackup = await run({ action: 'backup' });
    assert.match(defaultBackup.payload.file, /backups[\\/]porchlight-.*\.db$/);

    // Into a second database: same people, same embeddings, same crops.
    const otherFile = path.join(dir, 'other.db');
    await helper.unload();
    await helper.load([engine, porchlightDb, faceDb], flow(otherFile));
    const imported = await run({ action: 'import', path: exportDir });
    assert.deepEqual(imported.payload, { people: 2, faces: 4, skipped: 0 });
    const again = await run({ action: 'import', payload: JSON.stringify(inline.payload) });
    assert.deepEqual(again.payload, { people: 0, faces: 0, skipped: 4 });
    await helper.unload();
    const original = openSqliteStore(dbFile);
    const copy = openSqliteStore(otherFile);
    try {
      for (const name of ['P0', 'P1']) {
        const a = await original.listFaces(name);
        const b = await copy.listFaces(name);
        assert.equal(b.length, a.length);
        assert.equal((await copy.getPerson(name))?.list, (await original.getPerson(name))?.list);
        for (let i = 0; i < a.length; i++) {
          const fa = (await original.getFace(a[i].id))!;
          const fb = (await copy.getFace(b[i].id))!;
          assert.deepEqual(fb.embedding, fa.embedding);
          assert.deepEqual(fb.crop, fa.crop);
          assert.deepEqual(fb.metadata, fa.metadata);
        }
      }
    } finally {
      await original.close();
      await copy.close();
    }
  });

  it('serves the admin API: list, enroll by JSON and multipart, size limit, delete', async () => {
    const [person] = peopleWithImages(2, 1, 30);
    const image = fs.readFileSync(lfwImage(person, 1));
    const created = await helper.request().post('/porchlight/faces').send({ name: 'Http Person', list: 'known', image: image.toString('base64') }).expect(201);
    assert.equal(created.body.faceIds.length, 1);
    const multipart = await helper
      .request()
      .post('/porchlight/faces')
      .field('name', 'Http Person')
      .attach('image', fs.readFileSync(lfwImage(person, 2)), 'second.jpg')
      .expect(200);
    assert.equal(multipart.body.person.faceCount, 2);

    const listed = await helper.request().get('/porchlight/faces').expect(200);
    assert.deepEqual(listed.body.people.map((p: any) => [p.name, p.faceCount]), [['Http Person', 2]]);
    const one = await helper.request().get(`/porchlight/faces/by-name/${encodeURIComponent('http person')}`).expect(200);
    assert.equal(one.body.faces[1].source, 'http:second.jpg');
    const crop = await helper.request().get(`/porchlight/faces/${one.body.person.id}/crops/${one.body.faces[0].id}`).expect(200);
    assert.equal(crop.headers['content-type'], 'image/jpeg');

    await helper.request().post('/porchlight/faces').send({ name: 'x' }).expect(400);
    await helper.request().post('/porchlight/faces').send({ name: 'x', list: 'enemies', image: image.toString('base64') }).expect(400);
    const huge = Buffer.alloc(11 * 1024 * 1024, 1);
    const tooBig = await helper.request().post('/porchlight/faces').field('name', 'Big').attach('image', huge, 'big.jpg').expect(413);
    assert.equal(tooBig.body.error.code, 'IMAGE_TOO_LARGE');
    // Bulk requests are capped before any image is decoded or embedded: 10 images a request, JSON or multipart.
    const many = await helper.request().post('/porchlight/faces').send({ name: 'Bulk', images: Array(240).fill(image.toString('base64').slice(0, 64)) }).expect(413);
    assert.match(many.body.error.message, /at most 10 images per request, got 240/);
    let form = helper.request().post('/porchlight/faces').field('name', 'Bulk');
    for (let i = 0; i < 11; i++) form = form.attach('image', image, `${i}.jpg`);
    assert.match((await form.expect(413)).body.error.message, /at most 10 images/);
    const longNotes = await helper.request().post('/porchlight/faces').send({ name: 'Noted', notes: 'n'.repeat(2001), image: image.toString('base64') }).expect(400);
    assert.match(longNotes.body.error.message, /notes must be at most 2000 characters, got 2001/);
    assert.equal((await helper.request().get('/porchlight/faces').expect(200)).body.people.length, 1, 'nothing enrolled by the refused requests');
    await helper.request().delete('/porchlight/faces/by-name/Nobody').expect(404);
    await helper.request().delete('/porchlight/faces/Nobody').expect(400); // /faces/:id takes ids only

    // A second config node on the same file is the same database; one on another file needs ?db=.
    const pdb2 = { id: 'pdb2', type: 'porchlight-db', file: dbFile };
    await helper.setFlows([...flow(dbFile), pdb2], 'nodes');
    assert.equal((await helper.request().get('/porchlight/faces').expect(200)).body.people.length, 1);
    await helper.setFlows([...flow(dbFile), pdb2, { id: 'pdb3', type: 'porchlight-db', file: path.join(dir, 'elsewhere.db') }], 'nodes');
    const ambiguous = await helper.request().get('/porchlight/faces').expect(400);
    assert.match(ambiguous.body.error.message, /several Porchlight databases/);
    assert.deepEqual((await helper.request().get('/porchlight/faces?db=pdb3').expect(200)).body.people, []);
    await helper.request().get('/porchlight/faces?db=nope').expect(404);

    const deleted = await helper.request().delete('/porchlight/faces/by-name/Http%20Person?db=pdb').expect(200);
    assert.equal(deleted.body.facesRemoved, 2);
    assert.deepEqual((await helper.request().get('/porchlight/faces?db=pdb').expect(200)).body.people, []);
  });

  it('ids and names never mix: /faces/1 is person 1 even beside a person named "1"; removeFace refuses a face of another person', async () => {
    const [person] = peopleWithImages(2, 1, 30);
    const enrol = (name: string, n: number) =>
      helper.request().post('/porchlight/faces').send({ name, list: 'known', image: fs.readFileSync(lfwImage(person, n)).toString('base64') }).expect(201);
    const alice = (await enrol('Alice', 1)).body;
    const named1 = (await enrol(String(alice.person.id), 2)).body; // a person named "1" (Alice's id), enrolled second
    assert.notEqual(named1.person.id, alice.person.id);

    const byId = await helper.request().get(`/porchlight/faces/${alice.person.id}`).expect(200);
    assert.equal(byId.body.person.name, 'Alice', '/faces/:id is the id, never the name');
    const byName = await helper.request().get(`/porchlight/faces/by-name/${alice.person.id}`).expect(200);
    assert.equal(byName.body.person.id, named1.person.id, 'the name has its own route');
    // The People page shows a person's crops by id: Alice's card shows Alice's face.
    await helper.request().get(`/porchlight/faces/${alice.person.id}/crops/${alice.faceIds[0]}`).expect(200);
    await helper.request().get(`/porchlight/faces/${alice.person.id}/crops/${named1.faceIds[0]}`).expect(404);
    await helper.request().get('/porchlight/faces/Alice').expect(400);
    await helper.request().get('/porchlight/faces/999999').expect(404);
    // face-db: msg.name "1" is the person named "1"; a name that matches nobody is never tried as an id.
    assert.equal((await run({ action: 'get', name: String(alice.person.id) })).payload.person.id, named1.person.id);
    await assert.rejects(run({ action: 'get', name: String(named1.person.id + 100) }), /no person named/);
    assert.equal((await run({ action: 'get', personId: String(alice.person.id) })).payload.person.name, 'Alice', 'msg.personId as digits is an id');

    // removeFace {personId: the other person, faceId: Alice's face} deletes nothing.
    await assert.rejects(run({ action: 'removeFace', personId: named1.person.id, faceId: alice.faceIds[0] }), /not one of person|of person/);
    assert.equal((await helper.request().get(`/porchlight/faces/${alice.person.id}`).expect(200)).body.faces.length, 1, "Alice's face is still there");
    await run({ action: 'removeFace', personId: alice.person.id, faceId: alice.faceIds[0] });
    assert.equal((await helper.request().get(`/porchlight/faces/${alice.person.id}`).expect(200)).body.faces.length, 0);

    // DELETE by id takes the id's person, by name the name's.
    assert.equal((await helper.request().delete(`/porchlight/faces/${alice.person.id}`).expect(200)).body.person.name, 'Alice');
    assert.equal((await helper.request().delete(`/porchlight/faces/by-name/${alice.person.id}`).expect(200)).body.person.id, named1.person.id);
  });

  it('runs the example flow (examples/face-db.json): enroll from a photo, list, blacklist, forget, refusals to the Catch node', async () => {
    const example: Array<Record<string, any>> = JSON.parse(fs.readFileSync(path.join(repoRoot, 'examples', 'face-db.json'), 'utf8'));
    // Comments need the editor; debug nodes become test probes with the same ids; the DB goes to the test's folder.
    const testable = example
      .filter((n) => n.type !== 'comment')
      .map((n) => (n.type === 'debug' ? { id: n.id, type: 'helper', z: n.z } : n))
      .map((n) => (n.type === 'porchlight-db' ? { ...n, file: dbFile } : n))
      .map((n) => (n.type === 'porchlight-engine' ? { ...n, threads: 1 } : n));
    await helper.unload();
    await helper.load([engine, porchlightDb, faceDb, injectNode, catchNode, fileNodes], testable);
    const press = (button: string, probe: string) => {
      const got = nextMessage<Record<string, any>>(helper.getNode(probe), 120_000);
      helper.getNode(button).receive({});
      return got;
    };
    // The example's engine is the default one (YuNet + MobileFaceNet); this person's second photo shows it one face
    // (the first one also two others, partly cut off at the edges).
    const [person] = peopleWithImages(2, 1, 40);
    helper.getNode('pl-ex-fdb-photo').filename = lfwImage(person, 2);
    const enrolled = await press('pl-ex-fdb-enroll', 'pl-ex-fdb-result');
    assert.equal(enrolled.payload.person.name, 'Alice');
    assert.equal(enrolled.payload.faceIds.length, 1);
    const listed = await press('pl-ex-fdb-list', 'pl-ex-fdb-result');
    assert.deepEqual(listed.payload.map((p: any) => [p.name, p.list, p.faceCount]), [['Alice', 'known', 1]]);
    const moved = await press('pl-ex-fdb-move', 'pl-ex-fdb-result');
    assert.equal(moved.payload.list, 'blacklist');
    helper.getNode('pl-ex-fdb-photo').filename = path.join(faceApiDemoDir, 'sample1.jpg');
    const refused = await press('pl-ex-fdb-enroll', 'pl-ex-fdb-error');
    assert.match(refused.error.message, /sample1\.jpg: \d+ faces found/);
    const forgotten = await press('pl-ex-fdb-forget', 'pl-ex-fdb-result');
    assert.equal(forgotten.payload.facesRemoved, 1);
    const backup = await press('pl-ex-fdb-backup', 'pl-ex-fdb-result');
    assert.ok(fs.existsSync(backup.payload.file));
  });

  it("embeds with the engine of face-recognize; a DB enrolled with face-api's networks is re-embedded from its crops after the switch to the default engine", async () => {
    const [person] = peopleWithImages(3, 1, 50);
    const enrolled = await run({ action: 'enroll', name: 'Switcher', payload: [1, 2].map((n) => fs.readFileSync(lfwImage(person, n))) });
    assert.equal(enrolled.payload.faceIds.length, 2);
    // An upgrade: the same DB, and a flow with no engine node, i.e. the default engine (the bundled YuNet + MobileFaceNet).
    await helper.unload();
    await helper.load([engine, porchlightDb, faceDb], flow(dbFile).filter((n) => n.id !== 'eng').map((n) => (n.id === 'fdb' ? { ...n, engine: '' } : n)));
    const reembedded = await run({ action: 'reembed' });
    assert.deepEqual(reembedded.payload, { total: 2, done: 2, added: 2, noCrop: 0, noFace: 0 });
    const again = await run({ action: 'reembed' });
    assert.equal(again.payload.total, 0, 'a second run has nothing left to do');

    // A new enrollment uses the ONNX pipeline too, and matches the re-embedded faces.
    const third = await run({ action: 'enroll', name: 'Switcher', payload: fs.readFileSync(lfwImage(person, 3)) });
    const db = await openFaceDb(settings());
    try {
      await db.matcherReady;
      const models = await db.store.models();
      const onnxModel = models.find((m) => m.model.startsWith('onnx:'));
      assert.ok(onnxModel, JSON.stringify(models));
      assert.equal(onnxModel.model, 'onnx:mobilefacenet_foamliu_alenchen@501048e4bff0', 'the bundled MobileFaceNet');
      assert.deepEqual([onnxModel.faces, onnxModel.dim], [3, 128]);
      const face = await db.store.getFace(third.payload.faceIds[0]);
      assert.equal(face?.model, onnxModel.model);
      assert.equal(db.matcher.size(onnxModel.model), 3, 'the matcher follows the re-embedded faces');
      const reembeddedFaces = (await db.store.listFaces('Switcher')).filter((f) => f.metadata.reembeddedFrom !== undefined);
      assert.deepEqual(reembeddedFaces.map((f) => f.metadata.reembeddedFrom).sort(), [...enrolled.payload.faceIds].sort());
      for (const record of reembeddedFaces) {
        const old = (await db.store.getFace(record.id))!;
        const distance = Math.hypot(...old.embedding.map((v, i) => v - face!.embedding[i]));
        assert.ok(distance < 1.15, `a re-embedded face of the same person is within the ONNX tolerance (${distance.toFixed(3)})`);
      }
    } finally {
      await db.release();
    }
  });

  it('reports a missing config node through its status and closes within 15 s', async () => {
    await helper.unload();
    await helper.load([engine, porchlightDb, faceDb], [{ id: 'fdb', type: 'porchlight-face-db', wires: [['out']] }, { id: 'out', type: 'helper' }]);
    await assert.rejects(run({ action: 'list' }), /no face database configured/);
    await helper.unload();
    await helper.load([engine, porchlightDb, faceDb], flow(dbFile));
    await run({ action: 'list' });
    const started = Date.now();
    await helper.unload();
    assert.ok(Date.now() - started < 15_000);
  });
});
