import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { isPorchlightError } from '../../lib/errors';
import { attachMatcher } from '../../lib/match';
import { openSqliteStore, type Store, type NewFace, type StoreChange } from '../../lib/store';
import { exportFaces, exportFacesToFolder, importFaces, readExportFolder } from '../../lib/store/transfer';
import { tempDir } from './temp';

export function randomFace(dim = 128, extra: Partial<NewFace> = {}): NewFace {
  const embedding = new Float32Array(dim);
  for (let i = 0; i < dim; i++) embedding[i] = Math.random() - 0.5;
  return { model: 'faceapi-resnet128', embedding, quality: 0.8, crop: Buffer.from([0xff, 0xd8, ...Buffer.from(`crop-${Math.random()}`), 0xff, 0xd9]), source: 'test', ...extra };
}

export async function rejectsWith(promise: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(promise, (err) => isPorchlightError(err) && err.code === code);
}

/** One empty database of a backend, for one test. */
export interface StoreFixture {
  store: Store;
  /** Another store on the same database (after closing `store`, or beside it). */
  open(): Promise<Store>;
  /** A second, empty database of the same backend (import target). */
  openOther(): Promise<Store>;
  dispose(): Promise<void>;
}

/**
 * The Store contract, one suite run against every backend (SQLite and
 * PostgreSQL): what the nodes rely on, whichever database is underneath.
 * `hooks` registers the suite's own before/after hooks first (a server's
 * databases, or skipping without one).
 */
export function describeStoreContract(name: string, newFixture: () => Promise<StoreFixture>, hooks?: () => void): void {
  describe(`Store contract: ${name}`, () => {
    hooks?.();
    let fixture: StoreFixture;
    let store: Store;
    let dir: string;

    beforeEach(async () => {
      dir = tempDir('porchlight-contract-');
      fixture = await newFixture();
      store = fixture.store;
    });

    afterEach(async () => {
      await store.close();
      await fixture.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('enrolls, lists and reads people and faces, and keeps everything across a reopen', async () => {
      const face = randomFace();
      const result = await store.enroll('  Alice  ', [face, randomFace()], { list: 'known', notes: 'neighbour' });
      assert.equal(result.created, true);
      assert.equal(result.person.name, 'Alice');
      assert.equal(result.person.faceCount, 2);
      const again = await store.enroll('alice', [randomFace()]);
      assert.equal(again.created, false, 'names match case-insensitively');
      assert.equal(again.person.faceCount, 3);
      await store.enroll('Mallory', [randomFace()], { list: 'blacklist' });
      await store.close();

      store = await fixture.open();
      const people = await store.listPeople();
      assert.deepEqual(people.map((p) => [p.name, p.list, p.faceCount]), [['Alice', 'known', 3], ['Mallory', 'blacklist', 1]]);
      assert.equal(people[0].notes, 'neighbour');
      assert.equal(typeof people[0].createdAt, 'number');
      const stored = await store.getFace(result.faceIds[0]);
      assert.ok(stored);
      assert.deepEqual(stored.embedding, face.embedding);
      assert.deepEqual(stored.crop, Buffer.from(face.crop!));
      assert.equal(stored.dim, 128);
      assert.equal(stored.model, 'faceapi-resnet128');
      assert.equal(stored.quality, 0.8);
      assert.deepEqual(stored.metadata, {});
      assert.deepEqual(await store.models(), [{ model: 'faceapi-resnet128', dim: 128, faces: 4 }]);
      assert.deepEqual((await store.listFaces('Alice')).map((f) => f.id), [...result.faceIds, ...again.faceIds]);
    });

    it('renames, moves and refuses conflicts, emitting a change for each', async () => {
      const changes: StoreChange[] = [];
      store.onChange((c) => changes.push(c));
      const { person } = await store.enroll('Bob', [randomFace()]);
      await store.enroll('Carol', [randomFace()]);
      const renamed = await store.updatePerson(person.id, { name: 'Robert' });
      assert.equal(renamed.name, 'Robert');
      const moved = await store.updatePerson('robert', { list: 'blacklist' });
      assert.equal(moved.list, 'blacklist');
      await rejectsWith(store.updatePerson('Robert', { name: 'carol' }), 'CONFLICT');
      await rejectsWith(store.updatePerson('Nobody', { name: 'x' }), 'NOT_FOUND');
      await rejectsWith(store.enroll('Robert', [randomFace()], { list: 'known' }), 'CONFLICT');
      await rejectsWith(store.updatePerson('Robert', { list: 'friends' as never }), 'BAD_INPUT');
      assert.deepEqual(changes.map((c) => c.type), ['faces-added', 'faces-added', 'person-updated', 'person-updated']);
      assert.deepEqual(changes[3], { type: 'person-updated', person: { id: person.id, name: 'Robert', list: 'blacklist' } });
    });

    it('validates names: trimmed, 1..100 characters, and an embedding of finite numbers', async () => {
      await rejectsWith(store.enroll('   ', [randomFace()]), 'BAD_INPUT');
      await rejectsWith(store.enroll('x'.repeat(101), [randomFace()]), 'BAD_INPUT');
      await rejectsWith(store.enroll('ok', []), 'BAD_INPUT');
      await rejectsWith(store.enroll('ok', [{ model: 'm', embedding: [1, NaN] }]), 'BAD_INPUT');
      await store.enroll('dims', [{ model: 'm', embedding: [1, 2] }]);
      await rejectsWith(store.enroll('dims', [{ model: 'm', embedding: [1, 2, 3] }]), 'BAD_INPUT');
      await rejectsWith(store.enroll('mixed', [{ model: 'n', embedding: [1, 2] }, { model: 'n', embedding: [1, 2, 3] }]), 'BAD_INPUT');
      assert.equal(await store.getPerson('mixed'), undefined, 'the whole enrollment rolled back');
      await store.forget('dims');
      const longest = '🙂'.repeat(100);
      assert.equal((await store.enroll(longest, [randomFace()])).person.name, longest);
      assert.deepEqual(await store.listPeople().then((p) => p.length), 1);
    });

    it('stores path-, SQL- and HTML-looking names as plain data', async () => {
      const names = ['../../etc/passwd', "Robert'); DROP TABLE people;--", '<img src=x onerror=alert(1)>', 'C:\\Windows\\system32', 'name/with/slashes', '%s %n ${x}'];
      for (const name of names) await store.enroll(name, [randomFace()]);
      const stored = (await store.listPeople()).map((p) => p.name).sort();
      assert.deepEqual(stored, [...names].sort());
      for (const name of names) assert.equal((await store.getPerson(name))?.name, name);
    });

    it('forget removes the person with every face and crop, and says which faces went', async () => {
      const { person, faceIds } = await store.enroll('Dave', [randomFace(), randomFace()]);
      await store.enroll('Erin', [randomFace()]);
      const changes: StoreChange[] = [];
      store.onChange((c) => changes.push(c));
      const { facesRemoved } = await store.forget('Dave');
      assert.equal(facesRemoved, 2);
      assert.equal(await store.getPerson(person.id), undefined);
      for (const id of faceIds) assert.equal(await store.getFace(id), undefined);
      assert.deepEqual(changes, [{ type: 'person-removed', personId: person.id, faceIds }]);
      await rejectsWith(store.forget('Dave'), 'NOT_FOUND');
      await store.close();
      store = await fixture.open();
      assert.deepEqual((await store.listPeople()).map((p) => p.name), ['Erin']);
      assert.equal((await store.listFaces()).length, 1);
    });

    it('refuses notes over 2000 characters, on enrolment and on an update', async () => {
      await rejectsWith(store.enroll('Noted', [randomFace()], { notes: 'n'.repeat(4 * 1024 * 1024) }), 'BAD_INPUT');
      assert.equal(await store.getPerson('Noted'), undefined);
      const { person } = await store.enroll('Noted', [randomFace()], { notes: 'n'.repeat(2000) });
      await rejectsWith(store.updatePerson(person.id, { notes: 'n'.repeat(2001) }), 'BAD_INPUT');
      assert.equal((await store.getPerson(person.id))!.notes.length, 2000);
    });

    it('removes a single face and pages through embeddings', async () => {
      const { faceIds } = await store.enroll('Frank', [randomFace(), randomFace(), randomFace()]);
      await store.enroll('Gina', [randomFace(512, { model: 'arcface-512' })]);
      const changes: StoreChange[] = [];
      store.onChange((c) => changes.push(c));
      await store.removeFace(faceIds[1]);
      assert.deepEqual(changes, [{ type: 'faces-removed', faceIds: [faceIds[1]] }]);
      await rejectsWith(store.removeFace(faceIds[1]), 'NOT_FOUND');
      // Ownership: a face of Frank is not removed as Gina's, and stays.
      const gina = (await store.getPerson('Gina'))!;
      const frank = (await store.getPerson('Frank'))!;
      await rejectsWith(store.removeFace(faceIds[0], gina.id), 'NOT_FOUND');
      assert.ok(await store.getFace(faceIds[0]), "Frank's face is still there");
      assert.equal((await store.removeFace(faceIds[0], frank.id)).id, faceIds[0]);
      await store.enroll('Frank', [randomFace()]);
      const pages: number[][] = [];
      for await (const page of store.embeddings(undefined, 2)) pages.push(page.map((r) => r.faceId));
      assert.deepEqual(pages.flat().length, 3);
      assert.deepEqual(pages.map((p) => p.length), [2, 1]);
      const arcface: number[] = [];
      for await (const page of store.embeddings('arcface-512')) arcface.push(...page.map((r) => r.embedding.length));
      assert.deepEqual(arcface, [512]);
    });

    it('keeps negative examples, labels and calibrated tolerances, and a matcher follows them', async () => {
      const unit = (v: number) => new Float32Array([v, 0]);
      const attached = attachMatcher(store);
      try {
        await attached.ready;
        const alice = (await store.enroll('Alice', [{ model: 'm', embedding: unit(0) }])).person;
        await store.enroll('Bob', [{ model: 'm', embedding: unit(1) }]);
        const { faceIds } = await store.enroll('Alice', [{ model: 'm', embedding: unit(0.45), kind: 'negative' }]);
        assert.equal((await store.getPerson('Alice'))!.faceCount, 1, 'faceCount counts her own faces only');
        assert.equal((await store.getFace(faceIds[0]))!.kind, 'negative');
        assert.deepEqual(attached.matcher.nearest(unit(0.4), 'm').map((m) => m.name), ['Bob']);

        const label = await store.addLabel({ eventId: 'ev-1', personId: alice.id, verdict: 'reject', faceId: faceIds[0], model: 'm', embedding: unit(0.45), distance: 0.45, actor: 'test' });
        assert.equal(label.verdict, 'reject');
        assert.deepEqual(label.embedding, unit(0.45));
        assert.deepEqual((await store.labels('m')).map((l) => l.id), [label.id]);
        await rejectsWith(store.addLabel({ eventId: 'ev-2', personId: 99999, verdict: 'confirm', model: 'm', embedding: unit(0) }), 'NOT_FOUND');

        const changes = await store.setTolerances([{ model: 'm', personId: null, tolerance: 0.3 }, { model: 'm', personId: alice.id, tolerance: 0.2 }], { actor: 'test', targetFar: 0.01 });
        assert.deepEqual(changes.map((c) => [c.personName, c.oldTolerance, c.newTolerance]), [[null, null, 0.3], ['Alice', null, 0.2]]);
        assert.equal(attached.matcher.nearest(unit(1.1), 'm')[0].tolerance, 0.3);
        assert.equal(attached.matcher.nearest(unit(0.1), 'm')[0].tolerance, 0.2);
        assert.deepEqual((await store.setTolerances([{ model: 'm', personId: null, tolerance: 0.3 }], { actor: 'test' })).length, 0, 'no change, no record');
        await store.setTolerances([{ model: 'm', personId: alice.id, tolerance: null }], { actor: 'test' });
        assert.deepEqual((await store.tolerances('m')).map((t) => [t.personId, t.tolerance]), [[null, 0.3]]);
        assert.deepEqual((await store.toleranceHistory()).map((c) => c.newTolerance), [null, 0.2, 0.3]);
        await rejectsWith(store.setTolerances([{ model: 'm', personId: null, tolerance: -1 }], { actor: 'test' }), 'BAD_INPUT');

        // "Not Alice, it is Yves": forgetting Yves takes the negative of Alice cut from his face, from the DB and from the matcher.
        const cut = await store.enroll('Alice', [{ model: 'm', embedding: unit(1.4), kind: 'negative' }]);
        const yves = await store.enroll('Yves', [{ model: 'm', embedding: unit(1.4) }]);
        await store.addLabel({ eventId: 'ev-3', personId: alice.id, verdict: 'reject', correctedPersonId: yves.person.id, faceId: cut.faceIds[0], model: 'm', embedding: unit(1.4) });
        assert.equal(attached.matcher.negativeCount('m'), 2);
        assert.equal((await store.forget('Yves')).facesRemoved, 2, "Yves's face and the negative cut from it");
        assert.equal(await store.getFace(cut.faceIds[0]), undefined);
        assert.equal(attached.matcher.negativeCount('m'), 1);
      } finally {
        attached.detach();
      }
    });

    it('backs up online to a SQLite file that opens with the same content', async () => {
      await store.enroll('Hank', [randomFace(), randomFace()]);
      await store.enroll('Iris', [randomFace()], { list: 'blacklist' });
      const copy = path.join(dir, 'backups', 'copy.db');
      await store.backup(copy);
      const restored = openSqliteStore(copy);
      try {
        assert.deepEqual((await restored.listPeople()).map((p) => [p.name, p.list, p.faceCount]), [['Hank', 'known', 2], ['Iris', 'blacklist', 1]]);
        const [original] = await store.listFaces('Hank');
        assert.deepEqual((await restored.getFace(original.id))?.embedding, (await store.getFace(original.id))?.embedding);
      } finally {
        await restored.close();
      }
    });

    it('exports and imports inline and through a folder, and refuses crop paths outside the export folder', async () => {
      await store.enroll('Judy', [randomFace(), randomFace(512, { model: 'arcface-512', crop: null })], { notes: 'n' });
      await store.enroll('Karl', [randomFace()], { list: 'blacklist' });
      const { data, report } = await exportFaces(store);
      assert.deepEqual(report, { people: 2, faces: 3 });
      const other = await fixture.openOther();
      try {
        assert.deepEqual(await importFaces(other, JSON.parse(JSON.stringify(data))), { people: 2, faces: 3, skipped: 0 });
        assert.deepEqual(await importFaces(other, data), { people: 0, faces: 0, skipped: 3 });
        assert.deepEqual((await other.listPeople()).map((p) => [p.name, p.list, p.notes, p.faceCount]), [['Judy', 'known', 'n', 2], ['Karl', 'blacklist', '', 1]]);
        await rejectsWith(importFaces(other, { format: 'something-else', people: [] }), 'BAD_INPUT');
        await rejectsWith(importFaces(other, { ...data, version: 99 }), 'BAD_INPUT');
      } finally {
        await other.close();
      }

      const folder = path.join(dir, 'export');
      assert.deepEqual(await exportFacesToFolder(store, folder), { people: 2, faces: 3 });
      assert.ok(!fs.existsSync(path.join(folder, 'faces.json.partial')));
      const manifest = JSON.parse(fs.readFileSync(path.join(folder, 'faces.json'), 'utf8'));
      assert.deepEqual(fs.readdirSync(path.join(folder, 'crops')).sort(), ['1.jpg', '3.jpg']);
      const fromFolder = await readExportFolder(folder);
      assert.equal(fromFolder.people[0].faces[0].crop, data.people[0].faces[0].crop);
      assert.equal(fromFolder.people[1].faces[0].embedding, data.people[1].faces[0].embedding);
      manifest.people[0].faces[0].cropFile = '../../../etc/passwd';
      fs.writeFileSync(path.join(folder, 'faces.json'), JSON.stringify(manifest));
      await rejectsWith(readExportFolder(folder), 'BAD_INPUT');
    });
  });
}
