import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  applySuggestion,
  clearCalibration,
  collectHistory,
  estimateTolerance,
  normalQuantile,
  rateCurve,
  shareAtOrBelow,
  shrinkWeight,
  suggestTolerances,
  toleranceAtFar,
} from '../lib/calibrate';
import { isPorchlightError } from '../lib/errors';
import { attachMatcher } from '../lib/match';
import { decideFace } from '../lib/recognize/decision';
import { openSqliteStore, type SqliteFaceStore } from '../lib/store';

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
  let dir: string;
  let store: SqliteFaceStore;
  // Three people in 2-d: faces scattered around their centres.
  const centres: Record<string, [number, number]> = { Alice: [0, 0], Bob: [3, 0], Carol: [0, 3] };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'porchlight-calib-'));
    store = openSqliteStore(path.join(dir, 'faces.db'));
    const next = random(3);
    for (const [name, [x, y]] of Object.entries(centres)) {
      const faces = Array.from({ length: 12 }, () => ({ model: 'm', embedding: [gaussian(next, x, 0.3), gaussian(next, y, 0.3)] }));
      await store.enroll(name, faces);
    }
  });

  afterEach(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
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

