import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { SqliteStore } from '../../../lib/store';
import { VisitorBook, type UnknownFace } from '../../../lib/visitors';
import { scratchStore } from '../../support/scratch-store';

/** A random unit vector, and one a small step away from it (the same stranger, another photo). */
function strangerFaces(dim = 128): [UnknownFace, UnknownFace] {
  const base = Float32Array.from({ length: dim }, () => crypto.randomInt(-1000, 1000) / 1000);
  const near = base.map((x) => x + crypto.randomInt(-20, 20) / 1000);
  const unit = (v: Float32Array) => {
    const norm = Math.hypot(...v);
    return v.map((x) => x / norm);
  };
  const face = (embedding: Float32Array): UnknownFace => ({ model: 'test-model', embedding: unit(embedding), quality: 0.9, crop: null });
  return [face(base), face(near)];
}

/**
 * The link from a named visitor to its person (`visitors.named_person`, no
 * foreign key since the person may be in PostgreSQL) on a SQLite face DB:
 * forgetting the person takes the visitor with it even when no visitor book
 * is listening, so a newcomer given the same person id never inherits it.
 */
describe('named visitor link without a foreign key (SQLite face DB)', () => {
  let store: SqliteStore;

  before(() => {
    store = scratchStore('porchlight-visitor-link-').store;
  });

  after(async () => {
    await store.close();
  });

  const visitorFaces = (visitorId: number) => (store.db.prepare('SELECT count(*) AS n FROM visitor_faces WHERE visitor_id = ?').get(visitorId) as { n: number }).n;

  it('forgetting the person deletes the visitor named as them in the same transaction, book or no book', async () => {
    const book = new VisitorBook(store.db);
    const [first, second] = strangerFaces();
    await book.record('event-1', [first], { maxDistance: 0.3 });
    const [filed] = await book.record('event-2', [second], { maxDistance: 0.3 });
    assert.equal(filed.visitor.label, 'visitor #1');
    const named = await book.name(filed.visitorId, 'Temporary Guest', store);
    assert.equal(named.visitor.personId, named.enrolled.person.id);
    book.close(); // nobody hears the forget below

    await store.forget('Temporary Guest');
    assert.equal(visitorFaces(filed.visitorId), 0);
    assert.equal(store.db.prepare('SELECT count(*) AS n FROM visitors').pluck().get(), 0);

    // SQLite gives the freed id to the next person: the visitor must not come back as theirs.
    const newcomer = await store.enroll('Newcomer', [{ model: 'test-model', embedding: strangerFaces()[0].embedding }]);
    assert.equal(newcomer.person.id, named.enrolled.person.id, 'the id was given again (what the link must survive)');
    const reopened = new VisitorBook(store.db);
    assert.deepEqual(await reopened.list({ all: true }), []);
    reopened.close();
  });
});
