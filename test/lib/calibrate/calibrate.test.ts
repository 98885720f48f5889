import assert from 'node:assert/strict';
import {
  MIN_SAMPLES_PER_PERSON,
  NotEnoughHistoryError,
  applySuggestion,
  calibrationReadiness,
  clearCalibration,
  expectationAt,
  oneInWords,
  pairFarForVisits,
  strangerChances,
  strangersPerVisit,
  collectHistory,
  estimateTolerance,
  normalQuantile,
  rateCurve,
  shareAtOrBelow,
  shrinkWeight,
  suggestTolerances,
  toleranceAtFar,
} from '../../../lib/calibrate';
import { isPorchlightError } from '../../../lib/errors';
import { attachMatcher } from '../../../lib/match';
import { decideFace } from '../../../lib/recognize/decision';
import type { SqliteStore } from '../../../lib/store';
import { scratchStore } from '../../support/scratch-store';

/** A deterministic pseudo-random stream (so a failure can be replayed). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function gaussian(next: () => number, mean: number, std: number): number {
  const u = Math.max(next(), 1e-12);
  return mean + std * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
}

describe('calibration estimator', () => {
  it('normalQuantile matches known values of the standard normal', () => {
    assert.ok(Math.abs(normalQuantile(0.5)) < 1e-9);
    assert.ok(Math.abs(normalQuantile(0.975) - 1.959964) < 1e-5);
    assert.ok(Math.abs(normalQuantile(0.001) + 3.090232) < 1e-5);
    assert.ok(Math.abs(normalQuantile(0.01) + 2.326348) < 1e-5);
    assert.throws(() => normalQuantile(0), (err) => isPorchlightError(err, 'BAD_INPUT'));
  });

  it('shareAtOrBelow counts values at or under a threshold', () => {
    const sorted = Float64Array.from([0.1, 0.2, 0.2, 0.5]);
    assert.equal(shareAtOrBelow(sorted, 0.05), 0);
    assert.equal(shareAtOrBelow(sorted, 0.2), 0.75);
    assert.equal(shareAtOrBelow(sorted, 1), 1);
  });

  it('picks the empirical quantile when the tail holds enough impostors', () => {
    const impostor = Array.from({ length: 1000 }, (_, i) => (i + 1) / 1000); // 0.001 .. 1
    const { tolerance, method } = toleranceAtFar(impostor, 0.01);
    assert.equal(method, 'empirical');
    assert.ok(tolerance > 0.010 && tolerance < 0.011, `tolerance ${tolerance}`);
    assert.equal(shareAtOrBelow(Float64Array.from(impostor), tolerance), 0.01);
  });

  it('extrapolates a normal fit when the target lies beyond the measured tail', () => {
    const next = random(7);
    const impostor = Array.from({ length: 2000 }, () => gaussian(next, 1.0, 0.1));
    const { tolerance, method } = toleranceAtFar(impostor, 0.0001);
    assert.equal(method, 'gaussian-tail');
    // The true quantile is 1.0 - 3.719 x 0.1.
    assert.ok(Math.abs(tolerance - 0.628) < 0.02, `tolerance ${tolerance}`);
  });

  it('measures the false-accept rate it promises on fresh samples of the same distributions', () => {
    const next = random(11);
    const draw = (n: number, mean: number, std: number) => Array.from({ length: n }, () => gaussian(next, mean, std));
    const fit = { genuine: draw(3000, 0.4, 0.08), impostor: draw(3000, 0.9, 0.1) };
    const estimate = estimateTolerance(fit, 0.01);
    const fresh = Float64Array.from(draw(20000, 0.9, 0.1)).sort();
    const measured = shareAtOrBelow(fresh, estimate.tolerance);
    assert.ok(measured > 0.005 && measured < 0.02, `measured FAR ${measured}`);
    assert.ok(estimate.expectedTar! > 0.99, `expected TAR ${estimate.expectedTar}`);
    assert.equal(estimate.genuine, 3000);
  });

  it('draws a monotone FAR/TAR curve over the range of the distances', () => {
    const curve = rateCurve({ genuine: [0.2, 0.3, 0.4], impostor: [0.5, 0.6, 0.9] }, 11);
    assert.equal(curve.length, 11);
    assert.equal(curve[0].tolerance, 0.2);
    assert.equal(curve[10].tolerance, 0.9);
    assert.deepEqual([curve[10].far, curve[10].tar], [1, 1]);
    for (let i = 1; i < curve.length; i++) assert.ok(curve[i].far >= curve[i - 1].far && curve[i].tar! >= curve[i - 1].tar!);
    assert.equal(rateCurve({ genuine: [], impostor: [0.5, 0.7] }, 3)[1].tar, null);
  });

  it('shrinks a person with few comparisons towards the global tolerance', () => {
    assert.equal(shrinkWeight(1000, 0.01), 0.5);
    assert.ok(shrinkWeight(10, 0.01) < 0.01);
    assert.ok(shrinkWeight(1e6, 0.01) > 0.99);
  });
});

describe('calibration from a face DB (labels, suggestion, apply, history)', () => {
  let store: SqliteStore;
  // Three people in 2-d: faces scattered around their centres.
  const centres: Record<string, [number, number]> = { Alice: [0, 0], Bob: [3, 0], Carol: [0, 3] };

  beforeEach(async () => {
    store = scratchStore('porchlight-calib-').store;
    const next = random(3);
    for (const [name, [x, y]] of Object.entries(centres)) {
      const faces = Array.from({ length: 12 }, () => ({ model: 'm', embedding: [gaussian(next, x, 0.3), gaussian(next, y, 0.3)] }));
      await store.enroll(name, faces);
    }
  });

  afterEach(async () => {
    await store.close();
  });

  it('collects genuine and impostor distances per person, with labels and negatives', async () => {
    const alice = (await store.getPerson('Alice'))!;
    await store.addLabel({ eventId: 'e1', personId: alice.id, verdict: 'confirm', model: 'm', embedding: [0.1, 0.1] });
    await store.addLabel({ eventId: 'e2', personId: alice.id, verdict: 'reject', model: 'm', embedding: [1.5, 0] });
    await store.enroll('Alice', [{ model: 'm', embedding: [1.4, 0.1], kind: 'negative' }]);
    const history = await collectHistory(store, 'm');
    // 3 x C(12,2) genuine pairs + 12 confirmed-label distances; 3 x 12 x 24 / 2 cross pairs + 12 rejected + 12 negative.
    assert.equal(history.all.genuine.length, 3 * 66 + 12);
    assert.equal(history.all.impostor.length, (36 * 24) / 2 + 24);
    assert.equal(history.people.get(alice.id)!.genuine.length, 66 + 12);
    assert.equal(history.people.get(alice.id)!.impostor.length, 12 * 24 + 24);
    assert.equal(history.impostorStride, 1);
    const sampled = await collectHistory(store, 'm', { maxImpostorPairs: 100 });
    assert.ok(sampled.impostorStride > 1 && sampled.all.impostor.length <= 100 + 24);
  });

  it('suggests, applies in one step, records the change, and the matcher uses it', async () => {
    const attached = attachMatcher(store);
    await attached.ready;
    const suggestion = await suggestTolerances(store, 0.01);
    assert.equal(suggestion.model, 'm');
    assert.ok(suggestion.global.tolerance > 0.5 && suggestion.global.tolerance < 3, `global ${suggestion.global.tolerance}`);
    assert.ok(suggestion.global.expectedTar! > 0.9);
    assert.equal(suggestion.people.length, 3);
    for (const person of suggestion.people) {
      assert.ok(person.shrunk, 'few comparisons each: every person leans on the global tolerance');
      assert.ok(Math.abs(person.tolerance - suggestion.global.tolerance) <= Math.abs(person.ownTolerance! - suggestion.global.tolerance) + 1e-9);
    }
    assert.ok(suggestion.curve.length > 10);
    await assert.rejects(suggestTolerances(store, 2), /between 0 and 0.5/);

    const changes = await applySuggestion(store, suggestion, { actor: 'alice-admin' });
    assert.equal(changes.length, 4);
    assert.deepEqual(changes.map((c) => [c.actor, c.oldTolerance, c.targetFar]), changes.map(() => ['alice-admin', null, 0.01]));
    assert.equal((await store.tolerances('m')).length, 4);
    const alice = suggestion.people.find((p) => p.name === 'Alice')!;
    const match = attached.matcher.nearest([0.2, 0.2], 'm')[0];
    assert.equal(match.tolerance, Math.round(alice.tolerance * 10_000) / 10_000);
    // A distance inside the node's tolerance but outside the calibrated one is refused.
    const far = { ...match, distance: match.tolerance! + 0.05 };
    assert.equal(decideFace([far], { tolerance: 10, margin: 0 }).status, 'unknown');
    assert.equal(decideFace([{ ...far, tolerance: undefined }], { tolerance: 10, margin: 0 }).status, 'known');

    // Applying the same suggestion again changes nothing and records nothing.
    assert.deepEqual(await applySuggestion(store, suggestion, { actor: 'x' }), []);
    const cleared = await clearCalibration(store, 'm', 'alice-admin');
    assert.equal(cleared.length, 4);
    assert.ok(cleared.every((c) => c.newTolerance === null && c.oldTolerance !== null));
    assert.equal(attached.matcher.nearest([0.2, 0.2], 'm')[0].tolerance, undefined);
    const history = await store.toleranceHistory();
    assert.equal(history.length, 8);
    assert.ok(history[0].id > history[7].id, 'newest first');
    attached.detach();
  });

  it('forgetting a person removes their labels, negatives, tolerances and record lines', async () => {
    const bob = (await store.getPerson('Bob'))!;
    await store.addLabel({ eventId: 'e1', personId: bob.id, verdict: 'confirm', model: 'm', embedding: [3, 0] });
    await store.enroll('Bob', [{ model: 'm', embedding: [1, 1], kind: 'negative' }]);
    await store.setTolerances([{ model: 'm', personId: bob.id, tolerance: 0.7 }], { actor: 'a' });
    await store.forget('Bob');
    assert.deepEqual(await store.labels(), []);
    assert.deepEqual(await store.tolerances(), []);
    assert.deepEqual(await store.toleranceHistory(), []);
    const rows = store.db.prepare("SELECT count(*) AS n FROM faces WHERE kind = 'negative'").get() as { n: number };
    assert.equal(rows.n, 0);
  });

  it('forgetting Y of "not X, it is Y" removes the negative of X cut from Y\'s face, from the file and the matcher', async () => {
    const attached = attachMatcher(store);
    await attached.ready;
    const alice = (await store.getPerson('Alice'))!;
    const negative = await store.enroll('Alice', [{ model: 'm', embedding: [1.4, 0.1], kind: 'negative' }]);
    const yves = await store.enroll('Yves', [{ model: 'm', embedding: [1.4, 0.1] }]);
    await store.addLabel({ eventId: 'e', personId: alice.id, verdict: 'reject', correctedPersonId: yves.person.id, faceId: negative.faceIds[0], model: 'm', embedding: [1.4, 0.1] });
    assert.equal(attached.matcher.negativeCount('m'), 1);
    const { facesRemoved } = await store.forget('Yves');
    assert.equal(facesRemoved, 2, "Yves's face and the negative cut from it");
    assert.equal(await store.getFace(negative.faceIds[0]), undefined);
    assert.equal(attached.matcher.negativeCount('m'), 0);
    assert.deepEqual(await store.labels(), []);
    assert.equal((await store.getPerson('Alice'))!.faceCount, 12);
    attached.detach();
  });

  it('refuses bad tolerances, verdicts and unknown people', async () => {
    await assert.rejects(store.setTolerances([{ model: 'm', personId: null, tolerance: -1 }], { actor: 'a' }), /positive number/);
    await assert.rejects(store.setTolerances([{ model: 'm', personId: 999, tolerance: 1 }], { actor: 'a' }), /no person/);
    await assert.rejects(store.addLabel({ eventId: 'e', personId: 1, verdict: 'maybe' as never, model: 'm', embedding: [1, 1] }), /confirm/);
    await assert.rejects(store.enroll('Alice', [{ model: 'm', embedding: [1, 1], kind: 'other' as never }]), /kind/);
  });
});

describe('calibration guard rails (too little history, strangers per visit, in words)', () => {
  const names = new Map([
    [1, 'Alice'],
    [2, 'Mallory'],
    [3, 'Bob'],
  ]);
  const samples = (entries: Array<[number, number, number]>) => new Map(entries.map(([id, faces, visits]) => [id, { faces, visits }]));

  it('says what is missing in faces and labelled visits of people, never in pairs', () => {
    const empty = calibrationReadiness(samples([]), names);
    assert.equal(empty.ready, false);
    assert.deepEqual(empty.shortfalls.map((s) => [s.name, s.more]), [[null, 4], [null, 4]]);
    assert.match(empty.words, /^Not enough to suggest a tolerance yet: it needs 4 faces or labelled visits of one person and 4 of a second person \(2 people with at least 4 each\)\. The history holds 0 faces and 0 labelled visits\./);
    assert.doesNotMatch(empty.words, /pair/);

    // The demo: Alice and Mallory with one photo each (the case that applied a tolerance from 3 pairs).
    const demo = calibrationReadiness(samples([[1, 1, 0], [2, 1, 0]]), names);
    assert.match(demo.words, /it needs 3 more faces or labelled visits of Alice and 3 more of Mallory /);
    assert.match(demo.words, /holds 2 faces and 0 labelled visits/);

    // One person complete (3 photos and a visit labelled "yes"), nobody else: a second person.
    const one = calibrationReadiness(samples([[1, 3, 1]]), names);
    assert.deepEqual(one.shortfalls, [{ personId: null, name: null, have: 0, more: MIN_SAMPLES_PER_PERSON }]);
    assert.match(one.words, /it needs 4 faces or labelled visits of a second person /);
    assert.match(one.words, /holds 3 faces and 1 labelled visit\./);

    // The two with the most count: Bob's single visit short by 3, Alice complete.
    const short = calibrationReadiness(samples([[1, 4, 0], [3, 0, 1], [2, 0, 0]]), names);
    assert.deepEqual(short.shortfalls.map((s) => [s.name, s.have, s.more]), [['Bob', 1, 3]]);
    assert.match(short.words, /needs 3 more faces or labelled visits of Bob \(/);

    const ready = calibrationReadiness(samples([[1, 4, 0], [2, 2, 2]]), names);
    assert.equal(ready.ready, true);
    assert.deepEqual(ready.shortfalls, []);
    assert.equal(ready.words, 'The history holds 6 faces and 2 labelled visits: enough to suggest from.');
  });

  it('turns comparisons into visits as face-recognize counts a stranger\'s chances', () => {
    // A model without a shipped table: every photo is a chance.
    assert.equal(strangerChances('m', samples([[1, 4, 3], [2, 6, 0]])), 10);
    const pairFar = pairFarForVisits(1000, 10);
    assert.ok(pairFar < 1 / 1000 && pairFar > 1 / 10_500, `${pairFar}`);
    assert.ok(Math.abs(strangersPerVisit(pairFar, 10) - 1 / 1000) < 1e-12, 'the two directions agree');
    assert.equal(strangersPerVisit(0, 10), 0);
  });

  it('says what a tolerance means at the door, in words and numbers', () => {
    assert.equal(oneInWords(1 / 1013), 'about 1 in 1,000 visits');
    assert.equal(oneInWords(0.6), 'about 60 % of visits');
    assert.equal(oneInWords(0), 'no visits');
    assert.equal(
      expectationAt(0.5, 1 / 1000, 0.95).words,
      'Strangers let through: about 1 in 1,000 visits (0.1 %). Genuine visits missed: about 1 in 20 visits (5.0 %).',
    );
    assert.equal(expectationAt(0.5, 0.001, 1).words, 'Strangers let through: about 1 in 1,000 visits (0.1 %). Genuine visits missed: none in the history (0 %).');
    assert.match(expectationAt(0.5, 0.7, null).words, /^Strangers let through: about 70 % of visits\. Genuine visits missed: not known yet/);
    assert.ok(Math.abs(expectationAt(0.5, 0.001, 0.9).missed! - 0.1) < 1e-12);
    assert.equal(expectationAt(0.5, 0.43, 0.6).words, 'Strangers let through: about 43 % of visits. Genuine visits missed: about 40 % of visits.');
    // A fitted tolerance with strangers of the history still inside it says so.
    assert.match(expectationAt(1.03, 0.14, 1, true).words, /^Strangers let through: about 1 in 7 visits \(14\.0 %\)\. .* More than aimed at: faces of different people in the history come closer than this\.$/);
  });

  describe('on a store', () => {
    let store: SqliteStore;

    beforeEach(() => {
      store = scratchStore('porchlight-guard-').store;
    });

    afterEach(async () => {
      await store.close();
    });

    it('refuses to suggest or apply from one face each, and suggests once labelled visits make up the rest', async () => {
      const next = random(11);
      const face = (x: number, y: number) => ({ model: 'm', embedding: [gaussian(next, x, 0.3), gaussian(next, y, 0.3)] });
      await store.enroll('Alice', [face(0, 0)]);
      await store.enroll('Mallory', [face(3, 0)], { list: 'blacklist' });
      await store.enroll('Bob', [face(0, 3)]);
      const refusal = await suggestTolerances(store, 0.01).then(
        () => assert.fail('suggested from 3 faces'),
        (err: unknown) => err,
      );
      assert.ok(refusal instanceof NotEnoughHistoryError);
      assert.equal(refusal.code, 'BAD_INPUT');
      assert.match(refusal.message, /needs 3 more faces or labelled visits of Alice and 3 more of Bob/);
      assert.deepEqual((await store.tolerances('m')).length, 0);

      // Alice: 3 more photos; Bob: 1 more photo and 2 visits labelled "yes, Bob".
      await store.enroll('Alice', [face(0, 0), face(0, 0), face(0, 0)]);
      await store.enroll('Bob', [face(0, 3)]);
      const bob = (await store.getPerson('Bob'))!;
      for (const eventId of ['e1', 'e2']) await store.addLabel({ eventId, personId: bob.id, verdict: 'confirm', model: 'm', embedding: face(0, 3).embedding });
      const suggestion = await suggestTolerances(store, 0.01, { strangersOneIn: '1000' });
      assert.equal(suggestion.readiness.ready, true);
      assert.equal(suggestion.readiness.visits, 2);
      assert.equal(suggestion.strangersOneIn, 1000);
      assert.equal(suggestion.chances, 7, 'a stranger meets 7 photos');
      assert.ok(Math.abs(suggestion.targetFar - pairFarForVisits(1000, 7)) < 1e-15);
      assert.match(suggestion.expected.words, /^Strangers let through: about 1 in 1,000 visits \(0\.1 %\)\. Genuine visits missed: /);
      assert.equal(suggestion.expectedNow, null, "the nodes' own tolerance is in force");
      assert.ok(suggestion.curve.every((p) => p.strangers >= p.far && p.tar !== null), 'both curves, strangers per visit at least per comparison');
      const changes = await applySuggestion(store, suggestion, { actor: 'test' });
      assert.equal(changes.length, 4);
      const again = await suggestTolerances(store, 0.01, { strangersOneIn: 1000 });
      assert.ok(again.expectedNow !== null && again.expectedNow.tolerance === changes[0].newTolerance);

      assert.doesNotMatch(again.expected.words, /More than aimed at/);
      // A suggestion carried over from before the faces went is still refused.
      await assert.rejects(applySuggestion(store, { ...suggestion, readiness: { ...suggestion.readiness, ready: false } }, { actor: 'test' }), NotEnoughHistoryError);
      await assert.rejects(suggestTolerances(store, 0.01, { strangersOneIn: 1 }), /about 1 in N visits/);
    });
  });
});
