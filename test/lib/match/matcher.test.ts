import assert from 'node:assert/strict';
import { Matcher, attachMatcher, type Metric } from '../../../lib/match';
import { type PersonLabel, type SqliteStore } from '../../../lib/store';
import { scratchStore } from '../../support/scratch-store';

function randomVector(dim: number, seed: { n: number }): Float32Array {
  // A small deterministic generator so failures reproduce.
  const v = new Float32Array(dim);
  for (let i = 0; i < dim; i++) {
    seed.n = (Math.imul(seed.n, 1664525) + 1013904223) >>> 0;
    v[i] = seed.n / 2 ** 32 - 0.5;
  }
  return v;
}

function referenceDistance(a: Float32Array, b: Float32Array, metric: Metric): number {
  let dot = 0, aa = 0, bb = 0, squared = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
    squared += (a[i] - b[i]) ** 2;
  }
  return metric === 'euclidean' ? Math.sqrt(squared) : 1 - dot / Math.sqrt(aa * bb);
}

/** Best distance per person by brute force, sorted ascending. */
function bruteForce(rows: { faceId: number; personId: number; v: Float32Array }[], query: Float32Array, metric: Metric) {
  const best = new Map<number, { personId: number; faceId: number; distance: number }>();
  for (const row of rows) {
    const distance = referenceDistance(query, row.v, metric);
    const current = best.get(row.personId);
    if (!current || distance < current.distance) best.set(row.personId, { personId: row.personId, faceId: row.faceId, distance });
  }
  return [...best.values()].sort((a, b) => a.distance - b.distance);
}

describe('matcher', () => {
  for (const kernel of ['auto', 'js'] as const) {
    for (const [model, metric, dim] of [['faceapi-resnet128', 'euclidean', 128], ['arcface-r50', 'cosine', 512], ['odd-model', 'cosine', 13]] as const) {
      it(`finds the best face per person like brute force (${kernel} kernel, ${metric}, ${dim}-d)`, () => {
        const seed = { n: dim * 7 + (kernel === 'js' ? 1 : 0) };
        const matcher = new Matcher({ kernel, metrics: metric === 'cosine' ? { [model]: 'cosine' } : undefined });
        assert.equal(matcher.kernel(), kernel === 'auto' ? 'wasm-simd' : 'js');
        const rows: { faceId: number; personId: number; v: Float32Array }[] = [];
        for (let faceId = 1; faceId <= 700; faceId++) {
          const personId = 1 + (faceId % 97);
          const v = randomVector(dim, seed);
          rows.push({ faceId, personId, v });
          matcher.add({ id: personId, name: `p${personId}`, list: personId % 10 === 0 ? 'blacklist' : 'known' }, [{ faceId, personId, model, embedding: v }]);
        }
        // Remove some rows, so that rows were moved in the matrix.
        const removed = rows.filter((r) => r.faceId % 7 === 0).map((r) => r.faceId);
        matcher.removeFaces(removed);
        const kept = rows.filter((r) => r.faceId % 7 !== 0);
        assert.equal(matcher.size(model), kept.length);
        assert.equal(matcher.metricOf(model), metric);
        assert.equal(new Matcher().metricOf(model), 'euclidean', 'Euclidean unless configured');
        for (let q = 0; q < 10; q++) {
          const query = randomVector(dim, seed);
          const all = bruteForce(kept, query, metric);
          const bestOf = new Map(all.map((e) => [e.personId, e]));
          const got = matcher.nearest(query, model, 8);
          assert.equal(got.length, 8);
          // Same distances in the same order; people or faces may swap only where float32 rounding ties them.
          got.forEach((m, i) => {
            assert.ok(Math.abs(m.distance - all[i].distance) < 1e-4, `rank ${i}: ${m.distance} vs ${all[i].distance}`);
            assert.ok(Math.abs(m.distance - bestOf.get(m.personId)!.distance) < 1e-4, 'the distance is that person\'s best');
            const face = kept.find((r) => r.faceId === m.faceId)!;
            assert.equal(face.personId, m.personId);
            assert.ok(Math.abs(referenceDistance(query, face.v, metric) - m.distance) < 1e-4, 'the face is the one at that distance');
          });
          assert.equal(got[0].name, `p${got[0].personId}`);
          assert.equal(got[0].list, got[0].personId % 10 === 0 ? 'blacklist' : 'known');
        }
        // A stored embedding finds itself at distance ~0; all people with k = Infinity.
        const self = kept[5];
        const hit = matcher.nearest(self.v, model, 1)[0];
        assert.equal(hit.faceId, self.faceId);
        assert.ok(hit.distance < 1e-3);
        assert.equal(matcher.nearest(self.v, model, Infinity).length, new Set(kept.map((r) => r.personId)).size);
      });
    }
  }

  it('never compares across models and refuses a query of the wrong size', () => {
    const matcher = new Matcher();
    const person: PersonLabel = { id: 1, name: 'a', list: 'known' };
    matcher.add(person, [{ faceId: 1, personId: 1, model: 'faceapi-resnet128', embedding: new Float32Array(128).fill(0.1) }]);
    assert.deepEqual(matcher.nearest(new Float32Array(128).fill(0.1), 'other-model'), []);
    assert.throws(() => matcher.nearest(new Float32Array(64), 'faceapi-resnet128'), /128-d embeddings, got a 64-d query/);
    assert.throws(() => matcher.nearest(new Float32Array(128).fill(NaN), 'faceapi-resnet128'), /finite/);
  });

  describe('attached to a SQLite store', () => {
    let store: SqliteStore;
    const seed = { n: 42 };
    const face = (v: Float32Array) => ({ model: 'faceapi-resnet128', embedding: v });

    beforeEach(() => {
      store = scratchStore('porchlight-matcher-').store;
    });
    afterEach(async () => {
      await store.close();
    });

    it('loads what is stored and follows enroll, rename, move, removeFace and forget at once', async () => {
      const alice = randomVector(128, seed);
      const bob = randomVector(128, seed);
      await store.enroll('Alice', [face(alice)]);
      const attached = attachMatcher(store);
      await attached.ready;
      const { matcher } = attached;
      assert.equal(matcher.nearest(alice, 'faceapi-resnet128', 1)[0].name, 'Alice');

      const { faceIds: bobFaces } = await store.enroll('Bob', [face(bob), face(randomVector(128, seed))]);
      assert.equal(matcher.nearest(bob, 'faceapi-resnet128', 1)[0].name, 'Bob', 'matchable right after enroll');
      await store.updatePerson('Bob', { name: 'Robert', list: 'blacklist' });
      assert.deepEqual(
        (({ name, list }) => ({ name, list }))(matcher.nearest(bob, 'faceapi-resnet128', 1)[0]),
        { name: 'Robert', list: 'blacklist' },
      );
      await store.removeFace(bobFaces[0]);
      assert.equal(matcher.nearest(bob, 'faceapi-resnet128', 5).find((m) => m.name === 'Robert')?.faceId, bobFaces[1]);
      await store.forget('Robert');
      assert.deepEqual(matcher.nearest(bob, 'faceapi-resnet128', 5).map((m) => m.name), ['Alice']);
      assert.equal(matcher.size(), 1);
      attached.detach();
      await store.enroll('Carol', [face(randomVector(128, seed))]);
      assert.equal(matcher.size(), 1, 'a detached matcher no longer follows');
    });

    it('stays correct when enrollments and forgets happen while it loads and while queries run', async () => {
      for (let i = 0; i < 50; i++) await store.enroll(`person ${i}`, [face(randomVector(128, seed)), face(randomVector(128, seed))]);
      const attached = attachMatcher(store);
      // Changes during the paged load: replayed onto the fresh matrix.
      const late = randomVector(128, seed);
      const enrolling = store.enroll('late', [face(late)]);
      const forgetting = store.forget('person 3');
      await Promise.all([enrolling, forgetting, attached.ready]);
      const { matcher } = attached;
      assert.equal(matcher.size(), 50 * 2 + 1 - 2);
      assert.equal(matcher.nearest(late, 'faceapi-resnet128', 1)[0].name, 'late');

      // Queries interleaved with enrollments: every answer is consistent and new people appear at once.
      const queries = Array.from({ length: 20 }, () => randomVector(128, seed));
      for (let round = 0; round < 20; round++) {
        const v = randomVector(128, seed);
        const enrolled = store.enroll(`round ${round}`, [face(v)]);
        for (const q of queries) {
          const result = matcher.nearest(q, 'faceapi-resnet128', 3);
          assert.equal(result.length, 3);
          assert.ok(result[0].distance <= result[1].distance && result[1].distance <= result[2].distance);
        }
        await enrolled;
        assert.equal(matcher.nearest(v, 'faceapi-resnet128', 1)[0].name, `round ${round}`);
      }
      assert.equal(matcher.size(), (await store.listFaces()).length);
    });

    it('reloads everything on a reset change', async () => {
      const v = randomVector(128, seed);
      await store.enroll('Zed', [face(v)]);
      const attached = attachMatcher(store);
      await attached.ready;
      store.db.prepare('DELETE FROM people').run(); // a bulk change behind the store's back...
      store.announceReset(); // ...announced
      await attached.ready;
      assert.equal(attached.matcher.size(), 0);
    });
  });
});
